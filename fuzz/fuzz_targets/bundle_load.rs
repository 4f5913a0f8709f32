//! Bundle loading never panics: arbitrary bytes, and arbitrary bodies sealed with a correct
//! digest (so that the decoder, not only the digest check, sees them), are loaded; whatever
//! loads is asked a decision.
//!
//! `cargo fuzz run bundle_load`

#![no_main]

use libfuzzer_sys::fuzz_target;
use ztpol::bundle::{format, Bundle, Entity, Query, Trust, Val};

fuzz_target!(|data: &[u8]| {
    let _ = Bundle::load(data, Trust::allow_unsigned());
    let sealed = format::seal(data);
    if let Ok(b) = Bundle::load(&sealed, Trust::allow_unsigned()) {
        let attrs = vec![Val::Int(1); b.manifest().attributes.len()];
        let chain = [Entity { ty: "user", id: "alice", attrs: &[] }];
        let q = Query {
            subject: Entity { ty: "agent", id: "bot", attrs: &[] },
            on_behalf_of: &chain,
            action: "orders.refund",
            resource_type: "order",
            resource_id: Some("o-1"),
            attrs: &attrs,
            scope: None,
        };
        let _ = b.decide(&q);
    }
});
