//! `ztpol bundle build|inspect|verify|jwks`: compile a policy and its data into a signed
//! decision bundle, look inside one, check its signature, and publish signing keys.
//!
//! Exit status: 0 success, 1 usage, I/O, compile or bundle error (a bad signature included).

use super::decide::hash_with_data;
use super::token::read_text;
use super::{load, report_error, Common, EvalArgs, Format, EXIT_ERROR, EXIT_OK};
use clap::{Args, Subcommand};
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};
use ztpol::bundle::{self, BundleError, KeySet, SigningKey, Trust};

#[derive(Debug, Clone, Args)]
pub struct BundleArgs {
    #[command(subcommand)]
    pub command: BundleCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum BundleCommand {
    /// Compile policies and data into a bundle, optionally signed.
    ///
    /// Example: ztpol bundle build examples/support-desk -o desk.ztpb --sign-key key.pem --kid k1
    Build(BuildArgs),
    /// Print a bundle's metadata, manifest, section sizes, relations and statement ids.
    Inspect(InspectArgs),
    /// Check a bundle's digest and its signature against a key set.
    Verify(VerifyArgs),
    /// Print the public key set (JWKS) for signing keys, to verify their bundles with.
    Jwks(JwksArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// Policy files (`.ztp`) or directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Where to write the bundle.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Sign with this PEM private key (Ed25519, EC P-256 or RSA).
    #[arg(long, value_name = "KEY", requires = "kid")]
    pub sign_key: Option<PathBuf>,
    /// The key id verifiers find the signing key by.
    #[arg(long, value_name = "ID", requires = "sign_key")]
    pub kid: Option<String>,
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub eval: EvalArgs,
}

#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// The bundle.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format; the default is `human` on a terminal, else `json`.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The bundle.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The public keys (JWKS) the signer's `kid` is looked up in.
    #[arg(long, value_name = "FILE")]
    pub jwks: PathBuf,
    /// Output format; the default is `human` on a terminal, else `json`.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Clone, Args)]
pub struct JwksArgs {
    /// PEM private keys, each followed by its `--kid`.
    #[arg(long = "sign-key", value_name = "KEY", required = true)]
    pub sign_keys: Vec<PathBuf>,
    /// Key ids, one per `--sign-key`, in the same order.
    #[arg(long = "kid", value_name = "ID", required = true)]
    pub kids: Vec<String>,
}

pub fn run(args: &BundleArgs) -> u8 {
    match &args.command {
        BundleCommand::Build(a) => build(a),
        BundleCommand::Inspect(a) => inspect(a),
        BundleCommand::Verify(a) => verify(a),
        BundleCommand::Jwks(a) => jwks(a),
    }
}

fn format_of(f: Option<Format>) -> Format {
    use std::io::IsTerminal;
    f.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Human
    } else {
        Format::Json
    })
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
}

/// Reads a signing key given on the command line.
pub fn signing_key(path: &Path, kid: &str) -> Result<SigningKey, String> {
    let pem = read_bytes(path)?;
    SigningKey::from_pem(&pem, kid).map_err(|e| format!("`{}`: {e}", path.display()))
}

/// Reads a key set given on the command line.
pub fn key_set(path: &Path) -> Result<KeySet, String> {
    let text = read_text(path)?;
    KeySet::from_jwks(&text).map_err(|e| format!("`{}`: {e}", path.display()))
}

fn build(a: &BuildArgs) -> u8 {
    let format = a.common.format();
    let key = match (&a.sign_key, &a.kid) {
        (Some(p), Some(kid)) => match signing_key(p, kid) {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERROR;
            }
        },
        _ => None,
    };
    let loaded = match load(&a.paths, &a.common.data, None, &a.eval.config(), format) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let hash = match hash_with_data(&loaded.program, &a.common.data) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let mut bytes = bundle::build(&loaded.program, &loaded.model, &hash, loaded.input_facts);
    if let Some(k) = &key {
        bytes = match bundle::sign(&bytes, k) {
            Ok(b) => b,
            Err(e) => {
                report_error(&e, format);
                return EXIT_ERROR;
            }
        };
    }
    if let Err(e) = std::fs::write(&a.output, &bytes) {
        eprintln!("error: cannot write `{}`: {e}", a.output.display());
        return EXIT_ERROR;
    }
    let info = match bundle::inspect(&bytes) {
        Ok(i) => i,
        Err(e) => {
            report_error(&e, format);
            return EXIT_ERROR;
        }
    };
    match format {
        Format::Human => {
            println!(
                "wrote {}: {} bytes, {} statements, {} principals, {} input facts",
                a.output.display(),
                bytes.len(),
                info.contents.policies.len(),
                info.contents.principal_count,
                info.contents.input_facts
            );
            println!("  digest: {}", info.digest);
            if let Some(k) = &key {
                println!("  signed: {:?} with key `{}`", k.algorithm(), k.kid());
            } else {
                println!("  unsigned");
            }
        }
        Format::Json => {
            println!(
                "{}",
                json!({
                    "file": a.output.display().to_string(),
                    "bytes": bytes.len(),
                    "digest": info.digest,
                    "policy_hash": info.contents.policy_hash,
                    "signed": key.as_ref().map(|k| json!({"kid": k.kid(), "alg": format!("{:?}", k.algorithm())})),
                })
            );
        }
    }
    EXIT_OK
}

fn inspect(a: &InspectArgs) -> u8 {
    let format = format_of(a.format);
    let bytes = match read_bytes(&a.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let info = match bundle::inspect(&bytes) {
        Ok(i) => i,
        Err(e) => {
            report_error(&e, format);
            return EXIT_ERROR;
        }
    };
    let doc = inspection_json(&info);
    match format {
        Format::Json => println!("{doc}"),
        Format::Human => print_inspection(&info, &doc),
    }
    EXIT_OK
}

fn inspection_json(info: &bundle::Inspection) -> Json {
    let c = &info.contents;
    let locate = |span: ztpol::source::Span| -> String {
        match c.sources.get(span.file.0 as usize) {
            Some((name, text)) => {
                let start = (span.start as usize).min(text.len());
                let before = &text[..start];
                let line = before.matches('\n').count() + 1;
                let col = before
                    .rsplit_once('\n')
                    .map_or(before, |(_, l)| l)
                    .chars()
                    .count()
                    + 1;
                format!("{name}:{line}:{col}")
            }
            None => String::new(),
        }
    };
    let mut counts = vec![0usize; c.relations.len()];
    for r in &c.rows {
        counts[r.rel.index()] += r.count;
    }
    for (_, prof) in c.principals() {
        for &(pi, _, n) in c.profiles.entries(prof) {
            counts[c.policies[pi as usize].rel.index()] += n as usize;
        }
    }
    let relations: Vec<Json> = c
        .relations
        .iter()
        .enumerate()
        .filter(|(i, _)| counts[*i] > 0 || c.rows.iter().any(|r| r.rel.index() == *i))
        .map(|(i, r)| {
            json!({"name": r.name, "arity": r.arity(), "tuples": counts[i],
                   "kind": match r.kind { ztpol::ir::RelKind::Declared => "declared", ztpol::ir::RelKind::Policy(_) => "statement" }})
        })
        .collect();
    let rules: Vec<Json> = c
        .policies
        .iter()
        .map(|p| {
            json!({"id": p.id, "effect": match p.effect { ztpol::ir::Effect::Permit => "permit", ztpol::ir::Effect::Forbid => "forbid" },
                   "location": locate(p.span)})
        })
        .collect();
    let sections: serde_json::Map<String, Json> = c
        .section_sizes
        .iter()
        .map(|(n, s)| (n.to_string(), json!(s)))
        .collect();
    json!({
        "format": bundle::format::VERSION,
        "bytes": info.total_bytes,
        "digest": info.digest,
        "policy_hash": c.policy_hash,
        "signature": info.signature_header.as_ref().map(|(kid, alg)| json!({"kid": kid, "alg": alg, "verified": false})),
        "input_facts": c.input_facts,
        "model_tuples": c.model_tuples,
        "values": c.strings.len() + c.ints.len(),
        "principals": c.principal_count,
        "profiles": c.profiles.len(),
        "manifest": {
            "attributes": c.manifest.attribute_names(),
            "principal_attributes": c.manifest.principal_attributes.iter().map(|p| p.join(".")).collect::<Vec<_>>(),
            "claims": c.manifest.claims,
        },
        "sections": sections,
        "relations": relations,
        "rules": rules,
    })
}

fn print_inspection(info: &bundle::Inspection, doc: &Json) {
    let c = &info.contents;
    println!("ztpol bundle, format {}", bundle::format::VERSION);
    println!("  bytes:        {}", info.total_bytes);
    println!("  digest:       {}", info.digest);
    println!("  policy hash:  {}", c.policy_hash);
    match &info.signature_header {
        Some((kid, alg)) => println!(
            "  signature:    {alg}, key `{}` (not verified; use `ztpol bundle verify`)",
            kid.as_deref().unwrap_or("?")
        ),
        None => println!("  signature:    none"),
    }
    println!(
        "  contents:     {} input facts, {} values, {} principals in {} profiles",
        c.input_facts,
        c.strings.len() + c.ints.len(),
        c.principal_count,
        c.profiles.len()
    );
    println!("manifest");
    println!(
        "  attributes:   {}",
        c.manifest.attribute_names().join(", ")
    );
    let pa: Vec<String> = c
        .manifest
        .principal_attributes
        .iter()
        .map(|p| p.join("."))
        .collect();
    if !pa.is_empty() {
        println!("  principals:   {}", pa.join(", "));
    }
    println!("  token claims: {}", c.manifest.claims.join(", "));
    println!("sections");
    for (name, size) in &c.section_sizes {
        println!("  {name:<12} {size:>10} bytes");
    }
    println!("relations");
    for r in doc["relations"].as_array().into_iter().flatten() {
        println!(
            "  {:<32} {:>9} tuples ({})",
            r["name"].as_str().unwrap_or(""),
            r["tuples"],
            r["kind"].as_str().unwrap_or("")
        );
    }
    println!("rules");
    for r in doc["rules"].as_array().into_iter().flatten() {
        println!(
            "  {:<6} {:<28} {}",
            r["effect"].as_str().unwrap_or(""),
            r["id"].as_str().unwrap_or(""),
            r["location"].as_str().unwrap_or("")
        );
    }
}

fn verify(a: &VerifyArgs) -> u8 {
    let format = format_of(a.format);
    let (bytes, keys) = match (read_bytes(&a.file), key_set(&a.jwks)) {
        (Ok(b), Ok(k)) => (b, k),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let checked = bundle::verify(&bytes, Trust::keys(&keys))
        .and_then(|s| bundle::inspect(&bytes).map(|i| (s, i)));
    match checked {
        Ok((Some(signer), info)) => {
            match format {
                Format::Human => println!(
                    "ok: {} signed with {} by key `{}`\n  digest: {}\n  policy hash: {}",
                    a.file.display(),
                    signer.alg,
                    signer.kid,
                    info.digest,
                    info.contents.policy_hash
                ),
                Format::Json => println!(
                    "{}",
                    json!({"valid": true, "kid": signer.kid, "alg": signer.alg,
                           "digest": info.digest, "policy_hash": info.contents.policy_hash})
                ),
            }
            EXIT_OK
        }
        Ok((None, _)) => fail(&BundleError::Unsigned, format),
        Err(e) => fail(&e, format),
    }
}

fn fail(e: &BundleError, format: Format) -> u8 {
    match format {
        Format::Human => report_error(e, format),
        Format::Json => {
            let code = miette::Diagnostic::code(e).map(|c| c.to_string());
            println!(
                "{}",
                json!({"valid": false, "error": e.to_string(), "code": code})
            );
        }
    }
    EXIT_ERROR
}

fn jwks(a: &JwksArgs) -> u8 {
    if a.sign_keys.len() != a.kids.len() {
        eprintln!("error: give one `--kid` for each `--sign-key`");
        return EXIT_ERROR;
    }
    let mut keys = Vec::new();
    for (p, kid) in a.sign_keys.iter().zip(&a.kids) {
        let jwk = signing_key(p, kid).and_then(|k| k.public_jwk().map_err(|e| e.to_string()));
        match jwk {
            Ok(j) => keys.push(j),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERROR;
            }
        }
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({ "keys": keys })).unwrap_or_default()
    );
    EXIT_OK
}
