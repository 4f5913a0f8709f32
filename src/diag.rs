//! Diagnostics: problems found in source text, data or requests, with their spans.
//!
//! Every stage reports problems as [`Diagnostic`]s; many are collected per run. The CLI renders
//! them with miette (human) or as JSON ([`Diagnostic::to_json`]).

use crate::source::{SourceMap, Span};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A secondary span with a short message, or the primary one when `primary` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
    pub primary: bool,
}

/// One problem. `code` is stable (`ztpol::check::unknown-relation`) and documented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    /// Lowercase, no final period, user input in backticks.
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Adds the primary label (the span the problem is at).
    pub fn at(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: true,
        });
        self
    }

    /// Adds a secondary label.
    pub fn also(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The primary span, or the first label's.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
            .map(|l| l.span)
    }

    /// The JSON form: code, severity, message, file, line, column, span, help, labels.
    pub fn to_json(&self, sources: &SourceMap) -> serde_json::Value {
        let mut obj = serde_json::json!({
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        });
        if let Some(span) = self.primary_span() {
            let file = sources.get(span.file);
            let (line, column) = file.line_col(span.start as usize);
            obj["file"] = file.name.clone().into();
            obj["line"] = line.into();
            obj["column"] = column.into();
            obj["span"] = serde_json::json!({"start": span.start, "end": span.end});
        }
        obj["help"] = match &self.help {
            Some(h) => h.clone().into(),
            None => serde_json::Value::Null,
        };
        obj["labels"] = self
            .labels
            .iter()
            .map(|l| {
                let file = sources.get(l.span.file);
                let (line, column) = file.line_col(l.span.start as usize);
                serde_json::json!({
                    "file": file.name, "line": line, "column": column,
                    "span": {"start": l.span.start, "end": l.span.end},
                    "message": l.message, "primary": l.primary,
                })
            })
            .collect();
        obj
    }
}

/// Edit distance for "did you mean" suggestions: insertions, deletions, substitutions and
/// transpositions of adjacent characters (`egde` is one edit from `edge`).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between a[..i] and b[..j], three rows kept.
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j - 1] + cost).min(prev[j] + 1).min(cur[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate within a small edit distance, for `did you mean` help.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (levenshtein(&name.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(levenshtein("edge", "edge"), 0);
        assert_eq!(levenshtein("egde", "edge"), 1);
        assert_eq!(levenshtein("memebr", "member"), 1);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        let names = ["member", "edge", "has_role"];
        assert_eq!(did_you_mean("egde", names), Some("edge"));
        assert_eq!(did_you_mean("memebr", names), Some("member"));
        assert_eq!(did_you_mean("zzzz", names), None);
        assert_eq!(did_you_mean("edge", names), None);
    }
}
