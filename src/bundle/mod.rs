//! Decision bundles: a policy's data-time model plus its conditions, compiled into a compact,
//! deterministic binary file that an enforcement point loads to decide requests without the
//! compiler.
//!
//! - [`build`] encodes a checked [`Program`] and its evaluated [`Model`]; [`sign`] adds a JWS
//!   over the bundle's digest. `docs/BUNDLE.md` documents the format.
//! - [`Bundle::load`] checks the envelope and the digest on every load, verifies the
//!   signature against a [`KeySet`] (or accepts an unsigned bundle when told to), and decodes.
//! - [`Bundle::decide`] answers a [`Query`] (borrowed strings, attribute values by slot) with
//!   pre-resolved tables and without allocating, whenever the answer needs no residual
//!   constraint and hits no evaluation error; otherwise, and for [`Bundle::decide_request`]
//!   and [`Bundle::respond`], it rebuilds the staged [`Decider`](crate::decide::Decider)'s
//!   program and model from the bundle (once, lazily) and decides with it, so those answers
//!   are the source path's by construction.

pub mod fast;
pub mod format;
mod full;
pub mod read;
pub mod sign;
pub mod strings;
pub mod write;

pub use fast::{Answer, Entity, Query, Val, Verdict, VerdictDenial};
pub use read::Contents;
pub use sign::{KeySet, Signer, SigningKey};

use crate::decide::{Auth, Decider, Decision, Request};
use crate::eval::Model;
use crate::ir::{Attr, AttrRoot, Cond, CondTerm, Program};
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// Why a bundle was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum BundleError {
    #[error("not a ztpol bundle (the file does not start with `ZTPB`)")]
    #[diagnostic(code(ztpol::bundle::not_a_bundle))]
    NotABundle,
    #[error("the bundle is truncated: {found} bytes, at least {needed} expected")]
    #[diagnostic(code(ztpol::bundle::truncated))]
    Truncated { needed: usize, found: usize },
    #[error(
        "bundle format version {found} is not supported (this ztpol reads version {})",
        format::VERSION
    )]
    #[diagnostic(
        code(ztpol::bundle::version),
        help("rebuild the bundle with this version of ztpol")
    )]
    Version { found: u16 },
    #[error("unknown bundle flags `{0:#06x}`")]
    #[diagnostic(code(ztpol::bundle::flags))]
    Flags(u16),
    #[error("{extra} unexpected bytes after the end of the bundle")]
    #[diagnostic(code(ztpol::bundle::trailing))]
    Trailing { extra: usize },
    #[error("the bundle's digest does not match its contents: the bundle is corrupted")]
    #[diagnostic(code(ztpol::bundle::digest))]
    Digest,
    #[error("malformed bundle: section `{section}`, offset {offset}: {message}")]
    #[diagnostic(code(ztpol::bundle::malformed))]
    Malformed {
        section: &'static str,
        offset: usize,
        message: String,
    },
    #[error("the bundle is not signed")]
    #[diagnostic(
        code(ztpol::bundle::unsigned),
        help("sign it with `ztpol bundle build --sign-key KEY --kid ID`, or pass `--allow-unsigned` for local development")
    )]
    Unsigned,
    #[error("the bundle is signed, but no key set was given to verify it")]
    #[diagnostic(
        code(ztpol::bundle::no_keys),
        help("give the signer's public keys with `--jwks FILE`")
    )]
    NoKeys,
    #[error("bad bundle signature: {0}")]
    #[diagnostic(code(ztpol::bundle::signature))]
    Signature(String),
    #[error("the bundle is signed by key `{0}`, which the key set does not hold")]
    #[diagnostic(
        code(ztpol::bundle::unknown_kid),
        help("add the signer's public key to the JWKS, or rebuild the bundle with a current key")
    )]
    UnknownKid(String),
    #[error("the signature is valid but covers another bundle: the contents were swapped")]
    #[diagnostic(code(ztpol::bundle::signed_other))]
    SignedOther,
    #[error("signing key: {0}")]
    #[diagnostic(code(ztpol::bundle::key))]
    Key(String),
}

/// The request attributes and token claims a bundle reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// Attributes of the action, resource and context, sorted: a [`Query`] gives their values
    /// by position in this list (the *slot*).
    pub attributes: Vec<Attr>,
    /// Property paths read on chain principals (`subject.level`, `principal.level`), sorted:
    /// an [`Entity`] gives their values by position.
    pub principal_attributes: Vec<Vec<String>>,
    /// Token claims decisions read when the identity comes from a token.
    pub claims: Vec<String>,
}

impl Manifest {
    /// What the conditions of `program` read. The entities' own fields (`subject.type`,
    /// `subject.id`, `action.name`, `resource.type`, `resource.id`) are always read and are
    /// not listed.
    pub fn of(program: &Program) -> Manifest {
        let mut attrs = BTreeSet::new();
        let mut paths = BTreeSet::new();
        for p in &program.policies {
            walk_terms(&p.cond, &mut |t| {
                if let CondTerm::Attr(a, _) = t {
                    match slot_kind(a) {
                        SlotKind::Request => {
                            attrs.insert(a.clone());
                        }
                        SlotKind::Entity => {
                            paths.insert(a.path.clone());
                        }
                        SlotKind::Field | SlotKind::Unsupported => {}
                    }
                }
            });
        }
        Manifest {
            attributes: attrs.into_iter().collect(),
            principal_attributes: paths.into_iter().collect(),
            claims: ["sub", "act", "scope"].map(String::from).to_vec(),
        }
    }

    pub fn attribute_names(&self) -> Vec<String> {
        self.attributes.iter().map(Attr::dotted).collect()
    }

    /// The slot of a dotted attribute name (`action.amount`).
    pub fn slot(&self, dotted: &str) -> Option<usize> {
        self.attributes.iter().position(|a| a.dotted() == dotted)
    }

    /// The entity slot of a principal property path (`level`, `org.tier`).
    pub fn principal_slot(&self, dotted: &str) -> Option<usize> {
        self.principal_attributes
            .iter()
            .position(|p| p.join(".") == dotted)
    }
}

/// How a condition reads an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotKind {
    /// A field of the request itself (`action.name`, `resource.type`, `resource.id`,
    /// `subject.type`, `principal.id`, ...).
    Field,
    /// A property of the action, resource or context: a request slot.
    Request,
    /// A property of a chain principal: an entity slot.
    Entity,
    /// Something conditions cannot read as a value (the delegation chain, a whole object).
    Unsupported,
}

pub(crate) fn slot_kind(a: &Attr) -> SlotKind {
    let one = |f: &str| a.path.len() == 1 && a.path[0] == f;
    if a.path.is_empty() {
        return SlotKind::Unsupported;
    }
    match a.root {
        AttrRoot::Subject | AttrRoot::Principal => {
            if one("type") || one("id") {
                SlotKind::Field
            } else {
                SlotKind::Entity
            }
        }
        AttrRoot::Action => {
            if one("name") {
                SlotKind::Field
            } else {
                SlotKind::Request
            }
        }
        AttrRoot::Resource => {
            if one("type") || one("id") {
                SlotKind::Field
            } else {
                SlotKind::Request
            }
        }
        AttrRoot::Context => {
            if a.path[0] == "on_behalf_of" {
                SlotKind::Unsupported
            } else {
                SlotKind::Request
            }
        }
    }
}

pub(crate) fn walk_terms<'c>(c: &'c Cond, f: &mut impl FnMut(&'c CondTerm)) {
    match c {
        Cond::True | Cond::False => {}
        Cond::And(cs) | Cond::Or(cs) => cs.iter().for_each(|c| walk_terms(c, f)),
        Cond::Not(c) => walk_terms(c, f),
        Cond::Cmp { lhs, rhs, .. } => {
            f(lhs);
            f(rhs);
        }
        Cond::In { lhs, set, .. } => {
            f(lhs);
            set.iter().for_each(&mut *f);
        }
        Cond::Lookup { args, .. } => args.iter().for_each(f),
    }
}

/// Encodes a program and its model as an unsigned bundle. `policy_hash` names the policy and
/// data version in responses; `input_facts` is recorded for `bundle inspect`.
pub fn build(program: &Program, model: &Model, policy_hash: &str, input_facts: usize) -> Vec<u8> {
    let (body, _) = write::body(program, model, policy_hash, input_facts);
    format::seal(&body)
}

/// Signs a bundle with `key` (replacing any signature it had).
pub fn sign(bundle: &[u8], key: &SigningKey) -> Result<Vec<u8>, BundleError> {
    sign::sign(bundle, key)
}

/// What a bundle must carry to be loaded.
#[derive(Clone, Copy)]
pub struct Trust<'k> {
    /// Keys to verify a signature with. A signed bundle needs them.
    pub keys: Option<&'k KeySet>,
    /// Accept a bundle without a signature (local development). A signature that is present
    /// is still verified, and a bad one is still refused.
    pub allow_unsigned: bool,
}

impl<'k> Trust<'k> {
    pub fn keys(keys: &'k KeySet) -> Trust<'k> {
        Trust {
            keys: Some(keys),
            allow_unsigned: false,
        }
    }

    pub fn allow_unsigned() -> Trust<'static> {
        Trust {
            keys: None,
            allow_unsigned: true,
        }
    }
}

/// Checks a bundle's envelope and digest, and its signature as `trust` demands.
pub fn verify(bytes: &[u8], trust: Trust<'_>) -> Result<Option<Signer>, BundleError> {
    check_signature(&format::open(bytes)?, trust)
}

/// The body size (bytes) from which [`Bundle::load`] decodes on a second thread: below it,
/// starting the thread costs more than it saves.
const PARALLEL_DECODE: usize = 1 << 18;

fn check_signature(
    env: &format::Envelope<'_>,
    trust: Trust<'_>,
) -> Result<Option<Signer>, BundleError> {
    match (env.signature, trust.keys) {
        (Some(_), Some(keys)) => keys.verify(env).map(Some),
        (Some(_), None) => Err(BundleError::NoKeys),
        (None, _) if trust.allow_unsigned => Ok(None),
        (None, _) => Err(BundleError::Unsigned),
    }
}

/// A bundle's metadata and contents, read without checking the signature (for `inspect`).
pub struct Inspection {
    pub contents: Contents,
    pub digest: String,
    pub signed: bool,
    /// `kid` and `alg` from the signature's header, unverified.
    pub signature_header: Option<(Option<String>, String)>,
    pub total_bytes: usize,
}

/// Reads a bundle for inspection: envelope and digest are checked, the signature is not.
pub fn inspect(bytes: &[u8]) -> Result<Inspection, BundleError> {
    let env = format::open(bytes)?;
    let contents = read::decode(env.body)?;
    let signature_header = env
        .signature
        .map(|jws| match jsonwebtoken::decode_header(jws) {
            Ok(h) => (h.kid, format!("{:?}", h.alg)),
            Err(_) => (None, "unreadable".to_string()),
        });
    Ok(Inspection {
        contents,
        digest: format!("sha256:{}", format::hex(&env.digest)),
        signed: env.signature.is_some(),
        signature_header,
        total_bytes: bytes.len(),
    })
}

/// A loaded bundle, ready to decide.
pub struct Bundle {
    contents: Contents,
    fast: fast::Fast,
    full: OnceLock<full::Full>,
    digest: [u8; 32],
    signer: Option<Signer>,
}

impl Bundle {
    /// Loads a bundle from its bytes: checks the envelope and digest, the signature as
    /// `trust` demands, decodes the contents and builds the decision tables.
    pub fn load(bytes: &[u8], trust: Trust<'_>) -> Result<Bundle, BundleError> {
        let checked = |bytes| {
            let env = format::open(bytes)?;
            let signer = check_signature(&env, trust)?;
            Ok::<_, BundleError>((env, signer))
        };
        let (checked, decoded) = match format::body_unchecked(bytes) {
            // A large body is decoded on a second thread while this one checks the digest and
            // the signature. Errors keep their order: the envelope's, the signature's, then
            // the body's; a body that does not pass those checks is decoded but never used.
            Some(body) if body.len() >= PARALLEL_DECODE => std::thread::scope(|s| {
                // (Where no thread can be started, the body is decoded after the checks.)
                let decoding = std::thread::Builder::new()
                    .name("ztpol-bundle-decode".into())
                    .spawn_scoped(s, || read::decode(body))
                    .ok();
                let checked = checked(bytes);
                let decoded = decoding.map(|d| {
                    d.join().unwrap_or_else(|_| {
                        Err(BundleError::Malformed {
                            section: "body",
                            offset: 0,
                            message: "decoding failed".into(),
                        })
                    })
                });
                (checked, decoded.map(|d| (body, d)))
            }),
            _ => (checked(bytes), None),
        };
        let (env, signer) = checked?;
        let contents = match decoded {
            Some((body, decoded)) if std::ptr::eq(body, env.body) => decoded?,
            _ => read::decode(env.body)?,
        };
        let fast = fast::Fast::new(&contents)?;
        Ok(Bundle {
            contents,
            fast,
            full: OnceLock::new(),
            digest: env.digest,
            signer,
        })
    }

    pub fn contents(&self) -> &Contents {
        &self.contents
    }

    pub fn manifest(&self) -> &Manifest {
        &self.contents.manifest
    }

    pub fn policy_hash(&self) -> &str {
        &self.contents.policy_hash
    }

    /// `sha256:<hex>` of the bundle.
    pub fn digest(&self) -> String {
        format!("sha256:{}", format::hex(&self.digest))
    }

    /// Who signed the bundle, when it was signed and verified.
    pub fn signer(&self) -> Option<&Signer> {
        self.signer.as_ref()
    }

    /// The id of statement `i` (as [`Verdict`]s name them).
    pub fn policy_id(&self, i: u32) -> &str {
        self.contents
            .policies
            .get(i as usize)
            .map(|p| p.id.as_str())
            .unwrap_or("")
    }

    /// Decides a query. Without residual constraints or evaluation errors this is the
    /// allocation-free fast path; otherwise the query is decided by the staged decider.
    pub fn decide(&self, query: &Query<'_>) -> Answer {
        match self.fast.decide(&self.contents, query) {
            Some(v) => Answer::Fast(v),
            None => {
                let request = self.fast.to_request(query);
                Answer::Full(Box::new(match request {
                    Ok(r) => self.decide_request(&r),
                    Err(e) => Decision::deny(crate::decide::Denial::Malformed(e)),
                }))
            }
        }
    }

    /// The same bundle deciding without its per-list-and-profile permit plans, as it does
    /// when a bundle has too many profiles for them (for tests).
    #[doc(hidden)]
    pub fn without_plans(mut self) -> Bundle {
        self.fast.drop_plans();
        self
    }

    /// The fast path alone: `None` when the answer needs the staged decider.
    pub fn decide_fast(&self, query: &Query<'_>) -> Option<Verdict> {
        self.fast.decide(&self.contents, query)
    }

    /// The query form of a parsed request (attribute values read by slot).
    pub fn query_of<'r>(&self, request: &'r Request, buf: &'r mut QueryBuf<'r>) -> Query<'r> {
        self.fast.query_of(request, buf)
    }

    /// The staged decider over the bundle's program and model. The program, model and the
    /// decider's indices are built on first use and kept; each call only borrows them.
    pub fn with_decider<T>(&self, f: impl FnOnce(&Decider<'_>) -> T) -> T {
        let full = self.full.get_or_init(|| full::Full::new(&self.contents));
        let decider = Decider::with_indices(&full.program, &full.model, full.indices.clone())
            .with_policy_hash(self.policy_hash().into());
        f(&decider)
    }

    /// Decides a parsed request with the staged decider.
    pub fn decide_request(&self, request: &Request) -> Decision {
        self.with_decider(|d| d.decide(request))
    }

    /// Decides a request document (with an optional identity token) and renders the AuthZEN
    /// response, exactly as `ztpol decide` does from source.
    pub fn respond(&self, json: &Json, auth: Auth<'_>) -> Json {
        self.with_decider(|d| d.respond(json, auth))
    }
}

/// Owned storage for [`Bundle::query_of`].
pub type QueryBuf<'r> = fast::QueryBuf<'r>;
