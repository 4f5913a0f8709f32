//! The support-desk workload in Cedar: the same principals, roles, delegations and limits.
//!
//! Cedar has one principal per request, so the delegation chain is the agent as principal and
//! the user it acts for in `context.on_behalf_of`. ztpol's rule that every principal of the
//! chain must hold a grant becomes: permits for the agent's own allowed set, and forbids that
//! deny a delegated call the user is not entitled to. Resource attributes the request carries
//! (`region`) and the action's `amount` travel in the context, as a broker would pass them.

use cedar_policy::{Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request};
use serde_json::{json, Value as Json};
use std::str::FromStr;

pub const POLICIES: &str = r#"
// humans, through roles (tier2 is a child of tier1, so it inherits tier1's grants)
permit(principal in Role::"tier1", action == Action::"orders.read", resource is Order);
permit(principal in Role::"tier1", action == Action::"orders.refund", resource is Order)
  when { context.region == "US" && context.amount <= 200 };
permit(principal in Role::"tier1", action == Action::"email.send", resource);
permit(principal in Role::"tier2", action == Action::"orders.refund", resource is Order)
  when { (context.region == "US" || context.region == "EU") && context.amount <= 1000 };

// each user's own agents: their allowed set
permit(principal is Agent, action in [Action::"orders.read", Action::"email.send"], resource)
  when { principal has owner };
permit(principal is Agent, action == Action::"orders.refund", resource)
  when { principal has owner && context.amount <= 500 };

// a delegated call also needs the user's entitlement (the intersection)
forbid(principal is Agent, action == Action::"orders.refund", resource)
  when { context has on_behalf_of }
  unless {
    resource is Order &&
    ((context.on_behalf_of in Role::"tier1" && context.region == "US" && context.amount <= 200) ||
     (context.on_behalf_of in Role::"tier2" && (context.region == "US" || context.region == "EU")
        && context.amount <= 1000))
  };
forbid(principal is Agent, action == Action::"orders.read", resource)
  when { context has on_behalf_of }
  unless { resource is Order && context.on_behalf_of in Role::"tier1" };
forbid(principal is Agent, action == Action::"email.send", resource)
  when { context has on_behalf_of }
  unless { context.on_behalf_of in Role::"tier1" };

// never
forbid(principal, action == Action::"shell.exec", resource);
forbid(principal, action == Action::"email.send", resource)
  when { context.session.tainted };
forbid(principal, action, resource) when { principal has suspended && principal.suspended };
forbid(principal, action, resource)
  when { context has on_behalf_of && context.on_behalf_of has suspended
         && context.on_behalf_of.suspended };
"#;

/// Cedar entities JSON for `users` users: the same users, roles, suspensions and agents as
/// `support_desk::data`.
pub fn entities_json(users: usize) -> String {
    let mut out = Vec::with_capacity(users * 5 / 2 + 2);
    out.push(json!({"uid": {"type": "Role", "id": "tier1"}, "attrs": {}, "parents": []}));
    out.push(json!({"uid": {"type": "Role", "id": "tier2"}, "attrs": {},
                    "parents": [{"type": "Role", "id": "tier1"}]}));
    for i in 0..users {
        let role = if i % 3 == 0 { "tier2" } else { "tier1" };
        out.push(json!({"uid": {"type": "User", "id": format!("u{i}")},
                        "attrs": {"suspended": i % 50 == 49},
                        "parents": [{"type": "Role", "id": role}]}));
        for k in 0..(1 + i % 2) {
            out.push(json!({"uid": {"type": "Agent", "id": format!("a{i}-{k}")},
                            "attrs": {"owner": {"__entity": {"type": "User", "id": format!("u{i}")}}},
                            "parents": []}));
        }
    }
    Json::Array(out).to_string()
}

pub struct Cedar {
    pub policies: PolicySet,
    pub entities: Entities,
    authorizer: Authorizer,
}

impl Cedar {
    pub fn load(policies: &str, entities: &str) -> Cedar {
        Cedar {
            policies: PolicySet::from_str(policies).expect("the Cedar policies parse"),
            entities: Entities::from_json_str(entities, None).expect("the Cedar entities load"),
            authorizer: Authorizer::new(),
        }
    }

    pub fn decide(&self, r: &Request) -> bool {
        self.authorizer
            .is_authorized(r, &self.policies, &self.entities)
            .decision()
            == Decision::Allow
    }
}

fn uid(ty: &str, id: &str) -> EntityUid {
    EntityUid::from_str(&format!("{ty}::{}", json!(id))).expect("a valid entity uid")
}

/// The Cedar request for a support-desk request document.
pub fn request(doc: &Json) -> Request {
    let s = |p: &str| {
        doc.pointer(p)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let ty = |t: &str| match t {
        "agent" => "Agent",
        "user" => "User",
        "order" => "Order",
        other => panic!("unexpected type {other}"),
    };
    let principal = uid(ty(&s("/subject/type")), &s("/subject/id"));
    let action = uid("Action", &s("/action/name"));
    let resource = uid(ty(&s("/resource/type")), &s("/resource/id"));
    let mut ctx = json!({
        "amount": doc.pointer("/action/properties/amount").cloned().unwrap_or(json!(0)),
        "region": s("/resource/properties/region"),
        "session": {"tainted": doc.pointer("/context/session/tainted").cloned().unwrap_or(json!(false))},
    });
    if let Some(obo) = doc.pointer("/context/on_behalf_of/0") {
        let t = obo["type"].as_str().unwrap_or_default();
        let id = obo["id"].as_str().unwrap_or_default();
        ctx["on_behalf_of"] = json!({"__entity": {"type": ty(t), "id": id}});
    }
    let context = Context::from_json_value(ctx, None).expect("a valid context");
    Request::new(principal, action, resource, context, None).expect("a valid request")
}
