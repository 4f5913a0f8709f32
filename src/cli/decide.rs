//! `ztpol decide PATH... --request FILE|-` (one decision) or `--requests FILE|-` (JSON lines,
//! or one AuthZEN batch document with `evaluations`).
//!
//! Exit status: one request: 0 allow, 2 deny, 1 usage, I/O or malformed request (its deny
//! response is still printed); many requests: 0, or 1 when the input cannot be read or the
//! batch document itself is malformed. In JSON lines, a line may itself be a batch document
//! (its response line is the batch response).
//!
//! With `--token FILE`, the subject, chain and scope come from the verified token (keys from
//! `--jwks`, `--key` or `--secret-file`); a token that is not accepted denies every request.

use super::token::{read_text, KeyArgs};
use super::{load, Common, EvalArgs, Format, Loaded, EXIT_DENY, EXIT_ERROR, EXIT_OK};
use clap::Args;
use serde_json::Value as Json;
use std::io::Write;
use std::path::PathBuf;
use ztpol::decide::{self, batch, Auth, Decider, Decision};
use ztpol::ir::Program;

#[derive(Debug, Clone, Args)]
pub struct DecideArgs {
    /// Policy files (`.ztp`) or directories of them.
    #[arg(required_unless_present = "bundle", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Decide from a compiled bundle (`ztpol bundle build`) instead of policy sources. Its
    /// signature is verified against `--bundle-jwks` (or `--jwks`).
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub bundle: Option<PathBuf>,
    /// Accept an unsigned bundle (local development). A bad signature is still refused.
    #[arg(long, requires = "bundle")]
    pub allow_unsigned: bool,
    /// The public keys (JWKS) a bundle's signature is verified against; defaults to `--jwks`.
    #[arg(long, value_name = "FILE", requires = "bundle")]
    pub bundle_jwks: Option<PathBuf>,
    /// One AuthZEN evaluation request (JSON file, `-` for standard input).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "requests",
        conflicts_with = "requests"
    )]
    pub request: Option<PathBuf>,
    /// Many requests: JSON lines (one request per line), or one AuthZEN batch document with
    /// `evaluations` (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub requests: Option<PathBuf>,
    /// An identity token (JWT) naming the subject, the delegation chain and the scope.
    #[arg(long, value_name = "FILE")]
    pub token: Option<PathBuf>,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Also decide every fully-known request with the reference path (the request grounded
    /// into facts, the whole program evaluated by the naive engine) and report any
    /// disagreement on standard error, with exit status 1.
    #[arg(long)]
    pub check_reference: bool,
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub eval: EvalArgs,
}

pub fn run(args: &DecideArgs) -> u8 {
    let format = args.common.format();
    // The identity, verified before anything is decided.
    let verified = match super::token::verify_option(args.token.as_deref(), &args.keys) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let auth = super::token::auth(&verified);

    if let Some(path) = &args.bundle {
        let bundle = match load_bundle(args, path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: `{}`: {e}", path.display());
                return EXIT_ERROR;
            }
        };
        if args.check_reference {
            eprintln!("error: `--check-reference` needs the policy source, not a bundle");
            return EXIT_ERROR;
        }
        return bundle.with_decider(|decider| serve(args, decider, None, auth, format));
    }

    let loaded = match load(
        &args.paths,
        &args.common.data,
        None,
        &args.eval.config(),
        format,
    ) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let hash = match hash_with_data(&loaded.program, &args.common.data) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let decider = Decider::new(&loaded.program, &loaded.model).with_policy_hash(hash);
    serve(args, &decider, Some(&loaded), auth, format)
}

/// Reads a bundle and checks its signature as the options demand.
fn load_bundle(args: &DecideArgs, path: &std::path::Path) -> Result<ztpol::bundle::Bundle, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let keys = match args.bundle_jwks.as_ref().or(args.keys.jwks.as_ref()) {
        Some(p) => Some(super::bundle::key_set(p)?),
        None => None,
    };
    let trust = ztpol::bundle::Trust {
        keys: keys.as_ref(),
        allow_unsigned: args.allow_unsigned,
    };
    let bundle = ztpol::bundle::Bundle::load(&bytes, trust).map_err(|e| {
        match miette::Diagnostic::help(&e) {
            Some(h) => format!("{e}\n  help: {h}"),
            None => e.to_string(),
        }
    })?;
    if bundle.signer().is_none() {
        eprintln!(
            "warning: `{}` is not signed (accepted with `--allow-unsigned`)",
            path.display()
        );
    }
    Ok(bundle)
}

/// Decides the request or requests the options name.
/// `loaded` is the source program, when deciding from source (for `--check-reference`).
fn serve(
    args: &DecideArgs,
    decider: &Decider<'_>,
    loaded: Option<&Loaded>,
    auth: Auth<'_>,
    format: Format,
) -> u8 {
    let disagrees = |json: &Json, decision: &Decision| match loaded {
        Some(loaded) if args.check_reference => {
            !agrees_with_reference(loaded, json, auth, decision, &args.eval)
        }
        _ => false,
    };
    if let Some(path) = &args.request {
        let text = match read_text(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERROR;
            }
        };
        let json: Json = match serde_json::from_str(&text) {
            Ok(j) => j,
            Err(e) => {
                let err = decide::RequestError::new("request", format!("not JSON: {e}"));
                print_single(
                    decider,
                    None,
                    &Decision::deny(decide::Denial::Malformed(err)),
                    format,
                );
                return EXIT_ERROR;
            }
        };
        let decide::Decided { request, decision } = decider.decide_document(&json, auth);
        print_single(decider, request.as_ref(), &decision, format);
        if disagrees(&json, &decision) {
            return EXIT_ERROR;
        }
        return match (&decision.allowed, &decision.denial) {
            (true, _) => EXIT_OK,
            (false, Some(decide::Denial::Malformed(_))) => EXIT_ERROR,
            (false, _) => EXIT_DENY,
        };
    }

    let Some(path) = &args.requests else {
        eprintln!("error: give `--request FILE` or `--requests FILE`");
        return EXIT_ERROR;
    };
    let text = match read_text(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let mismatches = std::cell::Cell::new(0usize);
    let respond = |j: &Json| {
        let decide::Decided { request, decision } = decider.decide_document(j, auth);
        if disagrees(j, &decision) {
            mismatches.set(mismatches.get() + 1);
        }
        decide::response::to_json(decider, request.as_ref(), &decision)
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Ok(doc) = serde_json::from_str::<Json>(&text) {
        if batch::is_batch(&doc) {
            return match batch::run_batch(&doc, respond) {
                Ok(resp) => {
                    let _ = writeln!(out, "{}", pretty(&resp, format));
                    if mismatches.get() > 0 {
                        EXIT_ERROR
                    } else {
                        EXIT_OK
                    }
                }
                Err(e) => {
                    eprintln!("error: malformed batch: {e}");
                    EXIT_ERROR
                }
            };
        }
    }
    // A line may itself be a batch document: its response is the batch response.
    let respond_line = |j: &Json| {
        if batch::is_batch(j) {
            batch::run_batch(j, respond).unwrap_or_else(|e| decider.malformed(e))
        } else {
            respond(j)
        }
    };
    match batch::run_lines(text.as_bytes(), &mut out, respond_line, |e| {
        decider.malformed(e)
    }) {
        Ok(_) if mismatches.get() > 0 => EXIT_ERROR,
        Ok(_) => EXIT_OK,
        Err(e) => {
            eprintln!("error: cannot write the responses: {e}");
            EXIT_ERROR
        }
    }
}

/// Whether the reference path agrees with `decision` on the request document `json` (requests
/// it cannot decide, partial or malformed ones, agree trivially). Reports disagreements.
fn agrees_with_reference(
    loaded: &Loaded,
    json: &Json,
    auth: Auth<'_>,
    decision: &Decision,
    eval: &EvalArgs,
) -> bool {
    // Partial requests and evaluation errors (values of mismatched types) are outside the
    // reference path's scope.
    if !decision.constraints.is_always()
        || matches!(decision.denial, Some(decide::Denial::Error { .. }))
    {
        return true;
    }
    let mut doc = json.clone();
    let scope = match auth {
        Auth::None => None,
        Auth::Rejected(_) => return true,
        Auth::Identity(id) => {
            if ztpol::token::bind(&mut doc, id).is_err() {
                return true;
            }
            id.scope.clone()
        }
    };
    let Ok(mut request) = decide::Request::from_json(&doc) else {
        return true;
    };
    request.scope = scope;
    match decide::reference::decide(
        &loaded.program,
        &loaded.input,
        &request,
        &eval.config().limits,
    ) {
        Ok(r) if r == decision.allowed => true,
        Ok(r) => {
            eprintln!(
                "error: the reference path decides {} where the staged decider decides {}: {json}",
                verdict(r),
                verdict(decision.allowed)
            );
            false
        }
        Err(decide::reference::ReferenceError::Unknown(_)) => true,
        Err(e) => {
            eprintln!("error: the reference path failed: {e}");
            false
        }
    }
}

fn verdict(allowed: bool) -> &'static str {
    if allowed {
        "allow"
    } else {
        "deny"
    }
}

/// The policy hash over the sources and every data file (attached and `--data`).
pub(super) fn hash_with_data(program: &Program, extra: &[PathBuf]) -> Result<String, String> {
    let mut data = Vec::new();
    for p in program.data_files.iter().chain(extra) {
        let bytes = std::fs::read(p).map_err(|e| format!("cannot read `{}`: {e}", p.display()))?;
        data.push((p.display().to_string(), bytes));
    }
    let refs: Vec<(&str, &[u8])> = data
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    Ok(decide::policy_hash(program, &refs))
}

fn pretty(json: &Json, format: Format) -> String {
    match format {
        Format::Human => serde_json::to_string_pretty(json).unwrap_or_else(|_| json.to_string()),
        Format::Json => json.to_string(),
    }
}

fn print_single(
    decider: &Decider<'_>,
    request: Option<&decide::Request>,
    decision: &Decision,
    format: Format,
) {
    match format {
        Format::Json => {
            let resp = decide::response::to_json(decider, request, decision);
            println!("{resp}");
        }
        Format::Human => {
            let verdict = match (decision.allowed, decision.constraints.is_always()) {
                (true, true) => "allow",
                (true, false) => "allow under constraints",
                (false, _) => "deny",
            };
            println!("{verdict}");
            if decision.allowed && !decision.constraints.is_always() {
                println!("  constraints: {}", decision.constraints);
            }
            if decision.allowed {
                let ids: Vec<&str> = decide::response::grant_ids(decider, decision).collect();
                println!("  grants: {}", ids.join(", "));
            }
            println!(
                "  reason: {}",
                decide::response::reason_admin(decider, request, decision)
            );
            println!(
                "  reason for the agent: {}",
                decide::response::reason_user(request, decision)
            );
            println!("  policy: {}", decider.policy_hash());
        }
    }
}
