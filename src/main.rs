//! The `ztpol` command: parses the command line and dispatches to one verb.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// ztpol: a zero-trust policy compiler for AI agents.
///
/// Write who may do what, on whose behalf and under which limits; check it, query its Datalog
/// model, and decide agent tool calls (allow, deny, or allow under constraints).
#[derive(Debug, Parser)]
#[command(name = "ztpol", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse, resolve, type-check and stratify policies; report every problem.
    ///
    /// Exit status: 0 clean or warnings only, 3 errors, 1 unreadable input.
    Check(cli::check::CheckArgs),
    /// Evaluate the Datalog model and print the tuples matching a goal, or write every relation.
    ///
    /// Example: ztpol query graph.ztp --facts facts/ 'path("a", X)'
    Query(cli::query::QueryArgs),
    /// Decide one request (`--request`) or many (`--requests`: JSON lines or an AuthZEN batch).
    ///
    /// Exit status: one request: 0 allow, 2 deny, 1 malformed; many: 0.
    Decide(cli::decide::DecideArgs),
    /// Explain the decision on one request: its derivation (allow) or what failed (deny).
    ///
    /// Exit status: 0 allow, 2 deny, 1 malformed request or unreadable input.
    Explain(cli::explain::ExplainArgs),
    /// Compare two versions of a policy: every permission that changes, and why.
    ///
    /// Exit status: 0, or 4 when `--fail-on` matches a change; 1 for errors.
    Diff(cli::diff::DiffArgs),
    /// Interactive: goals, decisions, explanations and what-if over a loaded policy.
    ///
    /// With standard input not a terminal, runs the commands it reads as a script.
    Repl(cli::repl::ReplArgs),
    /// Mint and verify identity tokens (JWT with RFC 8693 delegation claims).
    Token(cli::token::TokenArgs),
    /// Build, inspect and verify signed decision bundles.
    Bundle(cli::bundle::BundleArgs),
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Check(args) => cli::check::run(args),
        Command::Query(args) => cli::query::run(args),
        Command::Decide(args) => cli::decide::run(args),
        Command::Explain(args) => cli::explain::run(args),
        Command::Diff(args) => cli::diff::run(args),
        Command::Token(args) => cli::token::run(args),
        Command::Bundle(args) => cli::bundle::run(args),
        Command::Repl(args) => cli::repl::run(args),
    };
    ExitCode::from(code)
}

/// Output piped into a reader that stops early (`ztpol query ... | head`) ends the process
/// quietly, as for other Unix tools, instead of failing on a broken pipe.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at start-up before any other thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
