//! UI tests: every program in `tests/ui/*.ztp` has one kind of problem; its rendered
//! diagnostics (miette, no colour, width 100) are snapshot in `tests/ui/snapshots/`.
//!
//! A program whose name starts with `parse_` must fail to parse (the parser's diagnostics are
//! rendered); one whose name starts with `dead_rule` or `unused` must check with warnings only;
//! every other one must fail to check. Update snapshots with `INSTA_UPDATE=always cargo test
//! --test ui` and review the diff.

use std::path::Path;
use ztpol::check::{check, CheckOutput};
use ztpol::diag::Diagnostic;
use ztpol::source::{SourceFile, SourceMap};
use ztpol::syntax::{ast, parse_module};

/// Parses `text` (and the stdlib modules it uses), then checks it unless parsing failed.
/// Returns the diagnostics to render and, when checking ran, its output.
fn run(name: &str, text: &str) -> (Vec<Diagnostic>, SourceMap, Option<CheckOutput>) {
    let mut sources = SourceMap::new();
    let file = sources.add(SourceFile::new(name, None, text));
    let (module, mut diags) = parse_module(file, text);
    let mut modules = vec![module];
    let uses: Vec<String> = modules[0]
        .items
        .iter()
        .filter_map(|item| match item {
            ast::Item::Use(u) => u.path.last().map(|i| i.name.clone()),
            ast::Item::Data(_)
            | ast::Item::Rel(_)
            | ast::Item::Fact(_)
            | ast::Item::Rule(_)
            | ast::Item::Policy(_) => None,
        })
        .collect();
    for name in uses {
        let Some(std_text) = ztpol::stdlib::module(&name) else {
            panic!("unknown stdlib module `{name}` in a ui test");
        };
        let id = sources.add(SourceFile::new(
            ztpol::stdlib::file_name(&name),
            None,
            std_text,
        ));
        let (m, d) = parse_module(id, std_text);
        assert!(d.is_empty(), "the stdlib parses cleanly: {d:?}");
        modules.push(m);
    }
    if diags.iter().any(Diagnostic::is_error) {
        return (diags, sources, None);
    }
    let out = check(sources.clone(), &modules);
    diags.extend(out.diagnostics.iter().cloned());
    (diags, sources, Some(out))
}

#[test]
fn ui() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/ui exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ztp"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 25,
        "at least 25 ui programs, found {}",
        files.len()
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir.join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let _guard = settings.bind_to_scope();
    for path in files {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("ui file names are UTF-8")
            .to_string();
        let text = std::fs::read_to_string(&path).expect("ui file is readable");
        let (diags, sources, out) = run(&format!("tests/ui/{stem}.ztp"), &text);
        assert!(!diags.is_empty(), "{stem}: expected diagnostics, got none");
        if stem.starts_with("parse_") {
            assert!(out.is_none(), "{stem}: expected a parse error");
        } else {
            let out = out.unwrap_or_else(|| panic!("{stem}: unexpected parse error: {diags:?}"));
            let warnings_only = stem.starts_with("dead_rule") || stem.starts_with("unused");
            assert_eq!(
                out.program.is_some(),
                warnings_only,
                "{stem}: warnings_only = {warnings_only}, diagnostics: {diags:?}"
            );
        }
        let rendered = ztpol::render::render_human(&diags, &sources);
        insta::assert_snapshot!(stem, rendered);
    }
}

/// The `"ztpol::check::..."` codes a text mentions.
fn check_codes(text: &str) -> std::collections::BTreeSet<String> {
    let prefix = "ztpol::check::";
    text.match_indices(prefix)
        .map(|(i, _)| {
            let rest = &text[i + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c == '-'))
                .unwrap_or(rest.len());
            format!("{prefix}{}", &rest[..end])
        })
        .filter(|c| !c.ends_with("::"))
        .collect()
}

/// Every code the checker emits is documented in `docs/DIAGNOSTICS.md` and rendered by some
/// ui program (except those the parser always reports first, which the unit tests cover).
#[test]
fn every_check_code_is_documented_and_snapshot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read_dir = |dir: &str| -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(root.join(dir))
            .expect("directory exists")
            .flatten()
        {
            let path = entry.path();
            if path.file_name().is_some_and(|n| n != "tests.rs") && path.is_file() {
                all.push_str(&std::fs::read_to_string(&path).expect("readable"));
            }
        }
        all
    };
    let emitted = check_codes(&read_dir("src/check"));
    assert!(emitted.len() >= 15, "found {emitted:?}");
    let docs = check_codes(
        &std::fs::read_to_string(root.join("docs/DIAGNOSTICS.md")).expect("the docs exist"),
    );
    let snapshots = check_codes(&read_dir("tests/ui/snapshots"));
    for code in &emitted {
        assert!(docs.contains(code), "`{code}` is not documented");
        if code != "ztpol::check::permit-without-principal" {
            assert!(snapshots.contains(code), "no ui program renders `{code}`");
        }
    }
    for code in &docs {
        assert!(
            emitted.contains(code),
            "`{code}` is documented but never emitted"
        );
    }
}
