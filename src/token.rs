//! Identity tokens: JWTs whose verified claims name the subject, the delegation chain and the
//! scope of a request (RFC 8693 token exchange claims).
//!
//! - Keys: a JWKS document, a PEM public key (RSA, P-256 or Ed25519), or an HMAC secret.
//! - Algorithms: only RS256, ES256, EdDSA and HS256; `none` and every other algorithm are
//!   rejected, and so is a key of a different kind than the token's algorithm.
//! - Time: `exp` is required; `exp` and `nbf` are checked with a leeway of
//!   [`LEEWAY_SECS`] (30 s) for clock skew.
//! - `iss` and `aud` must match when the verifier is configured with them (and are then
//!   required).
//! - Claims: `sub` is the original principal; the outermost `act.sub` is the acting agent (the
//!   request's subject); nested `act` claims are earlier actors. Principal refs are `type:id`
//!   strings. The chain (`on_behalf_of`) is `[sub, earliest actor, ..., the subject's immediate
//!   delegator]`; without `act`, `sub` is the subject and the chain is empty.
//! - `scope` (space-separated action names, `orders.*` families, `*`) limits the actions
//!   further: the effective rights are the grants of every principal intersected with it.
//!
//! A request body whose subject or `on_behalf_of` contradicts the token is denied; absent ones
//! are filled in from the token ([`bind`]).

use crate::decide::request::Principal;
use crate::ir::ActionPat;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Map, Value as Json};

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

/// The algorithms a token may use.
pub const ALLOWED: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::HS256,
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum TokenError {
    #[error("cannot read the key: {0}")]
    #[diagnostic(code(ztpol::token::key))]
    Key(String),
    #[error("the token is malformed: {0}")]
    #[diagnostic(code(ztpol::token::malformed))]
    Malformed(String),
    #[error("algorithm `{0}` is not accepted (allowed: RS256, ES256, EdDSA, HS256)")]
    #[diagnostic(code(ztpol::token::algorithm))]
    Algorithm(String),
    #[error("no key of the kind `{0}` needs (the key is of another kind or its `kid` is unknown)")]
    #[diagnostic(code(ztpol::token::wrong_key))]
    WrongKey(String),
    #[error("the signature is invalid")]
    #[diagnostic(code(ztpol::token::signature))]
    Signature,
    #[error("the token has expired")]
    #[diagnostic(code(ztpol::token::expired))]
    Expired,
    #[error("the token is not valid yet (`nbf`)")]
    #[diagnostic(code(ztpol::token::immature))]
    Immature,
    #[error("the token's issuer is not accepted")]
    #[diagnostic(code(ztpol::token::issuer))]
    Issuer,
    #[error("the token's audience is not accepted")]
    #[diagnostic(code(ztpol::token::audience))]
    Audience,
    #[error("claim `{claim}`: {message}")]
    #[diagnostic(code(ztpol::token::claim))]
    Claim { claim: String, message: String },
    #[error("the request contradicts the token: {0}")]
    #[diagnostic(code(ztpol::token::contradiction))]
    Contradiction(String),
    #[error("cannot sign the token: {0}")]
    #[diagnostic(code(ztpol::token::sign))]
    Sign(String),
}

/// Who a verified token says is acting, for whom, and with which scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub subject: Principal,
    /// Original principal first, ending with the subject's immediate delegator.
    pub on_behalf_of: Vec<Principal>,
    /// `None` when the token has no `scope` claim.
    pub scope: Option<Vec<ActionPat>>,
}

struct Key {
    kid: Option<String>,
    alg: Option<Algorithm>,
    key: DecodingKey,
}

/// Verifies tokens against configured keys, issuer and audience.
pub struct Verifier {
    keys: Vec<Key>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl Verifier {
    /// Keys from a JWKS document (`{"keys": [...]}`).
    pub fn from_jwks(text: &str) -> Result<Verifier, TokenError> {
        let set: JwkSet =
            serde_json::from_str(text).map_err(|e| TokenError::Key(format!("not a JWKS: {e}")))?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            let alg =
                match jwk.common.key_algorithm {
                    Some(ka) => Some(ka.to_string().parse::<Algorithm>().map_err(|_| {
                        TokenError::Key(format!("unsupported key algorithm `{ka}`"))
                    })?),
                    None => None,
                };
            if matches!(jwk.algorithm, AlgorithmParameters::Other(_)) {
                continue;
            }
            let key = DecodingKey::from_jwk(jwk).map_err(|e| TokenError::Key(e.to_string()))?;
            keys.push(Key {
                kid: jwk.common.key_id.clone(),
                alg,
                key,
            });
        }
        if keys.is_empty() {
            return Err(TokenError::Key("the JWKS holds no usable key".into()));
        }
        Ok(Verifier::with_keys(keys))
    }

    /// A PEM public key: RSA, EC (P-256) or Ed25519.
    pub fn from_pem(pem: &[u8]) -> Result<Verifier, TokenError> {
        let key = DecodingKey::from_rsa_pem(pem)
            .or_else(|_| DecodingKey::from_ec_pem(pem))
            .or_else(|_| DecodingKey::from_ed_pem(pem))
            .map_err(|_| {
                TokenError::Key("not a PEM public key of type RSA, EC or Ed25519".into())
            })?;
        Ok(Verifier::with_keys(vec![Key {
            kid: None,
            alg: None,
            key,
        }]))
    }

    /// An HMAC secret (HS256). Trailing line breaks of a secret file are not part of it.
    pub fn from_secret(secret: &[u8]) -> Result<Verifier, TokenError> {
        let secret = trim_newlines(secret);
        if secret.is_empty() {
            return Err(TokenError::Key("the secret is empty".into()));
        }
        Ok(Verifier::with_keys(vec![Key {
            kid: None,
            alg: None,
            key: DecodingKey::from_secret(secret),
        }]))
    }

    fn with_keys(keys: Vec<Key>) -> Verifier {
        Verifier {
            keys,
            issuer: None,
            audience: None,
        }
    }

    /// Requires `iss` to be `issuer`.
    pub fn issuer(mut self, issuer: Option<String>) -> Verifier {
        self.issuer = issuer;
        self
    }

    /// Requires `aud` to contain `audience`.
    pub fn audience(mut self, audience: Option<String>) -> Verifier {
        self.audience = audience;
        self
    }

    /// Verifies `token` and reads the identity it carries.
    pub fn verify(&self, token: &str) -> Result<Identity, TokenError> {
        let token = token.trim();
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::Json(_) => TokenError::Malformed(
                "unreadable header, or an algorithm outside RS256, ES256, EdDSA, HS256 (such as `none`)"
                    .into(),
            ),
            _ => TokenError::Malformed(e.to_string()),
        })?;
        let alg = header.alg;
        if !ALLOWED.contains(&alg) {
            return Err(TokenError::Algorithm(format!("{alg:?}")));
        }
        let family = alg.family();
        let candidates: Vec<&Key> = self
            .keys
            .iter()
            .filter(|k| k.key.family() == family)
            .filter(|k| k.alg.is_none_or(|a| a == alg))
            .filter(|k| match (&header.kid, &k.kid) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            })
            .collect();
        if candidates.is_empty() {
            return Err(TokenError::WrongKey(format!("{alg:?}")));
        }
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        match &self.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        let mut last = TokenError::Signature;
        for k in candidates {
            match jsonwebtoken::decode::<Json>(token, &k.key, &validation) {
                Ok(data) => return identity(&data.claims),
                Err(e) => {
                    last = map_error(e);
                    if last != TokenError::Signature {
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }
}

fn trim_newlines(mut s: &[u8]) -> &[u8] {
    while let Some((&last, rest)) = s.split_last() {
        if last == b'\n' || last == b'\r' {
            s = rest;
        } else {
            break;
        }
    }
    s
}

fn map_error(e: jsonwebtoken::errors::Error) -> TokenError {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::InvalidSignature => TokenError::Signature,
        K::ExpiredSignature => TokenError::Expired,
        K::ImmatureSignature => TokenError::Immature,
        K::InvalidIssuer => TokenError::Issuer,
        K::InvalidAudience => TokenError::Audience,
        K::MissingRequiredClaim(c) => TokenError::Claim {
            claim: c.clone(),
            message: "missing".into(),
        },
        K::InvalidClaimFormat(c) => TokenError::Claim {
            claim: c.clone(),
            message: "malformed".into(),
        },
        K::InvalidAlgorithm | K::MissingAlgorithm | K::InvalidAlgorithmName => {
            TokenError::Algorithm(e.to_string())
        }
        K::InvalidEcdsaKey | K::InvalidEddsaKey | K::InvalidRsaKey(_) | K::InvalidKeyFormat => {
            TokenError::WrongKey(e.to_string())
        }
        _ => TokenError::Malformed(e.to_string()),
    }
}

fn principal_ref(claim: &str, v: Option<&Json>) -> Result<Principal, TokenError> {
    let err = |message: &str| TokenError::Claim {
        claim: claim.to_string(),
        message: message.to_string(),
    };
    let s = match v {
        Some(Json::String(s)) => s,
        Some(_) => return Err(err("expected a `type:id` string")),
        None => return Err(err("missing")),
    };
    match s.split_once(':') {
        Some((ty, id)) if !ty.is_empty() && !id.is_empty() => Ok(Principal::new(ty, id)),
        _ => Err(err(&format!(
            "expected a `type:id` principal ref, found `{s}`"
        ))),
    }
}

/// Reads the identity from verified claims.
pub fn identity(claims: &Json) -> Result<Identity, TokenError> {
    let original = principal_ref("sub", claims.get("sub"))?;
    // Actors from the current one (outermost `act`) back to the earliest.
    let mut actors = Vec::new();
    let mut act = claims.get("act");
    let mut path = String::from("act");
    while let Some(a) = act {
        if actors.len() >= 32 {
            return Err(TokenError::Claim {
                claim: path,
                message: "more than 32 nested actors".into(),
            });
        }
        if !a.is_object() {
            return Err(TokenError::Claim {
                claim: path,
                message: "expected an object".into(),
            });
        }
        actors.push(principal_ref(&format!("{path}.sub"), a.get("sub"))?);
        act = a.get("act");
        path.push_str(".act");
    }
    let scope = match claims.get("scope") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.split_whitespace().map(action_pattern).collect()),
        Some(Json::Array(items)) => Some(
            items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(action_pattern)
                        .ok_or_else(|| TokenError::Claim {
                            claim: "scope".into(),
                            message: "expected strings".into(),
                        })
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => {
            return Err(TokenError::Claim {
                claim: "scope".into(),
                message: "expected a space-separated string".into(),
            })
        }
    };
    if actors.is_empty() {
        return Ok(Identity {
            subject: original,
            on_behalf_of: Vec::new(),
            scope,
        });
    }
    let subject = actors.remove(0);
    let mut on_behalf_of = vec![original];
    on_behalf_of.extend(actors.into_iter().rev());
    Ok(Identity {
        subject,
        on_behalf_of,
        scope,
    })
}

/// `orders.*` is the family, `*` any action, anything else one action.
pub fn action_pattern(s: &str) -> ActionPat {
    if s == "*" {
        ActionPat::Any
    } else if let Some(f) = s.strip_suffix(".*") {
        ActionPat::Family(f.to_string())
    } else {
        ActionPat::Exact(s.to_string())
    }
}

fn principal_json(p: &Principal) -> Json {
    json!({"type": p.ty, "id": p.id})
}

fn same_principal(json: &Json, p: &Principal) -> bool {
    json.get("type").and_then(Json::as_str) == Some(p.ty.as_str())
        && json.get("id").and_then(Json::as_str) == Some(p.id.as_str())
}

/// Makes a request document agree with a token: fills in an absent subject or
/// `context.on_behalf_of` from the identity, and rejects ones that differ from it.
pub fn bind(request: &mut Json, identity: &Identity) -> Result<(), TokenError> {
    let Json::Object(obj) = request else {
        // Not an object: request parsing reports it.
        return Ok(());
    };
    match obj.get("subject") {
        None | Some(Json::Null) => {
            obj.insert("subject".into(), principal_json(&identity.subject));
        }
        Some(s) if same_principal(s, &identity.subject) => {}
        Some(_) => {
            return Err(TokenError::Contradiction(format!(
                "the subject is not the token's acting principal `{}`",
                identity.subject.reference()
            )))
        }
    }
    let context = obj
        .entry("context")
        .or_insert_with(|| Json::Object(Map::new()));
    if context.is_null() {
        *context = Json::Object(Map::new());
    }
    let Json::Object(ctx) = context else {
        return Ok(());
    };
    match ctx.get("on_behalf_of") {
        None | Some(Json::Null) => {
            ctx.insert(
                "on_behalf_of".into(),
                Json::Array(identity.on_behalf_of.iter().map(principal_json).collect()),
            );
        }
        Some(Json::Array(items))
            if items.len() == identity.on_behalf_of.len()
                && items
                    .iter()
                    .zip(&identity.on_behalf_of)
                    .all(|(j, p)| same_principal(j, p)) => {}
        Some(_) => {
            return Err(TokenError::Contradiction(
                "`context.on_behalf_of` is not the token's delegation chain".into(),
            ))
        }
    }
    Ok(())
}

/// Signs `claims` with `alg` (one of [`ALLOWED`]); `key` is a PEM private key (PKCS#8 for EC
/// and Ed25519) or, for HS256, the secret.
pub fn mint(claims: &Json, key: &[u8], alg: Algorithm) -> Result<String, TokenError> {
    let key = match alg.family() {
        _ if !ALLOWED.contains(&alg) => return Err(TokenError::Algorithm(format!("{alg:?}"))),
        AlgorithmFamily::Hmac => EncodingKey::from_secret(trim_newlines(key)),
        AlgorithmFamily::Rsa => {
            EncodingKey::from_rsa_pem(key).map_err(|e| TokenError::Key(e.to_string()))?
        }
        AlgorithmFamily::Ec => {
            EncodingKey::from_ec_pem(key).map_err(|e| TokenError::Key(e.to_string()))?
        }
        AlgorithmFamily::Ed => {
            EncodingKey::from_ed_pem(key).map_err(|e| TokenError::Key(e.to_string()))?
        }
    };
    jsonwebtoken::encode(&Header::new(alg), claims, &key)
        .map_err(|e| TokenError::Sign(e.to_string()))
}

/// Parses an algorithm name of the allow-list (`RS256`, `ES256`, `EdDSA`, `HS256`).
pub fn parse_algorithm(name: &str) -> Result<Algorithm, TokenError> {
    match name.parse::<Algorithm>() {
        Ok(a) if ALLOWED.contains(&a) => Ok(a),
        _ => Err(TokenError::Algorithm(name.to_string())),
    }
}
