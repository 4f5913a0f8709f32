//! `ztpol diff`: exactly which permissions change between two versions of a policy, over the
//! data each version runs on, and which statements are responsible.
//!
//! The unit of comparison is the *permission* of one principal for one action on one resource
//! kind: the set of requests (as a [`Constraint`] over request attributes) for which that
//! principal's part of the decision allows: the OR of its covering permit instances, minus the
//! forbids about it and about the request as a whole. A request is allowed exactly when every
//! principal of its chain allows it, so every change of any request's decision is a change of
//! some principal's permission.
//!
//! Principals are every principal ref in column 0 of an instance relation of either version;
//! actions and kinds are those either version names, plus one stand-in for the unnamed members
//! of each action family, of `*`, and of the resource kinds ([`cells`]). Each change is
//! classified by exact containment ([`Constraint::implies`]), and caused by the statements whose
//! share of that permission differs between the versions (matched by [`matching`]).

pub mod cells;
pub mod matching;
pub mod render;
pub mod symbolic;
pub mod version;

use crate::decide::residual::Constraint;
use crate::eval::Model;
use crate::ir::{Effect, Program};
use cells::{ActionCell, Cells, KindCell};
use matching::Matching;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use version::VersionIndex;

pub use version::VersionIndex as Permissions;

/// A diff that cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum DiffError {
    #[error("cannot compare the condition of `{id}` ({location}): {message}")]
    #[diagnostic(code(ztpol::diff::condition))]
    Condition {
        id: String,
        location: String,
        message: String,
    },
    #[error("the diff stopped: indexing a version failed")]
    #[diagnostic(code(ztpol::diff::internal))]
    Internal,
    #[error("the permission for `{action}` on `{kind}` has too many alternatives to compare")]
    #[diagnostic(code(ztpol::diff::too_large))]
    TooLarge { action: String, kind: String },
}

/// One version of a policy: the checked program and its data-time model.
#[derive(Clone, Copy)]
pub struct Version<'a> {
    pub program: &'a Program,
    pub model: &'a Model,
}

/// How a permission changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// Nothing before, something now.
    Added,
    /// Something before, nothing now.
    Removed,
    /// The new permission strictly contains the old.
    Widened,
    /// The old permission strictly contains the new.
    Narrowed,
    /// Neither contains the other.
    Changed,
}

impl ChangeKind {
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Widened => "widened",
            ChangeKind::Narrowed => "narrowed",
            ChangeKind::Changed => "changed",
        }
    }

    /// Classifies `old -> new`; `None` when they are equivalent.
    pub fn classify(old: &Constraint, new: &Constraint) -> Option<ChangeKind> {
        if old == new {
            return None;
        }
        match (old.is_never(), new.is_never()) {
            (true, true) => None,
            (true, false) => Some(ChangeKind::Added),
            (false, true) => Some(ChangeKind::Removed),
            (false, false) => match (old.implies(new), new.implies(old)) {
                (true, true) => None,
                (true, false) => Some(ChangeKind::Widened),
                (false, true) => Some(ChangeKind::Narrowed),
                (false, false) => Some(ChangeKind::Changed),
            },
        }
    }
}

/// A statement of one version: its id and `file:line`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StatementRef {
    pub id: String,
    pub location: String,
}

/// How a statement differs between the versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EditKind {
    /// Only in the new version.
    Added,
    /// Only in the old version.
    Removed,
    /// Its text (effect, principal, actions, kinds, condition or `if` body) changed.
    Altered,
    /// Its text is the same; its instances or the data its condition reads changed.
    Instances,
    /// Its text is the same; only its explicit id changed.
    Renamed,
}

impl EditKind {
    pub fn name(self) -> &'static str {
        match self {
            EditKind::Added => "added",
            EditKind::Removed => "removed",
            EditKind::Altered => "altered",
            EditKind::Instances => "instances",
            EditKind::Renamed => "renamed",
        }
    }
}

/// A statement responsible for changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cause {
    pub kind: EditKind,
    pub old: Option<StatementRef>,
    pub new: Option<StatementRef>,
}

/// Principals whose permission for one action on one kind changed the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    pub kind: ChangeKind,
    pub action: ActionCell,
    pub resource: KindCell,
    pub old: Constraint,
    pub new: Constraint,
    /// Principal refs, sorted.
    pub principals: Vec<String>,
}

/// The changes one set of statements causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub causes: Vec<Cause>,
    pub changes: Vec<ChangeSet>,
}

/// A statement that differs between the versions, and whether it changes any permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub cause: Cause,
    pub effective: bool,
}

/// Counts of changed permissions (one per principal, action and kind).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub added: usize,
    pub removed: usize,
    pub widened: usize,
    pub narrowed: usize,
    pub changed: usize,
    /// Distinct principals with at least one change.
    pub principals: usize,
}

impl Summary {
    pub fn total(&self) -> usize {
        self.added + self.removed + self.widened + self.narrowed + self.changed
    }

    pub fn count(&self, kind: ChangeKind) -> usize {
        match kind {
            ChangeKind::Added => self.added,
            ChangeKind::Removed => self.removed,
            ChangeKind::Widened => self.widened,
            ChangeKind::Narrowed => self.narrowed,
            ChangeKind::Changed => self.changed,
        }
    }
}

/// Everything that changes between two versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    pub summary: Summary,
    pub groups: Vec<Group>,
    /// Every statement that differs, effective or not.
    pub edits: Vec<Edit>,
}

/// One changed permission.
#[derive(Debug, Clone, Copy)]
pub struct Change<'d> {
    pub principal: &'d str,
    pub set: &'d ChangeSet,
}

impl Diff {
    /// Every changed permission, principal by principal.
    pub fn changes(&self) -> impl Iterator<Item = Change<'_>> {
        self.groups.iter().flat_map(|g| {
            g.changes.iter().flat_map(|set| {
                set.principals
                    .iter()
                    .map(move |p| Change { principal: p, set })
            })
        })
    }

    pub fn is_empty(&self) -> bool {
        self.summary.total() == 0
    }
}

/// Key of a change set while collecting: causes, action, kind, change.
type SetKey = (Vec<usize>, usize, usize, ChangeKind);

/// The variants of one change set while collecting: old, new, principals.
type Variants<'p> = Vec<(Constraint, Constraint, Vec<&'p str>)>;

/// Compares two versions.
pub fn diff(old: Version<'_>, new: Version<'_>) -> Result<Diff, DiffError> {
    let cells = Cells::new(&[(old.program, old.model), (new.program, new.model)]);
    let (vo, vn) = std::thread::scope(|s| {
        let o = s.spawn(|| VersionIndex::new(old.program, old.model));
        let n = VersionIndex::new(new.program, new.model);
        (o.join(), n)
    });
    let Ok(vo) = vo else {
        return Err(DiffError::Internal);
    };
    let matching = Matching::new(old.program, new.program);

    // Principals by (old profile, new profile).
    let mut by_pair: BTreeMap<(Option<u32>, Option<u32>), Vec<&str>> = BTreeMap::new();
    for (&p, &id) in &vn.principals {
        let before = vo.principals.get(p).copied();
        by_pair.entry((before, Some(id))).or_default().push(p);
    }
    for (&p, &id) in &vo.principals {
        if !vn.principals.contains_key(p) {
            by_pair.entry((Some(id), None)).or_default().push(p);
        }
    }
    let mut co = Cache::default();
    let mut cn = Cache::default();
    let mut sets: BTreeMap<SetKey, Variants<'_>> = BTreeMap::new();
    let mut summary = Summary::default();
    let mut changed_principals: version::FastMap<&str, ()> = version::FastMap::default();
    for ((po, pn), principals) in &by_pair {
        for (ai, action) in cells.actions.iter().enumerate() {
            for (ki, kind) in cells.kinds.iter().enumerate() {
                let before = co.permission(&vo, *po, ai, ki, &action.name, &kind.name)?;
                let after = cn.permission(&vn, *pn, ai, ki, &action.name, &kind.name)?;
                let Some(change) = ChangeKind::classify(&before, &after) else {
                    continue;
                };
                let causes = causes(
                    (&vo, &mut co, *po),
                    (&vn, &mut cn, *pn),
                    &matching,
                    (ai, ki),
                    (&action.name, &kind.name),
                )?;
                let n = principals.len();
                match change {
                    ChangeKind::Added => summary.added += n,
                    ChangeKind::Removed => summary.removed += n,
                    ChangeKind::Widened => summary.widened += n,
                    ChangeKind::Narrowed => summary.narrowed += n,
                    ChangeKind::Changed => summary.changed += n,
                }
                changed_principals.extend(principals.iter().map(|p| (*p, ())));
                let entry = sets.entry((causes, ai, ki, change)).or_default();
                match entry
                    .iter_mut()
                    .find(|(b, a, _)| *b == before && *a == after)
                {
                    Some((_, _, ps)) => ps.extend(principals.iter().copied()),
                    None => entry.push((before, after, principals.clone())),
                }
            }
        }
    }
    summary.principals = changed_principals.len();

    let cause_of = |pair: usize| -> Cause {
        let p = &matching.pairs[pair];
        Cause {
            kind: edit_kind(old.program, new.program, p),
            old: p.old.map(|i| statement_ref(old.program, i)),
            new: p.new.map(|i| statement_ref(new.program, i)),
        }
    };
    let mut groups: BTreeMap<Vec<usize>, Group> = BTreeMap::new();
    let mut effective: BTreeSet<usize> = BTreeSet::new();
    for ((pairs, ai, ki, kind), variants) in sets {
        effective.extend(pairs.iter().copied());
        let group = groups.entry(pairs.clone()).or_insert_with(|| Group {
            causes: pairs.iter().map(|&p| cause_of(p)).collect(),
            changes: Vec::new(),
        });
        for (before, after, mut principals) in variants {
            principals.sort_unstable();
            group.changes.push(ChangeSet {
                kind,
                action: cells.actions[ai].cell.clone(),
                resource: cells.kinds[ki].cell.clone(),
                old: before,
                new: after,
                principals: principals.into_iter().map(str::to_string).collect(),
            });
        }
    }
    // Deterministic order: by action, kind, change and first principal.
    for g in groups.values_mut() {
        g.changes.sort_by(|a, b| {
            (&a.action, &a.resource, a.kind, &a.principals).cmp(&(
                &b.action,
                &b.resource,
                b.kind,
                &b.principals,
            ))
        });
    }
    let edits = matching
        .pairs
        .iter()
        .enumerate()
        .filter(|(i, p)| {
            !p.same_content || renamed(old.program, new.program, p) || effective.contains(i)
        })
        .map(|(i, _)| Edit {
            cause: cause_of(i),
            effective: effective.contains(&i),
        })
        .collect();
    Ok(Diff {
        summary,
        groups: groups.into_values().collect(),
        edits,
    })
}

fn renamed(old: &Program, new: &Program, p: &matching::Pair) -> bool {
    p.old.zip(p.new).is_some_and(|(o, n)| {
        let (a, b) = (&old.policies[o], &new.policies[n]);
        a.explicit_id && b.explicit_id && a.id != b.id
    })
}

fn edit_kind(old: &Program, new: &Program, p: &matching::Pair) -> EditKind {
    match (p.old, p.new) {
        (Some(_), None) => EditKind::Removed,
        (None, Some(_)) | (None, None) => EditKind::Added,
        (Some(_), Some(_)) => {
            if !p.same_content {
                EditKind::Altered
            } else if renamed(old, new, p) {
                EditKind::Renamed
            } else {
                EditKind::Instances
            }
        }
    }
}

/// The id and `file:line` of statement `i`: the line of its `permit` or `forbid`.
pub fn statement_ref(program: &Program, i: usize) -> StatementRef {
    let p = &program.policies[i];
    let file = program.sources.get(p.span.file);
    let text = program.sources.snippet(p.span);
    let word = match p.effect {
        Effect::Permit => "permit",
        Effect::Forbid => "forbid",
    };
    // Skip an `@id("...")` annotation to the effect keyword.
    let skip = if text.starts_with('@') {
        annotation_end(text)
    } else {
        0
    };
    let offset = text[skip..]
        .find(word)
        .map_or(0, |o| o + skip)
        .saturating_add(p.span.start as usize);
    let (line, _) = file.line_col(offset);
    StatementRef {
        id: p.id.clone(),
        location: format!("{}:{line}", file.name),
    }
}

/// The byte just after the `)` closing an `@id("...")` at the start of `text`.
fn annotation_end(text: &str) -> usize {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (false, _, '"') => in_string = true,
            (false, _, ')') => return i + 1,
            _ => {}
        }
    }
    0
}

/// Per-version caches of contributions and permissions, keyed by cell indices.
#[derive(Default)]
struct Cache {
    contributions: HashMap<(u32, usize, usize), Constraint>,
    requests: HashMap<(usize, usize, usize), Constraint>,
    permissions: HashMap<(Option<u32>, usize, usize), Constraint>,
}

fn cached<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, Constraint>,
    key: K,
    compute: impl FnOnce() -> Result<Constraint, DiffError>,
) -> Result<Constraint, DiffError> {
    if let Some(c) = map.get(&key) {
        return Ok(c.clone());
    }
    let c = compute()?;
    map.insert(key, c.clone());
    Ok(c)
}

impl Cache {
    fn contribution(
        &mut self,
        v: &VersionIndex<'_>,
        rowset: u32,
        (ai, ki): (usize, usize),
        (action, kind): (&str, &str),
    ) -> Result<Constraint, DiffError> {
        cached(&mut self.contributions, (rowset, ai, ki), || {
            v.contribution(rowset, action, kind)
        })
    }

    fn request(
        &mut self,
        v: &VersionIndex<'_>,
        policy: usize,
        (ai, ki): (usize, usize),
        (action, kind): (&str, &str),
    ) -> Result<Constraint, DiffError> {
        cached(&mut self.requests, (policy, ai, ki), || {
            v.request_contribution(policy, action, kind)
        })
    }

    fn permission(
        &mut self,
        v: &VersionIndex<'_>,
        profile: Option<u32>,
        ai: usize,
        ki: usize,
        action: &str,
        kind: &str,
    ) -> Result<Constraint, DiffError> {
        let Cache {
            contributions,
            requests,
            permissions,
        } = self;
        cached(permissions, (profile, ai, ki), || {
            v.permission(
                profile,
                action,
                kind,
                |e| {
                    cached(contributions, (e.rowset, ai, ki), || {
                        v.contribution(e.rowset, action, kind)
                    })
                },
                |i| {
                    cached(requests, (i, ai, ki), || {
                        v.request_contribution(i, action, kind)
                    })
                },
            )
        })
    }
}

/// The statements whose share of a principal's permission for one cell differs between the
/// versions, as indices of matched pairs (sorted).
fn causes(
    (vo, co, po): (&VersionIndex<'_>, &mut Cache, Option<u32>),
    (vn, cn, pn): (&VersionIndex<'_>, &mut Cache, Option<u32>),
    matching: &Matching,
    cell: (usize, usize),
    names: (&str, &str),
) -> Result<Vec<usize>, DiffError> {
    // Each side's covering statements and what they admit.
    fn shares(
        v: &VersionIndex<'_>,
        cache: &mut Cache,
        profile: Option<u32>,
        pair_of: &[usize],
        cell: (usize, usize),
        names: (&str, &str),
    ) -> Result<HashMap<usize, (Effect, Constraint)>, DiffError> {
        let mut out = HashMap::new();
        let entries: Vec<version::Entry> = match profile {
            Some(p) => v.profiles[p as usize].clone(),
            None => Vec::new(),
        };
        for e in entries {
            let p = v.policy(e.policy as usize);
            if p.covers(names.0, names.1) {
                let c = cache.contribution(v, e.rowset, cell, names)?;
                out.insert(pair_of[e.policy as usize], (p.effect, c));
            }
        }
        for &i in &v.request_forbids {
            let p = v.policy(i);
            if p.covers(names.0, names.1) {
                let c = cache.request(v, i, cell, names)?;
                out.insert(pair_of[i], (p.effect, c));
            }
        }
        Ok(out)
    }
    let before = shares(vo, co, po, &matching.of_old, cell, names)?;
    let after = shares(vn, cn, pn, &matching.of_new, cell, names)?;
    let mut pairs: BTreeSet<usize> = before.keys().copied().collect();
    pairs.extend(after.keys().copied());
    let never = (Effect::Permit, Constraint::never());
    Ok(pairs
        .into_iter()
        .filter(|k| {
            let (eb, b) = before.get(k).unwrap_or(&never);
            let (ea, a) = after.get(k).unwrap_or(&never);
            let both_never = b.is_never() && a.is_never();
            !both_never && (eb != ea || !b.equivalent(a))
        })
        .collect())
}
