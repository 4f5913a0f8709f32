//! Many requests at once: AuthZEN batch evaluation and JSON lines.
//!
//! A batch is `{"subject"?, "action"?, "resource"?, "context"?, "evaluations": [...],
//! "options": {"evaluations_semantic": ...}}`; each evaluation inherits every top-level field
//! it omits (a field it gives replaces the top-level one whole). The response is
//! `{"evaluations": [response, ...]}`, in order; with `deny_on_first_deny` it stops after the
//! first deny, with `permit_on_first_permit` after the first permit (`execute_all`, the
//! default, answers every evaluation).
//!
//! JSON lines: one request per line in, one response per line out. A line that is not JSON
//! (or not a valid request) gets a deny whose reason names the problem; blank lines are
//! skipped; the other lines go on.

use super::request::RequestError;
use serde_json::{json, Map, Value as Json};
use std::io::{self, BufRead, Write};

/// How far a batch goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Semantic {
    #[default]
    ExecuteAll,
    DenyOnFirstDeny,
    PermitOnFirstPermit,
}

impl Semantic {
    pub fn parse(s: &str) -> Option<Semantic> {
        match s {
            "execute_all" => Some(Semantic::ExecuteAll),
            "deny_on_first_deny" => Some(Semantic::DenyOnFirstDeny),
            "permit_on_first_permit" => Some(Semantic::PermitOnFirstPermit),
            _ => None,
        }
    }
}

/// Whether a JSON document is a batch (has `evaluations`).
pub fn is_batch(json: &Json) -> bool {
    json.get("evaluations").is_some()
}

/// The requests of a batch, each with the top-level defaults filled in, and the semantic.
pub fn expand(json: &Json) -> Result<(Vec<Json>, Semantic), RequestError> {
    let Json::Object(top) = json else {
        return Err(RequestError::new("request", "expected an object"));
    };
    let evals = match top.get("evaluations") {
        Some(Json::Array(a)) => a,
        Some(other) => {
            return Err(RequestError::new(
                "evaluations",
                format!("expected a list, found {}", super::request::kind(other)),
            ))
        }
        None => return Err(RequestError::new("evaluations", "missing")),
    };
    let semantic = match top.get("options") {
        None | Some(Json::Null) => Semantic::default(),
        Some(Json::Object(o)) => match o.get("evaluations_semantic") {
            None | Some(Json::Null) => Semantic::default(),
            Some(Json::String(s)) => Semantic::parse(s).ok_or_else(|| {
                RequestError::new(
                    "options.evaluations_semantic",
                    format!(
                        "unknown semantic `{s}` (expected `execute_all`, `deny_on_first_deny` or `permit_on_first_permit`)"
                    ),
                )
            })?,
            Some(other) => {
                return Err(RequestError::new(
                    "options.evaluations_semantic",
                    format!("expected a string, found {}", super::request::kind(other)),
                ))
            }
        },
        Some(other) => {
            return Err(RequestError::new(
                "options",
                format!("expected an object, found {}", super::request::kind(other)),
            ))
        }
    };
    let requests = evals
        .iter()
        .map(|e| match e {
            Json::Object(fields) => {
                let mut merged = Map::new();
                for key in ["subject", "action", "resource", "context"] {
                    if let Some(v) = fields.get(key).or_else(|| top.get(key)) {
                        merged.insert(key.to_string(), v.clone());
                    }
                }
                Json::Object(merged)
            }
            // Left as is: deciding it reports that it is not an object.
            other => other.clone(),
        })
        .collect();
    Ok((requests, semantic))
}

/// Answers a batch with `respond` (which decides one request document and renders its
/// response).
pub fn run_batch(
    json: &Json,
    mut respond: impl FnMut(&Json) -> Json,
) -> Result<Json, RequestError> {
    let (requests, semantic) = expand(json)?;
    let mut out = Vec::with_capacity(requests.len());
    for r in &requests {
        let resp = respond(r);
        let decision = resp
            .get("decision")
            .and_then(Json::as_bool)
            .unwrap_or(false);
        out.push(resp);
        let stop = match semantic {
            Semantic::ExecuteAll => false,
            Semantic::DenyOnFirstDeny => !decision,
            Semantic::PermitOnFirstPermit => decision,
        };
        if stop {
            break;
        }
    }
    Ok(json!({ "evaluations": out }))
}

/// JSON lines: reads one request per line from `input` and writes one response per line.
/// `malformed` renders the deny for a line that is not JSON. Returns the number of responses.
pub fn run_lines(
    input: impl BufRead,
    mut output: impl Write,
    mut respond: impl FnMut(&Json) -> Json,
    malformed: impl Fn(RequestError) -> Json,
) -> io::Result<usize> {
    let mut n = 0;
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let resp = match serde_json::from_str::<Json>(&line) {
            Ok(json) => respond(&json),
            Err(e) => malformed(RequestError::new(
                format!("line {}", i + 1),
                format!("not JSON: {e}"),
            )),
        };
        serde_json::to_writer(&mut output, &resp)?;
        output.write_all(b"\n")?;
        n += 1;
    }
    output.flush()?;
    Ok(n)
}
