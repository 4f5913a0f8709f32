//! Rendering diagnostics for people (miette, graphical) and for machines (JSON).
//!
//! Kept out of the pipeline stages: they produce [`Diagnostic`]s, the front ends render them.

use crate::diag::{Diagnostic, Severity};
use crate::source::{FileId, SourceMap};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use std::fmt;

/// How to render: width in columns and whether to use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderConfig {
    pub width: usize,
    pub color: bool,
}

impl Default for RenderConfig {
    /// Fixed width 100, no colour: deterministic, as snapshot tests need.
    fn default() -> Self {
        RenderConfig {
            width: 100,
            color: false,
        }
    }
}

/// Renders diagnostics as text (no colour, width 100), one after another.
pub fn render_human(diags: &[Diagnostic], sources: &SourceMap) -> String {
    render_with(diags, sources, RenderConfig::default())
}

/// Renders diagnostics as text with the given configuration.
pub fn render_with(diags: &[Diagnostic], sources: &SourceMap, config: RenderConfig) -> String {
    let theme = if config.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(config.width)
        .with_links(false);
    let mut out = String::new();
    for diag in diags {
        let view = View::new(diag, sources);
        if handler.render_report(&mut out, &view).is_err() {
            // Rendering into a String cannot fail except through a formatter error in miette
            // itself; fall back to the plain form rather than losing the message.
            out.push_str(&render_plain(diag, sources));
        }
    }
    out
}

/// One line per diagnostic: `file:line:col: error[code]: message`, then help.
pub fn render_plain(diag: &Diagnostic, sources: &SourceMap) -> String {
    let sev = match diag.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut s = match diag.primary_span() {
        Some(span) => format!(
            "{}: {sev}[{}]: {}\n",
            sources.location(span),
            diag.code,
            diag.message
        ),
        None => format!("{sev}[{}]: {}\n", diag.code, diag.message),
    };
    if let Some(help) = &diag.help {
        s.push_str(&format!("  help: {help}\n"));
    }
    s
}

/// The JSON array of diagnostics (`--format json`).
pub fn render_json(diags: &[Diagnostic], sources: &SourceMap) -> serde_json::Value {
    serde_json::Value::Array(diags.iter().map(|d| d.to_json(sources)).collect())
}

/// A [`Diagnostic`] seen through miette's trait, with the source of its primary file.
/// Labels in other files become related diagnostics.
struct View {
    message: String,
    code: &'static str,
    severity: Severity,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
    related: Vec<View>,
}

impl View {
    fn new(diag: &Diagnostic, sources: &SourceMap) -> View {
        let file = diag.primary_span().map(|s| s.file);
        let mut view = View {
            message: diag.message.clone(),
            code: diag.code,
            severity: diag.severity,
            help: diag.help.clone(),
            source: file.map(|f| named(sources, f)),
            labels: Vec::new(),
            related: Vec::new(),
        };
        for label in &diag.labels {
            let span = (label.span.start as usize, label.span.len());
            let text = (!label.message.is_empty()).then(|| label.message.clone());
            let ls = if label.primary {
                LabeledSpan::new_primary_with_span(text, span)
            } else {
                LabeledSpan::new_with_span(text, span)
            };
            if Some(label.span.file) == file {
                view.labels.push(ls);
            } else {
                view.related.push(View {
                    message: label.message.clone(),
                    code: diag.code,
                    severity: diag.severity,
                    help: None,
                    source: Some(named(sources, label.span.file)),
                    labels: vec![LabeledSpan::new_primary_with_span(None, span)],
                    related: Vec::new(),
                });
            }
        }
        view
    }
}

fn named(sources: &SourceMap, file: FileId) -> NamedSource<String> {
    let f = sources.get(file);
    NamedSource::new(f.name.clone(), f.text.clone())
}

impl fmt::Debug for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for View {}

impl miette::Diagnostic for View {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|v| v as &dyn miette::Diagnostic),
            ))
        }
    }
}
