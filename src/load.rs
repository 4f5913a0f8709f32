//! The compile driver: from paths to a checked [`Program`].
//!
//! Reads `.ztp` files (a directory contributes the `.ztp` files directly inside it, sorted by
//! name), parses them, loads the stdlib modules they `use` (transitively), and checks the whole.

use crate::check;
use crate::diag::{did_you_mean, Diagnostic};
use crate::ir::Program;
use crate::source::{SourceFile, SourceMap};
use crate::stdlib;
use crate::syntax::{self, ast};
use std::path::{Path, PathBuf};

/// What compiling produced. `program` is `Some` when there was no error; `sources` always holds
/// every file read, for rendering the diagnostics.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub program: Option<Program>,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
}

impl Compiled {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// A path that could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LoadError {
    #[error("cannot read `{path}`: {source}")]
    #[diagnostic(code(ztpol::load::io))]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` contains no `.ztp` files")]
    #[diagnostic(
        code(ztpol::load::empty_dir),
        help("a directory contributes the `.ztp` files directly inside it")
    )]
    EmptyDir { path: String },
    #[error("no policy files given")]
    #[diagnostic(code(ztpol::load::no_input))]
    NoInput,
}

/// The `.ztp` files a list of paths names, in order: files as given, directories expanded.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    if paths.is_empty() {
        return Err(LoadError::NoInput);
    }
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| LoadError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if meta.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|source| LoadError::Io {
                path: path.display().to_string(),
                source,
            })?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "ztp"))
                .collect();
            if files.is_empty() {
                return Err(LoadError::EmptyDir {
                    path: path.display().to_string(),
                });
            }
            files.sort();
            out.extend(files);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// Reads, parses and checks the policy at `paths`.
pub fn compile_paths(paths: &[PathBuf]) -> Result<Compiled, LoadError> {
    let mut files = Vec::new();
    for path in expand_paths(paths)? {
        let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Io {
            path: path.display().to_string(),
            source,
        })?;
        files.push(SourceFile::new(
            path.display().to_string(),
            Some(path),
            text,
        ));
    }
    Ok(compile_files(files))
}

/// Parses and checks one source text (for tests, the REPL and embedding).
pub fn compile_str(name: &str, text: &str) -> Compiled {
    compile_files(vec![SourceFile::new(name, None, text)])
}

/// Parses and checks source files, loading the stdlib modules they use.
pub fn compile_files(files: Vec<SourceFile>) -> Compiled {
    let mut sources = SourceMap::new();
    let mut modules = Vec::new();
    let mut diagnostics = Vec::new();
    for file in files {
        let text = file.text.clone();
        let id = sources.add(file);
        let (module, diags) = syntax::parse_module(id, &text);
        diagnostics.extend(diags);
        modules.push(module);
    }
    // Resolve `use`, loading each stdlib module once, transitively.
    let mut loaded: Vec<String> = Vec::new();
    let mut next = 0;
    while next < modules.len() {
        let uses: Vec<ast::UseDecl> = modules[next]
            .items
            .iter()
            .filter_map(|item| match item {
                ast::Item::Use(u) => Some(u.clone()),
                _ => None,
            })
            .collect();
        next += 1;
        for u in uses {
            match resolve_use(&u) {
                Ok(name) => {
                    if loaded.iter().any(|l| l == name) {
                        continue;
                    }
                    loaded.push(name.to_string());
                    let Some(text) = stdlib::module(name) else {
                        continue; // resolve_use only returns names of existing modules
                    };
                    let id = sources.add(SourceFile::new(stdlib::file_name(name), None, text));
                    let (module, diags) = syntax::parse_module(id, text);
                    diagnostics.extend(diags);
                    modules.push(module);
                }
                Err(d) => diagnostics.push(d),
            }
        }
    }
    let parse_failed = diagnostics.iter().any(Diagnostic::is_error);
    let out = check::check(sources.clone(), &modules);
    // After a syntax error some items are missing, so warnings such as "never used" would
    // mislead; errors the checker finds in what did parse are still reported.
    diagnostics.extend(
        out.diagnostics
            .into_iter()
            .filter(|d| !parse_failed || d.is_error()),
    );
    diagnostics.sort_by_key(|d| d.primary_span().map(|s| (s.file, s.start)));
    let program = if parse_failed { None } else { out.program };
    Compiled {
        program,
        diagnostics,
        sources,
    }
}

/// `std::roles` -> `"roles"`, or an error naming the unknown module.
fn resolve_use(u: &ast::UseDecl) -> Result<&'static str, Diagnostic> {
    let dotted: Vec<&str> = u.path.iter().map(|i| i.name.as_str()).collect();
    let text = dotted.join("::");
    let candidates: Vec<String> = stdlib::MODULES
        .iter()
        .map(|(n, _)| format!("std::{n}"))
        .collect();
    if dotted.len() == 2 && dotted[0] == "std" {
        if let Some((name, _)) = stdlib::MODULES.iter().find(|(n, _)| *n == dotted[1]) {
            return Ok(name);
        }
    }
    let mut d = Diagnostic::error(
        "ztpol::load::unknown-module",
        format!("unknown module `{text}`"),
    )
    .at(u.span, "no such module");
    d = match did_you_mean(&text, candidates.iter().map(String::as_str)) {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None => d.with_help(format!(
            "the standard modules are {}",
            candidates
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    Err(d)
}

/// The directory a path names, or the directory of the file it names.
pub fn base_dir(path: &Path) -> &Path {
    if path.is_dir() {
        path
    } else {
        path.parent().unwrap_or(Path::new("."))
    }
}
