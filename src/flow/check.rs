//! Turns a flow file into a checked [`Flow`], or every error in it, each
//! with `file:line:col`, a caret and a hint. Nothing runs before this passes.

use super::error::{FlowError, did_you_mean};
use super::locate::{Locations, Pos};
use super::model::*;
use super::parse_duration;
use super::template::Template;
use crate::mock::rotation::validate_faults;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// Names every flow can use in templates.
pub const BUILTINS: &[&str] = &["target", "mock", "user", "seed", "iteration"];

const STEP_KINDS: &[&str] = &[
    "wx.login",
    "wx.getUserInfo",
    "wx.getUserProfile",
    "wx.getShareInfo",
    "wx.getWeRunData",
    "wx.getPhoneNumber",
    "wx.checkSession",
    "http",
    "sleep",
];

struct Checker<'a> {
    file: &'a str,
    source: &'a str,
    locs: Locations,
    /// The whole file as JSON, for finding template strings by path.
    tree: Value,
    errors: Vec<FlowError>,
}

impl Checker<'_> {
    fn err(&mut self, pos: Option<Pos>, width: usize, message: String, hint: Option<String>) {
        self.errors.push(FlowError::new(self.file, self.source, pos, width, message).hint(hint));
    }

    /// An error at `key` of the mapping at `parent`, underlining the key
    /// (keys such as JSONPaths may hold dots, so they come apart).
    fn at_key(&mut self, parent: &str, key: &str, message: String, hint: Option<String>) {
        let path = if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") };
        let pos = self.locs.key(&path);
        self.err(pos, key.chars().count(), message, hint);
    }

    /// An error at the value of `path`.
    fn at_value(&mut self, path: &str, width: usize, message: String, hint: Option<String>) {
        let pos = self.locs.value(path).or_else(|| self.locs.key(path));
        self.err(pos, width, message, hint);
    }

    fn duration(&mut self, path: &str, text: &str) -> Option<Duration> {
        match parse_duration(text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.at_value(path, text.chars().count(), e, Some("write durations like 500ms, 5s, 2m or 5m1s".into()));
                None
            }
        }
    }
}

/// Reads and checks a flow file.
pub fn load(path: &std::path::Path) -> Result<Flow, Vec<FlowError>> {
    let file = path.display().to_string();
    let source = std::fs::read_to_string(path)
        .map_err(|e| vec![FlowError::new(&file, "", None, 1, format!("cannot read flow file: {e}"))])?;
    check(&file, &source)
}

/// Checks flow `source` read from `file`.
pub fn check(file: &str, source: &str) -> Result<Flow, Vec<FlowError>> {
    let raw: RawFlow = serde_yaml::from_str(source).map_err(|e| vec![serde_error(file, source, &e)])?;
    let tree = serde_yaml::from_str::<serde_yaml::Value>(source)
        .ok()
        .and_then(|v| serde_json::to_value(v).ok())
        .unwrap_or_default();
    let mut c = Checker { file, source, locs: Locations::index(source), tree, errors: vec![] };
    let flow = check_flow(&mut c, file, raw);
    if c.errors.is_empty() { Ok(flow) } else { Err(c.errors) }
}

/// A serde_yaml error, reworded with a did-you-mean where it names an
/// unknown field or variant.
fn serde_error(file: &str, source: &str, e: &serde_yaml::Error) -> FlowError {
    let text = e.to_string();
    let message = text.split(" at line ").next().unwrap_or(&text).to_string();
    let pos = e.location().map(|l| Pos { line: l.line(), col: l.column() });
    let unknown =
        regex::Regex::new(r"unknown (field|variant) `([^`]*)`, expected (?:one of )?(.*)").expect("valid regex");
    let (width, hint) = match unknown.captures(&message) {
        Some(cap) => {
            let word = cap[2].to_string();
            let expected: Vec<String> = cap[3].split(", ").map(|s| s.trim_matches('`').to_string()).collect();
            let hint = did_you_mean(&word, expected.iter().map(String::as_str))
                .or_else(|| Some(format!("expected one of {}", &cap[3])));
            (word.chars().count(), hint)
        }
        None => (
            1,
            message
                .contains("did not find expected")
                .then(|| "check the indentation of this line and the one above".into()),
        ),
    };
    let message = message.replacen(": unknown field", ": unknown key", 1);
    FlowError::new(file, source, pos, width, message).hint(hint)
}

/// What a template name refers to, while checking in step order.
enum Known {
    Any,
    Step { kind: String, fields: &'static [&'static str] },
}

fn check_flow(c: &mut Checker, file: &str, raw: RawFlow) -> Flow {
    if raw.name.trim().is_empty() {
        c.at_value("name", 1, "the flow's `name` is empty".into(), None);
    }
    if raw.steps.is_empty() {
        c.at_key(
            "",
            "steps",
            "the flow has no steps".into(),
            Some("add at least one step, e.g. `- id: login` / `wx.login: {}`".into()),
        );
    }
    if let Some(faults) = &raw.mock.faults
        && let Err(e) = validate_faults(faults)
    {
        c.at_key("mock", "faults", e, None);
    }
    if raw.expect.cause.is_some() && raw.expect.outcome == ExpectedOutcome::Pass {
        c.at_key("expect", "cause", "`expect.cause` needs `outcome: fail`".into(), None);
    }
    let mut known: BTreeMap<String, Known> = BUILTINS.iter().map(|b| (b.to_string(), Known::Any)).collect();
    for name in raw.vars.keys() {
        known.insert(name.clone(), Known::Any);
    }
    let later: HashSet<String> = raw.steps.iter().map(|s| s.id.clone()).collect();
    let mut steps = vec![];
    let mut seen = HashSet::new();
    for (i, rs) in raw.steps.into_iter().enumerate() {
        let path = format!("steps.{i}");
        if !rs.id.chars().all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '-') || rs.id.is_empty() {
            c.at_value(
                &format!("{path}.id"),
                rs.id.len(),
                format!("step id `{}` may hold only letters, digits, `_` and `-`", rs.id),
                None,
            );
        }
        let duplicate = !seen.insert(rs.id.clone());
        if duplicate {
            c.at_value(
                &format!("{path}.id"),
                rs.id.len(),
                format!("duplicate step id `{}`", rs.id),
                Some("give every step its own id".into()),
            );
        }
        if BUILTINS.contains(&rs.id.as_str())
            || known.contains_key(&rs.id) && !matches!(known.get(&rs.id), Some(Known::Step { .. }))
        {
            c.at_value(
                &format!("{path}.id"),
                rs.id.len(),
                format!("step id `{}` hides a variable of the same name", rs.id),
                None,
            );
        }
        let line = c.locs.value(&path).map_or(0, |p| p.line);
        if let Some(step) = check_step(c, &path, rs, &known, &later) {
            let (kind, fields) = match &step.kind {
                StepKind::Wx { api, args } => (format!("wx.{}", api.route()), api.fields(args.mode)),
                StepKind::Http(h) => {
                    for (name, _) in &h.captures {
                        known.insert(name.clone(), Known::Any);
                    }
                    ("http".into(), HTTP_FIELDS)
                }
                StepKind::Sleep { .. } => ("sleep".into(), &[][..]),
            };
            if !duplicate {
                known.insert(step.id.clone(), Known::Step { kind, fields });
            }
            steps.push(Step { line, ..step });
        }
    }
    let thresholds = check_thresholds(c, &raw.thresholds, &steps);
    let id =
        std::path::Path::new(file).file_stem().map_or_else(|| raw.name.clone(), |s| s.to_string_lossy().into_owned());
    Flow {
        id,
        name: raw.name,
        description: raw.description,
        file: file.into(),
        vars: raw.vars,
        mock: raw.mock,
        expect: raw.expect,
        thresholds,
        steps,
    }
}

fn check_step(
    c: &mut Checker,
    path: &str,
    rs: RawStep,
    known: &BTreeMap<String, Known>,
    later: &HashSet<String>,
) -> Option<Step> {
    let wx = [
        (WxApi::Login, rs.login, "wx.login"),
        (WxApi::GetUserInfo, rs.get_user_info, "wx.getUserInfo"),
        (WxApi::GetUserProfile, rs.get_user_profile, "wx.getUserProfile"),
        (WxApi::GetShareInfo, rs.get_share_info, "wx.getShareInfo"),
        (WxApi::GetWeRunData, rs.get_werun_data, "wx.getWeRunData"),
        (WxApi::GetPhoneNumber, rs.get_phone_number, "wx.getPhoneNumber"),
        (WxApi::CheckSession, rs.check_session, "wx.checkSession"),
    ];
    let mut kinds: Vec<(&str, StepKind)> = vec![];
    for (api, args, name) in wx {
        if let Some(args) = args {
            if args.mode.is_some() && api != WxApi::GetPhoneNumber {
                c.at_key(
                    &format!("{path}.{name}"),
                    "mode",
                    format!("`mode` applies to wx.getPhoneNumber, not {name}"),
                    None,
                );
            }
            if args.watermark_appid.is_some() && matches!(api, WxApi::Login | WxApi::CheckSession) {
                c.at_key(
                    &format!("{path}.{name}"),
                    "watermark_appid",
                    format!("{name} seals no data: `watermark_appid` does not apply"),
                    None,
                );
            }
            kinds.push((name, StepKind::Wx { api, args }));
        }
    }
    if let Some(spec) = rs.http {
        if let Some(h) = check_http(c, &format!("{path}.http"), spec, rs.asserts.as_ref(), &rs.capture, path) {
            kinds.push(("http", StepKind::Http(Box::new(h))));
        }
    } else {
        if rs.asserts.is_some() {
            c.at_key(path, "assert", "only http steps take `assert`".into(), None);
        }
        if !rs.capture.is_empty() {
            c.at_key(path, "capture", "only http steps take `capture`".into(), None);
        }
    }
    if let Some(sleep) = rs.sleep {
        let (text, clock, p) = match &sleep {
            SleepSpec::Short(t) => (t.as_str(), SleepClock::Real, format!("{path}.sleep")),
            SleepSpec::Full { duration, clock } => (duration.as_str(), *clock, format!("{path}.sleep.duration")),
        };
        if let Some(duration) = c.duration(&p, text) {
            kinds.push(("sleep", StepKind::Sleep { duration, clock }));
        }
    }
    check_refs(c, path, &rs.id, known, later);
    match kinds.len() {
        0 => {
            c.at_value(
                path,
                2,
                format!("step `{}` has no kind", rs.id),
                Some(format!("add one of: {}", STEP_KINDS.join(", "))),
            );
            None
        }
        1 => kinds.pop().map(|(_, kind)| Step { id: rs.id, kind, continue_on_error: rs.continue_on_error, line: 0 }),
        _ => {
            let second = kinds[1].0;
            c.at_key(
                path,
                second,
                format!("step `{}` has two kinds, `{}` and `{second}`", rs.id, kinds[0].0),
                Some("split it into two steps".into()),
            );
            None
        }
    }
}

fn check_http(
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
    const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
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
    let max_duration = match &a.max_duration {
        Some(t) => Some(c.duration(&format!("{ap}.max_duration"), t)?),
        None => None,
    };
    let mut jsonpath = vec![];
    for (p, v) in &a.jsonpath {
        let at = format!("{ap}.jsonpath.{p}");
        match serde_json_path::JsonPath::parse(p) {
            Ok(jp) => {
                if let Some(pred) = predicate(c, &at, v) {
                    jsonpath.push((p.clone(), jp, pred));
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
    let mut headers = vec![];
    for (h, v) in &a.headers {
        if let Some(pred) = predicate(c, &format!("{ap}.headers.{h}"), v) {
            headers.push((h.to_lowercase(), pred));
        }
    }
    let body = a.body.as_ref().and_then(|v| predicate(c, &format!("{ap}.body"), v));
    let mut caps = vec![];
    for (name, v) in captures {
        if let Some(cap) = capture(c, &format!("{step_path}.capture.{name}"), v) {
            caps.push((name.clone(), cap));
        }
    }
    Some(HttpStep { spec, method, timeout, status: a.status, jsonpath, headers, body, max_duration, captures: caps })
}

fn predicate(c: &mut Checker, path: &str, v: &Value) -> Option<Predicate> {
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
    let number = |c: &mut Checker| match arg.as_f64() {
        Some(n) => Some(n),
        None => {
            c.at_value(&at, 1, format!("`{op}` needs a number, got {arg}"), None);
            None
        }
    };
    Some(match op.as_str() {
        "equals" => Predicate::Equals(arg.clone()),
        "not_equals" => Predicate::NotEquals(arg.clone()),
        "exists" => match arg.as_bool() {
            Some(b) => Predicate::Exists(b),
            None => {
                c.at_value(&at, 1, format!("`exists` needs true or false, got {arg}"), None);
                return None;
            }
        },
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
        "contains" => Predicate::Contains(super::template::as_text(arg)),
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

/// Checks every template in a step against the names known before it.
fn check_refs(
    c: &mut Checker,
    step_path: &str,
    step_id: &str,
    known: &BTreeMap<String, Known>,
    later: &HashSet<String>,
) {
    for (path, text) in strings_under(&c.tree, step_path) {
        let template = match Template::parse(&text) {
            Ok(t) => t,
            Err(e) => {
                let pos = c.locs.in_value(&path, e.offset);
                c.err(pos, e.len, format!("{} in step `{step_id}`", e.message), e.hint);
                continue;
            }
        };
        for expr in template.exprs() {
            let root = expr.path[0].as_str();
            let problem = match known.get(root) {
                Some(Known::Any) => None,
                Some(Known::Step { kind, fields }) => match expr.path.get(1) {
                    Some(f) if !fields.contains(&f.as_str()) => Some((
                        format!("`{root}` ({kind}) has no field `{f}`"),
                        did_you_mean(f, fields.iter().copied())
                            .or_else(|| Some(format!("its fields: {}", fields.join(", ")))),
                    )),
                    _ => None,
                },
                None if root == step_id => Some((format!("step `{step_id}` cannot use its own result"), None)),
                None if later.contains(root) => Some((
                    format!("`{root}` is a later step"),
                    Some(format!("move step `{root}` before step `{step_id}`")),
                )),
                None => Some((
                    format!("undefined name `{root}` in step `{step_id}`"),
                    did_you_mean(root, known.keys().map(String::as_str).chain(later.iter().map(String::as_str)))
                        .or_else(|| Some("define it under `vars:`, capture it, or name an earlier step".into())),
                )),
            };
            if let Some((message, hint)) = problem {
                let pos = c.locs.in_value(&path, expr.offset);
                c.err(pos, expr.len, message, hint);
            }
        }
    }
}

/// Every templated string under a path, each with its own path.
fn strings_under(tree: &Value, prefix: &str) -> Vec<(String, String)> {
    let mut node = tree;
    for part in prefix.split('.') {
        node = match node {
            Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get(i)).unwrap_or(&Value::Null),
            other => other.get(part).unwrap_or(&Value::Null),
        };
    }
    let mut out = vec![];
    collect_strings(node, prefix.to_string(), &mut out);
    out
}

fn collect_strings(v: &Value, path: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) if s.contains("{{") => out.push((path, s.clone())),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| collect_strings(x, format!("{path}.{i}"), out)),
        Value::Object(o) => {
            for (k, x) in o {
                // Assertions and captures hold regexes and paths, not templates.
                if !matches!(k.as_str(), "assert" | "capture") {
                    collect_strings(x, format!("{path}.{k}"), out);
                }
            }
        }
        _ => {}
    }
}

fn check_thresholds(c: &mut Checker, raw: &RawThresholds, steps: &[Step]) -> Vec<Threshold> {
    let mut out = vec![];
    if let Some(r) = raw.max_failure_rate {
        if (0.0..=1.0).contains(&r) {
            out.push(Threshold::FailureRate(r));
        } else {
            c.at_value("thresholds.max_failure_rate", 1, format!("max_failure_rate is {r}, expected 0..1"), None);
        }
    }
    let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
    for (step, limits) in &raw.max_latency {
        let path = format!("thresholds.max_latency.{step}");
        if step != "total" && !ids.contains(&step.as_str()) {
            let hint = did_you_mean(step, ids.iter().copied().chain(["total"]))
                .or_else(|| Some("name a step id, or `total` for the whole flow".into()));
            c.at_key("thresholds.max_latency", step, format!("no step `{step}` to limit"), hint);
            continue;
        }
        for (pct, text) in limits {
            if !PERCENTILES.contains(&pct.as_str()) && pct != "p99.9" {
                let hint = did_you_mean(pct, PERCENTILES.iter().copied());
                c.at_key(
                    &path,
                    pct,
                    format!("unknown percentile `{pct}`: use one of {}", PERCENTILES.join(", ")),
                    hint,
                );
            } else if c.duration(&format!("{path}.{pct}"), text).is_some()
                && let Ok(t) = latency_threshold(step, pct, text)
            {
                out.push(t);
            }
        }
    }
    out
}

/// A latency limit: `step` (`total` for the whole flow), percentile, duration.
pub fn latency_threshold(step: &str, pct: &str, text: &str) -> Result<Threshold, String> {
    let pct = if pct == "p99.9" { "p999" } else { pct };
    if !PERCENTILES.contains(&pct) {
        return Err(format!("unknown percentile `{pct}`: use one of {}", PERCENTILES.join(", ")));
    }
    let limit = super::parse_duration(text)?;
    let step = (step != "total").then(|| step.to_string());
    Ok(Threshold::Latency { step, percentile: pct.into(), limit_ms: limit.as_secs_f64() * 1e3 })
}
