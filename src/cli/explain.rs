//! `ztpol explain PATH... --request FILE|-`: the decision on one request with its derivation
//! (allow) or its why-not (deny), as an indented tree or, with `--format json`, the structure
//! docs/EXPLAIN.md describes.
//!
//! Exit status: 0 allow, 2 deny, 1 usage, I/O or malformed request (its explanation is still
//! printed). Token options as in `decide`.

use super::token::{read_text, KeyArgs};
use super::{load, report, report_error, Common, EvalArgs, Format, EXIT_DENY, EXIT_ERROR, EXIT_OK};
use clap::Args;
use serde_json::Value as Json;
use std::path::PathBuf;
use ztpol::decide::{self, Decision, Denial};
use ztpol::explain::{ExplainConfig, Explainer};
use ztpol::source::SourceFile;

#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// Policy files (`.ztp`) or directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The AuthZEN evaluation request to explain (JSON file, `-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub request: PathBuf,
    /// An identity token (JWT) naming the subject, the delegation chain and the scope.
    #[arg(long, value_name = "FILE")]
    pub token: Option<PathBuf>,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub eval: EvalArgs,
}

pub fn run(args: &ExplainArgs) -> u8 {
    let format = args.common.format();
    let verified = match super::token::verify_option(args.token.as_deref(), &args.keys) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let auth = super::token::auth(&verified);
    let config = args.eval.config();
    let loaded = match load(&args.paths, &args.common.data, None, &config, format) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let explainer = explainer(&loaded, &config);
    let text = match read_text(&args.request) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let result = match serde_json::from_str::<Json>(&text) {
        Ok(json) => explainer.explain_document(&json, auth),
        Err(e) => {
            let err = decide::RequestError::new("request", format!("not JSON: {e}"));
            explainer.explain_decision(None, Decision::deny(Denial::Malformed(err)))
        }
    };
    let explanation = match result {
        Ok(x) => x,
        Err(e) => {
            report_error(&e, format);
            return EXIT_ERROR;
        }
    };
    match format {
        Format::Human => print!("{}", explainer.explanation_text(&explanation)),
        Format::Json => println!("{}", explainer.explanation_json(&explanation)),
    }
    match (&explanation.decision.allowed, &explanation.decision.denial) {
        (true, _) => EXIT_OK,
        (false, Some(Denial::Malformed(_))) => EXIT_ERROR,
        (false, _) => EXIT_DENY,
    }
}

/// `ztpol query --explain GOAL`: the proof of every tuple matching the goal (at most ten), or
/// why none does.
pub fn explain_goal(
    loaded: &mut super::Loaded,
    text: &str,
    config: &ztpol::eval::EvalConfig,
    format: Format,
) -> u8 {
    let program = &mut loaded.program;
    let file = program
        .sources
        .add(SourceFile::new("<goal>", None, text.to_string()));
    let goal = match ztpol::syntax::parse_atom(file, text)
        .and_then(|atom| ztpol::check::lower_goal(program, &atom))
    {
        Ok(g) => g,
        Err(diags) => {
            report(&diags, &program.sources, format);
            return EXIT_ERROR;
        }
    };
    let explainer = explainer(loaded, config);
    // Tuples matching the goal's constants and repeated variables.
    let rows: Vec<Vec<ztpol::ir::Sym>> = loaded
        .model
        .get(goal.rel)
        .iter()
        .filter(|t| goal.matches(t))
        .take(10)
        .map(<[ztpol::ir::Sym]>::to_vec)
        .collect();
    if rows.is_empty() {
        let pattern = goal.pattern();
        return match explainer.why_not(goal.rel, &pattern) {
            Ok(w) => {
                match format {
                    Format::Human => print!("{}", explainer.why_not_text(&w)),
                    Format::Json => println!(
                        "{}",
                        serde_json::json!({"holds": false, "why_not": explainer.why_not_json(&w)})
                    ),
                }
                EXIT_OK
            }
            Err(e) => {
                report_error(&e, format);
                EXIT_ERROR
            }
        };
    }
    let mut proofs = Vec::new();
    for row in &rows {
        match explainer.prove(goal.rel, row) {
            Ok(p) => proofs.push(p),
            Err(e) => {
                report_error(&e, format);
                return EXIT_ERROR;
            }
        }
    }
    match format {
        Format::Human => {
            for p in &proofs {
                print!("{}", explainer.proof_text(p));
            }
        }
        Format::Json => {
            let ps: Vec<Json> = proofs.iter().map(|p| explainer.proof_json(p)).collect();
            println!("{}", serde_json::json!({"holds": true, "proofs": ps}));
        }
    }
    EXIT_OK
}

/// The explanation session over a loaded program, under the evaluation limits of the command.
fn explainer<'a>(loaded: &'a super::Loaded, config: &ztpol::eval::EvalConfig) -> Explainer<'a> {
    Explainer::with_config(
        &loaded.program,
        &loaded.model,
        &loaded.facts,
        ExplainConfig {
            limits: config.limits,
            ..ExplainConfig::default()
        },
    )
}
