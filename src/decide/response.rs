//! Responses: AuthZEN decisions with ztpol's details in `context`.
//!
//! ```json
//! {"decision": true,
//!  "context": {"constraints": [{"action.amount": {"max": 200}}],
//!              "grants": ["tier1-refund", "support-bot-tools"],
//!              "reason_user": {"en": "..."}, "reason_admin": {"en": "..."},
//!              "policy_hash": "sha256:..."}}
//! ```
//! `constraints` is present only on an allow that carries some; `grants` only on an allow.
//! `reason_user` is safe to show the agent: it names no statement, no other principal and no
//! data; `reason_admin` names the failing principal, statement ids, condition text and values.

use super::{cond, Decider, Decision, Denial, Request};
use crate::ir::Program;
use serde_json::{json, Map, Value as Json};
use sha2::{Digest, Sha256};

/// `sha256:<hex>` over the program's source files (name and text, in load order) and the
/// given data documents (name and bytes), each length-prefixed so that no two different inputs
/// hash alike.
pub fn policy_hash(program: &Program, data: &[(&str, &[u8])]) -> String {
    let mut h = Sha256::new();
    let mut put = |tag: &[u8], bytes: &[u8]| {
        h.update(tag);
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    for (_, file) in program.sources.files() {
        put(b"S", file.name.as_bytes());
        put(b"T", file.text.as_bytes());
    }
    for (name, bytes) in data {
        put(b"D", name.as_bytes());
        put(b"B", bytes);
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The action, resource kind and subject ref of a request, for messages (empty without one).
struct Names<'r> {
    action: &'r str,
    resource_type: &'r str,
    request: Option<&'r Request>,
}

impl<'r> Names<'r> {
    fn of(request: Option<&'r Request>) -> Names<'r> {
        Names {
            action: request.map_or("", |r| r.action.name.as_str()),
            resource_type: request.map_or("", |r| r.resource.ty.as_str()),
            request,
        }
    }

    /// The ref of the principal at chain position `pos`.
    fn principal(&self, pos: usize) -> String {
        self.request
            .and_then(|r| r.chain_at(pos))
            .map(|p| p.reference())
            .unwrap_or_default()
    }
}

/// The reason safe to show the agent; `request` is the request `d` was taken on (`None`: the
/// document could not be read as one).
pub fn reason_user(request: Option<&Request>, d: &Decision) -> String {
    let n = Names::of(request);
    let what = format!("`{}` on `{}`", n.action, n.resource_type);
    match &d.denial {
        None if d.constraints.is_always() => format!("allowed: {what}"),
        None => format!(
            "allowed under constraints: {what}; the call must satisfy the returned constraints"
        ),
        Some(Denial::Malformed(e)) => format!("the request is malformed: {e}"),
        Some(Denial::Token(_)) => "the identity token was not accepted".into(),
        Some(Denial::Scope) => format!("denied: the token's scope does not include `{}`", n.action),
        Some(Denial::NoGrant { position: 0, .. }) => {
            format!(
                "denied: `{}` is not permitted to perform {what}",
                n.principal(0)
            )
        }
        Some(Denial::NoGrant { .. }) => {
            format!("denied: the principal this call is made on behalf of does not permit {what}")
        }
        Some(Denial::Forbidden { .. }) => format!("denied: {what} is forbidden by policy"),
        Some(Denial::Unsatisfiable { .. }) => {
            format!("denied: no call of {what} can satisfy the policy")
        }
        Some(Denial::Error { .. }) => {
            format!("denied: the request could not be evaluated for {what}")
        }
    }
}

/// The reason for administrators: principals, statement ids, conditions and values. `d` is a
/// decision of `decider` on `request` (`None`: the document could not be read as one).
pub fn reason_admin(decider: &Decider<'_>, request: Option<&Request>, d: &Decision) -> String {
    let program = decider.program();
    let n = Names::of(request);
    match &d.denial {
        None if d.constraints.is_always() => {
            format!("allowed by {}", list(grant_ids(decider, d)))
        }
        None => {
            let mut s = format!(
                "allowed by {} under constraints: {}",
                list(grant_ids(decider, d)),
                d.constraints
            );
            if !d.pending_forbids.is_empty() {
                s.push_str(&format!(
                    " (including the negation of {})",
                    list(d.pending_forbids.iter().map(String::as_str))
                ));
            }
            s
        }
        Some(Denial::Malformed(e)) => format!("malformed request: {e}"),
        Some(Denial::Token(why)) => format!("token rejected: {why}"),
        Some(Denial::Scope) => format!("the token's scope does not include `{}`", n.action),
        Some(Denial::NoGrant {
            position,
            all_false,
        }) => {
            let principal = n.principal(*position);
            let failures = match request {
                Some(r) => decider.failures(r, *position, *all_false),
                None => Vec::new(),
            };
            let role = if *position == 0 {
                "the subject".to_string()
            } else {
                format!("on_behalf_of[{}]", position - 1)
            };
            if failures.is_empty() {
                format!(
                    "`{principal}` ({role}) holds no grant covering `{}` on `{}`",
                    n.action, n.resource_type
                )
            } else {
                let parts: Vec<String> = failures
                    .iter()
                    .map(|f| format!("{}: {}", f.id, f.detail))
                    .collect();
                format!("`{principal}` ({role}): {}", parts.join("; "))
            }
        }
        Some(Denial::Forbidden {
            id,
            principal,
            condition,
        }) => {
            let mut s = format!("forbidden by {id}");
            if let Some(p) = principal {
                s.push_str(&format!(" for `{p}`"));
            }
            if let Some(c) = condition {
                s.push_str(&format!(": {c} held"));
            }
            s
        }
        Some(Denial::Unsatisfiable { forbids }) => {
            if forbids.is_empty() {
                "the grants of the chain have no common allowed values".into()
            } else {
                format!(
                    "the grants of the chain leave no values that {} do not forbid",
                    list(forbids.iter().map(String::as_str))
                )
            }
        }
        Some(Denial::Error {
            id,
            principal,
            error,
        }) => {
            let at = match cond::location(program, error.span()) {
                Some(loc) if !error.span().is_empty() => format!(" at {loc}"),
                _ => String::new(),
            };
            match principal {
                Some(p) => format!("evaluation error in {id} for `{p}`{at}: {error}"),
                None => format!("evaluation error in {id}{at}: {error}"),
            }
        }
    }
}

/// The ids of the statements that allowed `d`, a decision of `decider`.
pub fn grant_ids<'d>(decider: &'d Decider<'_>, d: &'d Decision) -> impl Iterator<Item = &'d str> {
    d.grants.iter().map(|i| decider.policy_id(i))
}

fn list<'s>(ids: impl Iterator<Item = &'s str>) -> String {
    let mut out = String::new();
    let mut n = 0;
    for id in ids {
        if n > 0 {
            out.push_str(", ");
        }
        out.push_str(id);
        n += 1;
    }
    if n == 0 {
        out.push_str("nothing");
    }
    out
}

/// The AuthZEN response to decision `d` of `decider` on `request` (`None`: the document
/// could not be read as one).
pub fn to_json(decider: &Decider<'_>, request: Option<&Request>, d: &Decision) -> Json {
    let mut ctx = Map::new();
    if d.allowed {
        if !d.constraints.is_always() {
            ctx.insert("constraints".into(), d.constraints.to_json());
        }
        let grants = grant_ids(decider, d).map(Json::from).collect();
        ctx.insert("grants".into(), Json::Array(grants));
    }
    ctx.insert(
        "reason_user".into(),
        json!({ "en": reason_user(request, d) }),
    );
    ctx.insert(
        "reason_admin".into(),
        json!({ "en": reason_admin(decider, request, d) }),
    );
    ctx.insert("policy_hash".into(), json!(decider.policy_hash()));
    json!({ "decision": d.allowed, "context": Json::Object(ctx) })
}
