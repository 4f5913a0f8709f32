//! Parser tests, driven by data:
//! - `tests/parse/good/*.ztp` parse with no diagnostic; every span is checked against the
//!   source text, and the AST (spans stripped) is snapshot-tested;
//! - `tests/parse/errors.txt` lists syntax errors with the code and the text their primary span
//!   must cover; their rendered messages are snapshot-tested.

mod common;

use common::{check_spans, strip};
use std::path::Path;
use ztpol::diag::Diagnostic;
use ztpol::source::{FileId, SourceFile, SourceMap};
use ztpol::syntax::{ast, parse_atom, parse_module};

fn slice(text: &str, d: &Diagnostic) -> String {
    let span = d
        .primary_span()
        .expect("every syntax error has a primary span");
    text[span.start as usize..span.end as usize].to_string()
}

#[test]
fn good_files_parse_with_exact_spans() {
    let mut paths: Vec<_> = std::fs::read_dir("tests/parse/good")
        .expect("tests/parse/good exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ztp"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 4, "the good corpus is missing files");
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("readable test file");
        let (module, diags) = parse_module(FileId(0), &text);
        assert!(diags.is_empty(), "{}: {diags:#?}", path.display());
        check_spans(&text, &module);
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("unnamed");
        insta::assert_snapshot!(format!("good_{name}"), strip(&module));
    }
}

/// One case of `tests/parse/errors.txt`.
struct ErrorCase {
    name: String,
    code: String,
    at: Option<String>,
    count: usize,
    source: String,
}

fn error_cases() -> Vec<ErrorCase> {
    let text = std::fs::read_to_string("tests/parse/errors.txt").expect("errors.txt exists");
    let mut cases = Vec::new();
    for block in text.split("\n=== ").skip(1) {
        let (header, source) = block
            .split_once("\n---\n")
            .expect("a case has a `---` line");
        let mut lines = header.lines();
        let name = lines.next().expect("a case has a name").trim().to_string();
        let (mut code, mut at, mut count) = (String::new(), None, 1);
        for line in lines {
            let (key, value) = line.split_once(": ").expect("`key: value` lines");
            match key {
                "code" => code = value.to_string(),
                "at" => at = Some(value.to_string()),
                "count" => count = value.parse().expect("a number"),
                other => panic!("case `{name}`: unknown key `{other}`"),
            }
        }
        let source = source.trim_end_matches('\n').to_string() + "\n";
        cases.push(ErrorCase {
            name,
            code,
            at,
            count,
            source,
        });
    }
    cases
}

#[test]
fn syntax_errors_have_codes_and_spans() {
    let cases = error_cases();
    assert!(cases.len() >= 30, "errors.txt lost cases: {}", cases.len());
    let mut rendered = String::new();
    for case in &cases {
        let (_, diags) = parse_module(FileId(0), &case.source);
        assert_eq!(diags.len(), case.count, "case `{}`: {diags:#?}", case.name);
        let first = &diags[0];
        assert_eq!(first.code, case.code, "case `{}`: {first:#?}", case.name);
        if let Some(at) = &case.at {
            assert_eq!(&slice(&case.source, first), at, "case `{}`", case.name);
        }
        for d in &diags {
            assert!(d.is_error(), "case `{}`", case.name);
            assert!(
                !d.message.ends_with('.'),
                "message ends with a period: {}",
                d.message
            );
            let shows_rule =
                d.message.as_bytes().windows(3).any(|w| {
                    w[0].is_ascii_lowercase() && w[1] == b'_' && w[2].is_ascii_lowercase()
                });
            assert!(!shows_rule, "message shows a grammar rule: {}", d.message);
        }
        let mut sources = SourceMap::new();
        sources.add(SourceFile::new("case.ztp", None, case.source.clone()));
        rendered.push_str(&format!("=== {}\n", case.name));
        rendered.push_str(&ztpol::render::render_human(&diags, &sources));
        rendered.push('\n');
    }
    insta::assert_snapshot!("syntax_errors", rendered);
}

#[test]
fn every_error_of_a_file_is_reported_and_the_rest_parses() {
    let text = r#"rel edge(src: string, dst: string)
edge("a" "b").
edge("b", "c").
path(X, Y) :- edge(X, Y)
path(X, Z) :- path(X, Y), edge(Y, Z).
forbid to shell.exec when context.x = true;
permit agent "bot" to email.send
forbid to email.send;
edge("c", "d").
"#;
    let (module, diags) = parse_module(FileId(0), text);
    let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    assert_eq!(
        codes,
        [
            "ztpol::parse::expected",
            "ztpol::parse::missing-period",
            "ztpol::parse::single-equals",
            "ztpol::parse::missing-semicolon",
        ]
    );
    // The items that parsed: the rel, two facts, the recursive rule, the forbid with `=` read
    // as `==`, and the last forbid.
    let kinds: Vec<&str> = module
        .items
        .iter()
        .map(|i| match i {
            ast::Item::Use(_) => "use",
            ast::Item::Data(_) => "data",
            ast::Item::Rel(_) => "rel",
            ast::Item::Fact(_) => "fact",
            ast::Item::Rule(_) => "rule",
            ast::Item::Policy(_) => "policy",
        })
        .collect();
    assert_eq!(kinds, ["rel", "fact", "rule", "policy", "policy", "fact"]);
}

#[test]
fn goals_parse_with_optional_terminator() {
    for goal in [
        r#"path("a", X)"#,
        r#"path("a", X)."#,
        r#"  path("a", X) ? "#,
        "path(\"a\", X) // comment\n",
    ] {
        let atom = parse_atom(FileId(3), goal).unwrap_or_else(|d| panic!("{goal}: {d:#?}"));
        assert_eq!(atom.rel.name, "path");
        assert_eq!(atom.args.len(), 2);
        assert_eq!(
            &goal[atom.span.start as usize..atom.span.end as usize],
            r#"path("a", X)"#
        );
        assert_eq!(atom.span.file, FileId(3));
        match (&atom.args[0], &atom.args[1]) {
            (ast::Term::Const(c), ast::Term::Var(v)) => {
                assert_eq!(c.value, ast::ConstValue::Str("a".into()));
                assert_eq!(v.name, "X");
            }
            other => panic!("{goal}: {other:?}"),
        }
    }
    let zero = parse_atom(FileId(0), "ready()").expect("a zero-arity goal parses");
    assert!(zero.args.is_empty());
}

#[test]
fn bad_goals_are_errors() {
    for (goal, code) in [
        (r#"path("a", X) extra"#, "ztpol::parse::expected"),
        (r#"path(a, X)"#, "ztpol::parse::lowercase-term"),
        (r#"path("a", X"#, "ztpol::parse::unbalanced-parens"),
        ("", "ztpol::parse::expected"),
        (r#"path("a, X)"#, "ztpol::parse::unclosed-string"),
        ("path(X) :- edge(X)", "ztpol::parse::expected"),
    ] {
        let diags = parse_atom(FileId(0), goal).expect_err(goal);
        assert_eq!(diags[0].code, code, "{goal}: {diags:#?}");
    }
}

#[test]
fn constants_are_read_exactly() {
    let text = r#"c("q\"b\\s\nt\tx", 049, -3, -0, 9223372036854775807, -9223372036854775808, true, false, "")."#;
    let (module, diags) = parse_module(FileId(0), text);
    assert!(diags.is_empty(), "{diags:#?}");
    let ast::Item::Fact(atom) = &module.items[0] else {
        panic!("a fact: {module:#?}");
    };
    let values: Vec<ast::ConstValue> = atom
        .args
        .iter()
        .map(|t| match t {
            ast::Term::Const(c) => c.value.clone(),
            other => panic!("a constant: {other:?}"),
        })
        .collect();
    use ast::ConstValue::{Bool, Int, Str};
    assert_eq!(
        values,
        [
            Str("q\"b\\s\nt\tx".into()),
            Int(49),
            Int(-3),
            Int(0),
            Int(i64::MAX),
            Int(i64::MIN),
            Bool(true),
            Bool(false),
            Str(String::new()),
        ]
    );
}

#[test]
fn keywords_only_start_items_in_item_position() {
    // In a body, `data`, `rel` and `permit` are ordinary relation names; `notable` is not `not`.
    let text = "p(X) :- data(X), rel(X), permit(X), notable(X), not(X).\n";
    let (module, diags) = parse_module(FileId(0), text);
    assert!(diags.is_empty(), "{diags:#?}");
    let ast::Item::Rule(rule) = &module.items[0] else {
        panic!("a rule: {module:#?}");
    };
    let names: Vec<String> = rule
        .body
        .iter()
        .map(|l| match l {
            ast::Literal::Pos(a) => a.rel.name.clone(),
            other => panic!("a positive atom: {other:?}"),
        })
        .collect();
    assert_eq!(names, ["data", "rel", "permit", "notable", "not"]);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for depth in [300, 5_000, 50_000] {
        let nots = "not ".repeat(depth);
        let parens = format!("{}true{}", "(".repeat(depth), ")".repeat(depth));
        let ors = vec!["true"; depth].join(" or ");
        for cond in [nots + "true", parens, ors] {
            let text = format!("forbid to x when {cond};\nedge(\"a\", \"b\").\n");
            let (module, diags) = parse_module(FileId(0), &text);
            assert_eq!(diags.len(), 1, "depth {depth}: {diags:#?}");
            assert_eq!(diags[0].code, "ztpol::parse::too-deep");
            assert!(
                module.items.iter().any(|i| matches!(i, ast::Item::Fact(_))),
                "the item after the deep one still parses"
            );
        }
    }
}

#[test]
fn every_good_file_in_the_repository_parses() {
    let mut files = vec![];
    for dir in ["stdlib", "examples"] {
        collect_ztp(Path::new(dir), &mut files);
    }
    assert!(!files.is_empty());
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        let (module, diags) = parse_module(FileId(0), &text);
        assert!(diags.is_empty(), "{}: {diags:#?}", path.display());
        check_spans(&text, &module);
    }
}

fn collect_ztp(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_ztp(&path, out);
        } else if path.extension().is_some_and(|e| e == "ztp") {
            out.push(path);
        }
    }
}
