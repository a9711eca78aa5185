//! The open-data crypto as WeChat's official decrypt samples define it:
//! AES-128-CBC with PKCS#7 padding, base64 key/iv/ciphertext, a JSON
//! plaintext with a watermark, and `signature = sha1(rawData + session_key)`.
//!
//! Unlike the samples, decoding is strict: every failure says which check
//! failed, because that is what a developer chasing a -41003 needs.

use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit, Mac};
use sha1::{Digest, Sha1};

type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;
type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;

/// Why `encryptedData` could not be opened; `code()` gives WeChat's official
/// error code for each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("illegal AES key: session_key must be 24 base64 characters (16 bytes), got {0} characters")]
    IllegalAesKey(usize),
    #[error("illegal iv: iv must be 24 base64 characters (16 bytes), got {0} characters")]
    IllegalIv(usize),
    #[error("illegal buffer: {0}")]
    IllegalBuffer(BufferFault),
    #[error("base64 decode error in {field}: {reason}")]
    DecodeBase64 { field: &'static str, reason: String },
}

/// Which check of -41003 (illegal buffer) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BufferFault {
    #[error("ciphertext is {0} bytes, not a non-zero multiple of the 16-byte AES block")]
    BlockLength(usize),
    #[error("PKCS#7 padding is invalid after decryption (wrong session_key or iv)")]
    Padding,
    #[error("decrypted bytes are not UTF-8 JSON: {0}")]
    NotJson(String),
    #[error("decrypted JSON has no watermark.appid")]
    NoWatermark,
    #[error("watermark appid is {found:?}, expected {expected:?}")]
    WatermarkAppid { expected: String, found: String },
}

impl DecryptError {
    /// WeChat's official codes, as its decrypt samples name them.
    pub const ILLEGAL_AES_KEY: i32 = -41001;
    pub const ILLEGAL_IV: i32 = -41002;
    pub const ILLEGAL_BUFFER: i32 = -41003;
    pub const DECODE_BASE64: i32 = -41004;

    /// WeChat's official error code (-41001 … -41004).
    pub fn code(&self) -> i32 {
        match self {
            DecryptError::IllegalAesKey(_) => Self::ILLEGAL_AES_KEY,
            DecryptError::IllegalIv(_) => Self::ILLEGAL_IV,
            DecryptError::IllegalBuffer(_) => Self::ILLEGAL_BUFFER,
            DecryptError::DecodeBase64 { .. } => Self::DECODE_BASE64,
        }
    }

    /// The official name of the code, as in the decrypt samples.
    pub fn name(&self) -> &'static str {
        match self {
            DecryptError::IllegalAesKey(_) => "IllegalAesKey",
            DecryptError::IllegalIv(_) => "IllegalIv",
            DecryptError::IllegalBuffer(_) => "IllegalBuffer",
            DecryptError::DecodeBase64 { .. } => "DecodeBase64Error",
        }
    }

    /// The likeliest real-world cause, in one line.
    pub fn explanation(&self) -> &'static str {
        match self {
            DecryptError::IllegalAesKey(_) => {
                "the session_key text is not 24 characters: pass the session_key from jscode2session unchanged"
            }
            DecryptError::IllegalIv(_) => {
                "the iv text is not 24 characters: was it truncated, or did form/URL decoding alter it?"
            }
            DecryptError::IllegalBuffer(BufferFault::WatermarkAppid { .. }) => {
                "the data was sealed for another Mini Program: check the appid your backend uses"
            }
            DecryptError::IllegalBuffer(BufferFault::Padding | BufferFault::NotJson(_)) => {
                "the session_key does not match the one that sealed this data: was wx.login called after getUserInfo?"
            }
            DecryptError::IllegalBuffer(_) => {
                "encryptedData is damaged: was it truncated, or did form/URL decoding turn '+' into a space?"
            }
            DecryptError::DecodeBase64 { .. } => {
                "not valid base64: did form/URL decoding turn '+' into a space, or was the value URL-encoded twice?"
            }
        }
    }
}

fn decode_b64(field: &'static str, text: &str) -> Result<Vec<u8>, DecryptError> {
    B64.decode(text).map_err(|e| {
        let hint = if text.contains(' ') { " (it contains a space where base64 has '+')" } else { "" };
        DecryptError::DecodeBase64 { field, reason: format!("{e}{hint}") }
    })
}

fn key16(field: &'static str, text: &str) -> Result<[u8; 16], DecryptError> {
    let wrong_len = |n| match field {
        "session_key" => DecryptError::IllegalAesKey(n),
        _ => DecryptError::IllegalIv(n),
    };
    if text.chars().count() != 24 {
        return Err(wrong_len(text.chars().count()));
    }
    decode_b64(field, text)?.try_into().map_err(|v: Vec<u8>| wrong_len(v.len()))
}

/// Opens `encryptedData` the way WeChat's official sample does, and, when
/// `appid` is given, checks that `watermark.appid` equals it.
pub fn decrypt(
    session_key: &str,
    iv: &str,
    encrypted_data: &str,
    appid: Option<&str>,
) -> Result<serde_json::Value, DecryptError> {
    let key = key16("session_key", session_key)?;
    let iv = key16("iv", iv)?;
    let ciphertext = decode_b64("encryptedData", encrypted_data)?;
    if ciphertext.is_empty() || ciphertext.len() % 16 != 0 {
        return Err(DecryptError::IllegalBuffer(BufferFault::BlockLength(ciphertext.len())));
    }
    let plain = Aes128CbcDec::new(&key.into(), &iv.into())
        .decrypt_padded_vec::<Pkcs7>(&ciphertext)
        .map_err(|_| DecryptError::IllegalBuffer(BufferFault::Padding))?;
    let value: serde_json::Value =
        serde_json::from_slice(&plain).map_err(|e| DecryptError::IllegalBuffer(BufferFault::NotJson(e.to_string())))?;
    if let Some(expected) = appid {
        let found = value.pointer("/watermark/appid").and_then(|v| v.as_str());
        match found {
            None => return Err(DecryptError::IllegalBuffer(BufferFault::NoWatermark)),
            Some(found) if found != expected => {
                return Err(DecryptError::IllegalBuffer(BufferFault::WatermarkAppid {
                    expected: expected.to_string(),
                    found: found.to_string(),
                }));
            }
            Some(_) => {}
        }
    }
    Ok(value)
}

/// Seals `plaintext` with a raw 16-byte key and iv; returns base64 ciphertext.
pub fn seal(key: &[u8; 16], iv: &[u8; 16], plaintext: &[u8]) -> String {
    let ciphertext = Aes128CbcEnc::new(key.into(), iv.into()).encrypt_padded_vec::<Pkcs7>(plaintext);
    B64.encode(ciphertext)
}

/// `sha1(rawData + session_key)` in lowercase hex; `raw_data` is the exact
/// string the client received, never re-serialised.
pub fn signature(raw_data: &str, session_key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(raw_data.as_bytes());
    sha.update(session_key.as_bytes());
    hex(&sha.finalize())
}

/// `hex(hmac_sha256(key, message))`, as `/wxa/checksession` uses it with the
/// session_key *text's* bytes as key and an empty message.
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(message);
    hex(&mac.finalize().into_bytes())
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Standard base64 (with `+`, `/` and `=` padding), as WeChat sends it.
pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// Decodes a 24-character base64 text into 16 bytes.
pub fn b64_decode16(text: &str) -> Option<[u8; 16]> {
    B64.decode(text).ok()?.try_into().ok()
}
