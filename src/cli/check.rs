//! `ztpol check PATH...`: parse, resolve, type-check and stratify; report every problem.

use super::{report, report_error, Common, Format, EXIT_ERROR, EXIT_INVALID, EXIT_OK};
use clap::Args;
use std::path::PathBuf;
use ztpol::diag::Severity;
use ztpol::render;

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Policy files (`.ztp`) or directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

pub fn run(args: &CheckArgs) -> u8 {
    let format = args.common.format();
    let compiled = match ztpol::load::compile_paths(&args.paths) {
        Ok(c) => c,
        Err(e) => {
            report_error(&e, format);
            return EXIT_ERROR;
        }
    };
    let diags = &compiled.diagnostics;
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diags.len() - errors;
    match format {
        Format::Human => {
            report(diags, &compiled.sources, format);
            eprintln!(
                "{}",
                summary(errors, warnings, compiled.sources.files().count())
            );
        }
        Format::Json => {
            let out = serde_json::json!({
                "ok": errors == 0,
                "errors": errors,
                "warnings": warnings,
                "diagnostics": render::render_json(diags, &compiled.sources),
            });
            println!("{out}");
        }
    }
    if errors > 0 {
        EXIT_INVALID
    } else {
        EXIT_OK
    }
}

fn summary(errors: usize, warnings: usize, files: usize) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    if errors == 0 && warnings == 0 {
        format!("ok: {} checked, no problems", plural(files, "file"))
    } else {
        format!(
            "{}: {}, {}",
            if errors > 0 { "failed" } else { "ok" },
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}
