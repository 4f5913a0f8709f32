//! Identity tokens: verification with each kind of key, the allow-list, time claims, issuer
//! and audience, RFC 8693 chains, scope, and binding to request bodies.

mod decide_common;

use decide_common::*;
use jsonwebtoken::Algorithm;
use serde_json::{json, Value as Json};
use ztpol::decide::{Auth, Decider};
use ztpol::ir::{CmpOp, Cond};
use ztpol::token::{self, TokenError, Verifier};

// Test-only keys.
const RSA_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDwHyGe/T0vbgKG
gkbS3hYbdqqh8/ZDHth3kEAc7vMnaRDGiHMrllR4ddvDyNYQHKHP94qK0nPm8QUl
8uZEGA3A210TiR8BUkGuiBtYJRndqBHYeC3HIvztRiOF1OFe0Ryuh0NXsyx4jqtX
0gS6REuBnWFTYic1/oWMjxg1GoMyPXYJa8QucoENB5OIw2bOyfHTcxcdQZ6cehXs
t1ib8UVtBMcpY1dMNuiuL4r25HYdGQLVSf1Zae3MrwROL/D5ZPyc881shi8GmVUp
ZAsv5XZIPdcbzYxyYoyeK20p1h7ghb2emPmEU4HZzVpx9A3YtTa/c44j5Vt/ruAX
2gu7OWpzAgMBAAECggEAblH/Qmqa19W1N1NXcr4ybf/BOZM6i2/6iEQwEJsAABVX
bb93GomA2a9cfsEhCFn/Res3LbyvH2WQtfS5MoPSnc6rHrSbGCJQpv1FguPY1GvJ
dykP7zP1/JWC8JPzz3pHsS/YEszxG5qAwmJtZZ7HCg/ijUrFNRtxBDkiKBO8PzH1
2WPjSAPQ7OaX4PMCRrvt9exHb/MdgD5AjAYQje+AsWyxG9PDEbpI3R5zmaOFjKRu
6asfFuMDRAMt9QUflOW2KHbglA5fsuTCAYLYslaX9B0MdMDS8YZYZMYiT2BgfXtX
CISV31E5/gFKUWc2bFSJ0T770O5GAodZ14wR1DFIMQKBgQD6kt7w/4WFZSA+Z7MO
SSGEmUO/qLWjhufnausnx6xGsD6lCx4H8WvZJX2s+ihm+aD0I6C4+m5cTN5b3s1T
jL6T5xJYGpdAdtQ2QRmVDA4RtG46ccXk7GmiRLWFYjj3tvM8fqBhSjpa7HKIsYxf
YM3xVvIMoDZ34LfZvAxIk0oLvwKBgQD1UlDuFb//pVK1St6zI+pUWem24a0CAq5r
S4x0IdwXEAyg7pmpKKco12nhujifZttzkA904l/KXriLzFJWMXJvUtsSotTvMm3u
lC4lxHy5L1LudOXEcdhjCV2higBbeAgaFHZfTB0NSotl3suzz8YGxCKllM5FZ+1q
DBrzQkyeTQKBgFKmeVUC45bReWY8LEqNArpLF5azXl53FC04DiLL8N5MKg2kch5q
molAnYid5w+4TUfaLJx3NknJrRqejhl99iqw8FMRSkygJXVT2c1Y8ZcTbbxnZMAS
3vEAOuOpN2M1/Fs65UnSAxeUoF7IOaYIN0XgyOwzOGQoQlxWc7LIqobfAoGBAJ0g
dCWKWMdtJGRp5+nlfxk33bH9Kcq33O9sHDHl3goHhY8uQ81M9IP8NR0XIV03jCeg
hcXfmGsN8DXaUIJUeW9EKnztPmVWb4L39fbKuvgBj6Sbyu7f3DDStt3YfhIX91h8
8rRnE9SHgnFlGiO5WKTMy0Qy40shHbdmuXxFYr2hAoGBAKwQydQzhuE+bfnnDwYV
3FoHzv7kqe44vWw0SFJ9uTfwf97ZIynauMK+5E7jOMZJr8MtfGuMB2mOtkFUIMso
HqHfTKMnezIAsxTaHRBiTxgSOpG62Rh64x8KooKza/jBT56tRVSIsC/UpyyLXWAm
Uf0OvrJLgp73zov2hROnxPj9
-----END PRIVATE KEY-----\n";
const RSA_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA8B8hnv09L24ChoJG0t4W
G3aqofP2Qx7Yd5BAHO7zJ2kQxohzK5ZUeHXbw8jWEByhz/eKitJz5vEFJfLmRBgN
wNtdE4kfAVJBrogbWCUZ3agR2HgtxyL87UYjhdThXtEcrodDV7MseI6rV9IEukRL
gZ1hU2InNf6FjI8YNRqDMj12CWvELnKBDQeTiMNmzsnx03MXHUGenHoV7LdYm/FF
bQTHKWNXTDbori+K9uR2HRkC1Un9WWntzK8ETi/w+WT8nPPNbIYvBplVKWQLL+V2
SD3XG82McmKMnittKdYe4IW9npj5hFOB2c1acfQN2LU2v3OOI+Vbf67gF9oLuzlq
cwIDAQAB
-----END PUBLIC KEY-----\n";

const EC_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgyj8mMQgzpXsx9+Q5
S51wRkhYq39+Q1dNAFOSEsM7H/KhRANCAAR69HKjSVvm2fBtXLLS/e4OcVbV89Fl
J6zt98LH6R/kAhSDh7Y+oAy1T2tsosiLMvdSK3fCggZZDo/e/93+NbIQ
-----END PRIVATE KEY-----\n";
const EC_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEevRyo0lb5tnwbVyy0v3uDnFW1fPR
ZSes7ffCx+kf5AIUg4e2PqAMtU9rbKLIizL3Uit3woIGWQ6P3v/d/jWyEA==
-----END PUBLIC KEY-----\n";

const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIM0LqSizEZvO/asI+wyTXZMSPWUoMd1QUztLl47qfwHD
-----END PRIVATE KEY-----\n";
const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAXcygSBiE5t/qZjfumhXWdlPcmS28vTnlXYtBNgMAfGc=
-----END PUBLIC KEY-----\n";

const EC_OTHER_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE5K29F47mD4nC0p2wSmlrCrGqS4Ep
jKHtiC7Snp0dr69FKBjX985yw9Ov3Af4fBxkaX+E2mtJSfmSPktZGPjdAg==
-----END PUBLIC KEY-----\n";

const EC_JWK_X: &str = "evRyo0lb5tnwbVyy0v3uDnFW1fPRZSes7ffCx-kf5AI";
const EC_JWK_Y: &str = "FIOHtj6gDLVPa2yiyIsy91Ird8KCBlkOj97_3f41shA";

const SECRET: &[u8] = b"a-test-secret-of-reasonable-length\n";

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn claims() -> Json {
    json!({
        "sub": "user:alice",
        "act": {"sub": "agent:support-bot"},
        "exp": now() + 600,
        "iss": "https://idp.example",
        "aud": "ztpol",
    })
}

#[test]
fn every_allowed_algorithm_verifies_with_its_key() {
    let cases: [(Algorithm, &[u8], Verifier); 4] = [
        (
            Algorithm::HS256,
            SECRET,
            Verifier::from_secret(SECRET).unwrap(),
        ),
        (
            Algorithm::RS256,
            RSA_PRIVATE.as_bytes(),
            Verifier::from_pem(RSA_PUBLIC.as_bytes()).unwrap(),
        ),
        (
            Algorithm::ES256,
            EC_PRIVATE.as_bytes(),
            Verifier::from_pem(EC_PUBLIC.as_bytes()).unwrap(),
        ),
        (
            Algorithm::EdDSA,
            ED_PRIVATE.as_bytes(),
            Verifier::from_pem(ED_PUBLIC.as_bytes()).unwrap(),
        ),
    ];
    for (alg, key, verifier) in cases {
        let t = token::mint(&claims(), key, alg).unwrap();
        let id = verifier
            .verify(&t)
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(id.subject.reference(), "agent:support-bot");
        assert_eq!(
            id.on_behalf_of
                .iter()
                .map(|p| p.reference())
                .collect::<Vec<_>>(),
            ["user:alice"]
        );
        assert_eq!(id.scope, None);
    }
}

#[test]
fn jwks_keys_are_chosen_by_kind_and_kid() {
    let jwks = json!({"keys": [
        {"kty": "EC", "crv": "P-256", "x": EC_JWK_X, "y": EC_JWK_Y, "kid": "k1", "alg": "ES256", "use": "sig"}
    ]})
    .to_string();
    let v = Verifier::from_jwks(&jwks).unwrap();
    let t = token::mint(&claims(), EC_PRIVATE.as_bytes(), Algorithm::ES256).unwrap();
    assert!(v.verify(&t).is_ok());
    // an HS256 token cannot be checked with an EC key: no key of that kind
    let t = token::mint(&claims(), SECRET, Algorithm::HS256).unwrap();
    assert!(
        matches!(v.verify(&t), Err(TokenError::WrongKey(_))),
        "{:?}",
        v.verify(&t)
    );
    assert!(Verifier::from_jwks("{\"keys\": 3}").is_err());
}

#[test]
fn wrong_keys_and_signatures_are_rejected() {
    let t = token::mint(&claims(), EC_PRIVATE.as_bytes(), Algorithm::ES256).unwrap();
    let other = Verifier::from_pem(EC_OTHER_PUBLIC.as_bytes()).unwrap();
    assert_eq!(other.verify(&t), Err(TokenError::Signature));
    // an RS256 token against an EC key
    let t = token::mint(&claims(), RSA_PRIVATE.as_bytes(), Algorithm::RS256).unwrap();
    assert!(matches!(other.verify(&t), Err(TokenError::WrongKey(_))));
    // the HMAC secret as a "public key" for an RS256 token: wrong kind, not a confusion attack
    let hmac = Verifier::from_secret(RSA_PUBLIC.as_bytes()).unwrap();
    assert!(matches!(hmac.verify(&t), Err(TokenError::WrongKey(_))));
    // tampered payload
    let t = token::mint(&claims(), SECRET, Algorithm::HS256).unwrap();
    let mut parts: Vec<String> = t.split('.').map(str::to_string).collect();
    let forged = token::mint(
        &json!({"sub": "user:root", "exp": now() + 600}),
        b"other",
        Algorithm::HS256,
    )
    .unwrap();
    parts[1] = forged.split('.').nth(1).unwrap().to_string();
    let v = Verifier::from_secret(SECRET).unwrap();
    assert_eq!(v.verify(&parts.join(".")), Err(TokenError::Signature));
}

#[test]
fn none_and_other_algorithms_are_rejected() {
    let b64 = |j: &Json| b64url(j.to_string().as_bytes());
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims())
    );
    let v = Verifier::from_secret(SECRET).unwrap();
    assert!(
        matches!(v.verify(&none), Err(TokenError::Malformed(_))),
        "{:?}",
        v.verify(&none)
    );
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS512),
        &claims(),
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    assert!(matches!(v.verify(&hs512), Err(TokenError::Algorithm(_))));
    assert!(token::mint(&claims(), SECRET, Algorithm::HS384).is_err());
    assert!(v.verify("not a token").is_err());
}

#[test]
fn time_issuer_and_audience_are_checked() {
    let v = || Verifier::from_secret(SECRET).unwrap();
    let mint = |c: &Json| token::mint(c, SECRET, Algorithm::HS256).unwrap();
    let mut c = claims();
    c["exp"] = json!(now() - 20); // within the 30 s leeway
    assert!(v().verify(&mint(&c)).is_ok());
    c["exp"] = json!(now() - 45);
    assert_eq!(v().verify(&mint(&c)), Err(TokenError::Expired));
    let mut c = claims();
    c["nbf"] = json!(now() + 120);
    assert_eq!(v().verify(&mint(&c)), Err(TokenError::Immature));
    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    assert!(matches!(
        v().verify(&mint(&c)),
        Err(TokenError::Claim { .. })
    ));
    let t = mint(&claims());
    assert!(v()
        .issuer(Some("https://idp.example".into()))
        .audience(Some("ztpol".into()))
        .verify(&t)
        .is_ok());
    assert_eq!(
        v().issuer(Some("https://evil.example".into())).verify(&t),
        Err(TokenError::Issuer)
    );
    assert_eq!(
        v().audience(Some("other".into())).verify(&t),
        Err(TokenError::Audience)
    );
    let mut c = claims();
    c.as_object_mut().unwrap().remove("aud");
    assert!(v()
        .audience(Some("ztpol".into()))
        .verify(&mint(&c))
        .is_err());
}

#[test]
fn nested_actors_become_the_chain_original_first() {
    let c = json!({
        "sub": "user:alice",
        "act": {"sub": "agent:executor", "act": {"sub": "agent:planner", "act": {"sub": "agent:intake"}}},
        "scope": "orders.read orders.* email.send",
    });
    let id = token::identity(&c).unwrap();
    assert_eq!(id.subject.reference(), "agent:executor");
    let chain: Vec<String> = id.on_behalf_of.iter().map(|p| p.reference()).collect();
    assert_eq!(chain, ["user:alice", "agent:intake", "agent:planner"]);
    assert_eq!(id.scope.as_ref().map(Vec::len), Some(3));
    let alone = token::identity(&json!({"sub": "agent:cron"})).unwrap();
    assert_eq!(alone.subject.reference(), "agent:cron");
    assert!(alone.on_behalf_of.is_empty());
    assert!(token::identity(&json!({"sub": "alice"})).is_err());
    assert!(token::identity(&json!({"sub": "user:alice", "act": {"sub": 3}})).is_err());
}

fn desk() -> (ztpol::ir::Program, ztpol::eval::Model) {
    let mut b = Builder::new();
    let c = b.cmp(a("action.amount"), CmpOp::Le, T::I(200));
    b.permit("alice-refund", "user:alice", &["orders.refund"], &[], c);
    b.permit(
        "alice-read",
        "user:alice",
        &["orders.read"],
        &[],
        Cond::True,
    );
    b.permit("bot", "agent:support-bot", &["orders.*"], &[], Cond::True);
    b.finish()
}

#[test]
fn the_token_names_the_principals_and_its_scope_narrows_the_actions() {
    let (p, m) = desk();
    let d = Decider::new(&p, &m);
    let v = Verifier::from_secret(SECRET).unwrap();
    let mut c = claims();
    c["scope"] = json!("orders.read");
    let id = v
        .verify(&token::mint(&c, SECRET, Algorithm::HS256).unwrap())
        .unwrap();
    let body = |action: &str| json!({"action": {"name": action, "properties": {"amount": 10}}, "resource": {"type": "order", "id": "o"}});
    let r = d.respond(&body("orders.read"), Auth::Identity(&id));
    assert_eq!(r["decision"], json!(true), "{r}");
    assert_eq!(r["context"]["grants"], json!(["alice-read", "bot"]));
    let r = d.respond(&body("orders.refund"), Auth::Identity(&id));
    assert_eq!(r["decision"], json!(false));
    assert!(
        r["context"]["reason_admin"]["en"]
            .as_str()
            .unwrap()
            .contains("scope"),
        "{r}"
    );
    // a body that names another subject or chain is denied
    let mut other = body("orders.read");
    other["subject"] = json!({"type": "agent", "id": "root-bot"});
    let r = d.respond(&other, Auth::Identity(&id));
    assert_eq!(r["decision"], json!(false));
    assert_eq!(
        r["context"]["reason_user"]["en"],
        json!("the identity token was not accepted")
    );
    let mut other = body("orders.read");
    other["context"] = json!({"on_behalf_of": [{"type": "user", "id": "bob"}]});
    assert_eq!(
        d.respond(&other, Auth::Identity(&id))["decision"],
        json!(false)
    );
    // the same subject and chain spelled out are fine
    let mut same = body("orders.read");
    same["subject"] = json!({"type": "agent", "id": "support-bot"});
    same["context"] = json!({"on_behalf_of": [{"type": "user", "id": "alice"}]});
    assert_eq!(
        d.respond(&same, Auth::Identity(&id))["decision"],
        json!(true)
    );
}

#[test]
fn a_rejected_token_denies_with_a_safe_reason() {
    let (p, m) = desk();
    let d = Decider::new(&p, &m);
    let err = TokenError::Expired;
    let r = d.respond(
        &json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "orders.read"}, "resource": {"type": "order", "id": "o"}}),
        Auth::Rejected(&err),
    );
    assert_eq!(r["decision"], json!(false));
    assert_eq!(
        r["context"]["reason_user"]["en"],
        json!("the identity token was not accepted")
    );
    assert_eq!(
        r["context"]["reason_admin"]["en"],
        json!("token rejected: the token has expired")
    );
}

/// Unpadded base64url, for hand-made tokens.
fn b64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Runs the `ztpol` binary with `args` and `stdin`; returns the exit code and stdout.
fn ztpol(args: &[&str], stdin: &str) -> (Option<i32>, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ztpol"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // A ztpol that exits without reading its input (a usage error) closes the pipe first;
    // its exit code tells what happened, so a broken pipe is no failure of the test.
    if let Err(e) = input.write_all(stdin.as_bytes()) {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "writing stdin: {e}"
        );
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_cli_mints_tokens_and_decides_under_them() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    let secret = secret.to_str().unwrap();
    let (code, token) = ztpol(
        &[
            "token",
            "mint",
            "--sub",
            "user:alice",
            "--act",
            "agent:support-bot",
            "--scope",
            "orders.*",
            "--secret-file",
            secret,
        ],
        "",
    );
    assert_eq!(code, Some(0));
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, token.trim()).unwrap();
    let token_file = token_file.to_str().unwrap();
    let body = json!({"action": {"name": "orders.refund", "properties": {"amount": 150}},
                      "resource": {"type": "order", "id": "o-1", "properties": {"region": "US"}}})
    .to_string();
    let decide = |extra: &[&str]| {
        let mut args = vec![
            "decide",
            "examples/support-desk",
            "--request",
            "-",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let (code, out) = ztpol(&args, &body);
        let resp: Json = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
        (code, resp)
    };
    let (code, resp) = decide(&["--token", token_file, "--secret-file", secret]);
    assert_eq!(code, Some(0), "{resp}");
    assert_eq!(
        resp["context"]["grants"],
        json!(["tier1-refund", "support-bot-refund"])
    );
    // the wrong secret: denied, and the agent learns only that the token was not accepted
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "another secret").unwrap();
    let (code, resp) = decide(&[
        "--token",
        token_file,
        "--secret-file",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2));
    assert_eq!(
        resp["context"]["reason_user"]["en"],
        json!("the identity token was not accepted")
    );
    assert_eq!(
        resp["context"]["reason_admin"]["en"],
        json!("token rejected: the signature is invalid")
    );
    // a token without a key to check it is a usage error
    let (code, _) = ztpol(
        &[
            "decide",
            "examples/support-desk",
            "--request",
            "-",
            "--token",
            token_file,
        ],
        &body,
    );
    assert_eq!(code, Some(1));
}
