//! The diff as text for people and as JSON (the form docs/DIFF.md documents).

use super::{Cause, ChangeKind, ChangeSet, Diff, Edit, EditKind, StatementRef};
use crate::decide::residual::Constraint;
use serde_json::{json, Value as Json};
use std::fmt::Write;

/// How many principals a human listing names before it counts the rest.
pub const LISTED_PRINCIPALS: usize = 12;

const KINDS: [ChangeKind; 5] = [
    ChangeKind::Added,
    ChangeKind::Removed,
    ChangeKind::Widened,
    ChangeKind::Narrowed,
    ChangeKind::Changed,
];

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `never`, `always`, or the constraint's condition text.
pub fn constraint_text(c: &Constraint) -> String {
    if c.is_never() {
        "never".into()
    } else if c.is_always() {
        "always".into()
    } else {
        c.to_string()
    }
}

fn cause_text(c: &Cause) -> String {
    let at = |r: &StatementRef| r.location.clone();
    let id = |r: &StatementRef| format!("`{}`", r.id);
    match (&c.old, &c.new) {
        (Some(o), Some(n)) => {
            let name = if o.id == n.id {
                id(n)
            } else {
                format!("{} -> {}", id(o), id(n))
            };
            let what = match c.kind {
                EditKind::Instances => format!("instances of {name}"),
                EditKind::Added | EditKind::Removed | EditKind::Altered | EditKind::Renamed => {
                    format!("{} {name}", c.kind.name())
                }
            };
            format!("{what} ({} -> {})", at(o), at(n))
        }
        (Some(o), None) => format!("removed {} ({})", id(o), at(o)),
        (None, Some(n)) => format!("added {} ({})", id(n), at(n)),
        (None, None) => "unknown".into(),
    }
}

fn principals_text(ps: &[String]) -> String {
    let shown: Vec<&str> = ps
        .iter()
        .take(LISTED_PRINCIPALS)
        .map(String::as_str)
        .collect();
    let mut s = shown.join(", ");
    if ps.len() > LISTED_PRINCIPALS {
        let _ = write!(s, ", ... ({} in all)", ps.len());
    }
    s
}

/// Change sets equal but for the resource kind, printed once with every kind.
fn merged(changes: &[ChangeSet]) -> Vec<(&ChangeSet, Vec<String>)> {
    let mut out: Vec<(&ChangeSet, Vec<String>)> = Vec::new();
    for c in changes {
        let same = out.iter_mut().find(|(o, _)| {
            o.kind == c.kind
                && o.action == c.action
                && o.old == c.old
                && o.new == c.new
                && o.principals == c.principals
        });
        match same {
            Some((_, kinds)) => kinds.push(c.resource.to_string()),
            None => out.push((c, vec![c.resource.to_string()])),
        }
    }
    out
}

fn change_text(set: &ChangeSet, kinds: &[String], out: &mut String) {
    let _ = writeln!(
        out,
        "  {} {} on {} for {}: {}",
        set.kind.name(),
        set.action,
        kinds.join(", "),
        plural(set.principals.len(), "principal", "principals"),
        principals_text(&set.principals)
    );
    let _ = writeln!(out, "    old: {}", constraint_text(&set.old));
    let _ = writeln!(out, "    new: {}", constraint_text(&set.new));
}

/// The human form: the summary first, then one entry per set of causes.
pub fn human(diff: &Diff) -> String {
    let mut out = String::new();
    let s = &diff.summary;
    if diff.is_empty() {
        out.push_str("no change in access\n");
    } else {
        let counts: Vec<String> = KINDS
            .iter()
            .filter(|k| s.count(**k) > 0)
            .map(|k| format!("{} {}", s.count(*k), k.name()))
            .collect();
        let _ = writeln!(
            out,
            "{} changed for {}: {}",
            plural(s.total(), "permission", "permissions"),
            plural(s.principals, "principal", "principals"),
            counts.join(", ")
        );
    }
    for g in &diff.groups {
        out.push('\n');
        let causes: Vec<String> = g.causes.iter().map(cause_text).collect();
        let _ = writeln!(out, "{}", causes.join("; "));
        for (set, kinds) in merged(&g.changes) {
            change_text(set, &kinds, &mut out);
        }
    }
    let idle: Vec<&Edit> = diff.edits.iter().filter(|e| !e.effective).collect();
    if !idle.is_empty() {
        out.push('\n');
        out.push_str("edited without a change in access:\n");
        for e in idle {
            let _ = writeln!(out, "  {}", cause_text(&e.cause));
        }
    }
    out
}

fn statement_json(r: &Option<StatementRef>) -> Json {
    match r {
        Some(r) => json!({ "id": r.id, "location": r.location }),
        None => Json::Null,
    }
}

fn cause_json(c: &Cause) -> Json {
    json!({
        "edit": c.kind.name(),
        "old": statement_json(&c.old),
        "new": statement_json(&c.new),
    })
}

/// The JSON form (docs/DIFF.md).
pub fn json(diff: &Diff) -> Json {
    let s = &diff.summary;
    json!({
        "summary": {
            "changes": s.total(),
            "principals": s.principals,
            "added": s.added,
            "removed": s.removed,
            "widened": s.widened,
            "narrowed": s.narrowed,
            "changed": s.changed,
        },
        "groups": diff.groups.iter().map(|g| json!({
            "causes": g.causes.iter().map(cause_json).collect::<Vec<_>>(),
            "changes": g.changes.iter().map(|c| json!({
                "change": c.kind.name(),
                "action": c.action.to_json(),
                "resource": c.resource.to_json(),
                "old": c.old.to_json(),
                "new": c.new.to_json(),
                "principals": c.principals,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "edits": diff.edits.iter().map(|e| {
            let mut j = cause_json(&e.cause);
            if let Json::Object(m) = &mut j {
                m.insert("effective".into(), Json::Bool(e.effective));
            }
            j
        }).collect::<Vec<_>>(),
    })
}
