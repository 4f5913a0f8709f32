//! Shared by the bundle tests: signing keys made for these tests only, the policies and data
//! the tests build bundles from, and helpers to compile and bundle them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use ztpol::bundle::{self, Bundle, KeySet, SigningKey, Trust};
use ztpol::eval::{self, EvalConfig, Model};
use ztpol::ir::Program;

pub const ED_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIPYRv2f/oi/Dp9LvPWMVyjlbhJgmn0jEBF0hLhHgCbWD
-----END PRIVATE KEY-----
";

pub const ED_OTHER_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIPhN2YOW/5BFZ/gCqvZqwqB9qf2h/QiSBsknwAWPwDL3
-----END PRIVATE KEY-----
";

pub const EC_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0C+DGalXcl4rSxx3
vaApAjf4ki+npaE0F5YSpO8LywWhRANCAAR04YTp2ANk0NRHhokzYIGCslzKmsXX
NaUUj0aAt48fB2IOEsEMpcPOl2WYK7baRT1GMt9Dej9yd0dHsEY22/MX
-----END PRIVATE KEY-----
";

pub const RSA_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQCvDN/JRRjfEjNN
aO/4rooJFwe6iYzj8WtzbTG3WLZSrZTJHGelODlVYdjLO6HbJtT22dmr12xBE+Dh
ur67dAFHp1ehznfkqNtHJRCghkOyvFhwqD9W87WqmTBsmwh+25xHIPN7Iug0NQfX
fYtIeQ2ij4BM+R2lw4rOUdXUBAGyJMRAtIx6JLxLtbw/nou9lYJ8K6McTg5br8TH
ugxwED/HxrisG4KmQ53MkLxExITLWTTNsm5ijYaU7OeEvUCV7CSbKj2VYsTJlLIP
eYhm+2JlKBWvN7EJ0SvUq14EbdQCcETbzlPfjok7Zv5M9axI1Cf2pwmKBW4bS5lp
ZA8N7LzbAgMBAAECggEAMY3S8h655jg4RrMsr7j1QZJ/8RoMRODsep4QQ2d9IZWa
932vh5GNhXKwFQRaEviAtCrCmIdg0WFnuW8MnHNAA4FHaPpSbWwxuweul8q6cmgo
Hyg52gsew98e2rfepU7VBDu7QYIFuvXCNQoIumjuZ7T47JFfB7R94F9BSYYi1sNh
5h/JSq5O/BR3g0o4+SXTxC0/wJGt9IlvyrDu6K5CMjxh5nBdXJ+rHasEsyGNlFnZ
AI9INVrcMQz8+lvwgO+ERglnUzLclKyxzNVkB0GDShJxBzkXiXcWkpZl+FZPC9RV
a2FwwIvXBjaXNvE02L2dIMTni0QRwg9b/oNQXd+l6QKBgQDwoyPKjdb0xpPxqBZE
cU3jkysdFHwJ7MB87xyfQ/cVRowVZb+/TA/2mKTC/VgXs4k1ZmRWrBdZNfhXip/C
H8MbO1tHMO0bK6z3kx1vAAsHh+n/aqXU9Rr3EBZZLZgKBoIr1FDQ3YnUI0sp4x/h
ZmkxfbveaJXipgMqj4mXvyxt6QKBgQC6Oc/vmN5k5wU/XdnBjlnA3mB5QWc428Js
avQoG7lO7S6TbDDWkTIsYg5JNnKa5GSJG9YN4Rk+E1C8uKmNb1KhPeVPs/VIXsBx
p+0sba+VU/vfZSdYFr7NW7EcunYP8QYcZmuUGskmvUb+NYvOkcWg+jKwinEt+GV4
ucfvouxGIwKBgQCtGT16zFNPWrU7hWUXMMYNqWS/E2gyn3rLpBlbu8E2LbxA/CNV
kXp+Mcl7dlBzJDPUFOairkJRaxBMsKxBMSXhJe6AJIK7I8zVfp8SpN5KOYuqruXB
bdtK0+ivl6uhspLawmysAmDOF+FOrVHWixuqfT6yO1tuYWsvp3cbkGp+WQKBgQCF
6/FnYs38Tk7txPZGRbKyCrniOXCb6R4mjbvL5DQdWGA4UIPGqmAkntebOvasATdz
insjPA/FHmrfbQUx2y7XGgYAjXAFfW5zzcm4O6EbiGwHuVzT8neAg0IZYNZqnHBC
mD0hIyopG9EkGynRge9X1tYBM241Gv8OFLx9zvKPdQKBgQCjd4qlTYXqzoDgFdRw
qi43YOkzGhAv6NjxaD+YfqA/Ns11IhEKHPYsxnXlsKY16/uAiWe8/gsqWegm/YZL
VclztuH/p4G5q1amdxaZqie6tCby0T7jROBr3Jwc177fX4BqeHVD3TUIZtQP98Re
SLNDOJf3eajzUH7ywdmK9f2pHQ==
-----END PRIVATE KEY-----
";

/// The policy of the generated corpus: every kind of statement and condition.
pub const CORPUS_POLICY: &str = r#"
use std::roles;
rel dept(principal: string, dept: string)
rel record_dept(record: string, dept: string)
rel clearance(principal: string, level: int)
rel suspended(principal: string)
rel blocked(resource: string)
rel bot_of(agent: string, user: string)

inherits("tier2", "tier1").

@id("t1-read")
permit role "tier1" to orders.read on order;
@id("t1-refund")
permit role "tier1" to orders.refund on order
  when resource.region == "US" and action.amount <= 200;
@id("t2-refund")
permit role "tier2" to orders.refund, orders.read on order
  when resource.region in ["US", "EU"] and action.amount <= 1000;
@id("admin-all")
permit role "admin" to orders.*, records.*;
@id("rec-view")
permit user U to records.view on record when resource.dept == D if dept(U, D);
@id("rec-edit")
permit user U to records.edit on record when record_dept(resource.id, D) if dept(U, D);
@id("docs")
permit agent A to docs.read when resource.level <= L if clearance(A, L), L >= 1;
@id("bot-tools")
permit agent A to orders.read, orders.refund, records.*, docs.read, email.send
  when action.amount <= 500 or not (action.name == "orders.refund") if bot_of(A, _);
@id("level")
permit user U to email.send when subject.level >= 2 or principal.level >= 3 if dept(U, _);
@id("no-shell")
forbid to shell.exec;
@id("taint")
forbid to email.send when context.session.tainted == true;
@id("risky")
forbid principal P to orders.* when not (subject.type == "user" or principal.id == "a-special")
  and context.risk > 7 if bot_of(P, _);
@id("blocked")
forbid to * when blocked(resource.id);
@id("susp")
forbid principal P to * if suspended(P), not dept(P, "security");
@id("dbg")
forbid to debug.dump when true;
"#;

/// Data for [`CORPUS_POLICY`]: `users` users and their agents.
pub fn corpus_data(users: usize) -> String {
    let mut rel: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    let depts = ["sales", "legal", "security"];
    for i in 0..users {
        let role = ["tier1", "tier2", "admin", "tier1"][i % 4];
        rel.entry("member")
            .or_default()
            .push(format!("[\"user:u{i}\",\"{role}\"]"));
        if i % 3 != 2 {
            rel.entry("dept")
                .or_default()
                .push(format!("[\"user:u{i}\",\"{}\"]", depts[i % 3]));
        }
        if i % 5 == 0 {
            rel.entry("dept")
                .or_default()
                .push(format!("[\"user:u{i}\",\"{}\"]", depts[(i + 1) % 3]));
        }
        if i % 7 == 3 {
            rel.entry("suspended")
                .or_default()
                .push(format!("[\"user:u{i}\"]"));
        }
        // Principals of a type no statement names, and with refs too long to keep inline.
        if i % 4 == 1 {
            rel.entry("member")
                .or_default()
                .push(format!("[\"robot:u{i}\",\"{role}\"]"));
        }
        if i % 6 == 0 {
            rel.entry("member")
                .or_default()
                .push(format!("[\"user:u{i}-of-the-night-shift\",\"tier2\"]"));
        }
        rel.entry("bot_of")
            .or_default()
            .push(format!("[\"agent:a{i}\",\"user:u{i}\"]"));
        rel.entry("clearance")
            .or_default()
            .push(format!("[\"agent:a{i}\",{}]", i % 4));
    }
    rel.entry("bot_of")
        .or_default()
        .push("[\"agent:a-special\",\"user:u0\"]".into());
    rel.entry("suspended")
        .or_default()
        .push("[\"agent:a2\"]".into());
    rel.entry("suspended")
        .or_default()
        .push("[\"robot:u5\"]".into());
    for r in 0..10 {
        rel.entry("record_dept")
            .or_default()
            .push(format!("[\"r{r}\",\"{}\"]", depts[r % 3]));
    }
    rel.entry("blocked").or_default().push("[\"o-13\"]".into());
    rel.entry("blocked").or_default().push("[\"r9\"]".into());
    let body: Vec<String> = rel
        .iter()
        .map(|(k, v)| format!("\"{k}\":[{}]", v.join(",")))
        .collect();
    format!("{{{}}}", body.join(","))
}

pub fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A compiled program, its model and the policy hash `ztpol decide` would report.
pub struct Compiled {
    pub program: Program,
    pub model: Model,
    pub hash: String,
    pub input_facts: usize,
}

fn finish(mut program: Program, data: &[(String, String)]) -> Compiled {
    let mut facts = Vec::new();
    for (name, text) in data {
        match ztpol::data::load_json_str(&mut program, name, text) {
            Ok(f) => facts.extend(f),
            Err(e) => panic!("data `{name}` does not load: {e:?}"),
        }
    }
    let input_facts = program.facts.len() + facts.len();
    let input = eval::input_model(&program, &facts);
    let model = eval::evaluate(&program, &input, &EvalConfig::default()).expect("evaluates");
    let refs: Vec<(&str, &[u8])> = data
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_bytes()))
        .collect();
    let hash = ztpol::decide::policy_hash(&program, &refs);
    Compiled {
        program,
        model,
        hash,
        input_facts,
    }
}

/// Compiles a policy directory with the data files it attaches (paths relative to the crate).
pub fn compile_dir(dir: &Path) -> Compiled {
    let compiled = ztpol::load::compile_paths(&[crate_root().join(dir)]).expect("policy reads");
    let program = compiled.program.unwrap_or_else(|| {
        panic!(
            "`{}` does not compile: {:?}",
            dir.display(),
            compiled.diagnostics
        )
    });
    let data: Vec<(String, String)> = program
        .data_files
        .iter()
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(p).expect("data file reads"),
            )
        })
        .collect();
    finish(program, &data)
}

/// Compiles a policy text with one data document.
pub fn compile_text(policy: &str, data: &str) -> Compiled {
    let compiled = ztpol::load::compile_str("policy.ztp", policy);
    let program = compiled
        .program
        .unwrap_or_else(|| panic!("the policy does not compile: {:?}", compiled.diagnostics));
    finish(program, &[("data.json".to_string(), data.to_string())])
}

impl Compiled {
    pub fn bundle_bytes(&self) -> Vec<u8> {
        bundle::build(&self.program, &self.model, &self.hash, self.input_facts)
    }

    /// The bundle, loaded as a development bundle (unsigned).
    pub fn bundle(&self) -> Bundle {
        Bundle::load(&self.bundle_bytes(), Trust::allow_unsigned()).expect("a fresh bundle loads")
    }
}

pub fn key(pem: &str, kid: &str) -> SigningKey {
    SigningKey::from_pem(pem.as_bytes(), kid).expect("test key reads")
}

/// A key set with the public halves of `keys`.
pub fn key_set(keys: &[&SigningKey]) -> KeySet {
    let jwks: Vec<serde_json::Value> = keys
        .iter()
        .map(|k| k.public_jwk().expect("public key"))
        .collect();
    KeySet::from_jwks(&serde_json::json!({ "keys": jwks }).to_string()).expect("jwks reads")
}
