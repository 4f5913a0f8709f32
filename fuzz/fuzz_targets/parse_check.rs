//! Parsing and checking never panic: any UTF-8 text goes through `parse_module` and, when it
//! parses without errors, through `check::check`; the text is also tried as a goal.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ztpol::source::{SourceFile, SourceMap};
use ztpol::syntax::{parse_atom, parse_module};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut sources = SourceMap::new();
    let file = sources.add(SourceFile::new("fuzz.ztp", None, text));
    let (module, diags) = parse_module(file, text);
    for d in &diags {
        for label in &d.labels {
            assert!(label.span.start <= label.span.end);
            assert!(label.span.end as usize <= text.len());
        }
    }
    if !diags.iter().any(|d| d.is_error()) {
        let _ = ztpol::check::check(sources, std::slice::from_ref(&module));
    }
    let _ = parse_atom(file, text);
});
