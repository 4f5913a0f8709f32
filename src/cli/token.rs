//! `ztpol token mint|verify`: make identity tokens for tests and demos, and check them.
//!
//! `mint` signs RFC 8693 claims: `--sub user:alice --act agent:planner --act agent:executor`
//! gives `{"sub": "user:alice", "act": {"sub": "agent:executor", "act": {"sub":
//! "agent:planner"}}}` (the `--act` flags in chain order, the acting agent last).

use super::{Format, EXIT_ERROR, EXIT_OK};
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value as Json};
use std::path::{Path, PathBuf};
use ztpol::token::{self, Identity, Verifier};

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum TokenCommand {
    /// Sign a token (for tests and demos).
    Mint(MintArgs),
    /// Verify a token and print the identity it carries.
    Verify(VerifyArgs),
}

/// Where verification keys come from, and what the claims must say.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// Verify with the keys of a JWKS file.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["key", "secret_file"])]
    pub jwks: Option<PathBuf>,
    /// Verify with a PEM public key (RSA, EC P-256 or Ed25519).
    #[arg(long, value_name = "PEM", conflicts_with = "secret_file")]
    pub key: Option<PathBuf>,
    /// Verify HS256 tokens with the secret in this file (trailing line breaks ignored).
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// Require this `iss` claim.
    #[arg(long, value_name = "ISSUER")]
    pub issuer: Option<String>,
    /// Require this audience in the `aud` claim.
    #[arg(long, value_name = "AUDIENCE")]
    pub audience: Option<String>,
}

impl KeyArgs {
    /// The verifier these options describe; `Ok(None)` when no key option is given.
    pub fn verifier(&self) -> Result<Option<Verifier>, String> {
        let v = if let Some(p) = &self.jwks {
            let text = read_text(p)?;
            Verifier::from_jwks(&text).map_err(|e| format!("`{}`: {e}", p.display()))?
        } else if let Some(p) = &self.key {
            let bytes = read_bytes(p)?;
            Verifier::from_pem(&bytes).map_err(|e| format!("`{}`: {e}", p.display()))?
        } else if let Some(p) = &self.secret_file {
            let bytes = read_bytes(p)?;
            Verifier::from_secret(&bytes).map_err(|e| format!("`{}`: {e}", p.display()))?
        } else {
            return Ok(None);
        };
        Ok(Some(
            v.issuer(self.issuer.clone())
                .audience(self.audience.clone()),
        ))
    }
}

#[derive(Debug, Clone, Args)]
pub struct MintArgs {
    /// Start from the claims in this JSON file (`-` for standard input); flags override them.
    #[arg(long, value_name = "FILE")]
    pub claims: Option<PathBuf>,
    /// The original principal (`type:id`).
    #[arg(long, value_name = "REF")]
    pub sub: Option<String>,
    /// An actor (`type:id`), repeatable, in chain order: the acting agent last.
    #[arg(long, value_name = "REF")]
    pub act: Vec<String>,
    /// Space-separated actions the token allows (`orders.read orders.*`).
    #[arg(long, value_name = "ACTIONS")]
    pub scope: Option<String>,
    #[arg(long, value_name = "ISSUER")]
    pub iss: Option<String>,
    #[arg(long, value_name = "AUDIENCE")]
    pub aud: Option<String>,
    /// Seconds until `exp` (unless the claims file sets `exp`).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub ttl: u64,
    /// Algorithm: RS256, ES256, EdDSA or HS256 (default: HS256 with `--secret-file`, else
    /// guessed from the key).
    #[arg(long, value_name = "ALG")]
    pub alg: Option<String>,
    /// A PEM private key (PKCS#8 for EC and Ed25519).
    #[arg(long, value_name = "PEM", required_unless_present = "secret_file")]
    pub key: Option<PathBuf>,
    /// The HS256 secret.
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    pub secret_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The token file (`-` for standard input).
    #[arg(value_name = "TOKEN")]
    pub token: PathBuf,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

pub fn run(args: &TokenArgs) -> u8 {
    match &args.command {
        TokenCommand::Mint(m) => match mint(m) {
            Ok(t) => {
                println!("{t}");
                EXIT_OK
            }
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_ERROR
            }
        },
        TokenCommand::Verify(v) => verify(v),
    }
}

fn mint(args: &MintArgs) -> Result<String, String> {
    let mut claims = match &args.claims {
        Some(p) => match serde_json::from_str::<Json>(&read_text(p)?) {
            Ok(Json::Object(m)) => m,
            Ok(_) => {
                return Err(format!(
                    "`{}`: the claims must be a JSON object",
                    p.display()
                ))
            }
            Err(e) => return Err(format!("`{}`: not JSON: {e}", p.display())),
        },
        None => Map::new(),
    };
    if let Some(sub) = &args.sub {
        claims.insert("sub".into(), json!(sub));
    }
    if !args.act.is_empty() {
        // The earliest actor is the innermost `act`.
        let mut act: Option<Json> = None;
        for a in &args.act {
            let mut node = Map::new();
            node.insert("sub".into(), json!(a));
            if let Some(inner) = act.take() {
                node.insert("act".into(), inner);
            }
            act = Some(Json::Object(node));
        }
        if let Some(a) = act {
            claims.insert("act".into(), a);
        }
    }
    for (k, v) in [
        ("scope", &args.scope),
        ("iss", &args.iss),
        ("aud", &args.aud),
    ] {
        if let Some(v) = v {
            claims.insert(k.into(), json!(v));
        }
    }
    if !claims.contains_key("exp") {
        let exp = jsonwebtoken::get_current_timestamp().saturating_add(args.ttl);
        claims.insert("exp".into(), json!(exp));
    }
    claims
        .entry("iat")
        .or_insert_with(|| json!(jsonwebtoken::get_current_timestamp()));
    let (key, alg) = match (&args.secret_file, &args.key) {
        (Some(p), _) => (
            read_bytes(p)?,
            args.alg.as_deref().unwrap_or("HS256").to_string(),
        ),
        (None, Some(p)) => {
            let bytes = read_bytes(p)?;
            let alg = match &args.alg {
                Some(a) => a.clone(),
                None => guess_alg(&bytes)
                    .ok_or_else(|| {
                        format!(
                            "`{}`: not a PEM private key ztpol can sign with",
                            p.display()
                        )
                    })?
                    .to_string(),
            };
            (bytes, alg)
        }
        (None, None) => return Err("give `--key PEM` or `--secret-file FILE`".into()),
    };
    let alg = token::parse_algorithm(&alg).map_err(|e| e.to_string())?;
    token::mint(&Json::Object(claims), &key, alg).map_err(|e| e.to_string())
}

fn guess_alg(pem: &[u8]) -> Option<&'static str> {
    use jsonwebtoken::EncodingKey;
    if EncodingKey::from_rsa_pem(pem).is_ok() {
        Some("RS256")
    } else if EncodingKey::from_ec_pem(pem).is_ok() {
        Some("ES256")
    } else if EncodingKey::from_ed_pem(pem).is_ok() {
        Some("EdDSA")
    } else {
        None
    }
}

fn verify(args: &VerifyArgs) -> u8 {
    let verifier = match args.keys.verifier() {
        Ok(Some(v)) => v,
        Ok(None) => {
            eprintln!("error: give `--jwks FILE`, `--key PEM` or `--secret-file FILE`");
            return EXIT_ERROR;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let text = match read_text(&args.token) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let format = args.format.unwrap_or(Format::Human);
    match verifier.verify(&text) {
        Ok(id) => {
            match format {
                Format::Json => println!("{}", identity_json(&id)),
                Format::Human => {
                    println!("subject: {}", id.subject.reference());
                    let chain: Vec<String> =
                        id.on_behalf_of.iter().map(|p| p.reference()).collect();
                    println!(
                        "on behalf of: {}",
                        if chain.is_empty() {
                            "(nobody)".into()
                        } else {
                            chain.join(" -> ")
                        }
                    );
                    if let Some(s) = &id.scope {
                        println!("scope: {} pattern(s)", s.len());
                    }
                }
            }
            EXIT_OK
        }
        Err(e) => {
            match format {
                Format::Json => println!("{}", json!({"valid": false, "error": e.to_string()})),
                Format::Human => eprintln!("error: the token was not accepted: {e}"),
            }
            super::EXIT_DENY
        }
    }
}

fn identity_json(id: &Identity) -> Json {
    json!({
        "valid": true,
        "subject": {"type": id.subject.ty, "id": id.subject.id},
        "on_behalf_of": id.on_behalf_of.iter().map(|p| json!({"type": p.ty, "id": p.id})).collect::<Vec<_>>(),
    })
}

/// Reads a file, or standard input for `-`.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, String> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
}

pub fn read_text(path: &Path) -> Result<String, String> {
    String::from_utf8(read_bytes(path)?)
        .map_err(|_| format!("`{}` is not UTF-8 text", path.display()))
}

/// Verifies the token at `path`, if one was given, with the keys the options name. A token that
/// fails verification is `Some(Err(..))` (the decision denies); missing keys or an unreadable
/// token file are usage errors, returned as the exit code.
pub fn verify_option(
    path: Option<&std::path::Path>,
    keys: &KeyArgs,
) -> Result<Option<Result<ztpol::token::Identity, ztpol::token::TokenError>>, u8> {
    let Some(path) = path else {
        return Ok(None);
    };
    let verifier = match keys.verifier() {
        Ok(Some(v)) => v,
        Ok(None) => {
            eprintln!(
                "error: `--token` needs a key: `--jwks FILE`, `--key PEM` or `--secret-file FILE`"
            );
            return Err(super::EXIT_ERROR);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Err(super::EXIT_ERROR);
        }
    };
    match read_text(path) {
        Ok(text) => Ok(Some(verifier.verify(&text))),
        Err(e) => {
            eprintln!("error: {e}");
            Err(super::EXIT_ERROR)
        }
    }
}

/// The identity a decision is made under, from [`verify_option`]'s result.
pub fn auth(
    verified: &Option<Result<ztpol::token::Identity, ztpol::token::TokenError>>,
) -> ztpol::decide::Auth<'_> {
    match verified {
        None => ztpol::decide::Auth::None,
        Some(Ok(id)) => ztpol::decide::Auth::Identity(id),
        Some(Err(e)) => ztpol::decide::Auth::Rejected(e),
    }
}
