//! When is a command complete? The interactive loop keeps reading lines until it is, and a script
//! read from standard input is cut into commands the same way.
//!
//! - `:command ...` is one line;
//! - `decide` / `explain` with inline JSON continue until the braces balance;
//! - `assume` / `retract`, rules (`:-`) and facts continue until their final `.`;
//! - `permit` / `forbid` statements (and a leading `@id(...)`) continue until their final `;`;
//! - anything else (a goal, `why` / `whynot`, `rel`, `use`) continues while parentheses or
//!   brackets are open.
//!
//! Strings (`"..."` with `\` escapes) and comments (`//`, `/* */`) are skipped when counting.

/// Whether `buffer` holds one complete command (an empty buffer is complete).
pub fn is_complete(buffer: &str) -> bool {
    let text = buffer.trim();
    if text.is_empty() || text.starts_with(':') {
        return true;
    }
    let scan = Scan::of(text);
    if scan.open_string || scan.open_comment {
        return false;
    }
    let first = first_word(&scan.code);
    match first {
        "decide" | "explain" => scan.braces <= 0 && scan.parens <= 0 && scan.brackets <= 0,
        _ if scan.parens > 0 || scan.brackets > 0 || scan.braces > 0 => false,
        "assume" | "retract" => scan.code.trim_end().ends_with('.'),
        "permit" | "forbid" => scan.code.trim_end().ends_with(';'),
        _ if scan.code.starts_with('@') => scan.code.trim_end().ends_with(';'),
        _ if scan.code.contains(":-") => scan.code.trim_end().ends_with('.'),
        _ => true,
    }
}

/// The first word of a command: its keyword, if it has one.
pub(crate) fn first_word(text: &str) -> &str {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The code of a command with strings blanked out and comments removed, and its nesting depth.
struct Scan {
    /// The text outside comments, with string contents replaced by spaces.
    code: String,
    parens: i32,
    brackets: i32,
    braces: i32,
    open_string: bool,
    open_comment: bool,
}

impl Scan {
    fn of(text: &str) -> Scan {
        let mut s = Scan {
            code: String::with_capacity(text.len()),
            parens: 0,
            brackets: 0,
            braces: 0,
            open_string: false,
            open_comment: false,
        };
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    s.code.push('"');
                    s.open_string = true;
                    while let Some(d) = chars.next() {
                        match d {
                            '\\' => {
                                chars.next();
                            }
                            '"' => {
                                s.open_string = false;
                                break;
                            }
                            _ => {}
                        }
                        s.code.push(' ');
                    }
                    s.code.push('"');
                }
                '/' if chars.peek() == Some(&'/') => {
                    for d in chars.by_ref() {
                        if d == '\n' {
                            s.code.push('\n');
                            break;
                        }
                    }
                }
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    s.open_comment = true;
                    let mut prev = ' ';
                    for d in chars.by_ref() {
                        if prev == '*' && d == '/' {
                            s.open_comment = false;
                            break;
                        }
                        prev = d;
                    }
                    s.code.push(' ');
                }
                _ => {
                    match c {
                        '(' => s.parens += 1,
                        ')' => s.parens -= 1,
                        '[' => s.brackets += 1,
                        ']' => s.brackets -= 1,
                        '{' => s.braces += 1,
                        '}' => s.braces -= 1,
                        _ => {}
                    }
                    s.code.push(c);
                }
            }
        }
        s
    }
}

/// The command text with comments removed (strings kept intact), trimmed.
pub(crate) fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                while let Some(d) = chars.next() {
                    out.push(d);
                    match d {
                        '\\' => {
                            if let Some(e) = chars.next() {
                                out.push(e);
                            }
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for d in chars.by_ref() {
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_and_commands_are_one_line() {
        assert!(is_complete("path(\"a\", X)"));
        assert!(is_complete("?- path(\"a\", X)."));
        assert!(is_complete(":relations"));
        assert!(is_complete(""));
        assert!(!is_complete("path(\"a\",\n"));
        assert!(is_complete("why path(\"a\", \"b\")"));
    }

    #[test]
    fn rules_and_facts_wait_for_their_period() {
        assert!(!is_complete("path(X, Z) :-"));
        assert!(!is_complete("path(X, Z) :- path(X, Y),\n  edge(Y, Z)"));
        assert!(is_complete("path(X, Z) :- path(X, Y),\n  edge(Y, Z)."));
        assert!(!is_complete("assume member(\"user:m\", \"tier1\")"));
        assert!(is_complete("assume member(\"user:m\", \"tier1\")."));
        assert!(!is_complete("retract member(\"a.\", \"b\")"));
        assert!(!is_complete("permit agent \"x\" to a.b"));
        assert!(is_complete("permit agent \"x\" to a.b;"));
        assert!(!is_complete("@id(\"x\")\npermit agent \"x\" to a.b"));
    }

    #[test]
    fn json_waits_for_balanced_braces() {
        assert!(!is_complete("decide {\"subject\": {"));
        assert!(!is_complete("decide {\"subject\": \"}}\""));
        assert!(is_complete("decide {\"subject\": {}}"));
        assert!(is_complete("decide @req.json"));
        assert!(is_complete("explain {}"));
    }

    #[test]
    fn strings_and_comments_do_not_count() {
        assert!(is_complete("path(\"(\", X)"));
        assert!(!is_complete("path(\"a\", \"unterminated"));
        assert!(is_complete("path(X, Y) // trailing ("));
        assert!(!is_complete("/* open comment"));
        assert!(is_complete("p(X) :- q(X). // a comment after the period"));
        assert!(!is_complete("p(X) :- q(X) // the period is in a comment."));
        assert_eq!(strip_comments("p(\"//\") // c"), "p(\"//\")");
    }
}
