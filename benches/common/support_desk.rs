//! The support-desk workload scaled up, shared by the benchmarks.
//!
//! `users` humans `user:u<i>`, each with a role (tier1 or tier2; every 50th suspended) and 1-2
//! delegated agents `agent:a<i>-<k>` of their own; the agents' grants come from data
//! (`bot_of`), the humans' from roles. Include with
//! `#[path = "common/support_desk.rs"] mod support_desk;`.
#![allow(dead_code)]

/// The policy: examples/support-desk/policy.ztp without its attached data, plus per-user agents.
pub fn policy() -> String {
    let base =
        include_str!("../../examples/support-desk/policy.ztp").replace("data \"data.json\";", "");
    base + r#"
rel bot_of(agent: string, user: string) // agent acts for user

@id("own-bot-tools")
permit agent A to orders.read, email.send if bot_of(A, _);

@id("own-bot-refund")
permit agent A to orders.refund when action.amount <= 500 if bot_of(A, _);
"#
}

/// JSON data (DESIGN.md section 3 format) for `users` users.
pub fn data(users: usize) -> String {
    let mut member = Vec::with_capacity(users);
    let mut suspended = Vec::new();
    let mut bots = Vec::with_capacity(users * 3 / 2);
    for i in 0..users {
        let role = if i % 3 == 0 { "tier2" } else { "tier1" };
        member.push(format!("[\"user:u{i}\",\"{role}\"]"));
        if i % 50 == 49 {
            suspended.push(format!("[\"user:u{i}\"]"));
        }
        for k in 0..(1 + i % 2) {
            bots.push(format!("[\"agent:a{i}-{k}\",\"user:u{i}\"]"));
        }
    }
    format!(
        "{{\"member\":[{}],\"suspended\":[{}],\"bot_of\":[{}]}}",
        member.join(","),
        suspended.join(","),
        bots.join(",")
    )
}

/// A request: agent `a<i>-0` acting for `user:u<i>`, refunding `amount` on a `region` order.
pub fn refund_request(i: usize, amount: i64, region: &str) -> serde_json::Value {
    serde_json::json!({
        "subject": {"type": "agent", "id": format!("a{i}-0")},
        "action": {"name": "orders.refund", "properties": {"amount": amount}},
        "resource": {"type": "order", "id": format!("o-{i}"), "properties": {"region": region}},
        "context": {"on_behalf_of": [{"type": "user", "id": format!("u{i}")}],
                    "session": {"tainted": false}}
    })
}

/// A mix of requests over the user population: allows, denies by cap, region and forbid.
pub fn request_mix(users: usize, n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|j| {
            let i = (j * 7919) % users;
            let amount = [50, 150, 250, 600, 1200][j % 5];
            let region = ["US", "EU", "APAC"][j % 3];
            refund_request(i, amount, region)
        })
        .collect()
}
