//! Keeping secrets in the process. Text that leaves it (console, reports,
//! the dashboard) goes through a [`Redactor`], which masks secrets by key
//! (JSON fields, query and form parameters, credential headers) and by
//! value (the apps' secrets, and every secret value seen so far in the
//! iteration, wherever it turns up again).

use regex::Regex;
use std::borrow::Cow;
use std::sync::OnceLock;

/// Masks a secret: its first four characters, then `…(masked)`.
pub fn mask(secret: &str, reveal: bool) -> String {
    if reveal {
        return secret.to_string();
    }
    // A short secret shows nothing of itself.
    if secret.chars().count() < MIN_VALUE_LEN {
        return "…(masked)".into();
    }
    let head: String = secret.chars().take(4).collect();
    format!("{head}…(masked)")
}

/// Whether a field, parameter, capture or header of this name holds a
/// secret: appsecrets, session_keys, and any token (access or login).
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace(['-', '_'], "");
    n.contains("token")
        || n.contains("secret")
        || n == "sessionkey"
        || n == "authorization"
        || n == "cookie"
        || n == "setcookie"
        || n == "password"
}

/// Values shorter than this are not masked by value: a token of `1` would
/// mask every digit.
const MIN_VALUE_LEN: usize = 8;

/// A name that [`is_secret_name`] accepts, as a regex fragment: only such
/// keys are matched, so texts without secrets pass without a copy.
const SECRET_NAME: &str =
    r"(?i:[A-Za-z0-9_\-]*(?:token|secret|session[_\-]?key|authorization|cookie|password)[A-Za-z0-9_\-]*)";

/// The words of [`SECRET_NAME`]: a text without any of them holds no
/// secret-named key and skips the regexes (most bodies of a run).
const SECRET_WORDS: [&str; 6] = ["token", "secret", "session", "authorization", "cookie", "password"];

/// Whether `text` holds a word of [`SECRET_WORDS`], in any case. Lowering a
/// copy and searching it word by word is several times faster than one
/// case-insensitive multi-word search.
fn has_secret_word(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| lower.contains(w))
}

fn patterns() -> &'static (Regex, Regex) {
    static RE: OnceLock<(Regex, Regex)> = OnceLock::new();
    RE.get_or_init(|| {
        (
            Regex::new(&format!(r#""({SECRET_NAME})"(\s*:\s*)"((?:[^"\\]|\\.)*)""#)).expect("valid regex"),
            Regex::new(&format!(r#"(^|[?&\s;])({SECRET_NAME})=([^&\s;"]*)"#)).expect("valid regex"),
        )
    })
}

/// What masks secrets, and whether it may.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    reveal: bool,
    /// Secrets known before the run: the apps' appsecrets.
    known: Vec<String>,
}

impl Redactor {
    /// Masks `known` by value wherever it appears (however short: these
    /// are declared secrets, not guesses).
    pub fn new(reveal: bool, known: Vec<String>) -> Self {
        Redactor { reveal, known: known.into_iter().filter(|v| !v.is_empty()).collect() }
    }

    /// The secrets this one masks by value.
    pub fn known(&self) -> &[String] {
        &self.known
    }

    pub fn reveal(&self) -> bool {
        self.reveal
    }

    /// Masks the values of secret-named JSON fields and query or form
    /// parameters in `text`, adding each value to `seen` so it is masked by
    /// value wherever it appears later.
    pub fn by_key<'a>(&self, text: &'a str, seen: &mut Vec<String>) -> Cow<'a, str> {
        if self.reveal || !has_secret_word(text) {
            return Cow::Borrowed(text);
        }
        let (json, query) = patterns();
        let masked = json.replace_all(text, |c: &regex::Captures| {
            remember(&c[3], seen);
            format!("\"{}\"{}\"{}\"", &c[1], &c[2], mask(&c[3], false))
        });
        match query.replace_all(&masked, |c: &regex::Captures| {
            remember(&c[3], seen);
            format!("{}{}={}", &c[1], &c[2], mask(&c[3], false))
        }) {
            Cow::Borrowed(_) => masked,
            Cow::Owned(o) => Cow::Owned(o),
        }
    }

    /// Masks every known secret and every value in `seen` wherever it
    /// appears in `text`, in each of its [`encodings`].
    pub fn by_value<'a>(&self, text: &'a str, seen: &[String]) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        if self.reveal {
            return out;
        }
        for v in self.known.iter().chain(seen) {
            for e in encodings(v) {
                if out.contains(e.as_ref()) {
                    out = Cow::Owned(out.replace(e.as_ref(), &mask(&e, false)));
                }
            }
        }
        out
    }

    /// `text` with every secret masked, by key and by value.
    pub fn text(&self, text: &str, seen: &mut Vec<String>) -> String {
        let keyed = self.by_key(text, seen);
        self.by_value(&keyed, seen).into_owned()
    }

    /// A named value (a header, a capture): masked whole when its name says
    /// it is a secret (and remembered), else masked by value.
    pub fn named<'a>(&self, name: &str, value: &'a str, seen: &mut Vec<String>) -> Cow<'a, str> {
        if self.reveal {
            Cow::Borrowed(value)
        } else if is_secret_name(name) {
            remember(value, seen);
            Cow::Owned(mask(value, false))
        } else {
            self.by_value(value, seen)
        }
    }
}

/// A secret as it may appear in text that left the process: as is,
/// percent-encoded (upper- and lower-case escapes), JSON-escaped (PHP's
/// `\/` too), and base64 (HTTP Basic credentials, a token of a token).
pub fn encodings(secret: &str) -> Vec<Cow<'_, str>> {
    use base64::Engine as _;
    let mut out: Vec<Cow<'_, str>> = vec![Cow::Borrowed(secret)];
    let mut add = |e: String| {
        if !out.iter().any(|o| *o == e) {
            out.push(Cow::Owned(e));
        }
    };
    let percent: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let lower = lower_escapes(&percent);
    add(percent.replace('+', "%20"));
    add(percent);
    add(lower);
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"');
    add(json.to_string());
    add(json.replace('/', "\\/"));
    add(base64::engine::general_purpose::STANDARD.encode(secret));
    out
}

/// `%2B` as `%2b`: some encoders write lower-case escapes.
fn lower_escapes(percent: &str) -> String {
    let mut out = String::with_capacity(percent.len());
    let mut chars = percent.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            out.extend(chars.by_ref().take(2).map(|h| h.to_ascii_lowercase()));
        }
    }
    out
}

/// The password a URL carries in its user info (`http://user:PASS@host`),
/// a secret to mask wherever the URL is shown.
pub fn url_password(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    let p = u.password()?;
    Some(
        form_urlencoded::parse(format!("p={p}").as_bytes())
            .next()
            .map_or_else(|| p.to_string(), |(_, v)| v.into_owned()),
    )
}

/// `url` with the password of its user info masked, for printing.
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("(masked)"));
            u.to_string().trim_end_matches('/').to_string()
        }
        _ => url.to_string(),
    }
}

/// Remembers a secret value for masking by value.
pub fn remember(value: &str, seen: &mut Vec<String>) {
    if value.len() >= MIN_VALUE_LEN && !value.ends_with("(masked)") && !seen.iter().any(|s| s == value) {
        seen.push(value.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_by_key_in_json_queries_and_forms() {
        let r = Redactor::new(false, vec![]);
        let t = r#"{"session_key":"tiihtNczf5v6AKRyjwEUhQ==","x":1,"data":{"token":"0123456789abcdef"}} ?appid=wx&secret=abcdef123&js_code=1 access_token=ACCESS123456"#;
        let m = r.text(t, &mut vec![]);
        for s in ["tiihtNczf5v6AKRyjwEUhQ==", "abcdef123", "0123456789abcdef", "ACCESS123456"] {
            assert!(!m.contains(s), "{s} left in {m}");
        }
        assert!(m.contains(r#""session_key":"tiih…(masked)""#) && m.contains("secret=abcd…(masked)"), "{m}");
        assert!(m.contains("appid=wx") && m.contains("js_code=1") && m.contains(r#""x":1"#), "{m}");
    }

    #[test]
    fn secrets_seen_once_are_masked_by_value_everywhere_after() {
        let r = Redactor::new(false, vec!["9f8e7d6c5b4a39281706f5e4d3c2b1a0".into()]);
        let mut seen = vec![];
        let _ = r.by_key(r#"{"code":0,"data":{"token":"deadbeefcafebabe"}}"#, &mut seen);
        let m = r.text("Bearer deadbeefcafebabe; failed at https://x/?s=9f8e7d6c5b4a39281706f5e4d3c2b1a0", &mut seen);
        assert!(!m.contains("deadbeefcafebabe") && !m.contains("9f8e7d6c5b4a39281706f5e4d3c2b1a0"), "{m}");
        assert_eq!(r.named("Authorization", "Bearer abc", &mut seen), "Bear…(masked)");
    }

    #[test]
    fn a_text_without_secrets_is_not_copied() {
        let r = Redactor::new(false, vec!["9f8e7d6c5b4a39281706f5e4d3c2b1a0".into()]);
        let t = r#"{"code":"0abc","encryptedData":"xyz+/=","iv":"r7BXXKkLb8qrSNn05n0qiA=="}"#;
        assert!(matches!(r.by_key(t, &mut vec![]), Cow::Borrowed(_)));
        assert!(matches!(r.by_value(t, &[]), Cow::Borrowed(_)));
        let mut seen = vec![];
        let m = r.by_key(r#"{"Access-Token":"abcdefghijkl","x":"y"} ?sessionKey=abcdefghijkm&z=1"#, &mut seen);
        assert_eq!(m, r#"{"Access-Token":"abcd…(masked)","x":"y"} ?sessionKey=abcd…(masked)&z=1"#);
        assert_eq!(seen, ["abcdefghijkl", "abcdefghijkm"]);
    }

    #[test]
    fn reveal_shows_everything() {
        let r = Redactor::new(true, vec!["9f8e7d6c5b4a39281706f5e4d3c2b1a0".into()]);
        let t = r#"{"session_key":"tiihtNczf5v6AKRyjwEUhQ=="} 9f8e7d6c5b4a39281706f5e4d3c2b1a0"#;
        assert_eq!(r.text(t, &mut vec![]), t);
    }

    #[test]
    fn a_secret_is_masked_in_every_encoding_it_may_leave_in() {
        let secret = "ab/cd+ef ghij\"kl==";
        let red = Redactor::new(false, vec![secret.into()]);
        for shown in [
            "ab/cd+ef ghij\"kl==",
            "ab%2Fcd%2Bef+ghij%22kl%3D%3D",
            "ab%2fcd%2bef+ghij%22kl%3d%3d",
            "ab%2Fcd%2Bef%20ghij%22kl%3D%3D",
            r#"ab/cd+ef ghij\"kl=="#,
            r#"ab\/cd+ef ghij\"kl=="#,
            "YWIvY2QrZWYgZ2hpaiJrbD09",
        ] {
            let text = format!("x {shown} y");
            let masked = red.by_value(&text, &[]);
            assert!(!masked.contains(shown) && masked.contains("…(masked)"), "{shown}: {masked}");
        }
    }
}
