//! `ztpol diff OLD NEW`: every permission that changes between two versions of a policy, with
//! the statements responsible (see docs/DIFF.md).
//!
//! Exit status: 0, or 4 when `--fail-on` names a kind of change that occurs; 1 for usage, I/O
//! and input errors (either version failing to load, or a condition the diff cannot compare).

use super::{load, report_error, Common, EvalArgs, Format, EXIT_ERROR, EXIT_OK};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use ztpol::diff::{self, render, ChangeKind, Version};

/// `ztpol diff --fail-on` matched.
pub const EXIT_FAIL_ON: u8 = 4;

#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// The old version: a `.ztp` file or a directory of them.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The new version: a `.ztp` file or a directory of them.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Add facts to the old version only; repeatable.
    #[arg(long = "old-data", value_name = "FILE")]
    pub old_data: Vec<PathBuf>,
    /// Add facts to the new version only; repeatable.
    #[arg(long = "new-data", value_name = "FILE")]
    pub new_data: Vec<PathBuf>,
    /// Exit with status 4 when a change of this kind exists: `widened` (anything that allows
    /// more: widened, added or changed), `added`, or `any`.
    #[arg(long = "fail-on", value_enum, value_name = "KIND")]
    pub fail_on: Option<FailOn>,
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub eval: EvalArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// A permission that allows a request the old version denied: widened, added or changed.
    Widened,
    /// A principal that had no permission for an action and kind now has one.
    Added,
    /// Any change.
    Any,
}

impl FailOn {
    pub fn matches(self, kind: ChangeKind) -> bool {
        match self {
            FailOn::Any => true,
            FailOn::Added => kind == ChangeKind::Added,
            FailOn::Widened => match kind {
                ChangeKind::Added | ChangeKind::Widened | ChangeKind::Changed => true,
                ChangeKind::Removed | ChangeKind::Narrowed => false,
            },
        }
    }
}

pub fn run(args: &DiffArgs) -> u8 {
    let format = args.common.format();
    let config = args.eval.config();
    let data = |extra: &[PathBuf]| -> Vec<PathBuf> {
        args.common.data.iter().chain(extra).cloned().collect()
    };
    // The two versions load independently: in parallel.
    let (old_data, new_data) = (data(&args.old_data), data(&args.new_data));
    let (old, new) = std::thread::scope(|s| {
        let old = s.spawn(|| {
            load(
                std::slice::from_ref(&args.old),
                &old_data,
                None,
                &config,
                format,
            )
        });
        let new = load(
            std::slice::from_ref(&args.new),
            &new_data,
            None,
            &config,
            format,
        );
        (old.join(), new)
    });
    let old = match old {
        Ok(Ok(l)) => l,
        Ok(Err(code)) => return code,
        Err(_) => {
            eprintln!("error: loading the old version stopped unexpectedly");
            return EXIT_ERROR;
        }
    };
    let new = match new {
        Ok(l) => l,
        Err(code) => return code,
    };
    let result = diff::diff(
        Version {
            program: &old.program,
            model: &old.model,
        },
        Version {
            program: &new.program,
            model: &new.model,
        },
    );
    let d = match result {
        Ok(d) => d,
        Err(e) => {
            report_error(&e, format);
            return EXIT_ERROR;
        }
    };
    match format {
        Format::Human => print!("{}", render::human(&d)),
        Format::Json => println!("{}", render::json(&d)),
    }
    let failed = args
        .fail_on
        .is_some_and(|f| d.changes().any(|c| f.matches(c.set.kind)));
    if failed {
        EXIT_FAIL_ON
    } else {
        EXIT_OK
    }
}
