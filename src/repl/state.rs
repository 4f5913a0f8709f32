//! The session's program, data and model, and how they are built and re-evaluated.

use super::SessionConfig;
use crate::check::{self, Goal};
use crate::diag::Diagnostic;
use crate::eval::{self, Model, Rows};
use crate::ir::{Fact, Program, RelId, Sym};
use crate::load::{self, LoadError};
use crate::render;
use crate::source::SourceFile;
use crate::syntax;
use std::collections::HashSet;
use std::path::PathBuf;

/// A fact without its origin: what assume and retract compare.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct FactKey {
    rel: RelId,
    values: Vec<Sym>,
}

impl FactKey {
    pub fn of(fact: &Fact) -> FactKey {
        FactKey {
            rel: fact.rel,
            values: fact.values.clone(),
        }
    }
}

pub(super) struct State {
    pub program: Program,
    /// Facts from data files (attached by the policy and `--data`).
    pub data_facts: Vec<Fact>,
    /// Every data file's name and bytes, for the policy hash.
    data_bytes: Vec<(String, Vec<u8>)>,
    /// The compiled sources alone (the policy hash covers them, not the goals and facts typed
    /// later, which are added to `program.sources` for their diagnostics).
    hashed: Program,
    /// Facts assumed in the session, lowered into `program`.
    pub assumed: Vec<Fact>,
    /// Given facts retracted in the session.
    pub retracted: HashSet<FactKey>,
    /// The texts of the what-if facts that applied when the state was built.
    pub assumed_text: Vec<String>,
    pub retracted_text: Vec<String>,
    pub model: Model,
    pub hash: String,
}

/// Which warnings a build reports.
#[derive(Debug, Clone, Copy)]
pub(super) enum Warnings<'a> {
    All,
    /// Only those in the pseudo-file of this name (a definition just typed).
    In(&'a str),
    None,
}

/// Reads the policy files `paths` name (directories expanded).
pub(super) fn read_files(paths: &[PathBuf]) -> Result<Vec<SourceFile>, LoadError> {
    let mut files = Vec::new();
    for path in load::expand_paths(paths)? {
        let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Io {
            path: path.display().to_string(),
            source,
        })?;
        files.push(SourceFile::new(
            path.display().to_string(),
            Some(path),
            text,
        ));
    }
    Ok(files)
}

impl State {
    pub fn empty() -> State {
        let program = Program::default();
        let hash = crate::decide::policy_hash(&program, &[]);
        State {
            program,
            data_facts: Vec::new(),
            data_bytes: Vec::new(),
            hashed: Program::default(),
            assumed: Vec::new(),
            retracted: HashSet::new(),
            assumed_text: Vec::new(),
            retracted_text: Vec::new(),
            model: Model::default(),
            hash,
        }
    }

    /// Compiles `files` and `definitions`, loads the data, applies the what-if facts and
    /// evaluates. Returns the state and rendered warnings and notes, or rendered errors.
    pub fn build(
        files: &[SourceFile],
        definitions: &[SourceFile],
        assumed: &[String],
        retracted: &[String],
        warnings: Warnings<'_>,
        config: &SessionConfig,
    ) -> Result<(State, String), String> {
        let mut all = files.to_vec();
        all.extend(definitions.iter().cloned());
        let compiled = load::compile_files(all);
        let Some(mut program) = compiled.program else {
            return Err(render::render_with(
                &compiled.diagnostics,
                &compiled.sources,
                config.render,
            ));
        };
        let shown: Vec<Diagnostic> = compiled
            .diagnostics
            .iter()
            .filter(|d| match warnings {
                Warnings::All => true,
                Warnings::None => false,
                Warnings::In(name) => d
                    .primary_span()
                    .is_some_and(|s| program.sources.get(s.file).name == name),
            })
            .cloned()
            .collect();
        let mut notes = render::render_with(&shown, &program.sources, config.render);

        let mut data_facts = Vec::new();
        let mut data_bytes = Vec::new();
        let mut errors = Vec::new();
        let data_files: Vec<PathBuf> = program
            .data_files
            .iter()
            .chain(&config.data)
            .cloned()
            .collect();
        for path in &data_files {
            let name = path.display().to_string();
            let bytes = match std::fs::read(path) {
                Ok(b) => b,
                Err(e) => return Err(format!("error: cannot read data file `{name}`: {e}\n")),
            };
            let text = String::from_utf8_lossy(&bytes).into_owned();
            match crate::data::load_json_str(&mut program, &name, &text) {
                Ok(facts) => data_facts.extend(facts),
                Err(e) => errors.extend(e),
            }
            data_bytes.push((name, bytes));
        }
        if !errors.is_empty() {
            return Err(render::render_with(
                &errors,
                &program.sources,
                config.render,
            ));
        }

        let hashed = Program {
            sources: program.sources.clone(),
            ..Program::default()
        };
        let mut state = State {
            program,
            data_facts,
            data_bytes,
            hashed,
            assumed: Vec::new(),
            retracted: HashSet::new(),
            assumed_text: Vec::new(),
            retracted_text: Vec::new(),
            model: Model::default(),
            hash: String::new(),
        };
        for text in assumed {
            match state.lower_fact("<what-if>", text) {
                Ok((fact, canon)) => {
                    state.assumed.push(fact);
                    state.assumed_text.push(canon);
                }
                Err(d) => notes.push_str(&dropped("assumption", text, &d)),
            }
        }
        for text in retracted {
            match state.lower_fact("<what-if>", text) {
                Ok((fact, canon)) if state.is_given(&FactKey::of(&fact)) => {
                    state.retracted.insert(FactKey::of(&fact));
                    state.retracted_text.push(canon);
                }
                Ok(_) => notes.push_str(&format!(
                    "note: dropped the retraction of {text}: it is no longer a given fact\n"
                )),
                Err(d) => notes.push_str(&dropped("retraction", text, &d)),
            }
        }
        let (a, r) = (state.assumed_text.clone(), state.retracted_text.clone());
        state.reevaluate(&a, &r, config)?;
        Ok((state, notes))
    }

    /// Whether a fact is given by the sources or the data.
    pub fn is_given(&self, key: &FactKey) -> bool {
        let same = |f: &Fact| f.rel == key.rel && f.values == key.values;
        self.program.facts.iter().any(same) || self.data_facts.iter().any(same)
    }

    pub fn is_assumed(&self, key: &FactKey) -> bool {
        self.assumed.iter().any(|f| FactKey::of(f) == *key)
    }

    /// The given facts beyond the program's inline ones: data and assumed facts (what the
    /// explanation needs to name every fact's origin).
    pub fn extra_facts(&self) -> Vec<Fact> {
        self.data_facts
            .iter()
            .chain(&self.assumed)
            .filter(|f| !self.retracted.contains(&FactKey::of(f)))
            .cloned()
            .collect()
    }

    /// Evaluates the model from the given facts, plus assumed, minus retracted; the policy hash
    /// covers the what-if texts. On an evaluation error the state keeps its previous model.
    pub fn reevaluate(
        &mut self,
        assumed: &[String],
        retracted: &[String],
        config: &SessionConfig,
    ) -> Result<(), String> {
        let program = &self.program;
        let mut flat: Vec<Vec<Sym>> = vec![Vec::new(); program.relations.len()];
        let mut counts = vec![0usize; program.relations.len()];
        for fact in program
            .facts
            .iter()
            .chain(&self.data_facts)
            .chain(&self.assumed)
        {
            if !self.retracted.is_empty() && self.retracted.contains(&FactKey::of(fact)) {
                continue;
            }
            let i = fact.rel.index();
            if let (Some(rows), Some(n)) = (flat.get_mut(i), counts.get_mut(i)) {
                rows.extend_from_slice(&fact.values);
                *n += 1;
            }
        }
        let input = Model {
            rows: program
                .relations
                .iter()
                .zip(flat)
                .zip(counts)
                .map(|((rel, data), n)| Rows::from_unsorted(rel.arity(), n, data))
                .collect(),
        };
        let model = eval::evaluate(program, &input, &config.eval)
            .map_err(|e| format!("error: {e}\n  help: the session keeps its previous model\n"))?;
        let mut data: Vec<(String, Vec<u8>)> = self.data_bytes.clone();
        if !assumed.is_empty() || !retracted.is_empty() {
            let mut text = String::new();
            for t in assumed {
                text.push_str(&format!("assume {t}.\n"));
            }
            for t in retracted {
                text.push_str(&format!("retract {t}.\n"));
            }
            data.push(("<what-if>".to_string(), text.into_bytes()));
        }
        let refs: Vec<(&str, &[u8])> = data
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        self.hash = crate::decide::policy_hash(&self.hashed, &refs);
        self.model = model;
        Ok(())
    }

    /// Parses and lowers a fact typed in the session; returns it with its canonical text.
    pub fn lower_fact(
        &mut self,
        name: &str,
        text: &str,
    ) -> Result<(Fact, String), Vec<Diagnostic>> {
        let file = self
            .program
            .sources
            .add(SourceFile::new(name, None, text.to_string()));
        let atom = syntax::parse_atom(file, text)?;
        let fact = check::lower_fact(&mut self.program, &atom)?;
        let canon = self.fact_text(&fact);
        Ok((fact, canon))
    }

    /// Parses and lowers a goal typed in the session.
    pub fn lower_goal(&mut self, name: &str, text: &str) -> Result<Goal, Vec<Diagnostic>> {
        let file = self
            .program
            .sources
            .add(SourceFile::new(name, None, text.to_string()));
        let atom = syntax::parse_atom(file, text)?;
        check::lower_goal(&mut self.program, &atom)
    }

    /// `rel("a", 1)`: a tuple in source syntax.
    pub fn tuple_text(&self, rel: RelId, values: &[Sym]) -> String {
        let args: Vec<String> = values
            .iter()
            .map(|s| self.program.interner.value(*s).to_string())
            .collect();
        format!("{}({})", self.program.relation(rel).name, args.join(", "))
    }

    fn fact_text(&self, fact: &Fact) -> String {
        self.tuple_text(fact.rel, &fact.values)
    }
}

fn dropped(what: &str, text: &str, diags: &[Diagnostic]) -> String {
    let why = diags
        .first()
        .map(|d| d.message.clone())
        .unwrap_or_else(|| "it no longer applies".to_string());
    format!("note: dropped the {what} {text}: {why}\n")
}
