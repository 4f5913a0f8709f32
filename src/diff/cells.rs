//! The actions and resource kinds a diff compares.
//!
//! Every action name either version mentions is compared by name; every family (`orders.*`)
//! adds one action standing for the family's other members, and `*` one for every other
//! action. Resource kinds likewise: each named kind, plus one for every other kind. Each
//! stand-in is evaluated as a concrete fresh name that no statement or condition mentions, so
//! it meets exactly the statements every unnamed member of its class meets.

use crate::eval::Model;
use crate::ir::{ActionPat, AttrRoot, Cond, CondTerm, Program, RelId, Value};
use serde_json::{json, Value as Json};
use std::collections::BTreeSet;
use std::fmt;

/// An action a diff compares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActionCell {
    /// A name some statement or condition mentions.
    Named(String),
    /// Any other action of the family `prefix.*`.
    OtherIn(String),
    /// Any action in no family and not named.
    Other,
}

impl fmt::Display for ActionCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionCell::Named(n) => write!(f, "{n}"),
            ActionCell::OtherIn(p) => write!(f, "other {p}.* actions"),
            ActionCell::Other => write!(f, "other actions"),
        }
    }
}

impl ActionCell {
    /// `{"name": "orders.refund"}`, `{"other": "orders.*"}` or `{"other": "*"}`.
    pub fn to_json(&self) -> Json {
        match self {
            ActionCell::Named(n) => json!({ "name": n }),
            ActionCell::OtherIn(p) => json!({ "other": format!("{p}.*") }),
            ActionCell::Other => json!({ "other": "*" }),
        }
    }
}

/// A resource kind a diff compares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KindCell {
    Named(String),
    /// Any kind no statement names.
    Other,
}

impl fmt::Display for KindCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KindCell::Named(n) => write!(f, "{n}"),
            KindCell::Other => write!(f, "other kinds"),
        }
    }
}

impl KindCell {
    /// `{"kind": "order"}` or `{"other": "*"}`.
    pub fn to_json(&self) -> Json {
        match self {
            KindCell::Named(n) => json!({ "kind": n }),
            KindCell::Other => json!({ "other": "*" }),
        }
    }
}

/// One action, with the concrete name it is evaluated as.
#[derive(Debug, Clone)]
pub struct Action {
    pub cell: ActionCell,
    pub name: String,
}

/// One resource kind, with the concrete kind it is evaluated as.
#[derive(Debug, Clone)]
pub struct Kind {
    pub cell: KindCell,
    pub name: String,
}

/// The actions and kinds two versions are compared on.
#[derive(Debug, Clone)]
pub struct Cells {
    pub actions: Vec<Action>,
    pub kinds: Vec<Kind>,
}

impl Cells {
    /// Collects the actions and kinds of every version given.
    pub fn new(versions: &[(&Program, &Model)]) -> Cells {
        let mut names = BTreeSet::new();
        let mut families = BTreeSet::new();
        let mut kinds = BTreeSet::new();
        let mut taken = BTreeSet::new();
        for (program, model) in versions {
            for p in &program.policies {
                for a in &p.actions {
                    match a {
                        ActionPat::Exact(n) => {
                            names.insert(n.clone());
                        }
                        ActionPat::Family(f) => {
                            families.insert(f.clone());
                        }
                        ActionPat::Any => {}
                    }
                }
                kinds.extend(p.resources.iter().cloned());
                let mut found = Found::default();
                mentions(program, model, p.rel, &p.cond, &mut found);
                names.extend(found.actions);
                kinds.extend(found.kinds);
                taken.extend(found.strings);
            }
        }
        taken.extend(names.iter().cloned());
        taken.extend(kinds.iter().cloned());
        // A segment that makes no mentioned name: `~other`, `~other1`, ...
        let fresh = (0..)
            .map(|i| {
                if i == 0 {
                    "~other".to_string()
                } else {
                    format!("~other{i}")
                }
            })
            .find(|f| {
                !taken.contains(f) && !families.iter().any(|p| taken.contains(&format!("{p}.{f}")))
            })
            .unwrap_or_default(); // the iterator is unbounded and `taken` finite
        let mut actions: Vec<Action> = names
            .into_iter()
            .map(|n| Action {
                name: n.clone(),
                cell: ActionCell::Named(n),
            })
            .collect();
        actions.extend(families.into_iter().map(|p| Action {
            name: format!("{p}.{fresh}"),
            cell: ActionCell::OtherIn(p),
        }));
        actions.push(Action {
            name: fresh.clone(),
            cell: ActionCell::Other,
        });
        let mut kinds: Vec<Kind> = kinds
            .into_iter()
            .map(|k| Kind {
                name: k.clone(),
                cell: KindCell::Named(k),
            })
            .collect();
        kinds.push(Kind {
            name: fresh,
            cell: KindCell::Other,
        });
        Cells { actions, kinds }
    }
}

impl Cells {
    /// The compared action a request's action name falls in.
    pub fn action_cell(&self, name: &str) -> ActionCell {
        if self
            .actions
            .iter()
            .any(|a| a.cell == ActionCell::Named(name.into()))
        {
            return ActionCell::Named(name.into());
        }
        // The longest family the name belongs to.
        self.actions
            .iter()
            .filter_map(|a| match &a.cell {
                ActionCell::OtherIn(p) if ActionPat::Family(p.clone()).matches(name) => {
                    Some(p.clone())
                }
                ActionCell::OtherIn(_) | ActionCell::Named(_) | ActionCell::Other => None,
            })
            .max_by_key(String::len)
            .map_or(ActionCell::Other, ActionCell::OtherIn)
    }

    /// The compared kind a request's resource kind falls in.
    pub fn kind_cell(&self, kind: &str) -> KindCell {
        if self
            .kinds
            .iter()
            .any(|k| k.cell == KindCell::Named(kind.into()))
        {
            KindCell::Named(kind.into())
        } else {
            KindCell::Other
        }
    }
}

#[derive(Default)]
struct Found {
    /// Values `action.name` is compared with.
    actions: BTreeSet<String>,
    /// Values `resource.type` is compared with.
    kinds: BTreeSet<String>,
    /// Every string constant.
    strings: BTreeSet<String>,
}

fn is_attr(t: &CondTerm, root: AttrRoot, field: &str) -> bool {
    matches!(t, CondTerm::Attr(a, _) if a.root == root && matches!(a.path.as_slice(), [f] if f == field))
}

fn mentions(program: &Program, model: &Model, inst: RelId, c: &Cond, out: &mut Found) {
    let string = |t: &CondTerm| match t {
        CondTerm::Const(s, _) => match program.interner.value(*s) {
            Value::Str(v) => Some(v.clone()),
            Value::Int(_) | Value::Bool(_) => None,
        },
        CondTerm::Attr(..) | CondTerm::Bound(..) | CondTerm::Wildcard(_) => None,
    };
    let compared = |terms: &[&CondTerm], out: &mut Found| {
        let mut values: Vec<String> = terms.iter().filter_map(|t| string(t)).collect();
        let named = terms.iter().any(|t| {
            is_attr(t, AttrRoot::Action, "name") || is_attr(t, AttrRoot::Resource, "type")
        });
        // Values bound by the `if` body: every value of that instance column.
        for t in terms.iter().filter(|_| named) {
            if let CondTerm::Bound(n, _) = t {
                for row in model.get(inst).iter() {
                    if let Some(Value::Str(v)) = row.get(*n).map(|s| program.interner.value(*s)) {
                        values.push(v.clone());
                    }
                }
            }
        }
        out.strings.extend(values.iter().cloned());
        if terms.iter().any(|t| is_attr(t, AttrRoot::Action, "name")) {
            out.actions.extend(values.iter().cloned());
        }
        if terms.iter().any(|t| is_attr(t, AttrRoot::Resource, "type")) {
            out.kinds.extend(values);
        }
    };
    match c {
        Cond::True | Cond::False => {}
        Cond::And(cs) | Cond::Or(cs) => cs
            .iter()
            .for_each(|c| mentions(program, model, inst, c, out)),
        Cond::Not(c) => mentions(program, model, inst, c, out),
        Cond::Cmp { lhs, rhs, .. } => compared(&[lhs, rhs], out),
        Cond::In { lhs, set, .. } => {
            let mut terms = vec![lhs];
            terms.extend(set);
            compared(&terms, out);
        }
        Cond::Lookup { rel, args, .. } => {
            let terms: Vec<&CondTerm> = args.iter().collect();
            compared(&terms, out);
            // A lookup of the action name or kind: every value its column holds is named.
            for (i, a) in args.iter().enumerate() {
                let target = if is_attr(a, AttrRoot::Action, "name") {
                    &mut out.actions
                } else if is_attr(a, AttrRoot::Resource, "type") {
                    &mut out.kinds
                } else {
                    continue;
                };
                for t in model.get(*rel).iter() {
                    if let Some(Value::Str(v)) = t.get(i).map(|s| program.interner.value(*s)) {
                        target.insert(v.clone());
                    }
                }
            }
        }
    }
}
