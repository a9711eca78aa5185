//! Keeping secrets in the process. Text that leaves it (console, reports,
//! the dashboard) goes through a [`Redactor`], which masks secrets by key
//! (JSON fields, query and form parameters, credential headers) and by
//! value (the apps' secrets, and every secret value seen so far in the
//! iteration, wherever it turns up again).

use regex::Regex;
use std::sync::OnceLock;

/// Masks a secret: its first four characters, then `…(masked)`.
pub fn mask(secret: &str, reveal: bool) -> String {
    if reveal {
        return secret.to_string();
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

fn patterns() -> &'static (Regex, Regex) {
    static RE: OnceLock<(Regex, Regex)> = OnceLock::new();
    RE.get_or_init(|| {
        (
            Regex::new(r#""([A-Za-z0-9_\-]+)"(\s*:\s*)"((?:[^"\\]|\\.)*)""#).expect("valid regex"),
            Regex::new(r#"(^|[?&\s;])([A-Za-z0-9_\-]+)=([^&\s;"]*)"#).expect("valid regex"),
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
    pub fn new(reveal: bool, known: Vec<String>) -> Self {
        Redactor { reveal, known: known.into_iter().filter(|v| v.len() >= MIN_VALUE_LEN).collect() }
    }

    pub fn reveal(&self) -> bool {
        self.reveal
    }

    /// Adds the values of secret-named JSON fields and parameters in `text`
    /// to `seen`, so they are masked wherever they appear later.
    pub fn harvest(text: &str, seen: &mut Vec<String>) {
        let (json, query) = patterns();
        let named = json
            .captures_iter(text)
            .map(|c| (c.get(1), c.get(3)))
            .chain(query.captures_iter(text).map(|c| (c.get(2), c.get(3))));
        for (name, value) in named {
            if let (Some(name), Some(value)) = (name, value)
                && is_secret_name(name.as_str())
            {
                remember(value.as_str(), seen);
            }
        }
    }

    /// `text` with every secret masked, by key and by value (the known
    /// secrets and `seen`).
    pub fn text(&self, text: &str, seen: &[String]) -> String {
        if self.reveal {
            return text.to_string();
        }
        let (json, query) = patterns();
        let by_key = json.replace_all(text, |c: &regex::Captures| {
            if is_secret_name(&c[1]) {
                format!("\"{}\"{}\"{}\"", &c[1], &c[2], mask(&c[3], false))
            } else {
                c[0].to_string()
            }
        });
        let by_key = query.replace_all(&by_key, |c: &regex::Captures| {
            if is_secret_name(&c[2]) { format!("{}{}={}", &c[1], &c[2], mask(&c[3], false)) } else { c[0].to_string() }
        });
        let mut out = by_key.into_owned();
        for v in self.known.iter().chain(seen) {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), &mask(v, false));
            }
        }
        out
    }

    /// A named value (a header, a capture): masked whole when its name says
    /// it is a secret, else as text.
    pub fn named(&self, name: &str, value: &str, seen: &[String]) -> String {
        if !self.reveal && is_secret_name(name) { mask(value, false) } else { self.text(value, seen) }
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
        let m = r.text(t, &[]);
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
        Redactor::harvest(r#"{"code":0,"data":{"token":"deadbeefcafebabe"}}"#, &mut seen);
        let m = r.text("Bearer deadbeefcafebabe; failed at https://x/?s=9f8e7d6c5b4a39281706f5e4d3c2b1a0", &seen);
        assert!(!m.contains("deadbeefcafebabe") && !m.contains("9f8e7d6c5b4a39281706f5e4d3c2b1a0"), "{m}");
        assert_eq!(r.named("Authorization", "Bearer abc", &seen), "Bear…(masked)");
    }

    #[test]
    fn reveal_shows_everything() {
        let r = Redactor::new(true, vec!["9f8e7d6c5b4a39281706f5e4d3c2b1a0".into()]);
        let t = r#"{"session_key":"tiihtNczf5v6AKRyjwEUhQ=="} 9f8e7d6c5b4a39281706f5e4d3c2b1a0"#;
        assert_eq!(r.text(t, &[]), t);
    }
}
