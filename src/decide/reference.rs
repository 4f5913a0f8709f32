//! The reference decision path (see below).
