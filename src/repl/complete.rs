//! Tab completion: colon commands, keywords, relation names and action names.

use super::command::{COLON_COMMANDS, KEYWORDS};
use crate::ir::{ActionPat, Program, RelKind};

/// The names a session offers for completion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Words {
    /// Declared relations, sorted.
    pub relations: Vec<String>,
    /// Action names and families (`orders.`) the statements mention, sorted.
    pub actions: Vec<String>,
}

impl Words {
    pub fn of(program: &Program) -> Words {
        let mut relations: Vec<String> = program
            .relations
            .iter()
            .filter(|r| r.kind == RelKind::Declared)
            .map(|r| r.name.clone())
            .collect();
        relations.sort();
        relations.dedup();
        let mut actions: Vec<String> = program
            .policies
            .iter()
            .flat_map(|p| &p.actions)
            .filter_map(|a| match a {
                ActionPat::Exact(name) => Some(name.clone()),
                ActionPat::Family(prefix) => Some(format!("{prefix}.")),
                ActionPat::Any => None,
            })
            .collect();
        actions.sort();
        actions.dedup();
        Words { relations, actions }
    }
}

/// Completes the word that ends at byte `pos` of `line`: returns where the word starts and the
/// candidates that extend it, sorted.
///
/// At the start of a line, `:` words complete to commands and other words to keywords and
/// relations; elsewhere a word completes to relations and actions.
pub fn complete(line: &str, pos: usize, words: &Words) -> (usize, Vec<String>) {
    let pos = pos.min(line.len());
    let Some(before) = line.get(..pos) else {
        return (pos, Vec::new());
    };
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | ':' | '*')))
        .map_or(0, |(i, c)| i + c.len_utf8());
    // `?-path`: the goal prefix is not part of the word.
    let start = start + (before.len() - start - before[start..].trim_start_matches('-').len());
    let word = &before[start..];
    let at_line_start = before[..start].trim().is_empty() || before[..start].trim() == "?-";
    let mut out: Vec<String> = Vec::new();
    if word.starts_with(':') {
        if at_line_start {
            out.extend(COLON_COMMANDS.iter().map(|(n, _, _)| n.to_string()));
        }
    } else if at_line_start {
        out.extend(KEYWORDS.iter().map(|k| k.to_string()));
        out.extend(words.relations.iter().cloned());
    } else {
        out.extend(words.relations.iter().cloned());
        out.extend(words.actions.iter().cloned());
    }
    out.retain(|c| c.starts_with(word) && c != word);
    out.sort();
    out.dedup();
    (start, out)
}

/// Where the file path being typed at byte `pos` starts, when a path is expected there: after
/// `@` (`decide @req<TAB>`) or as an argument of `:load`.
pub fn path_start(line: &str, pos: usize) -> Option<usize> {
    let before = line.get(..pos.min(line.len()))?;
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    if before[start..].starts_with('@') {
        return Some(start + 1);
    }
    let mut words = before.split_whitespace();
    let first = words.next()?;
    let is_load = matches!(first, ":load" | ":l" | ":lo" | ":loa");
    (is_load && start > 0).then_some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_after_at_and_load() {
        assert_eq!(path_start("decide @exa", 11), Some(8));
        assert_eq!(path_start("explain @", 9), Some(9));
        assert_eq!(path_start(":load a b", 9), Some(8));
        assert_eq!(path_start(":load ", 6), Some(6));
        assert_eq!(path_start(":load", 5), None);
        assert_eq!(path_start("member(P, R)", 12), None);
        assert_eq!(path_start("decide {\"a\": 1", 14), None);
    }

    fn words() -> Words {
        Words {
            relations: vec!["has_role".into(), "member".into(), "suspended".into()],
            actions: vec![
                "email.send".into(),
                "orders.read".into(),
                "orders.refund".into(),
            ],
        }
    }

    #[test]
    fn colon_commands_at_line_start() {
        assert_eq!(
            complete(":rel", 4, &words()),
            (0, vec![":relations".into(), ":reload".into()])
        );
        assert_eq!(complete(":q", 2, &words()), (0, vec![":quit".into()]));
    }

    #[test]
    fn keywords_and_relations_at_line_start() {
        assert_eq!(
            complete("wh", 2, &words()),
            (0, vec!["why".into(), "whynot".into()])
        );
        assert_eq!(complete("  mem", 5, &words()), (2, vec!["member".into()]));
        assert_eq!(complete("?-has", 5, &words()), (2, vec!["has_role".into()]));
    }

    #[test]
    fn relations_and_actions_inside_a_command() {
        assert_eq!(
            complete("why has_role(\"a\", X), mem", 25, &words()),
            (22, vec!["member".into()])
        );
        let line = "decide {\"action\": {\"name\": \"orders.re";
        assert_eq!(
            complete(line, line.len(), &words()),
            (28, vec!["orders.read".into(), "orders.refund".into()])
        );
        assert_eq!(complete("assume x", 8, &words()).1, Vec::<String>::new());
    }
}
