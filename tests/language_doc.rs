//! Every ```ztp block of docs/LANGUAGE.md parses, and checks (with the stdlib modules it
//! uses), without a single diagnostic.

mod common;

use ztpol::source::FileId;
use ztpol::syntax::parse_module;

/// The ```ztp blocks of a markdown text, with the line each starts on.
pub fn ztp_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```ztp" => current = Some((n + 2, String::new())),
            None => {}
            Some(_) if line.trim_start() == "```" => blocks.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unclosed ```ztp block");
    blocks
}

#[test]
fn every_language_doc_example_parses_and_checks() {
    let doc = std::fs::read_to_string("docs/LANGUAGE.md").expect("docs/LANGUAGE.md exists");
    let blocks = ztp_blocks(&doc);
    assert!(blocks.len() >= 13, "only {} ```ztp blocks", blocks.len());
    for (line, text) in &blocks {
        let (module, diags) = parse_module(FileId(0), text);
        assert!(diags.is_empty(), "docs/LANGUAGE.md:{line}: {diags:#?}");
        assert!(
            !module.items.is_empty(),
            "docs/LANGUAGE.md:{line}: empty block"
        );
        common::check_spans(text, &module);
        let compiled = ztpol::load::compile_str("LANGUAGE.md", text);
        assert!(
            compiled.diagnostics.is_empty(),
            "docs/LANGUAGE.md:{line}: {:#?}",
            compiled.diagnostics
        );
        assert!(compiled.program.is_some(), "docs/LANGUAGE.md:{line}");
    }
}
