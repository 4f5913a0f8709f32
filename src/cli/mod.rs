//! The command-line front end: one module per verb. `main.rs` only parses and dispatches.
//!
//! Exit codes (DESIGN.md section 3): 0 success / allow / clean, 1 usage, I/O or input error,
//! 2 deny, 3 `check` found errors, 4 `diff --fail-on` matched.

pub mod bundle;
pub mod check;
pub mod decide;
pub mod diff;
pub mod explain;
pub mod query;
pub mod repl;
pub mod token;

use clap::{Args, ValueEnum};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;
use ztpol::diag::Diagnostic;
use ztpol::eval::{self, Engine, EvalConfig, Limits, Model};
use ztpol::ir::Program;
use ztpol::render;
use ztpol::source::SourceMap;

pub const EXIT_OK: u8 = 0;
pub const EXIT_ERROR: u8 = 1;
pub const EXIT_DENY: u8 = 2;
pub const EXIT_INVALID: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text for people, diagnostics rendered with source snippets.
    Human,
    /// JSON for machines.
    Json,
}

/// Options every verb that reads a policy takes.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Output format; the default is `human` when standard output is a terminal, else `json`.
    #[arg(long, value_enum, global = true)]
    pub format: Option<Format>,
    /// Add facts from a JSON data file (`{"relation": [[v1, v2], ...]}`); repeatable.
    #[arg(long = "data", value_name = "FILE")]
    pub data: Vec<PathBuf>,
}

impl Common {
    pub fn format(&self) -> Format {
        self.format.unwrap_or(if std::io::stdout().is_terminal() {
            Format::Human
        } else {
            Format::Json
        })
    }
}

/// Evaluation limits and engine choice.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Stop with an error when the model would hold more facts than this.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_facts)]
    pub max_facts: usize,
    /// Stop with an error after this many rounds in one stratum.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_iterations)]
    pub max_iterations: usize,
    /// Stop with an error after this many seconds of evaluation.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::default().max_time.as_secs_f64())]
    pub max_time: f64,
    /// The evaluation engine: `datafrog` (semi-naive) or `naive` (the reference oracle).
    #[arg(long, value_enum, default_value_t = EngineArg::Datafrog)]
    pub engine: EngineArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    Datafrog,
    Naive,
}

impl EvalArgs {
    pub fn config(&self) -> EvalConfig {
        let max_time = if self.max_time.is_finite() && self.max_time >= 0.0 {
            Duration::from_secs_f64(self.max_time.min(1e9))
        } else {
            Limits::default().max_time
        };
        EvalConfig {
            engine: match self.engine {
                EngineArg::Datafrog => Engine::Datafrog,
                EngineArg::Naive => Engine::Naive,
            },
            limits: Limits {
                max_facts: self.max_facts,
                max_iterations: self.max_iterations,
                max_time,
            },
        }
    }
}

/// A checked program with its data loaded and its data-time model computed.
pub struct Loaded {
    pub program: Program,
    /// The given facts (inline and data files), before evaluation: the reference decision
    /// path (`decide --check-reference`) evaluates from them.
    pub input: Model,
    pub model: Model,
    /// The facts loaded from data and facts files (with their origins, for explanations).
    pub facts: Vec<ztpol::ir::Fact>,
    /// Facts given as input: written in the sources plus loaded from data files.
    pub input_facts: usize,
}

/// Prints diagnostics in the chosen format: human to standard error, JSON to standard output.
pub fn report(diags: &[Diagnostic], sources: &SourceMap, format: Format) {
    if diags.is_empty() {
        return;
    }
    match format {
        Format::Human => {
            let config = render::RenderConfig {
                width: 100,
                color: std::io::stderr().is_terminal(),
            };
            eprint!("{}", render::render_with(diags, sources, config));
        }
        Format::Json => {
            let out = serde_json::json!({ "errors": render::render_json(diags, sources) });
            println!("{out}");
        }
    }
}

/// Prints one error that has no source span.
pub fn report_error(err: &dyn miette::Diagnostic, format: Format) {
    match format {
        Format::Human => eprintln!("{:?}", miette::Report::msg(err.to_string())),
        Format::Json => {
            let code = err.code().map(|c| c.to_string());
            let help = err.help().map(|h| h.to_string());
            let out = serde_json::json!({"errors": [{
                "code": code, "severity": "error", "message": err.to_string(), "help": help,
            }]});
            println!("{out}");
        }
    }
}

/// Compiles the policy at `paths`, loads the data it attaches plus `data` (and TSV facts from
/// `facts_dir`), and evaluates the model. Problems are reported; the error is the exit code.
pub fn load(
    paths: &[PathBuf],
    data: &[PathBuf],
    facts_dir: Option<&Path>,
    eval_config: &EvalConfig,
    format: Format,
) -> Result<Loaded, u8> {
    let compiled = match ztpol::load::compile_paths(paths) {
        Ok(c) => c,
        Err(e) => {
            report_error(&e, format);
            return Err(EXIT_ERROR);
        }
    };
    let Some(mut program) = compiled.program else {
        report(&compiled.diagnostics, &compiled.sources, format);
        return Err(EXIT_ERROR);
    };
    let mut data_facts = Vec::new();
    let mut errors = Vec::new();
    let files: Vec<PathBuf> = program.data_files.iter().chain(data).cloned().collect();
    for file in &files {
        match ztpol::data::load_json(&mut program, file) {
            Ok(facts) => data_facts.extend(facts),
            Err(e) => errors.extend(e),
        }
    }
    if let Some(dir) = facts_dir {
        match ztpol::data::load_facts_dir(&mut program, dir) {
            Ok(facts) => data_facts.extend(facts),
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        report(&errors, &program.sources, format);
        return Err(EXIT_ERROR);
    }
    let input_facts = program.facts.len() + data_facts.len();
    let input = eval::input_model(&program, &data_facts);
    let model = match eval::evaluate(&program, &input, eval_config) {
        Ok(m) => m,
        Err(e) => {
            report_error(&e, format);
            return Err(EXIT_ERROR);
        }
    };
    Ok(Loaded {
        program,
        input,
        model,
        facts: data_facts,
        input_facts,
    })
}
