//! The checker: resolves names, checks arities, types, range restriction and stratification,
//! and lowers the AST to the IR. Every problem of a run is reported, not only the first.
//!
//! The passes, in order:
//! 1. [`resolve`]: collect `rel` declarations into one namespace, resolve `data` paths;
//! 2. [`lower`]: facts and rules, atom by atom ([`scope`] types variables and constants,
//!    [`range`] checks range restriction);
//! 3. [`policy`]: `permit` / `forbid` statements become an instance relation, its rule or fact,
//!    and an [`ir::Policy`] with its request-time condition;
//! 4. [`stratify`]: the dependency graph, negation cycles, the evaluation order;
//! 5. [`warn`]: unused relations and rules that can never fire (warnings only).

mod cond;
mod goal;
mod lower;
mod policy;
mod range;
mod resolve;
mod scope;
mod stratify;
mod warn;

pub use goal::{lower_fact, lower_goal, Goal};

use crate::diag::Diagnostic;
use crate::ir::{self, Interner, Program, RelId};
use crate::source::{SourceMap, Span};
use crate::syntax::ast;
use std::collections::HashMap;
use std::path::PathBuf;

/// What checking produced: the program when there were no errors, and every diagnostic.
#[derive(Debug, Clone)]
pub struct CheckOutput {
    pub program: Option<Program>,
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckOutput {
    /// Whether some diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Checks and lowers parsed modules (the user's files and the stdlib modules they use).
///
/// Diagnostics come sorted by file and position. `program` is `None` when any of them is an
/// error; warnings alone do not block.
pub fn check(sources: SourceMap, modules: &[ast::Module]) -> CheckOutput {
    let mut ck = Checker::new(&sources);
    resolve::collect_declarations(&mut ck, modules);
    resolve::collect_data_files(&mut ck, modules);
    for module in modules {
        for item in &module.items {
            match item {
                ast::Item::Use(_) | ast::Item::Data(_) | ast::Item::Rel(_) => {}
                ast::Item::Fact(atom) => lower::lower_fact_item(&mut ck, atom),
                ast::Item::Rule(rule) => lower::lower_rule_item(&mut ck, rule),
                ast::Item::Policy(stmt) => policy::lower_policy(&mut ck, stmt),
            }
        }
    }
    let strata = stratify::stratify(&mut ck);
    warn::unused_relations(&mut ck);
    warn::dead_rules(&mut ck);
    let (diagnostics, program) = ck.finish(strata);
    CheckOutput {
        program: program.map(|p| Program { sources, ..p }),
        diagnostics,
    }
}

/// Per-rule facts the later passes need.
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleInfo {
    /// The policy statement the rule derives the instances of, if any.
    pub policy: Option<usize>,
}

/// The state of one checker run.
pub(crate) struct Checker<'s> {
    pub sources: &'s SourceMap,
    pub diags: Vec<Diagnostic>,
    pub interner: Interner,
    pub relations: Vec<ir::Relation>,
    /// The span of each column's type in its declaration, per relation (empty for policy
    /// instance relations).
    pub column_spans: Vec<Vec<Span>>,
    /// Declared relations by name (policy instance relations are not in the namespace).
    pub by_name: HashMap<String, RelId>,
    /// How often each relation is mentioned outside its declaration.
    pub mentions: Vec<u32>,
    /// Source facts per relation.
    pub fact_count: Vec<u32>,
    pub rules: Vec<ir::Rule>,
    pub rule_info: Vec<RuleInfo>,
    pub facts: Vec<ir::Fact>,
    pub policies: Vec<ir::Policy>,
    pub data_files: Vec<PathBuf>,
    /// Explicit and derived policy ids seen so far, with their statement's span.
    pub policy_ids: HashMap<String, Span>,
    /// The `did you mean` suggestion for each unknown relation name seen so far.
    pub suggestions: HashMap<String, Option<String>>,
}

impl<'s> Checker<'s> {
    fn new(sources: &'s SourceMap) -> Self {
        Checker {
            sources,
            diags: Vec::new(),
            interner: Interner::new(),
            relations: Vec::new(),
            column_spans: Vec::new(),
            by_name: HashMap::new(),
            mentions: Vec::new(),
            fact_count: Vec::new(),
            rules: Vec::new(),
            rule_info: Vec::new(),
            facts: Vec::new(),
            policies: Vec::new(),
            data_files: Vec::new(),
            policy_ids: HashMap::new(),
            suggestions: HashMap::new(),
        }
    }

    /// Adds a relation (declared or a policy instance relation) and returns its id.
    pub fn add_relation(&mut self, relation: ir::Relation, column_spans: Vec<Span>) -> RelId {
        let id = RelId(self.relations.len() as u32);
        self.relations.push(relation);
        self.column_spans.push(column_spans);
        self.mentions.push(0);
        self.fact_count.push(0);
        id
    }

    pub fn add_rule(&mut self, rule: ir::Rule, info: RuleInfo) {
        self.rules.push(rule);
        self.rule_info.push(info);
    }

    /// Sorts the diagnostics and, when none is an error, assembles the program (without its
    /// sources, which the caller moves in).
    fn finish(mut self, strata: Vec<ir::Stratum>) -> (Vec<Diagnostic>, Option<Program>) {
        self.diags.sort_by_key(|d| {
            d.primary_span()
                .map(|s| (s.file, s.start, s.end))
                .unwrap_or_default()
        });
        let failed = self.diags.iter().any(Diagnostic::is_error);
        let program = (!failed).then(|| Program {
            sources: SourceMap::new(),
            interner: self.interner,
            relations: self.relations,
            rules: self.rules,
            facts: self.facts,
            strata,
            policies: self.policies,
            data_files: self.data_files,
        });
        (self.diags, program)
    }
}

#[cfg(test)]
mod tests;
