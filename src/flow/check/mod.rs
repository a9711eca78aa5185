//! Turns a flow file into a checked [`Flow`], or every error in it, each
//! with `file:line:col`, a caret and a hint. Nothing runs before this passes.

mod http;
mod refs;

use super::error::{FlowError, did_you_mean};
use super::locate::{Locations, Pos};
use super::model::{
    Body, ExpectedOutcome, Flow, HTTP_FIELDS, PageOpenSpec, PageTapSpec, Percentile, RawFlow, RawStep, RawThresholds,
    SleepClock, SleepSpec, Step, StepKind, Threshold, WxApi, step_kind_names,
};
use super::parse_duration;
use super::template::{Template, ValueTemplate};
use crate::contract::validate_faults;
use refs::{Known, check_refs};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// Names every flow can use in templates.
pub const BUILTINS: &[&str] = &["target", "mock", "user", "seed", "iteration"];

/// The file's source, where each node stands in it, and the errors so far.
/// The file is parsed twice: by serde_yaml into typed values, and by
/// yaml-rust2 into the index of positions that points errors found later.
struct Checker<'a> {
    file: &'a str,
    source: &'a str,
    locs: Locations,
    errors: Vec<FlowError>,
    /// What is being checked, for template errors: "step `login`".
    within: String,
    /// Every name the flow's templates use.
    used: std::collections::BTreeSet<String>,
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

    /// Compiles the template string at `path`, placed in the file.
    fn template(&mut self, path: &str, text: &str) -> Option<Template> {
        match Template::parse(text) {
            Ok(t) => Some(t.at(self.locs.in_value(path, 0))),
            Err(e) => {
                let pos = self.locs.in_value(path, e.offset);
                self.err(pos, e.len, format!("{} in {}", e.message, self.within), e.hint);
                None
            }
        }
    }

    /// Compiles every template string under the value at `path`.
    fn value_template(&mut self, path: &str, v: &Value) -> Option<ValueTemplate> {
        let locs = &self.locs;
        match ValueTemplate::compile(v, path, &|p| locs.in_value(p, 0)) {
            Ok(t) => Some(t),
            Err((at, e)) => {
                let pos = self.locs.in_value(&at, e.offset);
                self.err(pos, e.len, format!("{} in {}", e.message, self.within), e.hint);
                None
            }
        }
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

/// The largest flow file read: a real one is a few KiB.
pub const MAX_FLOW_BYTES: u64 = 1024 * 1024;

/// Reads and checks a flow file: a regular file of at most
/// [`MAX_FLOW_BYTES`] (a FIFO or a device would be read forever).
pub fn load(path: &std::path::Path) -> Result<Flow, Vec<FlowError>> {
    load_with(path, &[])
}

/// [`load`], knowing the variable names given from outside the flow.
pub fn load_with(path: &std::path::Path, outside: &[String]) -> Result<Flow, Vec<FlowError>> {
    use std::io::Read;
    let file = path.display().to_string();
    let refuse = |msg: String| vec![FlowError::new(&file, "", None, 1, msg)];
    let meta = std::fs::metadata(path).map_err(|e| refuse(format!("cannot read flow file: {e}")))?;
    if !meta.is_file() {
        return Err(refuse("not a regular file (a FIFO, a device or a socket): flows are read from files".into()));
    }
    let mut bytes = vec![];
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FLOW_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| refuse(format!("cannot read flow file: {e}")))?;
    if bytes.len() as u64 > MAX_FLOW_BYTES {
        return Err(refuse(format!("the file is larger than {MAX_FLOW_BYTES} bytes; a flow is a few KiB")));
    }
    let source = String::from_utf8(bytes).map_err(|e| refuse(format!("not UTF-8 text: {e}")))?;
    let flow = check_with(&file, &source, outside)?;
    // A flow read from a file names its Mini Program relative to it: one
    // that is not there is bad input, found before anything runs.
    if let Some(message) = flow.app.as_deref().and_then(crate::client::not_an_app) {
        let pos = Locations::index(&source).value("app");
        let hint =
            Some("the folder of app.json, relative to this flow file (or leave `app:` out and give --app DIR)".into());
        return Err(vec![FlowError::new(&file, &source, pos, 1, message).hint(hint)]);
    }
    Ok(flow)
}

/// Checks flow `source` read from `file`.
pub fn check(file: &str, source: &str) -> Result<Flow, Vec<FlowError>> {
    check_with(file, source, &[])
}

/// [`check`], knowing the variable names given from outside the flow
/// (`--var`, `--secret`, `--vars-file`, the environment).
pub fn check_with(file: &str, source: &str, outside: &[String]) -> Result<Flow, Vec<FlowError>> {
    if let Some((line, col)) = too_deep(source) {
        let message = format!("nested deeper than {MAX_FLOW_NESTING} levels: a flow is a few levels deep");
        return Err(vec![FlowError::new(file, source, Some(Pos { line, col }), 1, message)]);
    }
    let raw: RawFlow = serde_yaml::from_str(source).map_err(|e| vec![serde_error(file, source, &e)])?;
    let locs = Locations::index(source);
    let mut c =
        Checker { file, source, locs, errors: vec![], within: String::new(), used: std::collections::BTreeSet::new() };
    let flow = check_flow(&mut c, file, raw, outside);
    if c.errors.is_empty() { Ok(flow) } else { Err(c.errors) }
}

/// Levels of nesting a flow may have (brackets or indentation): real ones
/// have under ten, and YAML's parser is quadratic in depth.
pub const MAX_FLOW_NESTING: usize = 64;

/// Where `source` first nests deeper than [`MAX_FLOW_NESTING`]: by
/// brackets (`[[[…`), or by indentation (two spaces a level).
fn too_deep(source: &str) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    for (n, line) in source.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        if indent > 2 * MAX_FLOW_NESTING {
            return Some((n + 1, indent + 1));
        }
        let mut quote = None;
        for (col, ch) in line.char_indices() {
            match (quote, ch) {
                (None, '"' | '\'') => quote = Some(ch),
                (Some(q), c) if c == q => quote = None,
                (None, '#') => break,
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > MAX_FLOW_NESTING {
                        return Some((n + 1, col + 1));
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    None
}

/// A serde_yaml error, reworded with a did-you-mean where it names an
/// unknown field or variant.
fn serde_error(file: &str, source: &str, e: &serde_yaml::Error) -> FlowError {
    if source.trim().is_empty() {
        return FlowError::new(file, source, None, 1, "the file is empty: a flow is a mapping with `name` and `steps`");
    }
    let text = e.to_string();
    let mut message = text.split(" at line ").next().unwrap_or(&text).to_string();
    // serde names our types; say what the file should hold instead.
    for (internal, said) in [
        ("unit value", "nothing (null)"),
        ("struct RawFlow", "a flow: a mapping with `name` and `steps`"),
        ("struct RawStep", "a step: a mapping with `id` and one kind"),
        ("struct HttpSpec", "an http request: a mapping with `url`"),
        ("struct WxArgs", "wx options: a mapping"),
        ("struct Asserts", "assertions: a mapping"),
        ("struct RawThresholds", "thresholds: a mapping"),
        ("struct MockSettings", "mock settings: a mapping"),
        ("struct Expectation", "an expectation: a mapping with `outcome`"),
    ] {
        message = message.replace(internal, said);
    }
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

fn check_flow(c: &mut Checker, file: &str, raw: RawFlow, outside: &[String]) -> Flow {
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
    if let Some(Err(e)) = raw.mock.rotation.map(|r| r.validate()) {
        c.at_key("mock", "rotation", e, None);
    }
    if raw.expect.cause.is_some() && raw.expect.outcome == ExpectedOutcome::Pass {
        c.at_key("expect", "cause", "`expect.cause` needs `outcome: fail`".into(), None);
    }
    let mut known: BTreeMap<String, Known> = BUILTINS
        .iter()
        .copied()
        .chain(outside.iter().map(String::as_str))
        .map(|b| (b.to_string(), Known::Any))
        .collect();
    // A var sees the builtins, the variables given from outside and the vars above it.
    let mut vars = vec![];
    for (name, v) in &raw.vars {
        c.within = format!("var `{name}`");
        if let Some(t) = c.value_template(&format!("vars.{name}"), v) {
            let owner = c.within.clone();
            check_refs(c, "", &owner, t.templates(), &known, &HashSet::new());
            vars.push((name.clone(), t));
        }
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
        c.within = format!("step `{}`", rs.id);
        if let Some(step) = check_step(c, &path, rs, &known, &later) {
            let (kind, fields) = match &step.kind {
                StepKind::Wx { api, args } => (api.name().to_string(), api.fields(args.mode)),
                StepKind::Http(h) => {
                    for (name, ..) in &h.captures {
                        known.insert(name.clone(), Known::Any);
                    }
                    ("http".into(), HTTP_FIELDS)
                }
                StepKind::Sleep { .. } => ("sleep".into(), &[][..]),
                StepKind::PageOpen { .. } | StepKind::PageTap { .. } => ("page".into(), &[][..]),
            };
            if !duplicate {
                known.insert(step.id.clone(), Known::Step { kind, fields });
            }
            steps.push(Step { line, ..step });
        }
    }
    let thresholds = check_thresholds(c, &raw.thresholds, &steps);
    let backend = raw.backend.as_ref().and_then(|b| match serde_json_path::JsonPath::parse(&b.error_code) {
        Ok(path) => Some(crate::flow::model::ResultCode { path, success: b.success.clone() }),
        Err(e) => {
            c.at_value(
                "backend.error_code",
                b.error_code.len(),
                format!("invalid JSONPath `{}`: {e}", b.error_code),
                None,
            );
            None
        }
    });
    let id =
        std::path::Path::new(file).file_stem().map_or_else(|| raw.name.clone(), |s| s.to_string_lossy().into_owned());
    Flow {
        id,
        name: raw.name,
        description: raw.description,
        file: file.into(),
        vars,
        mock: raw.mock,
        expect: raw.expect,
        thresholds,
        steps,
        source: c.source.into(),
        uses: std::mem::take(&mut c.used),
        backend,
        app: raw.app.as_ref().map(|a| std::path::Path::new(file).parent().unwrap_or(std::path::Path::new("")).join(a)),
        answers: raw.answers,
    }
}

fn check_step(
    c: &mut Checker,
    path: &str,
    mut rs: RawStep,
    known: &BTreeMap<String, Known>,
    later: &HashSet<String>,
) -> Option<Step> {
    // Every kind the step names, and the checked kind where it checked out:
    // a kind with an error is still named (no false "has no kind").
    let mut kinds: Vec<(&str, Option<StepKind>)> = vec![];
    for (api, args) in rs.take_wx() {
        let name = api.name();
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
        if args.ensure_plus && matches!(api, WxApi::Login | WxApi::CheckSession) {
            c.at_key(
                &format!("{path}.{name}"),
                "ensure_plus",
                format!("{name} seals no data: `ensure_plus` does not apply"),
                None,
            );
        }
        kinds.push((name, Some(StepKind::Wx { api, args })));
    }
    if let Some(spec) = rs.http.take() {
        let h = http::check_http(c, &format!("{path}.http"), spec, rs.asserts.as_ref(), &rs.capture, path);
        if let Some(h) = &h {
            let templates = std::iter::once(&h.url).chain(h.headers.iter().map(|(_, t)| t));
            let body: Vec<&Template> = match &h.body {
                Body::None => vec![],
                Body::Json(v) => v.templates(),
                Body::Form(fields) => fields.iter().flat_map(|(_, v)| v.templates()).collect(),
                Body::Raw(t) => vec![t],
            };
            let owner = c.within.clone();
            check_refs(c, &rs.id, &owner, templates.chain(body), known, later);
        }
        kinds.push(("http", h.map(|h| StepKind::Http(Box::new(h)))));
    } else {
        if rs.asserts.is_some() {
            c.at_key(path, "assert", "only http steps take `assert`".into(), None);
        }
        if !rs.capture.is_empty() {
            c.at_key(path, "capture", "only http steps take `capture`".into(), None);
        }
    }
    if let Some(sleep) = &rs.sleep {
        let (text, clock, p) = match sleep {
            SleepSpec::Short(t) => (t.as_str(), SleepClock::Real, format!("{path}.sleep")),
            SleepSpec::Full { duration, clock } => (duration.as_str(), *clock, format!("{path}.sleep.duration")),
        };
        let duration = c.duration(&p, text);
        kinds.push(("sleep", duration.map(|duration| StepKind::Sleep { duration, clock })));
    }
    if let Some(open) = rs.page_open.take() {
        let (page, query) = match open {
            PageOpenSpec::Path(p) => (p, BTreeMap::new()),
            PageOpenSpec::Full { path, query } => (path, query),
        };
        let route = page.trim_start_matches('/').trim_end_matches(".js").to_string();
        if route.is_empty() {
            c.at_value(
                &format!("{path}.page.open"),
                1,
                "`page.open` names no page".into(),
                Some("e.g. `page.open: pages/login/login`".into()),
            );
        }
        kinds.push(("page.open", Some(StepKind::PageOpen { path: route, query })));
    }
    if let Some(tap) = rs.page_tap.take() {
        let (handler, detail) = match tap {
            PageTapSpec::Handler(h) => (h, None),
            PageTapSpec::Full { handler, detail } => (handler, detail),
        };
        kinds.push(("page.tap", Some(StepKind::PageTap { handler, detail })));
    }
    match kinds.len() {
        0 => {
            let all: Vec<&str> = step_kind_names().collect();
            c.at_value(
                path,
                2,
                format!("step `{}` has no kind", rs.id),
                Some(format!("add one of: {}", all.join(", "))),
            );
            None
        }
        1 => kinds.pop().and_then(|(_, kind)| kind).map(|kind| Step {
            id: rs.id,
            kind,
            continue_on_error: rs.continue_on_error,
            line: 0,
        }),
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
            match pct.parse::<Percentile>() {
                Err(e) => {
                    let hint = did_you_mean(pct, Percentile::ALL.iter().map(|p| p.name()));
                    c.at_key(&path, pct, e, hint);
                }
                Ok(percentile) => {
                    if let Some(limit) = c.duration(&format!("{path}.{pct}"), text) {
                        let step = (step != "total").then(|| step.clone());
                        out.push(Threshold::Latency { step, percentile, limit_ms: limit.as_secs_f64() * 1e3 });
                    }
                }
            }
        }
    }
    out
}
