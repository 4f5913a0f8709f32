//! Explanations: why a tuple holds (its proof), why it does not (the premise that is missing),
//! and why a request is allowed or denied.
//!
//! An [`Explainer`] is a session over one program and its data-time model. It computes, lazily
//! and once, what explanations need beyond the model: the origin of every given fact, and the
//! [rank](rank) of every tuple of a recursive stratum (the round of its first derivation), so
//! that proofs are well-founded and of minimal depth. Then:
//! - [`Explainer::prove`]: the proof of a tuple of the model ([`Proof`]);
//! - [`Explainer::why_not`]: for a pattern with no matching tuple, which rules could derive it
//!   and the first premise each one lacks ([`WhyNot`]);
//! - [`Explainer::explain_request`]: the decision on a request with its derivation or its
//!   why-not ([`Explanation`]);
//! - [`render`] turns any of them into an indented text tree or JSON (docs/EXPLAIN.md).
//!
//! Explaining reads the model and the decision; it never re-enters earlier stages.

pub mod join;
pub mod proof;
pub mod rank;
pub mod render;
pub mod request;
pub mod whynot;

pub use proof::{Premise, Proof, Step};
pub use rank::Ranks;
pub use request::{
    Candidate, CandidateFailure, CondCheck, DenyReason, Explanation, Instance, Outcome,
    PrincipalGrants,
};
pub use whynot::{Attempt, Blocker, WhyNot};

use crate::decide::Decider;
use crate::eval::{EvalError, Limits, Model};
use crate::ir::{Fact, Origin, Program, RelId, RuleId, Sym, Value};
use join::Values;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// Bounds on one explanation session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExplainConfig {
    /// Bounds the rank computation, as they bound evaluation.
    pub limits: Limits,
    /// Deeper sub-proofs are not expanded ([`Step::Elided`]).
    pub max_depth: usize,
    /// At most this many proof steps in one proof; the rest are elided.
    pub max_nodes: usize,
    /// How many levels of missing derived premises a why-not follows.
    pub why_not_depth: usize,
    /// Find the rank of a tuple of a recursive stratum by a bounded search near it first, and
    /// compute the stratum's full rank table only when that search grows too large. Without
    /// it, the full table is always used (same proofs; slower on the first explanation).
    pub bounded_ranks: bool,
}

impl Default for ExplainConfig {
    fn default() -> Self {
        ExplainConfig {
            limits: Limits::default(),
            max_depth: 200,
            max_nodes: 2000,
            why_not_depth: 2,
            bounded_ranks: true,
        }
    }
}

/// An explanation that could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum ExplainError {
    /// Computing ranks hit an evaluation limit.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Limit(EvalError),
    /// The model holds a tuple that no fact and no rule instance accounts for: the model does
    /// not belong to the program.
    #[error("no derivation of `{tuple}` in the model: the model does not match the program")]
    #[diagnostic(code(ztpol::explain::no_derivation))]
    NoDerivation { tuple: String },
    /// A why-not was asked for a pattern that some tuple matches.
    #[error("`{tuple}` holds")]
    #[diagnostic(code(ztpol::explain::holds), help("ask for its proof instead"))]
    Holds { tuple: String },
    /// The tuple asked about is not in the model.
    #[error("`{tuple}` does not hold")]
    #[diagnostic(
        code(ztpol::explain::not_in_model),
        help("ask why it does not hold instead")
    )]
    NotInModel { tuple: String },
}

/// Origins of tuples by relation and values (`None`: not a given tuple).
pub type OriginMap = HashMap<(RelId, Vec<Sym>), Option<Origin>>;

/// What is known of a tuple's rank: above this (if any), and at most this (`u32::MAX`: nothing).
pub type RankBounds = (Option<u32>, u32);

/// An explanation session over one program and its model.
pub struct Explainer<'a> {
    pub(crate) program: &'a Program,
    pub(crate) model: &'a Model,
    /// Facts from data files (the program's inline facts are in `program.facts`).
    pub(crate) data_facts: &'a [Fact],
    pub(crate) config: ExplainConfig,
    /// The stratum of each relation (`None`: neither derived nor in a stratum).
    pub(crate) stratum_of: Vec<Option<usize>>,
    /// The rules deriving each relation, by rule index.
    pub(crate) rules_of: Vec<Vec<RuleId>>,
    /// Origins looked up so far (`None`: not a given tuple).
    origins: RefCell<OriginMap>,
    /// Set once every given fact is in `origins`: a miss is then final.
    origins_complete: Cell<bool>,
    /// Values named by explanations that the program never interned (see [`join::Values`]).
    pub(crate) extra: RefCell<Vec<Value>>,
    ranks: RefCell<HashMap<usize, Rc<Ranks>>>,
    /// What bounded searches learnt about ranks: (rank above, rank at most).
    pub(crate) bounds: RefCell<HashMap<(RelId, Vec<Sym>), RankBounds>>,
    /// The given tuples of relations of recursive strata, gathered on first use.
    given: RefCell<HashMap<RelId, Rc<HashSet<Vec<Sym>>>>>,
    /// The given facts of each relation (by relation index), in order: their indices in the
    /// program's facts followed by the data facts. Built on first use.
    facts_by_rel: OnceCell<Vec<Vec<usize>>>,
    decider: Decider<'a>,
}

impl<'a> Explainer<'a> {
    /// A session over `program`, its evaluated `model` and the data facts the model was
    /// computed from (besides the program's inline facts).
    pub fn new(program: &'a Program, model: &'a Model, data_facts: &'a [Fact]) -> Explainer<'a> {
        Self::with_config(program, model, data_facts, ExplainConfig::default())
    }

    pub fn with_config(
        program: &'a Program,
        model: &'a Model,
        data_facts: &'a [Fact],
        config: ExplainConfig,
    ) -> Explainer<'a> {
        let n = program.relations.len();
        let mut stratum_of = vec![None; n];
        let mut rules_of = vec![Vec::new(); n];
        for (s, stratum) in program.strata.iter().enumerate() {
            for r in &stratum.relations {
                if let Some(slot) = stratum_of.get_mut(r.index()) {
                    *slot = Some(s);
                }
            }
            for &rid in &stratum.rules {
                let head = program.rule(rid).head.rel.index();
                if let Some(slot) = stratum_of.get_mut(head) {
                    slot.get_or_insert(s);
                }
            }
        }
        for (i, rule) in program.rules.iter().enumerate() {
            if let Some(list) = rules_of.get_mut(rule.head.rel.index()) {
                list.push(RuleId(i as u32));
            }
        }
        Explainer {
            program,
            model,
            data_facts,
            config,
            stratum_of,
            rules_of,
            origins: RefCell::new(HashMap::new()),
            origins_complete: Cell::new(false),
            extra: RefCell::new(Vec::new()),
            ranks: RefCell::new(HashMap::new()),
            bounds: RefCell::new(HashMap::new()),
            given: RefCell::new(HashMap::new()),
            facts_by_rel: OnceCell::new(),
            decider: Decider::new(program, model),
        }
    }

    /// The decider the session explains the decisions of.
    pub fn decider(&self) -> &Decider<'a> {
        &self.decider
    }

    pub fn program(&self) -> &'a Program {
        self.program
    }

    pub fn model(&self) -> &'a Model {
        self.model
    }

    /// The origin of a given tuple (the first fact that gives it); `None` for a tuple that is
    /// only derived. Looked up by a scan of the facts and remembered for the session.
    pub fn origin(&self, rel: RelId, tuple: &[Sym]) -> Option<Origin> {
        let key = (rel, tuple.to_vec());
        if let Some(o) = self.origins.borrow().get(&key) {
            return o.clone();
        }
        if self.origins_complete.get() {
            return None;
        }
        let found = self
            .facts_of(rel)
            .iter()
            .filter_map(|&i| self.fact(i))
            .find(|f| f.values == tuple)
            .map(|f| f.origin.clone());
        self.origins.borrow_mut().insert(key, found.clone());
        found
    }

    /// Fact `i` of the program's facts followed by the data facts.
    pub(crate) fn fact(&self, i: usize) -> Option<&'a Fact> {
        let program: &'a Program = self.program;
        let n = program.facts.len();
        if i < n {
            program.facts.get(i)
        } else {
            self.data_facts.get(i - n)
        }
    }

    /// The indices of the given facts of `rel`, in order (see [`Explainer::fact`]).
    pub(crate) fn facts_of(&self, rel: RelId) -> &[usize] {
        let table = self.facts_by_rel.get_or_init(|| {
            let mut table: Vec<Vec<usize>> = vec![Vec::new(); self.program.relations.len()];
            let facts = self.program.facts.iter().chain(self.data_facts);
            for (i, f) in facts.enumerate() {
                if let Some(list) = table.get_mut(f.rel.index()) {
                    list.push(i);
                }
            }
            table
        });
        table
            .get(rel.index())
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Whether a tuple is given (by a fact of the program or of the data).
    pub(crate) fn is_given(&self, rel: RelId, tuple: &[Sym]) -> bool {
        if self.origins_complete.get() {
            return self.origin(rel, tuple).is_some();
        }
        let set = match self.given.borrow().get(&rel) {
            Some(s) => Some(Rc::clone(s)),
            None => None,
        };
        let set = match set {
            Some(s) => s,
            None => {
                let s: HashSet<Vec<Sym>> = self
                    .facts_of(rel)
                    .iter()
                    .filter_map(|&i| self.fact(i))
                    .map(|f| f.values.clone())
                    .collect();
                let s = Rc::new(s);
                self.given.borrow_mut().insert(rel, Rc::clone(&s));
                s
            }
        };
        set.contains(tuple)
    }

    /// Whether `rel` is derived in a stratum whose rules depend on the stratum itself.
    pub fn is_recursive(&self, rel: RelId) -> bool {
        self.stratum(rel)
            .and_then(|s| self.program.strata.get(s))
            .is_some_and(|s| s.recursive)
    }

    pub(crate) fn stratum(&self, rel: RelId) -> Option<usize> {
        self.stratum_of.get(rel.index()).copied().flatten()
    }

    /// The ranks of stratum `s`, computed on first use.
    pub fn ranks(&self, s: usize) -> Result<Rc<Ranks>, ExplainError> {
        if let Some(r) = self.ranks.borrow().get(&s) {
            return Ok(Rc::clone(r));
        }
        let r = Rc::new(rank::compute(self, s)?);
        self.ranks.borrow_mut().insert(s, Rc::clone(&r));
        Ok(r)
    }

    /// Computes everything a session caches (the origins of all given facts and the ranks of
    /// every recursive stratum), so that later explanations only search.
    pub fn prepare(&self) -> Result<(), ExplainError> {
        {
            let mut origins = self.origins.borrow_mut();
            for f in self.program.facts.iter().chain(self.data_facts) {
                origins
                    .entry((f.rel, f.values.clone()))
                    .or_insert_with(|| Some(f.origin.clone()));
            }
            // Earlier misses were remembered as `None`, which stays right.
            self.origins_complete.set(true);
        }
        for (s, stratum) in self.program.strata.iter().enumerate() {
            if stratum.recursive {
                self.ranks(s)?;
            }
        }
        Ok(())
    }

    pub(crate) fn values_plain(&self) -> Values<'a> {
        Values {
            interner: &self.program.interner,
            extra: &[],
        }
    }

    pub(crate) fn values_with<'e>(&self, extra: &'e [Value]) -> Values<'e>
    where
        'a: 'e,
    {
        Values {
            interner: &self.program.interner,
            extra,
        }
    }

    /// The value of a symbol (of the program, or named by an explanation).
    pub fn value(&self, sym: Sym) -> Value {
        let i = sym.0 as usize;
        let n = self.program.interner.len();
        if i < n {
            return self.program.interner.value(sym).clone();
        }
        self.extra
            .borrow()
            .get(i - n)
            .cloned()
            // Extra symbols are only made by `sym_for`, which stores their value.
            .unwrap_or(Value::Str(String::new()))
    }

    /// The symbol of a value: the program's, or a new extra symbol that equals no symbol of
    /// the model.
    pub fn sym_for(&self, value: &Value) -> Sym {
        if let Some(s) = self.program.interner.lookup(value) {
            return s;
        }
        let n = self.program.interner.len();
        let mut extra = self.extra.borrow_mut();
        let i = match extra.iter().position(|v| v == value) {
            Some(i) => i,
            None => {
                extra.push(value.clone());
                extra.len() - 1
            }
        };
        Sym((n + i) as u32)
    }

    /// A tuple in source syntax: `has_role("user:alice", "tier1")`.
    pub fn tuple_text(&self, rel: RelId, tuple: &[Sym]) -> String {
        let args: Vec<String> = tuple.iter().map(|s| self.value(*s).to_string()).collect();
        format!("{}({})", self.program.relation(rel).name, args.join(", "))
    }

    /// A pattern in source syntax, `_` for open arguments.
    pub fn pattern_text(&self, rel: RelId, pattern: &[Option<Sym>]) -> String {
        let args: Vec<String> = pattern
            .iter()
            .map(|s| match s {
                Some(s) => self.value(*s).to_string(),
                None => "_".to_string(),
            })
            .collect();
        format!("{}({})", self.program.relation(rel).name, args.join(", "))
    }
}
