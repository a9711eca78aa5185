//! YAML flows: the model, parsing with locations, checking, templating.

pub mod check;
pub mod error;
pub mod locate;
pub mod model;
pub mod raw;
pub mod template;
pub mod vars;

pub use check::{check, check_with, load, load_with};
pub use error::FlowError;
pub use model::{Cause, Flow, Step, StepKind};

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The longest duration anything takes (a sleep, a timeout, a run): 30 days.
pub const MAX_DURATION: Duration = Duration::from_hours(720);

/// Parses `500ms`, `5s`, `2m`, `1h`, `5m1s`, `1.5s`, up to [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    static RE: std::sync::OnceLock<(regex::Regex, regex::Regex)> = std::sync::OnceLock::new();
    let (whole, parts) = RE.get_or_init(|| {
        (
            regex::Regex::new(r"^(?:(\d+(?:\.\d+)?)(ms|s|m|h|d))+$").expect("valid regex"),
            regex::Regex::new(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)").expect("valid regex"),
        )
    });
    let t = text.trim();
    if !whole.is_match(t) {
        let hint = if t.chars().all(|c| c.is_ascii_digit() || c == '.') && !t.is_empty() {
            format!(" (a number needs a unit: {t}s?)")
        } else {
            String::new()
        };
        return Err(format!(
            "invalid duration `{text}`{hint}: a number and a unit, ms, s, m, h or d, e.g. 500ms, 30s, 5m1s, 2h, 30d"
        ));
    }
    let mut secs = 0.0;
    for cap in parts.captures_iter(t) {
        let n: f64 = cap[1].parse().map_err(|_| format!("invalid duration `{text}`"))?;
        secs += n * match &cap[2] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => 86_400.0,
        };
    }
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if d <= MAX_DURATION => Ok(d),
        _ => Err(format!("duration `{text}` is longer than the maximum, 30 days (720h)")),
    }
}

fn is_flow_file(f: &Path) -> bool {
    f.extension().is_some_and(|x| x == "yaml" || x == "yml")
}

/// The flow files a path names: a file as is, a directory's `*.yaml` /
/// `*.yml` sorted by name. Subfolders are not run; a note says which hold
/// flows (`lint --emit-flows`'s output, say), so none is skipped unsaid.
pub fn discover(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<String>), String> {
    let mut files = vec![];
    let mut notes = vec![];
    for p in paths {
        if p.is_dir() {
            let entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            let mut found: Vec<PathBuf> = entries.iter().filter(|f| is_flow_file(f)).cloned().collect();
            found.sort();
            let mut folders: Vec<&PathBuf> = entries.iter().filter(|d| d.is_dir()).collect();
            folders.sort();
            for d in folders {
                let n = std::fs::read_dir(d)
                    .map_or(0, |e| e.filter_map(Result::ok).filter(|e| is_flow_file(&e.path())).count());
                if n > 0 {
                    notes.push(format!(
                        "note: {} holds {n} flow file{} not run (subfolders are not searched): name the folder to run them",
                        d.display(),
                        if n == 1 { "" } else { "s" }
                    ));
                }
            }
            if found.is_empty() {
                return Err(format!(
                    "{}: no *.yaml flow files in this directory (`wxflow init` writes starter flows)",
                    p.display()
                ));
            }
            files.extend(found);
        } else if p.exists() {
            files.push(p.clone());
        } else {
            return Err(format!("{}: no such file or directory{}", p.display(), nearest_flow(p)));
        }
    }
    Ok((files, notes))
}

/// `; did you mean flows/login-first.yaml?` for a mistyped flow file next
/// to real ones; the `init` hint when there are none.
fn nearest_flow(missing: &Path) -> String {
    let dir = match missing.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = missing.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let candidates: Vec<String> = std::fs::read_dir(&dir)
        .map(|e| e.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    let near = candidates
        .iter()
        .filter(|c| strsim::levenshtein(c, &name) <= 3.max(name.len() / 4))
        .min_by_key(|c| strsim::levenshtein(c, &name));
    match near {
        Some(n) => format!("; did you mean {}?", missing.with_file_name(n).display()),
        None => " (`wxflow init` writes starter flows)".into(),
    }
}

/// Loads every flow, knowing the variable names `outside` gives; returns
/// the good ones and all errors.
pub fn load_all(files: &[PathBuf], outside: &[String]) -> (Vec<Flow>, Vec<FlowError>) {
    let mut flows = vec![];
    let mut errors = vec![];
    for f in files {
        match load_with(Path::new(f), outside) {
            Ok(flow) => flows.push(flow),
            Err(e) => errors.extend(e),
        }
    }
    (flows, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5m1s"), Ok(Duration::from_secs(301)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert_eq!(parse_duration("720h"), Ok(MAX_DURATION));
        for huge in ["721h", "99999999999999999999h", "1e400s"] {
            assert!(parse_duration(huge).is_err(), "{huge}");
        }
    }
}
