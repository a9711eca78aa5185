//! WeChat protocol knowledge: the open-data crypto and the server API's
//! errcodes and wire types. Pure code, no I/O.

pub mod api;
pub mod crypto;

pub use crypto::{DecryptError, decrypt, hex, hmac_sha256_hex, seal, signature};
