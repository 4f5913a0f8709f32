//! Builds lowered programs by hand for the decision tests: relations, facts, statements and
//! conditions, with a source text that holds every condition's text so spans are real.

#![allow(dead_code)]

use ztpol::eval::{self, Model};
use ztpol::ir::{
    ActionPat, Attr, AttrRoot, CmpOp, ColumnInfo, Cond, CondTerm, Effect, Fact, Origin, Policy,
    PrincipalMatch, Program, RelId, RelKind, Relation, Type, Value,
};
use ztpol::source::{FileId, SourceFile, Span};

/// An operand of a hand-written condition.
#[derive(Debug, Clone)]
pub enum T {
    /// A dotted attribute path: `action.amount`.
    A(String),
    I(i64),
    S(String),
    B(bool),
    /// Column n of the instance relation.
    Col(usize),
    W,
}

pub fn a(path: &str) -> T {
    T::A(path.to_string())
}
pub fn s(v: &str) -> T {
    T::S(v.to_string())
}

pub fn attr(path: &str) -> Attr {
    let mut parts = path.split('.');
    let root = match parts.next() {
        Some("subject") => AttrRoot::Subject,
        Some("action") => AttrRoot::Action,
        Some("resource") => AttrRoot::Resource,
        Some("context") => AttrRoot::Context,
        Some("principal") => AttrRoot::Principal,
        other => panic!("bad attribute root {other:?}"),
    };
    Attr {
        root,
        path: parts.map(str::to_string).collect(),
    }
}

pub struct Builder {
    pub program: Program,
    text: String,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            program: Program::default(),
            text: String::from("// conditions\n"),
        }
    }

    fn span(&mut self, text: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(text);
        let end = self.text.len();
        self.text.push('\n');
        Span::new(FileId(0), start, end)
    }

    pub fn rel(&mut self, name: &str, types: &[Type]) -> RelId {
        let id = RelId(self.program.relations.len() as u32);
        self.program.relations.push(Relation {
            name: name.to_string(),
            columns: types
                .iter()
                .map(|t| ColumnInfo { name: None, ty: *t })
                .collect(),
            span: Span::default(),
            kind: RelKind::Declared,
        });
        id
    }

    pub fn fact(&mut self, rel: RelId, values: &[Value]) {
        let values = values
            .iter()
            .map(|v| self.program.interner.intern(v.clone()))
            .collect();
        self.program.facts.push(Fact {
            rel,
            values,
            origin: Origin::Inline(Span::default()),
        });
    }

    /// Adds a statement whose instance relation has `cols` columns (the principal column
    /// included when `principal` is a chain match); returns that relation.
    #[allow(clippy::too_many_arguments)]
    pub fn policy(
        &mut self,
        id: &str,
        effect: Effect,
        principal: PrincipalMatch,
        actions: &[&str],
        kinds: &[&str],
        cols: usize,
        cond: Cond,
    ) -> RelId {
        let index = self.program.policies.len();
        let rel = self.rel(&format!("$policy:{id}"), &vec![Type::String; cols]);
        self.program.relations[rel.index()].kind = RelKind::Policy(index);
        let span = self.span(&format!("statement {id}"));
        self.program.policies.push(Policy {
            id: id.to_string(),
            explicit_id: true,
            effect,
            principal,
            actions: actions.iter().map(|a| action_pat(a)).collect(),
            resources: kinds.iter().map(|k| k.to_string()).collect(),
            rel,
            columns: (0..cols).map(|i| format!("c{i}")).collect(),
            cond,
            span,
        });
        rel
    }

    /// `permit <principal ref> to actions on kinds when cond` (one instance, principal column
    /// only).
    pub fn permit(&mut self, id: &str, who: &str, actions: &[&str], kinds: &[&str], cond: Cond) {
        let rel = self.policy(
            id,
            Effect::Permit,
            PrincipalMatch::Chain { ty: None },
            actions,
            kinds,
            1,
            cond,
        );
        self.fact(rel, &[Value::Str(who.to_string())]);
    }

    /// `forbid to actions on kinds when cond` about the request as a whole.
    pub fn forbid(&mut self, id: &str, actions: &[&str], kinds: &[&str], cond: Cond) {
        let rel = self.policy(
            id,
            Effect::Forbid,
            PrincipalMatch::Request,
            actions,
            kinds,
            0,
            cond,
        );
        self.fact(rel, &[]);
    }

    fn term(&mut self, t: &T) -> (CondTerm, String) {
        let sp = Span::default();
        match t {
            T::A(p) => (CondTerm::Attr(attr(p), sp), p.clone()),
            T::I(i) => (
                CondTerm::Const(self.program.interner.intern(Value::Int(*i)), sp),
                i.to_string(),
            ),
            T::S(v) => (
                CondTerm::Const(self.program.interner.intern(Value::Str(v.clone())), sp),
                format!("{v:?}"),
            ),
            T::B(b) => (
                CondTerm::Const(self.program.interner.intern(Value::Bool(*b)), sp),
                b.to_string(),
            ),
            T::Col(n) => (CondTerm::Bound(*n, sp), format!("C{n}")),
            T::W => (CondTerm::Wildcard(sp), "_".into()),
        }
    }

    pub fn cmp(&mut self, l: T, op: CmpOp, r: T) -> Cond {
        let (lhs, lt) = self.term(&l);
        let (rhs, rt) = self.term(&r);
        let span = self.span(&format!("{lt} {} {rt}", op.symbol()));
        Cond::Cmp { lhs, op, rhs, span }
    }

    pub fn is_in(&mut self, l: T, set: &[T]) -> Cond {
        let (lhs, lt) = self.term(&l);
        let mut texts = Vec::new();
        let mut terms = Vec::new();
        for e in set {
            let (t, x) = self.term(e);
            terms.push(t);
            texts.push(x);
        }
        let span = self.span(&format!("{lt} in [{}]", texts.join(", ")));
        Cond::In {
            lhs,
            set: terms,
            span,
        }
    }

    pub fn lookup(&mut self, rel: RelId, args: &[T]) -> Cond {
        let mut texts = Vec::new();
        let mut terms = Vec::new();
        for e in args {
            let (t, x) = self.term(e);
            terms.push(t);
            texts.push(x);
        }
        let name = self.program.relation(rel).name.clone();
        let span = self.span(&format!("{name}({})", texts.join(", ")));
        Cond::Lookup {
            rel,
            args: terms,
            span,
        }
    }

    /// The program and its model (instance relations and lookups come from facts only, so
    /// the input model is the model).
    pub fn finish(mut self) -> (Program, Model) {
        self.program
            .sources
            .add(SourceFile::new("test.ztp", None, self.text));
        let model = eval::input_model(&self.program, &[]);
        (self.program, model)
    }
}

pub fn action_pat(a: &str) -> ActionPat {
    if a == "*" {
        ActionPat::Any
    } else if let Some(f) = a.strip_suffix(".*") {
        ActionPat::Family(f.to_string())
    } else {
        ActionPat::Exact(a.to_string())
    }
}

pub fn and(cs: Vec<Cond>) -> Cond {
    Cond::And(cs)
}
pub fn or(cs: Vec<Cond>) -> Cond {
    Cond::Or(cs)
}
pub fn not(c: Cond) -> Cond {
    Cond::Not(Box::new(c))
}
