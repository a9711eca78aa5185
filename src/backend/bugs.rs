//! The bug catalogue: `wxflow backend --bug NAME` runs the reference
//! backend with one login bug that real backends have, so a flow suite can
//! be shown to catch it (`wxflow mutate`). Each is documented with how it
//! happens in the wild.

use clap::ValueEnum;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// One known backend bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Bug {
    /// The signature is never checked: many tutorials decrypt and stop there.
    NoSignatureCheck,
    /// watermark.appid is not compared with the backend's appid (the
    /// official Python sample's callers and several SDKs skip it).
    NoWatermarkCheck,
    /// Form values are decoded twice (a framework plus a hand-written
    /// `unquote_plus`): every `+` of the base64 becomes a space.
    DoubleFormDecode,
    /// A code→session cache "to make retries idempotent" accepts a code
    /// that WeChat would refuse as used (40163).
    ReusedCodeAccepted,
    /// A decrypt failure is logged and swallowed: the user is logged in
    /// without a profile, with data nobody verified.
    DecryptFailureSwallowed,
    /// A decrypt failure throws out of the handler: HTTP 500 instead of a
    /// rejection (SDKs that raise on a bad padding).
    DecryptFailureCrashes,
    /// The session_key is cached per user (openid) from an earlier login
    /// and used for later ones: a returning user after a rotation fails.
    StaleSessionCache,
    /// The access token is fetched once and never refreshed: after two
    /// hours (or another server's refresh) every phone login fails.
    TokenNeverRefreshed,
    /// jscode2session with a 1 s client timeout, retried with the same
    /// code: when WeChat is slow the retry gets 40163.
    RetrySameCode,
    /// The phone code is exchanged twice (once to check it, once to read
    /// the number): the second exchange is refused.
    PhoneCodeTwice,
    /// rawData is parsed and re-serialised before the signature check (as
    /// Python's json.dumps does, escaping non-ASCII): the hash differs.
    RawdataReserialized,
    /// session_key and iv are passed to the decrypt call the wrong way round.
    KeyIvSwapped,
    /// The session_key rides in the login token (a JWT) handed to the
    /// client "to decrypt later": any client can now forge its data.
    SessionKeyInToken,
}

impl Bug {
    /// The name on the command line: `no-signature-check`.
    pub fn name(self) -> String {
        self.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
    }

    /// What the bug is, in one line (its doc comment, in short).
    pub fn story(self) -> &'static str {
        match self {
            Bug::NoSignatureCheck => "signature not checked",
            Bug::NoWatermarkCheck => "watermark appid not checked",
            Bug::DoubleFormDecode => "form values decoded twice ('+' becomes a space)",
            Bug::ReusedCodeAccepted => "a reused code accepted from a code→session cache",
            Bug::DecryptFailureSwallowed => "a decrypt failure swallowed (logged in without profile)",
            Bug::DecryptFailureCrashes => "a decrypt failure crashes the handler (HTTP 500)",
            Bug::StaleSessionCache => "session_key cached per user from an earlier login",
            Bug::TokenNeverRefreshed => "access token fetched once, never refreshed",
            Bug::RetrySameCode => "jscode2session timeout shorter than WeChat's latency, retried with the same code",
            Bug::PhoneCodeTwice => "the phone code exchanged twice",
            Bug::RawdataReserialized => "rawData re-serialised before the signature check",
            Bug::KeyIvSwapped => "session_key and iv swapped in the decrypt call",
            Bug::SessionKeyInToken => "the session_key inside the JWT handed to the client",
        }
    }
}

/// A small cache that forgets everything past a size, so a buggy backend
/// under a long run keeps bounded memory.
#[derive(Debug, Default)]
pub struct Cache(Mutex<HashMap<String, (String, String)>>);

impl Cache {
    const CAP: usize = 10_000;

    pub fn get(&self, key: &str) -> Option<(String, String)> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(key).cloned()
    }

    pub fn put(&self, key: &str, value: (String, String)) {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= Self::CAP {
            map.clear();
        }
        map.insert(key.to_string(), value);
    }
}

/// A JWT with `claims` as its payload (signed with nothing worth the name:
/// the bug is what it carries).
pub fn jwt(claims: &Value) -> String {
    use base64::Engine as _;
    let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    format!("{}.{}.{}", b64(r#"{"alg":"HS256","typ":"JWT"}"#), b64(&claims.to_string()), b64("signature"))
}

/// A form value decoded a second time: `+` to space, `%XX` to its byte.
pub fn decode_again(value: &str) -> String {
    form_urlencoded::parse(format!("v={value}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// JSON as Python's `json.dumps` writes it by default: `", "` and `": "`
/// separators, non-ASCII escaped as `\uXXXX`.
pub fn python_dumps(v: &Value) -> String {
    match v {
        Value::Object(o) => {
            let items: Vec<String> = o
                .iter()
                .map(|(k, x)| format!("{}: {}", python_dumps(&Value::String(k.clone())), python_dumps(x)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(python_dumps).collect::<Vec<_>>().join(", ")),
        Value::String(s) => {
            let mut out = String::from("\"");
            let quoted = serde_json::to_string(s).unwrap_or_default();
            // The escaped text between the quotes serde_json added (a string
            // ending in `"` ends in `\"`, which must stay).
            let inner = quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"')).unwrap_or(&quoted);
            for c in inner.chars() {
                if c.is_ascii() {
                    out.push(c);
                } else {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        let _ = write!(out, "\\u{u:04x}");
                    }
                }
            }
            out.push('"');
            out
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_dumps_matches_pythons_default_output() {
        let v: Value = serde_json::from_str(r#"{"nickName":"微信用户","gender":0,"a":[1,"x"]}"#).unwrap();
        // python3 -c 'import json; print(json.dumps({"nickName":"微信用户","gender":0,"a":[1,"x"]}))'
        assert_eq!(python_dumps(&v), r#"{"nickName": "\u5fae\u4fe1\u7528\u6237", "gender": 0, "a": [1, "x"]}"#);
        // python3 -c 'import json; print(json.dumps(["say \"hi\""]))'
        assert_eq!(python_dumps(&serde_json::json!(["say \"hi\""])), r#"["say \"hi\""]"#);
    }

    #[test]
    fn a_second_decode_turns_plus_into_space() {
        assert_eq!(decode_again("ab+c%2Bd"), "ab c+d");
    }

    #[test]
    fn bug_names_are_kebab_case() {
        assert_eq!(Bug::NoSignatureCheck.name(), "no-signature-check");
        assert_eq!(Bug::value_variants().len(), 13);
    }
}
