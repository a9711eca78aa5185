//! Checking an http step: its request, assertions and captures.

use super::Checker;
use crate::flow::error::did_you_mean;
use crate::flow::model::{Asserts, Body, Capture, Check, CheckKind, HttpSpec, HttpStep, PREDICATE_OPS, Predicate};
use serde_json::Value;
use std::time::Duration;

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Checks an http step: compiles its request's templates (each placed in
/// the file), parses its assertions and captures.
pub(super) fn check_http(
    c: &mut Checker,
    path: &str,
    spec: HttpSpec,
    asserts: Option<&Asserts>,
    captures: &serde_json::Map<String, Value>,
    step_path: &str,
) -> Option<HttpStep> {
    let bodies = [spec.json.is_some(), spec.form.is_some(), spec.raw.is_some()].iter().filter(|b| **b).count();
    if bodies > 1 {
        c.at_key(step_path, "http", "an http step takes one body: `json`, `form` or `raw`".into(), None);
    }
    let default_method = if bodies > 0 { "POST" } else { "GET" };
    let method_text = spec.method.clone().unwrap_or_else(|| default_method.into()).to_uppercase();
    if !METHODS.contains(&method_text.as_str()) {
        c.at_value(
            &format!("{path}.method"),
            method_text.len(),
            format!("unknown HTTP method `{method_text}`"),
            did_you_mean(&method_text, METHODS.iter().copied()),
        );
    }
    let method = reqwest::Method::from_bytes(method_text.as_bytes()).unwrap_or(reqwest::Method::GET);
    let timeout = match &spec.timeout {
        Some(t) => c.duration(&format!("{path}.timeout"), t)?,
        None => Duration::from_secs(10),
    };
    let a = asserts.cloned().unwrap_or_default();
    let ap = format!("{step_path}.assert");
    let mut checks = vec![];
    let mut check = |c: &Checker, path: String, kind: CheckKind| checks.push(Check { kind, at: c.locs.key(&path) });
    if let Some(s) = a.status.clone() {
        check(c, format!("{ap}.status"), CheckKind::Status(s));
    }
    for (p, v) in &a.jsonpath {
        let at = format!("{ap}.jsonpath.{p}");
        match serde_json_path::JsonPath::parse(p) {
            Ok(jp) => {
                if let Some(pred) = predicate(c, &at, v) {
                    check(c, at, CheckKind::JsonPath(p.clone(), jp, pred));
                }
            }
            Err(e) => c.at_key(
                &format!("{ap}.jsonpath"),
                p,
                format!("invalid JSONPath `{p}`: {e}"),
                (!p.starts_with('$')).then(|| "JSONPath (RFC 9535) starts with `$`, e.g. `$.data.token`".into()),
            ),
        }
    }
    for (h, v) in &a.headers {
        let at = format!("{ap}.headers.{h}");
        if let Some(pred) = predicate(c, &at, v) {
            check(c, at, CheckKind::Header(h.to_lowercase(), pred));
        }
    }
    if let Some(pred) = a.body.as_ref().and_then(|v| predicate(c, &format!("{ap}.body"), v)) {
        check(c, format!("{ap}.body"), CheckKind::Body(pred));
    }
    if let Some(t) = &a.max_duration {
        let at = format!("{ap}.max_duration");
        let max = c.duration(&at, t)?;
        check(c, at, CheckKind::MaxDuration(max));
    }
    let mut caps = vec![];
    for (name, v) in captures {
        let at = format!("{step_path}.capture.{name}");
        if let Some(cap) = capture(c, &at, v) {
            caps.push((name.clone(), cap, c.locs.key(&at)));
        }
    }
    let url = c.template(&format!("{path}.url"), &spec.url)?;
    let mut request_headers = vec![];
    for (name, text) in &spec.headers {
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            let hint = "a header name is letters, digits and `-` (no spaces or `:`), e.g. `x-request-id`";
            c.at_key(&format!("{path}.headers"), name, format!("invalid HTTP header name `{name}`"), Some(hint.into()));
        }
        request_headers.push((name.clone(), c.template(&format!("{path}.headers.{name}"), text)?));
    }
    let request_body = if let Some(j) = &spec.json {
        Body::Json(c.value_template(&format!("{path}.json"), j)?)
    } else if let Some(form) = &spec.form {
        let mut fields = vec![];
        for (k, v) in form {
            fields.push((k.clone(), c.value_template(&format!("{path}.form.{k}"), v)?));
        }
        Body::Form(fields)
    } else if let Some(raw) = &spec.raw {
        Body::Raw(c.template(&format!("{path}.raw"), raw)?)
    } else {
        Body::None
    };
    Some(HttpStep { method, url, headers: request_headers, body: request_body, timeout, checks, captures: caps })
}

pub(super) fn predicate(c: &mut Checker, path: &str, v: &Value) -> Option<Predicate> {
    let Value::Object(o) = v else { return Some(Predicate::Equals(v.clone())) };
    let ops: Vec<&String> = o.keys().filter(|k| PREDICATE_OPS.contains(&k.as_str())).collect();
    if ops.is_empty() {
        if let Some(k) = o.keys().find(|k| did_you_mean(k, PREDICATE_OPS.iter().copied()).is_some()) {
            c.at_key(path, k, format!("unknown predicate `{k}`"), did_you_mean(k, PREDICATE_OPS.iter().copied()));
            return None;
        }
        return Some(Predicate::Equals(v.clone()));
    }
    if o.len() != 1 {
        let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
        c.at_key(
            parent,
            key,
            format!("one predicate per check, found {}", o.keys().cloned().collect::<Vec<_>>().join(", ")),
            Some(format!("predicates: {}", PREDICATE_OPS.join(", "))),
        );
        return None;
    }
    let (op, arg) = o.iter().next()?;
    let at = format!("{path}.{op}");
    let number = |c: &mut Checker| {
        if let Some(n) = arg.as_f64() {
            Some(n)
        } else {
            c.at_value(&at, 1, format!("`{op}` needs a number, got {arg}"), None);
            None
        }
    };
    Some(match op.as_str() {
        "equals" => Predicate::Equals(arg.clone()),
        "not_equals" => Predicate::NotEquals(arg.clone()),
        "exists" => {
            if let Some(b) = arg.as_bool() {
                Predicate::Exists(b)
            } else {
                c.at_value(&at, 1, format!("`exists` needs true or false, got {arg}"), None);
                return None;
            }
        }
        "matches" => match arg.as_str().map(regex::Regex::new) {
            Some(Ok(r)) => Predicate::Matches(r),
            Some(Err(e)) => {
                c.at_value(&at, 1, format!("invalid regex: {e}"), None);
                return None;
            }
            None => {
                c.at_value(&at, 1, "`matches` needs a regex string".into(), None);
                return None;
            }
        },
        "contains" => Predicate::Contains(crate::flow::template::as_text(arg)),
        "lt" => Predicate::Lt(number(c)?),
        "le" => Predicate::Le(number(c)?),
        "gt" => Predicate::Gt(number(c)?),
        _ => Predicate::Ge(number(c)?),
    })
}

fn capture(c: &mut Checker, path: &str, v: &Value) -> Option<Capture> {
    let (how, arg) = match v {
        Value::String(s) if s.starts_with('$') => ("jsonpath", s.as_str()),
        Value::Object(o) if o.len() == 1 => {
            let (k, a) = o.iter().next()?;
            (k.as_str(), a.as_str().unwrap_or(""))
        }
        _ => {
            c.at_value(
                path,
                1,
                "a capture is `$.json.path`, `{jsonpath: …}`, `{header: …}` or `{regex: …}`".into(),
                None,
            );
            return None;
        }
    };
    let at = format!("{path}.{how}");
    match how {
        "jsonpath" => match serde_json_path::JsonPath::parse(arg) {
            Ok(p) => Some(Capture::JsonPath(p)),
            Err(e) => {
                c.at_value(
                    if v.is_string() { path } else { &at },
                    arg.len(),
                    format!("invalid JSONPath `{arg}`: {e}"),
                    None,
                );
                None
            }
        },
        "header" => Some(Capture::Header(arg.to_lowercase())),
        "regex" => match regex::Regex::new(arg) {
            Ok(r) => Some(Capture::Regex(r)),
            Err(e) => {
                c.at_value(&at, arg.len(), format!("invalid regex: {e}"), None);
                None
            }
        },
        other => {
            c.at_key(
                path,
                other,
                format!("unknown capture source `{other}`"),
                did_you_mean(other, ["jsonpath", "header", "regex"]),
            );
            None
        }
    }
}
