//! Requests: AuthZEN 1.0 evaluation requests plus the delegation chain
//! (`context.on_behalf_of`), parsed from JSON and validated.
//!
//! Required: `subject.type`, `subject.id`, `action.name`, `resource.type` (non-empty strings).
//! Optional: `resource.id` (absent means unknown, for "may this agent call X at all?"
//! questions), `properties` of each entity (objects), `context` (an object), and
//! `context.on_behalf_of` (a list of `{"type", "id", "properties"?}`, original principal first).
//! A principal type may not contain `:`; principal refs are `"{type}:{id}"`.
//!
//! Attribute values: strings, integers (i64) and booleans are values; `null` or an absent field
//! is unknown; floats, arrays and objects are invalid where a condition reads them.

use crate::ir::{ActionPat, Attr, AttrRoot, Value};
use serde_json::{Map, Value as Json};

/// A malformed request: the JSON path of the offending field and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("{path}: {message}")]
#[diagnostic(code(ztpol::decide::malformed_request))]
pub struct RequestError {
    /// Dotted path of the field (`subject.id`, `context.on_behalf_of[1].type`); `request` for
    /// the document itself.
    pub path: String,
    pub message: String,
}

impl RequestError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        RequestError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A principal of the chain: the subject or an entry of `on_behalf_of`.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub ty: String,
    pub id: String,
    pub properties: Map<String, Json>,
}

impl Principal {
    pub fn new(ty: impl Into<String>, id: impl Into<String>) -> Self {
        Principal {
            ty: ty.into(),
            id: id.into(),
            properties: Map::new(),
        }
    }

    /// The principal ref used in relations: `"agent:support-bot"`.
    pub fn reference(&self) -> String {
        let mut r = String::with_capacity(self.ty.len() + 1 + self.id.len());
        r.push_str(&self.ty);
        r.push(':');
        r.push_str(&self.id);
        r
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub name: String,
    pub properties: Map<String, Json>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub ty: String,
    /// Absent ids are unknown.
    pub id: Option<String>,
    pub properties: Map<String, Json>,
}

/// A validated request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub subject: Principal,
    pub action: Action,
    pub resource: Resource,
    /// The context object without `on_behalf_of`.
    pub context: Map<String, Json>,
    /// The delegation chain, original principal first, ending with the subject's immediate
    /// delegator; empty when the subject acts for itself.
    pub on_behalf_of: Vec<Principal>,
    /// Action patterns a token's `scope` allows; `None` when no token limits the actions.
    pub scope: Option<Vec<ActionPat>>,
}

/// The value of a request attribute as a condition sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Known(Value),
    /// Absent (or `null`): conditions on it become constraints.
    Unknown,
    /// Present but not a string, integer or boolean; the string names what it is.
    Invalid(&'static str),
}

/// A request attribute's value borrowed from the request: [`AttrValue`] without copying
/// strings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttrRef<'r> {
    Known(ValueRef<'r>),
    Unknown,
    Invalid(&'static str),
}

impl AttrRef<'_> {
    pub fn to_owned(self) -> AttrValue {
        match self {
            AttrRef::Known(v) => AttrValue::Known(v.to_value()),
            AttrRef::Unknown => AttrValue::Unknown,
            AttrRef::Invalid(what) => AttrValue::Invalid(what),
        }
    }
}

/// A [`Value`] by reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueRef<'v> {
    Str(&'v str),
    Int(i64),
    Bool(bool),
}

impl<'v> ValueRef<'v> {
    pub fn of(v: &'v Value) -> ValueRef<'v> {
        match v {
            Value::Str(s) => ValueRef::Str(s),
            Value::Int(i) => ValueRef::Int(*i),
            Value::Bool(b) => ValueRef::Bool(*b),
        }
    }

    pub fn to_value(self) -> Value {
        match self {
            ValueRef::Str(s) => Value::Str(s.to_string()),
            ValueRef::Int(i) => Value::Int(i),
            ValueRef::Bool(b) => Value::Bool(b),
        }
    }
}

impl std::fmt::Display for ValueRef<'_> {
    /// As [`Value`]'s: strings quoted, ints and bools bare.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueRef::Str(s) => write!(f, "{s:?}"),
            ValueRef::Int(i) => write!(f, "{i}"),
            ValueRef::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl Request {
    /// Parses and validates an evaluation request.
    pub fn from_json(json: &Json) -> Result<Request, RequestError> {
        let obj = object(json, "request")?;
        let subject = principal(required(obj, "subject", "subject")?, "subject")?;
        let action = {
            let a = object(required(obj, "action", "action")?, "action")?;
            Action {
                name: non_empty_string(a, "name", "action.name")?,
                properties: properties(a, "action.properties")?,
            }
        };
        let resource = {
            let r = object(required(obj, "resource", "resource")?, "resource")?;
            Resource {
                ty: non_empty_string(r, "type", "resource.type")?,
                id: match r.get("id") {
                    None | Some(Json::Null) => None,
                    Some(Json::String(s)) => Some(s.clone()),
                    Some(other) => return Err(expected("resource.id", "a string", other)),
                },
                properties: properties(r, "resource.properties")?,
            }
        };
        let mut context = match obj.get("context") {
            None | Some(Json::Null) => Map::new(),
            Some(c) => object(c, "context")?.clone(),
        };
        let on_behalf_of = match context.remove("on_behalf_of") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| principal(item, &format!("context.on_behalf_of[{i}]")))
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(expected("context.on_behalf_of", "a list", &other)),
        };
        Ok(Request {
            subject,
            action,
            resource,
            context,
            on_behalf_of,
            scope: None,
        })
    }

    /// The principals that must all hold a grant: the subject first, then `on_behalf_of` in
    /// its order.
    pub fn chain(&self) -> impl Iterator<Item = &Principal> {
        std::iter::once(&self.subject).chain(self.on_behalf_of.iter())
    }

    /// The principal at chain position `pos` (0 is the subject).
    pub fn chain_at(&self, pos: usize) -> Option<&Principal> {
        match pos {
            0 => Some(&self.subject),
            n => self.on_behalf_of.get(n - 1),
        }
    }

    pub fn chain_len(&self) -> usize {
        1 + self.on_behalf_of.len()
    }

    /// The value of `attr`; `principal` is the chain position of the principal the statement
    /// matched (`None` for statements about the request as a whole: `principal.*` is then
    /// invalid).
    pub fn attr(&self, attr: &Attr, principal: Option<usize>) -> AttrValue {
        self.attr_ref(attr, principal).to_owned()
    }

    /// [`Request::attr`], borrowed from the request.
    pub fn attr_ref(&self, attr: &Attr, principal: Option<usize>) -> AttrRef<'_> {
        let path = attr.path.as_slice();
        match attr.root {
            AttrRoot::Subject => entity_attr(&self.subject, path),
            AttrRoot::Principal => match principal.and_then(|p| self.chain_at(p)) {
                Some(p) => entity_attr(p, path),
                None => AttrRef::Invalid("undefined (the statement matches no principal)"),
            },
            AttrRoot::Action => match path {
                [f] if f == "name" => AttrRef::Known(ValueRef::Str(&self.action.name)),
                _ => json_path(&self.action.properties, path),
            },
            AttrRoot::Resource => match path {
                [f] if f == "type" => AttrRef::Known(ValueRef::Str(&self.resource.ty)),
                [f] if f == "id" => match &self.resource.id {
                    Some(id) => AttrRef::Known(ValueRef::Str(id)),
                    None => AttrRef::Unknown,
                },
                _ => json_path(&self.resource.properties, path),
            },
            AttrRoot::Context => match path {
                [f, ..] if f == "on_behalf_of" => AttrRef::Invalid("the delegation chain"),
                _ => json_path(&self.context, path),
            },
        }
    }

    /// The name under which an attribute appears in constraints: its path in the request
    /// (`resource.region`, `action.amount`); `principal.*` is resolved to the principal it
    /// denotes (`subject.level`, `context.on_behalf_of.0.level`).
    pub fn attr_key(attr: &Attr, principal: Option<usize>) -> String {
        let mut key = match (attr.root, principal) {
            (AttrRoot::Principal, Some(0)) => "subject".to_string(),
            (AttrRoot::Principal, Some(n)) => format!("context.on_behalf_of.{}", n - 1),
            (root, _) => root.name().to_string(),
        };
        for p in &attr.path {
            key.push('.');
            key.push_str(p);
        }
        key
    }
}

fn entity_attr<'r>(p: &'r Principal, path: &[String]) -> AttrRef<'r> {
    match path {
        [f] if f == "type" => AttrRef::Known(ValueRef::Str(&p.ty)),
        [f] if f == "id" => AttrRef::Known(ValueRef::Str(&p.id)),
        _ => json_path(&p.properties, path),
    }
}

fn json_path<'r>(map: &'r Map<String, Json>, path: &[String]) -> AttrRef<'r> {
    let Some((first, rest)) = path.split_first() else {
        return AttrRef::Invalid("an object");
    };
    let mut cur = match field(map, first) {
        Some(v) => v,
        None => return AttrRef::Unknown,
    };
    for seg in rest {
        cur = match cur {
            Json::Object(m) => match field(m, seg) {
                Some(v) => v,
                None => return AttrRef::Unknown,
            },
            Json::Null => return AttrRef::Unknown,
            other => return AttrRef::Invalid(kind(other)),
        };
    }
    scalar_ref(cur)
}

/// `map[key]`: small maps (request properties usually are) are scanned, which is faster
/// than hashing the key.
fn field<'r>(map: &'r Map<String, Json>, key: &str) -> Option<&'r Json> {
    const SCAN: usize = 8;
    if map.len() <= SCAN {
        map.iter()
            .find(|(k, _)| crate::mem::same(k.as_bytes(), key.as_bytes()))
            .map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

/// The condition value of a JSON scalar.
pub fn scalar(json: &Json) -> AttrValue {
    scalar_ref(json).to_owned()
}

/// [`scalar`], borrowed from the JSON value.
pub fn scalar_ref(json: &Json) -> AttrRef<'_> {
    match json {
        Json::Null => AttrRef::Unknown,
        Json::Bool(b) => AttrRef::Known(ValueRef::Bool(*b)),
        Json::Number(n) => match n.as_i64() {
            Some(i) => AttrRef::Known(ValueRef::Int(i)),
            None => AttrRef::Invalid("a number that is not a 64-bit integer"),
        },
        Json::String(s) => AttrRef::Known(ValueRef::Str(s)),
        Json::Array(_) => AttrRef::Invalid("a list"),
        Json::Object(_) => AttrRef::Invalid("an object"),
    }
}

/// What a JSON value is, for messages.
pub fn kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

fn expected(path: &str, what: &str, found: &Json) -> RequestError {
    RequestError::new(path, format!("expected {what}, found {}", kind(found)))
}

fn object<'a>(json: &'a Json, path: &str) -> Result<&'a Map<String, Json>, RequestError> {
    match json {
        Json::Object(m) => Ok(m),
        other => Err(expected(path, "an object", other)),
    }
}

fn required<'a>(
    obj: &'a Map<String, Json>,
    key: &str,
    path: &str,
) -> Result<&'a Json, RequestError> {
    match obj.get(key) {
        Some(Json::Null) | None => Err(RequestError::new(path, "missing")),
        Some(v) => Ok(v),
    }
}

fn non_empty_string(
    obj: &Map<String, Json>,
    key: &str,
    path: &str,
) -> Result<String, RequestError> {
    match required(obj, key, path)? {
        Json::String(s) if s.is_empty() => Err(RequestError::new(path, "must not be empty")),
        Json::String(s) => Ok(s.clone()),
        other => Err(expected(path, "a string", other)),
    }
}

fn properties(obj: &Map<String, Json>, path: &str) -> Result<Map<String, Json>, RequestError> {
    match obj.get("properties") {
        None | Some(Json::Null) => Ok(Map::new()),
        Some(Json::Object(m)) => Ok(m.clone()),
        Some(other) => Err(expected(path, "an object", other)),
    }
}

fn principal(json: &Json, path: &str) -> Result<Principal, RequestError> {
    let obj = object(json, path)?;
    let ty = non_empty_string(obj, "type", &format!("{path}.type"))?;
    if ty.contains(':') {
        return Err(RequestError::new(
            format!("{path}.type"),
            format!("a principal type may not contain `:` (found `{ty}`)"),
        ));
    }
    Ok(Principal {
        ty,
        id: non_empty_string(obj, "id", &format!("{path}.id"))?,
        properties: properties(obj, &format!("{path}.properties"))?,
    })
}
