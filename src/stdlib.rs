//! The standard library: modules written in ztpol, embedded in the binary.

/// `(name, source)` of every stdlib module; `use std::NAME` loads `NAME`.
pub const MODULES: &[(&str, &str)] = &[
    ("roles", include_str!("../stdlib/roles.ztp")),
    ("groups", include_str!("../stdlib/groups.ztp")),
];

/// The source of stdlib module `name`.
pub fn module(name: &str) -> Option<&'static str> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// The file name stdlib module `name` is shown under in messages.
pub fn file_name(name: &str) -> String {
    format!("<std>/{name}.ztp")
}
