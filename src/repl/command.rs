//! The commands of the REPL, read from one complete command text.

use super::input::{first_word, strip_comments};

/// One command, as typed (comments removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Nothing to do (an empty line or a comment).
    Empty,
    /// `path("a", X)` or `?- path("a", X)`: the atom text.
    Goal(String),
    /// `decide JSON` or `decide @FILE`.
    Decide(RequestArg),
    /// `explain JSON` or `explain @FILE`.
    Explain(RequestArg),
    /// `why GOAL`: the atom text.
    Why(String),
    /// `whynot GOAL`: the atom text.
    WhyNot(String),
    /// `assume FACT.`: the atom text.
    Assume(String),
    /// `retract FACT.`: the atom text.
    Retract(String),
    /// A rule, declaration or policy statement added to the session's program.
    Define(String),
    /// `:load PATH...`.
    Load(Vec<String>),
    Reload,
    Relations,
    Facts,
    Reset,
    Help,
    Quit,
    /// `:something` that is not a command.
    Unknown(String),
    /// A command given the wrong arguments: the message.
    Usage(String),
}

/// A request given inline or as a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestArg {
    Json(String),
    File(String),
}

/// The colon commands with their arguments and what they do, for `:help` and completion.
pub const COLON_COMMANDS: &[(&str, &str, &str)] = &[
    (
        ":load",
        "PATH...",
        "load policy files or directories (a new session)",
    ),
    (
        ":reload",
        "",
        "re-read the files, keeping session rules and what-if facts",
    ),
    (
        ":relations",
        "",
        "relations with their columns and row counts",
    ),
    (
        ":facts",
        "",
        "facts assumed and retracted, and session rules",
    ),
    (
        ":reset",
        "",
        "drop every assumed and retracted fact and every session rule",
    ),
    (":help", "", "this text"),
    (":quit", "", "leave (Ctrl-D too)"),
];

/// The keyword commands, for completion.
pub const KEYWORDS: &[&str] = &["assume", "decide", "explain", "retract", "why", "whynot"];

/// Reads one complete command.
pub fn parse(input: &str) -> Command {
    let text = strip_comments(input);
    if text.is_empty() {
        return Command::Empty;
    }
    if let Some(rest) = text.strip_prefix(':') {
        return colon(rest);
    }
    if let Some(goal) = text.strip_prefix("?-") {
        return Command::Goal(goal.trim().to_string());
    }
    let word = first_word(&text);
    let rest = text[word.len()..].trim();
    // A keyword followed by `(` is a relation of that name, not the command.
    let is_keyword = !rest.starts_with('(');
    match word {
        "decide" if is_keyword => {
            request_arg(rest, "decide").map_or_else(Command::Usage, Command::Decide)
        }
        "explain" if is_keyword => {
            request_arg(rest, "explain").map_or_else(Command::Usage, Command::Explain)
        }
        "why" if is_keyword => atom_arg(rest, "why", Command::Why),
        "whynot" if is_keyword => atom_arg(rest, "whynot", Command::WhyNot),
        "assume" if is_keyword => atom_arg(rest, "assume", Command::Assume),
        "retract" if is_keyword => atom_arg(rest, "retract", Command::Retract),
        "help" if rest.is_empty() => Command::Help,
        "quit" | "exit" if rest.is_empty() => Command::Quit,
        "rel" | "use" | "data" | "permit" | "forbid" if is_keyword => Command::Define(text.clone()),
        _ if text.starts_with('@') || text.contains(":-") => Command::Define(text.clone()),
        _ => Command::Goal(text.clone()),
    }
}

fn colon(rest: &str) -> Command {
    let mut words = rest.split_whitespace();
    let name = words.next().unwrap_or("");
    let args: Vec<String> = words.map(str::to_string).collect();
    let no_args = |c: Command| {
        if args.is_empty() {
            c
        } else {
            Command::Usage(format!("`:{name}` takes no arguments"))
        }
    };
    match name {
        "load" | "l" => {
            if args.is_empty() {
                Command::Usage("`:load` needs one or more policy files or directories".into())
            } else {
                Command::Load(args)
            }
        }
        "reload" | "r" => no_args(Command::Reload),
        "relations" | "rels" => no_args(Command::Relations),
        "facts" => no_args(Command::Facts),
        "reset" => no_args(Command::Reset),
        "help" | "h" | "?" => Command::Help,
        "quit" | "q" | "exit" => no_args(Command::Quit),
        _ => {
            // A prefix of exactly one command stands for it (`:rela`, `:fa`).
            let mut matches = COLON_COMMANDS
                .iter()
                .filter(|(c, _, _)| !name.is_empty() && c[1..].starts_with(name));
            match (matches.next(), matches.next()) {
                (Some((full, _, _)), None) => {
                    let mut line = full[1..].to_string();
                    for a in &args {
                        line.push(' ');
                        line.push_str(a);
                    }
                    colon(&line)
                }
                _ => Command::Unknown(format!(":{name}")),
            }
        }
    }
}

fn request_arg(rest: &str, verb: &str) -> Result<RequestArg, String> {
    if let Some(file) = rest.strip_prefix('@') {
        let file = file.trim();
        if file.is_empty() {
            return Err(format!(
                "`{verb} @` needs a file name: `{verb} @request.json`"
            ));
        }
        return Ok(RequestArg::File(file.to_string()));
    }
    if rest.is_empty() {
        return Err(format!(
            "`{verb}` needs a request: inline JSON `{verb} {{\"subject\": ...}}` or a file `{verb} @request.json`"
        ));
    }
    Ok(RequestArg::Json(rest.to_string()))
}

fn atom_arg(rest: &str, verb: &str, make: fn(String) -> Command) -> Command {
    if rest.is_empty() {
        let example = match verb {
            "assume" | "retract" => "member(\"user:mallory\", \"tier1\").",
            _ => "has_role(\"user:bob\", \"tier1\")",
        };
        return Command::Usage(format!("`{verb}` needs an atom: `{verb} {example}`"));
    }
    make(rest.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_kind_of_command() {
        assert_eq!(
            parse("path(\"a\", X)"),
            Command::Goal("path(\"a\", X)".into())
        );
        assert_eq!(parse("?- path(X, Y)."), Command::Goal("path(X, Y).".into()));
        assert_eq!(
            parse("decide @r.json"),
            Command::Decide(RequestArg::File("r.json".into()))
        );
        assert_eq!(
            parse("decide {\"a\": 1}"),
            Command::Decide(RequestArg::Json("{\"a\": 1}".into()))
        );
        assert_eq!(parse("why p(\"a\")"), Command::Why("p(\"a\")".into()));
        assert_eq!(
            parse("assume p(\"a\")."),
            Command::Assume("p(\"a\").".into())
        );
        assert_eq!(
            parse("p(X) :- q(X)."),
            Command::Define("p(X) :- q(X).".into())
        );
        assert_eq!(
            parse("rel q(string)"),
            Command::Define("rel q(string)".into())
        );
        assert_eq!(
            parse(":load a b"),
            Command::Load(vec!["a".into(), "b".into()])
        );
        assert_eq!(parse(":rel"), Command::Unknown(":rel".into()));
        assert_eq!(parse(":rela"), Command::Relations);
        assert_eq!(parse(":fa"), Command::Facts);
        assert_eq!(parse(":lo a"), Command::Load(vec!["a".into()]));
        assert_eq!(parse(":zz"), Command::Unknown(":zz".into()));
        assert_eq!(parse("  // only a comment"), Command::Empty);
        assert!(matches!(parse(":reload now"), Command::Usage(_)));
        assert!(matches!(parse("decide"), Command::Usage(_)));
    }

    #[test]
    fn a_keyword_followed_by_a_parenthesis_is_a_relation() {
        assert_eq!(parse("why(X)"), Command::Goal("why(X)".into()));
        assert_eq!(
            parse("decide(\"a\")"),
            Command::Goal("decide(\"a\")".into())
        );
    }
}
