//! Bad bundles are refused with a clear error, never a panic: systematic mutations of a real,
//! signed bundle (every truncation, a bit flip in every byte, a wrong version, a wrong
//! signature, an unknown `kid`, a payload swapped under a valid signature), and corrupted
//! bodies resealed with a correct digest (which must load or fail cleanly, and decide without
//! panicking when they load).

mod bundle_common;

use bundle_common::*;
use std::path::Path;
use ztpol::bundle::{self, format, Bundle, BundleError, Entity, Query, Trust, Val};

fn signed_desk() -> (Vec<u8>, ztpol::bundle::KeySet) {
    let c = compile_dir(Path::new("examples/support-desk"));
    let k = key(ED_PEM, "desk-1");
    let set = key_set(&[&k]);
    (bundle::sign(&c.bundle_bytes(), &k).expect("signs"), set)
}

/// The error message must be one line of lowercase prose without a final period.
fn assert_clear(e: &BundleError) {
    let m = e.to_string();
    assert!(
        !m.is_empty() && !m.ends_with('.') && !m.contains('\n'),
        "unclear: {m:?}"
    );
    let first = m.chars().next().unwrap_or('x');
    assert!(!first.is_uppercase(), "capitalised: {m:?}");
}

#[test]
fn the_intact_bundle_loads() {
    let (bytes, set) = signed_desk();
    assert!(Bundle::load(&bytes, Trust::keys(&set)).is_ok());
}

#[test]
fn every_truncation_is_refused() {
    let (bytes, set) = signed_desk();
    for len in 0..bytes.len() {
        let cut = &bytes[..len];
        match Bundle::load(cut, Trust::keys(&set)) {
            Ok(_) => panic!("a bundle cut to {len} of {} bytes loaded", bytes.len()),
            Err(e) => assert_clear(&e),
        }
        assert!(
            Bundle::load(cut, Trust::allow_unsigned()).is_err(),
            "cut to {len}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        Bundle::load(&longer, Trust::keys(&set)),
        Err(BundleError::Trailing { extra: 1 })
    ));
}

#[test]
fn a_bit_flip_in_any_byte_is_refused() {
    let (bytes, set) = signed_desk();
    let mut kinds = std::collections::BTreeMap::new();
    for i in 0..bytes.len() {
        for bit in [i % 8, (i + 3) % 8] {
            let mut m = bytes.clone();
            m[i] ^= 1 << bit;
            match Bundle::load(&m, Trust::keys(&set)) {
                Ok(_) => panic!("a bundle with bit {bit} of byte {i} flipped loaded"),
                Err(e) => {
                    assert_clear(&e);
                    let code = miette::Diagnostic::code(&e).map(|c| c.to_string());
                    *kinds.entry(code.unwrap_or_default()).or_insert(0) += 1;
                }
            }
        }
    }
    // Flips in the body and digest are caught by the digest, flips in the signature by the
    // signature check.
    assert!(kinds.contains_key("ztpol::bundle::digest"), "{kinds:?}");
    assert!(kinds.contains_key("ztpol::bundle::signature"), "{kinds:?}");
}

#[test]
fn a_wrong_version_is_refused_by_name() {
    let (mut bytes, set) = signed_desk();
    bytes[4..6].copy_from_slice(&1u16.to_le_bytes());
    let e = Bundle::load(&bytes, Trust::keys(&set)).err();
    assert_eq!(
        e,
        Some(BundleError::Version { found: 1 }),
        "a version 1 bundle"
    );
    bytes[4..6].copy_from_slice(&7u16.to_le_bytes());
    let e = Bundle::load(&bytes, Trust::keys(&set))
        .err()
        .expect("refused");
    assert_eq!(e, BundleError::Version { found: 7 });
    assert_eq!(
        e.to_string(),
        "bundle format version 7 is not supported (this ztpol reads version 3)"
    );
    bytes[0] = b'X';
    assert_eq!(
        Bundle::load(&bytes, Trust::keys(&set)).err(),
        Some(BundleError::NotABundle)
    );
}

#[test]
fn signatures_are_checked() {
    let c = compile_dir(Path::new("examples/support-desk"));
    let unsigned = c.bundle_bytes();
    let good = key(ED_PEM, "desk-1");
    let set = key_set(&[&good]);

    // Unsigned: refused unless allowed.
    assert_eq!(
        Bundle::load(&unsigned, Trust::keys(&set)).err(),
        Some(BundleError::Unsigned)
    );
    assert!(Bundle::load(&unsigned, Trust::allow_unsigned()).is_ok());

    // Wrong signature: another key under the same kid, refused even with allow_unsigned.
    let forged = bundle::sign(&unsigned, &key(ED_OTHER_PEM, "desk-1")).expect("signs");
    for trust in [
        Trust::keys(&set),
        Trust {
            keys: Some(&set),
            allow_unsigned: true,
        },
    ] {
        let e = Bundle::load(&forged, trust).err().expect("refused");
        assert!(matches!(e, BundleError::Signature(_)), "{e}");
        assert_clear(&e);
    }
    // A signed bundle without keys to check it is refused, also with allow_unsigned.
    assert_eq!(
        Bundle::load(&forged, Trust::allow_unsigned()).err(),
        Some(BundleError::NoKeys)
    );

    assert_foreign_signatures_refused(&unsigned, &set);
}

/// `unsigned` signed by a key the set (of one key, `desk-1`) does not hold is refused: under an
/// unknown kid, and under the set's kid by another key of the same kind or of another kind.
fn assert_foreign_signatures_refused(unsigned: &[u8], set: &ztpol::bundle::KeySet) {
    let other = bundle::sign(unsigned, &key(EC_PEM, "desk-2")).expect("signs");
    assert_eq!(
        Bundle::load(&other, Trust::keys(set)).err(),
        Some(BundleError::UnknownKid("desk-2".into()))
    );
    for pem in [ED_OTHER_PEM, RSA_PEM] {
        let forged = bundle::sign(unsigned, &key(pem, "desk-1")).expect("signs");
        let e = Bundle::load(&forged, Trust::keys(set)).err();
        assert!(matches!(e, Some(BundleError::Signature(_))), "{e:?}");
    }
}

#[test]
fn a_payload_swapped_under_a_valid_signature_is_refused() {
    let good = key(ED_PEM, "desk-1");
    let set = key_set(&[&good]);
    let desk = compile_dir(Path::new("examples/support-desk")).bundle_bytes();
    let other = compile_text(CORPUS_POLICY, &corpus_data(3)).bundle_bytes();
    let signed = bundle::sign(&desk, &good).expect("signs");
    let env = format::open(&signed).expect("opens");
    let jws = env.signature.expect("signed");
    let other_env = format::open(&other).expect("opens");
    let swapped = format::with_signature(&other, other_env.signed_len, jws);
    assert_eq!(
        Bundle::load(&swapped, Trust::keys(&set)).err(),
        Some(BundleError::SignedOther)
    );
}

#[test]
fn a_large_body_fails_its_checks_before_its_decoding() {
    // Large enough that loading decodes the body on a second thread beside the checks; the
    // errors must be those (and in the order) of checking first and decoding after.
    let c = compile_text(CORPUS_POLICY, &corpus_data(13_000));
    let unsigned = c.bundle_bytes();
    let env = format::open(&unsigned).expect("opens");
    assert!(env.body.len() > 300 << 10, "{} bytes", env.body.len());
    let good = key(ED_PEM, "desk-1");
    let set = key_set(&[&good]);
    let signed = bundle::sign(&unsigned, &good).expect("signs");
    assert!(Bundle::load(&signed, Trust::keys(&set)).is_ok());

    // A flipped byte in the body: the digest's error, though the body no longer decodes.
    let mut flipped = signed.clone();
    flipped[format::HEADER_LEN] ^= 0xff;
    assert_eq!(
        Bundle::load(&flipped, Trust::keys(&set)).err(),
        Some(BundleError::Digest)
    );
    // A body that does not decode, resealed with its digest: refused by its decoding when
    // unsigned bundles are allowed, by the signature check before it otherwise.
    let mut body = env.body.to_vec();
    body[0] ^= 0xff;
    let resealed = format::seal(&body);
    let e = Bundle::load(&resealed, Trust::allow_unsigned()).err();
    assert!(matches!(e, Some(BundleError::Malformed { .. })), "{e:?}");
    assert_eq!(
        Bundle::load(&resealed, Trust::keys(&set)).err(),
        Some(BundleError::Unsigned)
    );
    assert_foreign_signatures_refused(&resealed, &set);
}

/// A query every loaded bundle is asked, whatever its contents.
fn probe(b: &Bundle, staged: bool) {
    let attrs = vec![Val::Int(150); b.manifest().attributes.len()];
    let chain = [Entity {
        ty: "user",
        id: "alice",
        attrs: &[],
    }];
    let q = Query {
        subject: Entity {
            ty: "agent",
            id: "support-bot",
            attrs: &[],
        },
        on_behalf_of: &chain,
        action: "orders.refund",
        resource_type: "order",
        resource_id: Some("o-1"),
        attrs: &attrs,
        scope: None,
    };
    let _ = b.decide(&q);
    let _ = b.decide_fast(&q);
    if !staged {
        return;
    }
    let request = serde_json::json!({
        "subject": {"type": "agent", "id": "support-bot"},
        "action": {"name": "orders.refund"},
        "resource": {"type": "order"},
        "context": {"on_behalf_of": [{"type": "user", "id": "alice"}]}
    });
    let _ = b.respond(&request, ztpol::decide::Auth::None);
}

#[test]
fn corrupted_bodies_with_a_valid_digest_never_panic() {
    let bytes = compile_dir(Path::new("examples/support-desk")).bundle_bytes();
    let env = format::open(&bytes).expect("opens");
    let body = env.body.to_vec();
    // Where the (large, free-form) source texts are: mutated sparsely, the rest byte by byte.
    let mut sources = 0..0;
    let mut at = 0;
    while at < body.len() {
        let tag = body[at];
        let (mut len, mut shift, mut k) = (0usize, 0, at + 1);
        while k < body.len() {
            len |= usize::from(body[k] & 0x7f) << shift;
            shift += 7;
            k += 1;
            if body[k - 1] & 0x80 == 0 {
                break;
            }
        }
        if tag == format::tag::SOURCES {
            sources = k..k + len;
        }
        at = k + len;
    }
    assert!(!sources.is_empty());
    let (mut loaded, mut refused) = (0, 0);
    for i in (0..body.len()).filter(|i| !sources.contains(i) || i % 32 == 0) {
        for delta in [1u8, 0x80] {
            let mut b = body.clone();
            b[i] = b[i].wrapping_add(delta);
            let sealed = format::seal(&b);
            match Bundle::load(&sealed, Trust::allow_unsigned()) {
                Ok(bundle) => {
                    probe(&bundle, i % 8 == 0);
                    loaded += 1;
                }
                Err(e) => {
                    assert_clear(&e);
                    refused += 1;
                }
            }
        }
    }
    // Truncated bodies, resealed.
    for len in 0..body.len() {
        assert!(
            Bundle::load(&format::seal(&body[..len]), Trust::allow_unsigned()).is_err(),
            "a body cut to {len} bytes loaded"
        );
    }
    // Changes to source text or ids load; changes to structure are refused.
    assert!(
        refused > 1000 && loaded > 0,
        "{refused} refused, {loaded} loaded"
    );
}
