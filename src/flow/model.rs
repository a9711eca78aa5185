//! The checked flow the engine runs: every template compiled, every
//! duration, regex and JSONPath parsed, every reference resolved.

use super::locate::Pos;
pub use super::raw::*;
use super::template::{Template, ValueTemplate};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// A checked threshold.
#[derive(Debug, Clone, PartialEq)]
pub enum Threshold {
    FailureRate(f64),
    /// `step: None` is the whole flow.
    Latency {
        step: Option<String>,
        percentile: Percentile,
        limit_ms: f64,
    },
}

/// A latency figure a threshold can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Percentile {
    P50,
    P90,
    P99,
    P999,
    Max,
    Mean,
}

impl Percentile {
    pub const ALL: [Percentile; 6] =
        [Percentile::P50, Percentile::P90, Percentile::P99, Percentile::P999, Percentile::Max, Percentile::Mean];

    pub fn name(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P90 => "p90",
            Percentile::P99 => "p99",
            Percentile::P999 => "p999",
            Percentile::Max => "max",
            Percentile::Mean => "mean",
        }
    }
}

impl std::fmt::Display for Percentile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Percentile {
    type Err = String;
    /// `p50` … `p999` (also `p99.9`), `max`, `mean`.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = if s == "p99.9" { "p999" } else { s };
        Percentile::ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Percentile::ALL.iter().map(|p| p.name()).collect();
            format!("unknown percentile `{s}`: use one of {}", names.join(", "))
        })
    }
}

/// What a run of the flow is expected to show.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    #[serde(default)]
    pub outcome: ExpectedOutcome,
    /// With `outcome: fail`: the cause the failure must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
}

/// `pass`, `fail`, or `fail (stale_iv)`.
impl std::fmt::Display for Expectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.outcome, self.cause) {
            (ExpectedOutcome::Pass, _) => f.write_str("pass"),
            (ExpectedOutcome::Fail, None) => f.write_str("fail"),
            (ExpectedOutcome::Fail, Some(c)) => write!(f, "fail ({})", c.as_str()),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedOutcome {
    #[default]
    Pass,
    Fail,
}

/// Why an iteration failed, from the most to the least specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// The payload was sealed with a session_key the code exchange no longer returned.
    StaleIv,
    /// 40163: one code exchanged twice.
    CodeReused,
    /// 40029 for a code older than five minutes.
    CodeExpired,
    /// 40029 for a code that was not expired: unknown to WeChat, or issued
    /// for another appid.
    CodeInvalid,
    /// 40013 / 40125: WeChat refused the backend's appid or appsecret.
    AppCredentials,
    /// -40001: signature mismatch on fresh data.
    SignatureMismatch,
    /// Fresh data whose base64 `+` came back as a space.
    PlusAsSpace,
    /// The backend answered with an error code of its own.
    BackendError,
    /// A non-2xx status without a recognised code.
    HttpStatus,
    Timeout,
    Connection,
    /// An assertion of the flow failed on an otherwise good answer.
    Assertion,
    /// A template could not be rendered (a field an earlier answer lacked).
    Template,
    /// The mock's client side refused a step.
    Mock,
    /// The tester's own resources ran out (descriptors, ports, socket
    /// buffers), or its own embedded servers failed: the iteration is not
    /// judged.
    TesterLimit,
    /// The mock (the tester's side of every run) could not be reached, or
    /// restarted under the iteration: the iteration is not judged.
    MockUnavailable,
    /// The backend's answer to its client carried a session_key WeChat
    /// handed it: a failure even when everything else passed.
    SessionKeyLeaked,
    /// The backend's answer to its client carried the app's access_token
    /// the mock issued it.
    AccessTokenLeaked,
    /// The Mini Program's own code failed when a page step ran it: an
    /// exception, a page that did not load, a page never idle.
    ClientError,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::StaleIv => "stale_iv",
            Cause::CodeReused => "code_reused",
            Cause::CodeExpired => "code_expired",
            Cause::CodeInvalid => "code_invalid",
            Cause::AppCredentials => "app_credentials",
            Cause::SignatureMismatch => "signature_mismatch",
            Cause::PlusAsSpace => "plus_as_space",
            Cause::BackendError => "backend_error",
            Cause::HttpStatus => "http_status",
            Cause::Timeout => "timeout",
            Cause::Connection => "connection",
            Cause::Assertion => "assertion",
            Cause::Template => "template",
            Cause::Mock => "mock",
            Cause::TesterLimit => "tester_limit",
            Cause::MockUnavailable => "mock_unavailable",
            Cause::SessionKeyLeaked => "session_key_leaked",
            Cause::ClientError => "client_error",
            Cause::AccessTokenLeaked => "access_token_leaked",
        }
    }

    /// The tester's side failed, not the backend: an iteration that met
    /// this cause is not judged, and its run is inconclusive.
    pub fn unjudged(self) -> bool {
        matches!(self, Cause::TesterLimit | Cause::MockUnavailable)
    }
}

/// A checked predicate.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Predicate {
    Equals(Value),
    NotEquals(Value),
    Exists(bool),
    Matches(#[serde(with = "regex_text")] regex::Regex),
    Contains(String),
    Lt(f64),
    Le(f64),
    Gt(f64),
    Ge(f64),
}

mod regex_text {
    pub fn serialize<S: serde::Serializer>(r: &regex::Regex, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(r.as_str())
    }
}

/// The names a predicate mapping may use.
pub const PREDICATE_OPS: &[&str] = &["equals", "not_equals", "exists", "matches", "contains", "lt", "le", "gt", "ge"];

/// A checked capture: where the value comes from.
#[derive(Debug, Clone)]
pub enum Capture {
    JsonPath(serde_json_path::JsonPath),
    Header(String),
    Regex(regex::Regex),
}

/// What a checked step does.
#[derive(Debug, Clone)]
pub enum StepKind {
    Wx {
        api: WxApi,
        args: WxArgs,
    },
    Http(Box<HttpStep>),
    Sleep {
        duration: Duration,
        clock: SleepClock,
    },
    /// Launches the app (once per iteration) and opens a page of it.
    PageOpen {
        path: String,
        query: BTreeMap<String, String>,
    },
    /// Calls the current page's handler with the event its element gives.
    PageTap {
        handler: String,
        detail: Option<Value>,
    },
}

/// A checked http step: its request compiled, its checks parsed.
#[derive(Debug, Clone)]
pub struct HttpStep {
    pub method: reqwest::Method,
    pub url: Template,
    pub headers: Vec<(String, Template)>,
    pub body: Body,
    pub timeout: Duration,
    /// The assertions, in the order they are checked.
    pub checks: Vec<Check>,
    /// Each capture's name, source and place in the file.
    pub captures: Vec<(String, Capture, Option<Pos>)>,
}

/// One assertion on an http step's answer, and where its flow file wrote it.
#[derive(Debug, Clone)]
pub struct Check {
    pub kind: CheckKind,
    pub at: Option<Pos>,
}

/// What an assertion checks.
#[derive(Debug, Clone)]
pub enum CheckKind {
    Status(StatusSpec),
    /// The JSONPath as written, parsed, and its predicate.
    JsonPath(String, serde_json_path::JsonPath, Predicate),
    Header(String, Predicate),
    Body(Predicate),
    MaxDuration(Duration),
}

/// An http step's request body, compiled.
#[derive(Debug, Clone)]
pub enum Body {
    None,
    /// Sent as `application/json`.
    Json(ValueTemplate),
    /// Sent `application/x-www-form-urlencoded`, each value percent-encoded.
    Form(Vec<(String, ValueTemplate)>),
    /// Sent as is.
    Raw(Template),
}

/// Fields every http step result offers to templates.
pub const HTTP_FIELDS: &[&str] = &["status", "body", "headers", "duration_ms"];

/// The backend's own result code: where it is in an answer, and which
/// values mean success. Causes read error codes only there.
#[derive(Debug, Clone)]
pub struct ResultCode {
    pub path: serde_json_path::JsonPath,
    pub success: Vec<Value>,
}

impl ResultCode {
    /// The backend's error code in `body`: the value at the path, unless it
    /// is a success value (a number, or `false`, `"fail"`: any other value).
    pub fn error_in(&self, body: &Value) -> Option<Value> {
        let v: &Value = self.path.query(body).first().filter(|v| !v.is_null())?;
        let success = self.success.iter().any(|s| s == v || s.as_f64().is_some_and(|n| v.as_f64() == Some(n)));
        (!success).then(|| v.clone())
    }
}

/// A checked step.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub kind: StepKind,
    pub continue_on_error: bool,
    /// Where the step starts in its file (1-based line).
    pub line: usize,
}

impl Step {
    /// `wx.login`, `http POST`, `sleep`.
    pub fn label(&self) -> String {
        match &self.kind {
            StepKind::Wx { api, .. } => api.name().to_string(),
            StepKind::Http(h) => format!("http {}", h.method),
            StepKind::Sleep { .. } => "sleep".into(),
            StepKind::PageOpen { path, .. } => format!("page.open {path}"),
            StepKind::PageTap { handler, .. } => format!("page.tap {handler}"),
        }
    }
}

/// A checked flow, ready to run.
#[derive(Debug, Clone)]
pub struct Flow {
    /// The file stem (`login-first`): how flows are listed and reported.
    pub id: String,
    pub name: String,
    pub description: String,
    pub file: String,
    /// Rendered in order at the start of every iteration.
    pub vars: Vec<(String, ValueTemplate)>,
    pub mock: MockSettings,
    pub expect: Expectation,
    pub thresholds: Vec<Threshold>,
    pub steps: Vec<Step>,
    /// The file's text, for pointing run-time failures at their line.
    pub source: std::sync::Arc<str>,
    /// Where the backend's own result code is, and its success values.
    pub backend: Option<ResultCode>,
    /// Every name its templates use (builtins, vars, steps, captures, and
    /// variables from outside).
    pub uses: std::collections::BTreeSet<String>,
    /// The Mini Program its `page.*` steps run (resolved against the flow
    /// file's folder); `--app` gives it otherwise.
    pub app: Option<std::path::PathBuf>,
    /// The page's requests answered without a target: URL path → body.
    pub answers: BTreeMap<String, Value>,
}

impl Flow {
    /// Line `line` (1-based) of the flow's file.
    pub fn source_line(&self, line: usize) -> Option<&str> {
        self.source.lines().nth(line.checked_sub(1)?)
    }
}
