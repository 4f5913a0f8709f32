//! A small scanner that reads source text the way a human would: strings, comments, brackets,
//! and the `.` or `;` that ends a statement. The parser uses it to find likely item boundaries,
//! and to explain a syntax error when a common mistake caused it.

/// What the scanner saw from the start of the failed item to the point where parsing resumes.
#[derive(Default)]
pub(super) struct Scan {
    /// Where the next item is likely to start: after the first `.` or `;` ending a statement at
    /// or after the error, or at the first line after the error that starts like an item.
    pub(super) resync: usize,
    /// The last token that starts before the error (to point at when a `.` or `;` is missing).
    pub(super) last_token: Option<(usize, usize)>,
    /// Whether `:-` appears before the error (a rule rather than a fact).
    pub(super) saw_neck: bool,
    pub(super) unclosed_string: Option<(usize, usize)>,
    pub(super) unclosed_comment: Option<usize>,
    /// Open brackets with their offsets, innermost last.
    pub(super) open: Vec<(char, usize)>,
    /// The first closing bracket that matches no opening one (with the opening one it mismatches).
    pub(super) stray_close: Option<StrayClose>,
    /// Open brackets at the error position, innermost last.
    pub(super) open_at_error: Vec<(char, usize)>,
}

/// A closing bracket at `at` that closes nothing, or closes the wrong `open` bracket.
pub(super) struct StrayClose {
    pub(super) close: char,
    pub(super) at: usize,
    pub(super) open: Option<(char, usize)>,
}

pub(super) fn closing(open: char) -> char {
    if open == '[' {
        ']'
    } else {
        ')'
    }
}

pub(super) fn opening(close: char) -> char {
    if close == ']' {
        '['
    } else {
        '('
    }
}

pub(super) fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

pub(super) fn ident_end(text: &str, start: usize) -> usize {
    text[start..]
        .char_indices()
        .find(|&(_, c)| !is_ident_char(c))
        .map_or(text.len(), |(i, _)| start + i)
}

/// Skips whitespace and complete comments from `pos`.
pub(super) fn skip_trivia(text: &str, mut pos: usize) -> usize {
    loop {
        let rest = &text[pos..];
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n', '\u{FEFF}']);
        pos += rest.len() - trimmed.len();
        if trimmed.starts_with("//") {
            pos += trimmed.find('\n').unwrap_or(trimmed.len());
        } else if let Some(body) = trimmed.strip_prefix("/*") {
            match body.find("*/") {
                Some(end) => pos += 2 + end + 2,
                None => return pos,
            }
        } else {
            return pos;
        }
    }
}

/// Likely item boundaries, outside strings and comments: the offsets just after every `;` and
/// every `.` followed by whitespace (or a comment, or the end), and the starts of lines that
/// begin like an item (see [`starts_item`]). A complete item never goes on past the first two
/// kinds, and only a syntax error or an unusual layout past the third; the parser reads each
/// item from a slice that stops at one of them, so that its work is proportional to the item.
pub(super) fn statement_ends(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut ends = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map_or(text.len(), |n| i + n);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => match text[i + 2..].find("*/") {
                Some(n) => i += 2 + n + 2,
                None => break,
            },
            b'"' => i = string_end(bytes, i).0,
            b';' => {
                i += 1;
                ends.push(i);
            }
            b'.' => {
                i += 1;
                if bytes
                    .get(i)
                    .is_none_or(|&n| n.is_ascii_whitespace() || n == b'/')
                {
                    ends.push(i);
                }
            }
            b'\n' => {
                i += 1;
                if i < bytes.len() && starts_item(text, i) && ends.last() != Some(&i) {
                    ends.push(i);
                }
            }
            _ => i += 1,
        }
    }
    ends
}

/// The end of the string literal opening at `start`, and whether it is closed on its line.
fn string_end(bytes: &[u8], start: usize) -> (usize, bool) {
    let mut j = start + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' if bytes.get(j + 1).is_some_and(|&n| n != b'\n') => j += 2,
            b'"' => return (j + 1, true),
            b'\n' => return (j, false),
            _ => j += 1,
        }
    }
    (bytes.len(), false)
}

/// The token at `pos`, as a byte range, for "found `...`".
pub(super) fn token_at(text: &str, pos: usize) -> (usize, usize) {
    let rest = &text[pos..];
    let Some(c) = rest.chars().next() else {
        return (pos, pos);
    };
    if is_ident_char(c) {
        return (pos, ident_end(text, pos));
    }
    if c == '"' {
        let mut escaped = false;
        for (i, ch) in rest.char_indices().skip(1) {
            match ch {
                '\n' => return (pos, pos + i),
                '"' if !escaped => return (pos, pos + i + 1),
                '\\' => escaped = !escaped,
                _ => escaped = false,
            }
        }
        return (pos, text.len());
    }
    const OPS: [&str; 14] = [
        ":-", "==", "!=", "<=", ">=", "<-", ":=", "::", "&&", "||", "=<", "=>", "<>", "/*",
    ];
    if let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) {
        return (pos, pos + op.len());
    }
    (pos, pos + c.len_utf8())
}

/// Whether a line starting at `pos` (at column 0) looks like the start of an item: a keyword
/// that starts items, an annotation, or a name followed by `(`.
pub(super) fn starts_item(text: &str, pos: usize) -> bool {
    let rest = &text[pos..];
    if rest.starts_with('@') {
        return true;
    }
    let end = ident_end(text, pos);
    let word = &text[pos..end];
    match word.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => {}
        _ => return false,
    }
    matches!(word, "rel" | "use" | "data" | "permit" | "forbid")
        || text[end..].trim_start_matches([' ', '\t']).starts_with('(')
}

/// Scans from `start` (the failed item's first token) to the resynchronisation point.
pub(super) fn scan(text: &str, start: usize, err_pos: usize) -> Scan {
    let bytes = text.as_bytes();
    let mut s = Scan {
        resync: text.len(),
        ..Scan::default()
    };
    let mut i = start;
    let mut recorded_error_state = false;
    while i < bytes.len() {
        if !recorded_error_state && i >= err_pos {
            s.open_at_error = s.open.clone();
            recorded_error_state = true;
        }
        let b = bytes[i];
        let token_start = i;
        match b {
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'\n' => {
                i += 1;
                if i > start && i >= err_pos && i < bytes.len() && starts_item(text, i) {
                    s.resync = i;
                    break;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map_or(text.len(), |n| i + n);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => match text[i + 2..].find("*/") {
                Some(n) => {
                    i += 2 + n + 2;
                    continue;
                }
                None => {
                    s.unclosed_comment = Some(i);
                    s.resync = text.len();
                    break;
                }
            },
            b'"' => {
                let (j, closed) = string_end(bytes, i);
                let j = j.min(bytes.len());
                if !closed && s.unclosed_string.is_none() {
                    let end = if bytes.get(j.saturating_sub(1)) == Some(&b'\r') {
                        j - 1
                    } else {
                        j
                    };
                    s.unclosed_string = Some((i, end.max(i + 1)));
                }
                i = j;
            }
            b'(' | b'[' => {
                s.open.push((b as char, i));
                i += 1;
            }
            b')' | b']' => {
                let close = b as char;
                match s.open.last() {
                    Some(&(open, _)) if closing(open) == close => {
                        s.open.pop();
                    }
                    other => {
                        if s.stray_close.is_none() {
                            s.stray_close = Some(StrayClose {
                                close,
                                at: i,
                                open: other.copied(),
                            });
                        }
                    }
                }
                i += 1;
            }
            b';' => {
                i += 1;
                if token_start >= err_pos {
                    s.resync = i;
                    break;
                }
            }
            b'.' => {
                i += 1;
                let ends = match bytes.get(i) {
                    None => true,
                    Some(&n) => n.is_ascii_whitespace() || n == b'/',
                };
                if ends && token_start >= err_pos {
                    s.resync = i;
                    break;
                }
            }
            b':' if bytes.get(i + 1) == Some(&b'-') => {
                if i < err_pos {
                    s.saw_neck = true;
                }
                i += 2;
            }
            _ => {
                // One token: a name, a number or an operator character.
                let c = text[i..].chars().next().map_or(' ', |c| c);
                if is_ident_char(c) {
                    i = ident_end(text, i);
                } else {
                    i += c.len_utf8().max(1);
                }
            }
        }
        if token_start < err_pos {
            s.last_token = Some((token_start, i.min(err_pos.max(token_start + 1))));
        }
    }
    if !recorded_error_state {
        s.open_at_error = s.open.clone();
    }
    s
}
