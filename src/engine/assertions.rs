//! Assertions and captures on an http step's answer.

use super::result::Failure;
use crate::flow::model::{Capture, CheckKind, HttpStep, Predicate};
use crate::flow::template::as_text;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// An answer as the assertions see it.
pub struct Answer<'a> {
    pub status: u16,
    pub headers: &'a BTreeMap<String, String>,
    pub text: &'a str,
    pub json: Option<&'a Value>,
    /// The body was cut at the read cap.
    pub truncated: bool,
    pub duration: Duration,
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// Checks one predicate against an optional value; `Err` says why not.
pub fn test(pred: &Predicate, v: Option<&Value>) -> Result<(), String> {
    let shown = v.map_or("nothing".to_string(), std::string::ToString::to_string);
    let ok = match pred {
        Predicate::Exists(want) => v.is_some() == *want,
        _ => match v {
            None => false,
            Some(v) => match pred {
                Predicate::Equals(e) => v == e || (num(v).is_some() && num(v) == num(e) && !e.is_string()),
                Predicate::NotEquals(e) => v != e,
                Predicate::Matches(r) => r.is_match(&as_text(v)),
                Predicate::Contains(s) => as_text(v).contains(s.as_str()),
                Predicate::Lt(n) => num(v).is_some_and(|x| x < *n),
                Predicate::Le(n) => num(v).is_some_and(|x| x <= *n),
                Predicate::Gt(n) => num(v).is_some_and(|x| x > *n),
                Predicate::Ge(n) => num(v).is_some_and(|x| x >= *n),
                Predicate::Exists(_) => unreachable!("handled above"),
            },
        },
    };
    if ok { Ok(()) } else { Err(format!("expected {}, got {shown}", describe(pred))) }
}

fn describe(p: &Predicate) -> String {
    match p {
        Predicate::Equals(v) => format!("{v}"),
        Predicate::NotEquals(v) => format!("not {v}"),
        Predicate::Exists(true) => "a value".into(),
        Predicate::Exists(false) => "no value".into(),
        Predicate::Matches(r) => format!("a match for /{}/", r.as_str()),
        Predicate::Contains(s) => format!("text containing {s:?}"),
        Predicate::Lt(n) => format!("< {n}"),
        Predicate::Le(n) => format!("<= {n}"),
        Predicate::Gt(n) => format!("> {n}"),
        Predicate::Ge(n) => format!(">= {n}"),
    }
}

/// What one assertion found wrong with the answer, if anything.
fn failure(kind: &CheckKind, a: &Answer) -> Option<String> {
    match kind {
        CheckKind::Status(s) => (!s.accepts(a.status)).then(|| format!("status {} ≠ {s}", a.status)),
        CheckKind::JsonPath(text, path, pred) => {
            let e = test(pred, a.json.and_then(|j| path.query(j).first())).err()?;
            let why = match (a.json, a.truncated) {
                (_, true) => " (the body was cut at 1 MiB, so it was not read as JSON)",
                (None, false) => " (the body is not JSON)",
                _ => "",
            };
            Some(format!("{text}: {e}{why}"))
        }
        CheckKind::Header(name, pred) => {
            let v = a.headers.get(name).map(|h| Value::String(h.clone()));
            test(pred, v.as_ref()).err().map(|e| format!("header {name}: {e}"))
        }
        CheckKind::Body(pred) => {
            test(pred, Some(&Value::String(a.text.to_string()))).err().map(|e| format!("body: {e}"))
        }
        CheckKind::MaxDuration(max) => (a.duration > *max)
            .then(|| format!("took {:.0} ms > {:.0} ms", a.duration.as_secs_f64() * 1e3, max.as_secs_f64() * 1e3)),
    }
}

/// Every failed assertion, in order, each at its place in the flow file.
pub fn check(step: &HttpStep, a: &Answer) -> Vec<Failure> {
    step.checks.iter().filter_map(|c| Some(Failure::new(failure(&c.kind, a)?, c.at))).collect()
}

/// Evaluates the captures; `Err` names the first that found nothing.
pub fn capture(step: &HttpStep, a: &Answer) -> Result<BTreeMap<String, Value>, Failure> {
    let mut out = BTreeMap::new();
    for (name, cap, at) in &step.captures {
        let v = match cap {
            Capture::JsonPath(p) => a.json.and_then(|j| p.query(j).first().cloned()),
            Capture::Header(h) => a.headers.get(h).map(|v| Value::String(v.clone())),
            Capture::Regex(r) => r
                .captures(a.text)
                .map(|c| Value::String(c.get(1).or_else(|| c.get(0)).map_or("", |m| m.as_str()).to_string())),
        };
        match v {
            Some(v) => {
                out.insert(name.clone(), v);
            }
            None => return Err(Failure::new(format!("capture `{name}` found nothing in the answer"), *at)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn predicates_compare_as_documented() {
        assert!(test(&Predicate::Equals(json!(0)), Some(&json!(0))).is_ok());
        assert!(test(&Predicate::Equals(json!(0)), Some(&json!(0.0))).is_ok());
        assert!(test(&Predicate::Equals(json!("0")), Some(&json!(0))).is_err());
        assert!(test(&Predicate::Exists(true), None).is_err());
        assert!(test(&Predicate::Exists(false), None).is_ok());
        assert!(test(&Predicate::Matches(regex::Regex::new("^ab").unwrap()), Some(&json!("abc"))).is_ok());
        assert!(test(&Predicate::Gt(3.0), Some(&json!(4))).is_ok());
        assert!(test(&Predicate::Lt(3.0), Some(&json!("x"))).is_err());
        assert_eq!(test(&Predicate::Equals(json!(0)), Some(&json!(-41003))).unwrap_err(), "expected 0, got -41003");
    }

    #[test]
    fn statuses_are_codes_classes_or_lists_of_them() {
        let spec = |yaml: &str| serde_yaml::from_str::<crate::flow::model::StatusSpec>(yaml);
        let refusal = spec("[2xx, 4xx]").unwrap();
        assert!(refusal.accepts(200) && refusal.accepts(401) && !refusal.accepts(500) && !refusal.accepts(302));
        assert_eq!(refusal.to_string(), "one of 2xx, 4xx");
        assert!(
            spec("4XX").unwrap().accepts(404)
                && spec("201").unwrap().accepts(201)
                && !spec("201").unwrap().accepts(200)
        );
        for bad in ["6xx", "ok", "[]", "99", "[200, x]", "4x"] {
            assert!(spec(bad).is_err(), "{bad}");
        }
    }
}
