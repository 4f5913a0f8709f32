//! Signatures: a JWS (compact serialization, via `jsonwebtoken`) whose claims carry the
//! bundle's digest, signed with EdDSA, ES256 or RS256 and verified against a JWKS whose keys
//! are chosen by `kid`, so that keys can be rotated by publishing the new one beside the old.

use super::format::{self, hex, Envelope};
use super::BundleError;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value as Json};

/// The algorithms a bundle signature may use.
pub const ALLOWED: [Algorithm; 3] = [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256];

/// The `typ` header of a bundle signature.
pub const TYP: &str = "ztpol-bundle+jwt";

/// A private key that signs bundles, with the `kid` verifiers find it by.
pub struct SigningKey {
    alg: Algorithm,
    key: EncodingKey,
    kid: String,
}

impl SigningKey {
    /// A PEM private key: Ed25519 (EdDSA), P-256 (ES256) or RSA (RS256), PKCS#8 or the
    /// traditional RSA form.
    pub fn from_pem(pem: &[u8], kid: &str) -> Result<SigningKey, BundleError> {
        if kid.is_empty() {
            return Err(BundleError::Key(
                "the key id (`--kid`) must not be empty".into(),
            ));
        }
        let (alg, key) = if let Ok(k) = EncodingKey::from_ed_pem(pem) {
            (Algorithm::EdDSA, k)
        } else if let Ok(k) = EncodingKey::from_ec_pem(pem) {
            (Algorithm::ES256, k)
        } else if let Ok(k) = EncodingKey::from_rsa_pem(pem) {
            (Algorithm::RS256, k)
        } else {
            return Err(BundleError::Key(
                "not a PEM private key of type Ed25519, EC P-256 or RSA".into(),
            ));
        };
        Ok(SigningKey {
            alg,
            key,
            kid: kid.to_string(),
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half as a JWK with this key's `kid` and algorithm.
    pub fn public_jwk(&self) -> Result<Json, BundleError> {
        let mut jwk =
            Jwk::from_encoding_key(&self.key, self.alg).map_err(|e| BundleError::Key(plain(&e)))?;
        jwk.common.key_id = Some(self.kid.clone());
        serde_json::to_value(&jwk).map_err(|e| BundleError::Key(plain(&e)))
    }
}

/// The claims of a bundle signature.
fn claims(digest: &[u8; 32]) -> Json {
    json!({"ztpol_bundle": format::VERSION, "digest": format!("sha256:{}", hex(digest))})
}

/// Signs a bundle (replacing any signature it had).
pub fn sign(bytes: &[u8], key: &SigningKey) -> Result<Vec<u8>, BundleError> {
    let env = format::open(bytes)?;
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    header.typ = Some(TYP.to_string());
    let jws = jsonwebtoken::encode(&header, &claims(&env.digest), &key.key)
        .map_err(|e| BundleError::Key(format!("cannot sign: {}", plain(&e))))?;
    Ok(format::with_signature(bytes, env.signed_len, &jws))
}

struct Key {
    kid: String,
    alg: Option<Algorithm>,
    key: DecodingKey,
}

/// Public keys that may have signed a bundle, by `kid`.
pub struct KeySet {
    keys: Vec<Key>,
}

/// Who signed a verified bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    pub kid: String,
    pub alg: String,
}

impl KeySet {
    /// The keys of a JWKS document. Keys without a `kid` or of other kinds are skipped.
    pub fn from_jwks(text: &str) -> Result<KeySet, BundleError> {
        let set: JwkSet = serde_json::from_str(text)
            .map_err(|e| BundleError::Key(format!("not a JWKS: {}", plain(&e))))?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            if matches!(
                jwk.algorithm,
                AlgorithmParameters::Other(_) | AlgorithmParameters::OctetKey(_)
            ) {
                continue;
            }
            let alg =
                match jwk.common.key_algorithm {
                    Some(ka) => Some(ka.to_string().parse::<Algorithm>().map_err(|_| {
                        BundleError::Key(format!("unsupported key algorithm `{ka}`"))
                    })?),
                    None => None,
                };
            let key = DecodingKey::from_jwk(jwk).map_err(|e| BundleError::Key(plain(&e)))?;
            keys.push(Key { kid, alg, key });
        }
        if keys.is_empty() {
            return Err(BundleError::Key(
                "the JWKS holds no public key with a `kid`".into(),
            ));
        }
        Ok(KeySet { keys })
    }

    /// Verifies the signature of an opened bundle.
    pub fn verify(&self, env: &Envelope<'_>) -> Result<Signer, BundleError> {
        let Some(jws) = env.signature else {
            return Err(BundleError::Unsigned);
        };
        let header = jsonwebtoken::decode_header(jws).map_err(|e| {
            BundleError::Signature(format!("unreadable signature header: {}", plain(&e)))
        })?;
        if !ALLOWED.contains(&header.alg) {
            return Err(BundleError::Signature(format!(
                "algorithm `{:?}` is not accepted (allowed: EdDSA, ES256, RS256)",
                header.alg
            )));
        }
        let Some(kid) = header.kid.clone() else {
            return Err(BundleError::Signature(
                "the signature names no `kid`".into(),
            ));
        };
        let candidates: Vec<&Key> = self.keys.iter().filter(|k| k.kid == kid).collect();
        if candidates.is_empty() {
            return Err(BundleError::UnknownKid(kid));
        }
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let mut last = BundleError::Signature("the signature is invalid".into());
        for k in candidates {
            if k.alg.is_some_and(|a| a != header.alg) || k.key.family() != header.alg.family() {
                last = BundleError::Signature(format!("key `{kid}` is not a {:?} key", header.alg));
                continue;
            }
            match jsonwebtoken::decode::<Json>(jws, &k.key, &validation) {
                Ok(data) => {
                    let want = claims(&env.digest);
                    if data.claims.get("digest") != want.get("digest") {
                        return Err(BundleError::SignedOther);
                    }
                    if data.claims.get("ztpol_bundle") != want.get("ztpol_bundle") {
                        return Err(BundleError::Signature(
                            "the signature is for another bundle format".into(),
                        ));
                    }
                    return Ok(Signer {
                        kid,
                        alg: format!("{:?}", header.alg),
                    });
                }
                Err(e) => {
                    last =
                        BundleError::Signature(format!("the signature is invalid: {}", plain(&e)));
                }
            }
        }
        Err(last)
    }
}

/// A library error's text as one clause: no final period.
fn plain(e: &dyn std::fmt::Display) -> String {
    e.to_string().trim_end_matches('.').to_string()
}
