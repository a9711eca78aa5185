//! WeChat protocol knowledge: the open-data crypto and the server API's
//! errcodes and wire types. Pure code, no I/O.

pub mod api;
pub mod crypto;

pub use crypto::{DecryptError, decrypt, hex, hmac_sha256_hex, seal, signature};

/// Masks a secret (appsecret, session_key, access_token) for logs and
/// reports: keeps the first four characters so two values can still be told
/// apart, hides the rest.
pub fn mask(secret: &str, reveal: bool) -> String {
    if reveal {
        return secret.to_string();
    }
    let head: String = secret.chars().take(4).collect();
    format!("{head}…(masked)")
}
