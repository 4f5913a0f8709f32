//! Name resolution: `rel` declarations form one namespace across all modules; every atom's
//! relation is looked up in it and its arity checked.

use super::Checker;
use crate::diag::{did_you_mean, Diagnostic};
use crate::ir::{self, ColumnInfo, RelId, RelKind};
use crate::source::Span;
use crate::syntax::ast;
use std::path::PathBuf;

/// Collects every `rel` declaration. A second declaration of a name is an error that points at
/// both; the first one wins.
pub(crate) fn collect_declarations(ck: &mut Checker<'_>, modules: &[ast::Module]) {
    for module in modules {
        for item in &module.items {
            let ast::Item::Rel(decl) = item else { continue };
            if let Some(&first) = ck.by_name.get(&decl.name.name) {
                let first_span = ck.relations[first.index()].span;
                ck.diags.push(
                    Diagnostic::error(
                        "ztpol::check::duplicate-relation",
                        format!("relation `{}` is declared twice", decl.name.name),
                    )
                    .at(decl.name.span, "declared again here")
                    .also(first_span, "first declared here")
                    .with_help("remove one declaration, or rename one of the relations"),
                );
                continue;
            }
            let columns = decl
                .columns
                .iter()
                .map(|c| ColumnInfo {
                    name: c.name.as_ref().map(|n| n.name.clone()),
                    ty: c.ty,
                })
                .collect();
            let spans = decl.columns.iter().map(|c| c.ty_span).collect();
            let id = ck.add_relation(
                ir::Relation {
                    name: decl.name.name.clone(),
                    columns,
                    span: decl.name.span,
                    kind: RelKind::Declared,
                },
                spans,
            );
            ck.by_name.insert(decl.name.name.clone(), id);
        }
    }
}

/// Resolves `data "file.json";` items against the directory of the file that names them.
pub(crate) fn collect_data_files(ck: &mut Checker<'_>, modules: &[ast::Module]) {
    for module in modules {
        let dir = ck.sources.get(module.file).dir().map(|d| d.to_path_buf());
        for item in &module.items {
            let ast::Item::Data(data) = item else {
                continue;
            };
            let path = match &dir {
                Some(dir) => dir.join(&data.path),
                None => PathBuf::from(&data.path),
            };
            if !ck.data_files.contains(&path) {
                ck.data_files.push(path);
            }
        }
    }
}

/// How many distinct unknown relation names get a `did you mean` search.
const MAX_SUGGESTION_SEARCHES: usize = 256;

/// Whether `a` becomes `b` by swapping two adjacent characters (`egde` / `edge`).
fn is_transposition(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len() != b.len() {
        return false;
    }
    let diff: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    matches!(diff.as_slice(), [i, j] if *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i])
}

/// The closest candidate for a `did you mean` help: [`did_you_mean`]'s, or else one that
/// differs by two swapped neighbouring characters (a common typo that costs two edits).
pub(crate) fn suggest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> Option<&'a str> {
    did_you_mean(name, candidates.clone()).or_else(|| {
        candidates
            .into_iter()
            .filter(|c| is_transposition(name, c))
            .min()
    })
}

/// The error for a name that is not a declared relation, with a suggestion when one is close.
pub(crate) fn unknown_relation(ck: &mut Checker<'_>, name: &ast::Ident) -> Diagnostic {
    // One search per distinct unknown name, however often it is used.
    // Past a few hundred distinct unknown names nobody reads the suggestions; stop searching so
    // that a file full of unknown names still checks in linear time.
    let suggestion = match ck.suggestions.get(&name.name) {
        Some(s) => s.clone(),
        None if ck.suggestions.len() >= MAX_SUGGESTION_SEARCHES => None,
        None => {
            let len = name.name.chars().count();
            let slack = (len / 3).max(1);
            let candidates = ck
                .by_name
                .keys()
                .map(String::as_str)
                .filter(|c| c.chars().count().abs_diff(len) <= slack);
            let s = suggest(&name.name, candidates).map(String::from);
            ck.suggestions.insert(name.name.clone(), s.clone());
            s
        }
    };
    let help = match suggestion {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("declare it: `rel {}(...)`", name.name),
    };
    Diagnostic::error(
        "ztpol::check::unknown-relation",
        format!("unknown relation `{}`", name.name),
    )
    .at(name.span, "not declared")
    .with_help(help)
}

/// The error for an atom whose argument count differs from its relation's declaration.
pub(crate) fn arity_mismatch(
    name: &str,
    declared: usize,
    decl_span: Span,
    given: usize,
    at: Span,
) -> Diagnostic {
    Diagnostic::error(
        "ztpol::check::arity-mismatch",
        format!(
            "relation `{name}` takes {declared} {}, found {given}",
            plural(declared, "argument")
        ),
    )
    .at(at, format!("{given} {}", plural(given, "argument")))
    .also(
        decl_span,
        format!("declared with {declared} {}", plural(declared, "column")),
    )
}

pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

/// Looks up an atom's relation and checks its arity. Reports and returns `None` on failure.
/// A successful lookup counts as a mention of the relation.
pub(crate) fn resolve(
    ck: &mut Checker<'_>,
    rel: &ast::Ident,
    arity: usize,
    at: Span,
) -> Option<RelId> {
    let Some(&id) = ck.by_name.get(&rel.name) else {
        let d = unknown_relation(ck, rel);
        ck.diags.push(d);
        return None;
    };
    ck.mentions[id.index()] += 1;
    let relation = &ck.relations[id.index()];
    if relation.arity() != arity {
        let d = arity_mismatch(&rel.name, relation.arity(), relation.span, arity, at);
        ck.diags.push(d);
        return None;
    }
    Some(id)
}
