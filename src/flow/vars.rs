//! Variables from outside a flow, so one flow serves every environment:
//! `--var NAME=VALUE`, `--secret NAME=VALUE`, `--vars-file PATH` (a YAML or
//! JSON map, types kept) and the environment (`WXFLOW_VAR_<NAME>`,
//! `WXFLOW_SECRET_<NAME>`). Precedence: the flags over the environment over
//! the files (later files win) over the flow's own `vars:`. A secret's value
//! is masked wherever it would leave the process.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Environment variables that give a variable, and a secret.
pub const ENV_VAR: &str = "WXFLOW_VAR_";
pub const ENV_SECRET: &str = "WXFLOW_SECRET_";

/// Where a variable's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `--var` or `--secret`.
    Flag,
    /// `WXFLOW_VAR_…` or `WXFLOW_SECRET_…`.
    Env,
    /// A `--vars-file`.
    File(String),
}

impl std::fmt::Display for Source {
    /// `--var/--secret`, `environment`, `--vars-file PATH`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag => f.write_str("--var/--secret"),
            Source::Env => f.write_str("environment"),
            Source::File(p) => write!(f, "--vars-file {p}"),
        }
    }
}

/// One variable given from outside.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub value: Value,
    pub secret: bool,
    pub source: Source,
}

/// Every variable given from outside, by name, precedence applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outside(pub BTreeMap<String, Variable>);

/// Whether `name` can be a variable: what a template can name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// `NAME=VALUE` for `--var` and `--secret`.
pub fn parse_pair(text: &str) -> Result<(String, String), String> {
    let (name, value) = text.split_once('=').ok_or_else(|| format!("expected NAME=VALUE, got `{}`", head(text)))?;
    if !valid_name(name) {
        return Err(format!("`{}` is not a variable name: letters, digits, `_` and `-`, e.g. api_key=…", head(name)));
    }
    Ok((name.to_string(), value.to_string()))
}

/// At most 40 characters of `text`, for messages (a value may be a secret:
/// only its name is ever shown whole).
fn head(text: &str) -> String {
    let name = text.split('=').next().unwrap_or("");
    if text.contains('=') { format!("{name}=…") } else { name.chars().take(40).collect() }
}

impl Outside {
    /// Gathers the variables: `files` first (later ones win), then the
    /// environment `env`, then `vars` and `secrets` from the flags.
    pub fn gather(
        vars: &[(String, String)],
        secrets: &[(String, String)],
        files: &[std::path::PathBuf],
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Outside, String> {
        let mut all = BTreeMap::new();
        for file in files {
            for (name, value) in read_file(file)? {
                let source = Source::File(file.display().to_string());
                all.insert(name, Variable { value, secret: false, source });
            }
        }
        let mut from_env: Vec<(String, String)> = env.into_iter().collect();
        from_env.sort();
        for (key, value) in from_env {
            let (name, secret) = match (key.strip_prefix(ENV_VAR), key.strip_prefix(ENV_SECRET)) {
                (Some(n), _) => (n, false),
                (_, Some(n)) => (n, true),
                _ => continue,
            };
            if !valid_name(name) {
                return Err(format!("{key}: `{name}` is not a variable name: letters, digits, `_` and `-`"));
            }
            all.insert(name.to_string(), Variable { value: Value::String(value), secret, source: Source::Env });
        }
        for ((name, value), secret) in vars.iter().map(|v| (v, false)).chain(secrets.iter().map(|s| (s, true))) {
            all.insert(name.clone(), Variable { value: Value::String(value.clone()), secret, source: Source::Flag });
        }
        Ok(Outside(all))
    }

    /// The names given.
    pub fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }

    /// The secret values, for masking.
    pub fn secrets(&self) -> Vec<String> {
        self.0.values().filter(|v| v.secret).map(|v| crate::flow::template::as_text(&v.value)).collect()
    }

    /// Each as the dashboard shows it: its name, and `value (source)` with
    /// a secret's value masked.
    pub fn shown(&self) -> Vec<(String, String)> {
        let value = |v: &Variable| {
            let text = crate::flow::template::as_text(&v.value);
            if v.secret { crate::redact::mask(&text, false) } else { text }
        };
        self.0.iter().map(|(name, v)| (name.clone(), format!("{} ({})", value(v), v.source))).collect()
    }

    /// What a report says of them: name, source, secret, and the value
    /// (a secret's masked unless `reveal`).
    pub fn report(&self, reveal: bool) -> Value {
        let rows: Vec<Value> = self
            .0
            .iter()
            .map(|(name, v)| {
                let value = if v.secret {
                    Value::String(crate::redact::mask(&crate::flow::template::as_text(&v.value), reveal))
                } else {
                    v.value.clone()
                };
                serde_json::json!({ "name": name, "source": v.source, "secret": v.secret, "value": value })
            })
            .collect();
        Value::Array(rows)
    }
}

/// A `--vars-file`: a YAML or JSON map of names to values, types kept.
fn read_file(path: &Path) -> Result<Vec<(String, Value)>, String> {
    let shown = path.display();
    let bytes = crate::limits::read_bounded(path, crate::limits::MAX_INPUT_BYTES)
        .map_err(|e| format!("--vars-file {shown}: cannot read it: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| format!("--vars-file {shown}: not UTF-8 text: {e}"))?;
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| {
        let at = e.location().map(|l| format!(":{}:{}", l.line(), l.column())).unwrap_or_default();
        let message = e.to_string();
        format!("--vars-file {shown}{at}: {}", message.split(" at line ").next().unwrap_or(&message))
    })?;
    let map = match doc {
        serde_yaml::Value::Mapping(map) => map,
        // Empty, or comments only.
        serde_yaml::Value::Null => serde_yaml::Mapping::new(),
        _ => return Err(format!("--vars-file {shown}: expected a map of names to values, e.g. `api_key: abc`")),
    };
    map.into_iter()
        .map(|(k, v)| {
            let name = k.as_str().filter(|n| valid_name(n)).ok_or_else(|| {
                format!("--vars-file {shown}: `{}` is not a variable name: letters, digits, `_` and `-`", key_text(&k))
            })?;
            let value = serde_json::to_value(v).map_err(|e| format!("--vars-file {shown}: `{name}`: {e}"))?;
            Ok((name.to_string(), value))
        })
        .collect()
}

fn key_text(k: &serde_yaml::Value) -> String {
    serde_yaml::to_string(k).map(|s| s.trim().to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pair_is_name_equals_value_and_a_bad_one_says_why_without_its_value() {
        assert_eq!(parse_pair("api_key=a=b"), Ok(("api_key".into(), "a=b".into())));
        assert_eq!(parse_pair("x="), Ok(("x".into(), String::new())));
        assert!(parse_pair("noequals").unwrap_err().contains("NAME=VALUE"));
        assert!(parse_pair("=v").unwrap_err().contains("not a variable name"));
        let err = parse_pair("bad name=hunter2").unwrap_err();
        assert!(err.contains("not a variable name") && !err.contains("hunter2"), "{err}");
    }

    #[test]
    fn flags_beat_the_environment_which_beats_files_and_later_files_win() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.yaml"), dir.path().join("b.json"));
        std::fs::write(&a, "base: from-a\nonly_a: 1\nnested: {x: [1, 2]}\nenv_wins: a\nflag_wins: a\n").unwrap();
        std::fs::write(&b, r#"{"base": "from-b", "env_wins": "b"}"#).unwrap();
        let env = [
            ("WXFLOW_VAR_env_wins".to_string(), "env".to_string()),
            ("WXFLOW_SECRET_flag_wins".to_string(), "env".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ];
        let o =
            Outside::gather(&[("flag_wins".into(), "flag".into())], &[("key".into(), "s3cret".into())], &[a, b], env)
                .unwrap();
        let v = |n: &str| o.0[n].value.clone();
        assert_eq!(v("base"), json!("from-b"));
        assert_eq!(v("only_a"), json!(1), "a file keeps types");
        assert_eq!(v("nested"), json!({"x": [1, 2]}));
        assert_eq!((v("env_wins"), o.0["env_wins"].source.clone()), (json!("env"), Source::Env));
        assert_eq!((v("flag_wins"), o.0["flag_wins"].secret), (json!("flag"), false));
        assert!(o.0["key"].secret);
        assert_eq!(o.secrets(), vec!["s3cret".to_string()]);
        assert!(!o.report(false).to_string().contains("s3cret"));
        assert_eq!(o.0.len(), 6, "PATH is not a variable");
    }

    #[test]
    fn a_vars_file_that_is_not_a_map_or_does_not_parse_names_the_file_and_the_place() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("v.yaml");
        std::fs::write(&f, "a: 1\nb: [unclosed\n").unwrap();
        let err = Outside::gather(&[], &[], std::slice::from_ref(&f), []).unwrap_err();
        assert!(err.starts_with(&format!("--vars-file {}:", f.display())) && err.contains(":3:"), "{err}");
        std::fs::write(&f, "- a\n- b\n").unwrap();
        let err = Outside::gather(&[], &[], std::slice::from_ref(&f), []).unwrap_err();
        assert!(err.contains("expected a map"), "{err}");
    }
}
