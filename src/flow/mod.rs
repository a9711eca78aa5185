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
            regex::Regex::new(r"^(?:(\d+(?:\.\d+)?)(ms|s|m|h))+$").expect("valid regex"),
            regex::Regex::new(r"(\d+(?:\.\d+)?)(ms|s|m|h)").expect("valid regex"),
        )
    });
    let t = text.trim();
    if !whole.is_match(t) {
        return Err(format!("invalid duration `{text}`"));
    }
    let mut secs = 0.0;
    for cap in parts.captures_iter(t) {
        let n: f64 = cap[1].parse().map_err(|_| format!("invalid duration `{text}`"))?;
        secs += n * match &cap[2] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            _ => 3600.0,
        };
    }
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if d <= MAX_DURATION => Ok(d),
        _ => Err(format!("duration `{text}` is longer than the maximum, 30 days (720h)")),
    }
}

/// The flow files a path names: a file as is, a directory's `*.yaml` /
/// `*.yml` sorted by name.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = vec![];
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            found.sort();
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
            return Err(format!("{}: no such file or directory (`wxflow init` writes starter flows)", p.display()));
        }
    }
    Ok(files)
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
