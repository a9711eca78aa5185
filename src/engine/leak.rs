//! A session_key in the backend's answer to its client. Candidates are
//! found by shape (base64 of 16 bytes) in the body and the headers (cookies
//! too), inside JWT payloads and in percent-encoded text; the mock says
//! which it handed to a backend ([`GroundTruth::handed_out`]), so a lookalike
//! (an echoed iv) is never called a leak.
//!
//! [`GroundTruth::handed_out`]: crate::contract::GroundTruth::handed_out

use base64::Engine as _;
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// What a leaked secret is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// A user's session_key from jscode2session (base64 of 16 bytes).
    SessionKey,
    /// The app's access_token from `/cgi-bin/token` or `stable_token`.
    AccessToken,
}

/// Text that may be a session_key or an access_token, and where the
/// answer carried it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub secret: Secret,
    pub value: String,
    /// `the body`, `header set-cookie`, `a JWT's payload in the body`.
    pub place: String,
    /// The JWT that held it, when it was inside one.
    pub jwt: Option<String>,
}

/// The most candidates asked about for one answer.
const MOST: usize = 64;

fn patterns() -> &'static (Regex, Regex, Regex) {
    static RE: OnceLock<(Regex, Regex, Regex)> = OnceLock::new();
    RE.get_or_init(|| {
        (
            // Base64 of 16 bytes, not part of a longer base64 run.
            Regex::new(r"(?:^|[^A-Za-z0-9+/])([A-Za-z0-9+/]{22}==)(?:$|[^A-Za-z0-9+/=])").expect("valid regex"),
            Regex::new(r"eyJ[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*").expect("valid regex"),
            // An access_token: a long run of URL-safe characters (WeChat's
            // are 100 to 200; the mock's 100-odd), not part of a longer one.
            Regex::new(r"(?:^|[^A-Za-z0-9_-])([A-Za-z0-9_-]{64,512})(?:$|[^A-Za-z0-9_-])").expect("valid regex"),
        )
    })
}

/// The candidates in an answer's body and headers.
pub fn candidates(body: &str, headers: &BTreeMap<String, String>) -> Vec<Candidate> {
    let mut out = vec![];
    scan(body, "the body", &mut out);
    for (name, value) in headers {
        scan(value, &format!("header {name}"), &mut out);
    }
    out.truncate(MOST);
    out
}

fn scan(text: &str, place: &str, out: &mut Vec<Candidate>) {
    let (key, jwt, token) = patterns();
    let mut push = |value: &str, place: String, jwt: Option<&str>| {
        if !out.iter().any(|c| c.value == value) {
            out.push(Candidate {
                secret: Secret::SessionKey,
                value: value.to_string(),
                place,
                jwt: jwt.map(String::from),
            });
        }
    };
    for c in key.captures_iter(text) {
        push(&c[1], place.to_string(), None);
    }
    for c in jwt.captures_iter(text) {
        let Ok(payload) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c[1].trim_end_matches('=')) else {
            continue;
        };
        let payload = String::from_utf8_lossy(&payload);
        for k in key.captures_iter(&payload) {
            push(&k[1], format!("a JWT's payload in {place}"), Some(&c[0]));
        }
    }
    // PHP's json_encode writes `/` as `\/`; other encoders `\u002b` for `+`.
    if text.contains('\\') {
        let unescaped = json_unescaped(text);
        for c in key.captures_iter(&unescaped) {
            push(&c[1], format!("{place}, JSON-escaped"), None);
        }
    }
    if text.contains('%') {
        let decoded: String =
            form_urlencoded::parse(text.as_bytes()).map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        for c in key.captures_iter(&decoded) {
            push(&c[1], format!("{place}, percent-encoded"), None);
        }
    }
    // Session keys first: the list asked about is cut at MOST.
    for c in token.captures_iter(text) {
        // A JWT's parts are runs of the same characters: they are not tokens.
        if !c[1].starts_with("eyJ") && !out.iter().any(|o| o.value == c[1]) {
            out.push(Candidate {
                secret: Secret::AccessToken,
                value: c[1].to_string(),
                place: place.to_string(),
                jwt: None,
            });
        }
    }
}

/// `text` with JSON's escapes of ASCII characters undone (`\/`, `\u002B`);
/// other escapes are kept as they are.
fn json_unescaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let ascii = tail
            .strip_prefix("\\u")
            .and_then(|h| h.get(..4))
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .filter(u8::is_ascii_graphic);
        if let Some(b) = ascii {
            out.push(b as char);
            rest = &tail[6..];
        } else if let Some(after) = tail.strip_prefix("\\/") {
            out.push('/');
            rest = after;
        } else {
            out.push('\\');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_in_bodies_headers_jwts_and_percent_encoding_and_nothing_else() {
        let (in_jwt, in_cookie, in_header) =
            ("tiihtNczf5v6AKRyjwEUhQ==", "ab+cdefghijklmnopqrstu==", "r7BXXKkLb8qrSNn05n0qiA==");
        let jwt_payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(r#"{{"sk":"{in_jwt}"}}"#));
        let jwt = format!("eyJhbGciOiJIUzI1NiJ9.{jwt_payload}.c2ln");
        let cookie = format!("sk={}; Path=/", in_cookie.replace('+', "%2B").replace('=', "%3D"));
        let headers: BTreeMap<String, String> =
            [("set-cookie".to_string(), cookie), ("x-session".to_string(), in_header.to_string())].into();
        let found = candidates(&format!(r#"{{"data":{{"token":"{jwt}"}}}}"#), &headers);
        let seen: Vec<(&str, &str)> = found.iter().map(|c| (c.value.as_str(), c.place.as_str())).collect();
        assert_eq!(
            seen,
            [
                (in_jwt, "a JWT's payload in the body"),
                (in_cookie, "header set-cookie, percent-encoded"),
                (in_header, "header x-session")
            ],
            "{found:?}"
        );
        assert_eq!(found[0].jwt.as_deref(), Some(jwt.as_str()));
        // Longer base64 (encryptedData), hex tokens and plain text are not keys.
        let long = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwMTIzNDU2Nzg5MA==";
        assert!(
            candidates(&format!(r#"{{"a":"{long}","t":"0123456789abcdef0123456789abcdef"}}"#), &BTreeMap::new())
                .is_empty()
        );
    }

    #[test]
    fn a_key_json_escaped_by_php_or_with_unicode_escapes_is_found() {
        let key = "ab/cdefghijklmnopqrst+==";
        for body in [r#"{"sk":"ab\/cdefghijklmnopqrst+=="}"#, r#"{"sk":"ab\u002fcdefghijklmnopqrst\u002B=="}"#] {
            let found = candidates(body, &BTreeMap::new());
            assert_eq!(found.iter().map(|c| c.value.as_str()).collect::<Vec<_>>(), [key], "{body}");
            assert_eq!(found[0].place, "the body, JSON-escaped");
        }
    }
}
