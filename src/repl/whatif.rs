//! What-if: `assume`, `retract`, `:facts`, and re-evaluation after each change.

use super::state::{FactKey, State, Warnings};
use super::{Reply, Session};
use crate::ir::Fact;
use std::fmt::Write as _;

impl Session {
    pub(super) fn lower_fact(&mut self, text: &str) -> Result<(Fact, String), Reply> {
        let name = self.pseudo_file();
        match self.state.lower_fact(&name, text) {
            Ok(f) => Ok(f),
            Err(diags) => Err(Reply::failed(self.render(&diags))),
        }
    }

    /// `assume FACT.`: add the fact (or undo its retraction) and re-evaluate.
    pub(super) fn assume(&mut self, text: &str) -> Reply {
        let (fact, canon) = match self.lower_fact(text) {
            Ok(f) => f,
            Err(r) => return r,
        };
        let key = FactKey::of(&fact);
        if let Some(i) = self.retracted.iter().position(|t| *t == canon) {
            self.retracted.remove(i);
            self.state.retracted.remove(&key);
            return self.reevaluate(format!("restored {canon} (it was retracted)"), |s| {
                s.retracted.insert(i, canon.clone());
            });
        }
        if self.state.is_given(&key) || self.state.is_assumed(&key) {
            return Reply::ok(format!(
                "{canon} already holds as a given fact; nothing changed\n"
            ));
        }
        self.assumed.push(canon.clone());
        self.state.assumed.push(fact);
        self.reevaluate(format!("assumed {canon}"), |s| {
            s.assumed.pop();
        })
    }

    /// `retract FACT.`: drop a given or assumed fact and re-evaluate.
    pub(super) fn retract(&mut self, text: &str) -> Reply {
        let (fact, canon) = match self.lower_fact(text) {
            Ok(f) => f,
            Err(r) => return r,
        };
        let key = FactKey::of(&fact);
        if let Some(i) = self.assumed.iter().position(|t| *t == canon) {
            self.assumed.remove(i);
            self.state.assumed.retain(|f| FactKey::of(f) != key);
            return self.reevaluate(format!("dropped the assumption {canon}"), |s| {
                s.assumed.insert(i, canon.clone());
            });
        }
        if self.state.retracted.contains(&key) {
            return Reply::ok(format!("{canon} is already retracted; nothing changed\n"));
        }
        if !self.state.is_given(&key) {
            let derived = self.state.model.get(fact.rel).contains(&fact.values);
            let help = if derived {
                "it is derived by rules; retract the given facts it follows from (`why` shows them)"
            } else {
                "it does not hold; only given facts (from the sources, the data or `assume`) can be retracted"
            };
            return Reply::failed(format!(
                "error: `{canon}` is not a given fact\n  help: {help}\n"
            ));
        }
        self.retracted.push(canon.clone());
        self.state.retracted.insert(key);
        self.reevaluate(format!("retracted {canon}"), |s| {
            s.retracted.pop();
        })
    }

    /// Re-evaluates after a what-if change; on failure `undo` restores the text lists and the
    /// state is rebuilt from them.
    pub(super) fn reevaluate(&mut self, done: String, undo: impl FnOnce(&mut Session)) -> Reply {
        let before = self.state.model.total();
        match self
            .state
            .reevaluate(&self.assumed, &self.retracted, &self.config)
        {
            Ok(()) => {
                let after = self.state.model.total();
                Reply::ok(format!(
                    "{done}; the model holds {after} tuples (was {before})\n"
                ))
            }
            Err(e) => {
                undo(self);
                let err = match State::build(
                    &self.files,
                    &self.definitions,
                    &self.assumed,
                    &self.retracted,
                    Warnings::None,
                    &self.config,
                ) {
                    Ok((state, _)) => {
                        self.state = state;
                        String::new()
                    }
                    Err(e2) => e2,
                };
                Reply::failed(format!("{e}{err}"))
            }
        }
    }

    pub(super) fn facts(&self) -> String {
        let mut out = String::new();
        if self.assumed.is_empty() && self.retracted.is_empty() && self.definitions.is_empty() {
            return "nothing assumed or retracted, no session rules\n".to_string();
        }
        for t in &self.assumed {
            let _ = writeln!(out, "assumed    {t}.");
        }
        for t in &self.retracted {
            let _ = writeln!(out, "retracted  {t}.");
        }
        for d in &self.definitions {
            let _ = writeln!(
                out,
                "defined    {}",
                d.text.trim().replace('\n', "\n           ")
            );
        }
        out
    }
}
