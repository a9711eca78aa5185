//! The flow file as written (serde types, `deny_unknown_fields`) and the
//! checked flow the engine runs.

use crate::mock::{Faults, Rotation, RotationPolicy};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// A flow file as parsed, before checking.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlow {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub vars: BTreeMap<String, Value>,
    #[serde(default)]
    pub mock: MockSettings,
    #[serde(default)]
    pub expect: Expectation,
    #[serde(default)]
    pub thresholds: RawThresholds,
    pub steps: Vec<RawStep>,
}

/// Limits that fail a (repeated) run when breached.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThresholds {
    /// e.g. 0.01: more than 1% failed iterations breaks the run.
    #[serde(default)]
    pub max_failure_rate: Option<f64>,
    /// Step id (or `total` for the whole flow) → percentile → duration,
    /// e.g. `{server: {p99: 500ms}}`.
    #[serde(default)]
    pub max_latency: BTreeMap<String, BTreeMap<String, String>>,
}

/// A checked threshold.
#[derive(Debug, Clone, PartialEq)]
pub enum Threshold {
    FailureRate(f64),
    /// `step: None` is the whole flow.
    Latency {
        step: Option<String>,
        percentile: String,
        limit_ms: f64,
    },
}

/// Percentiles a latency threshold can name.
pub const PERCENTILES: &[&str] = &["p50", "p90", "p99", "p999", "max", "mean"];

/// Mock settings for the users of this flow.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MockSettings {
    /// A policy (`always`, `0.3`, `every:2`, `never`) or a full rotation
    /// `{policy, min_period_secs, ttl_secs}`.
    #[serde(default, deserialize_with = "rotation_spec")]
    pub rotation: Option<Rotation>,
    #[serde(default)]
    pub faults: Option<Faults>,
}

fn rotation_spec<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Rotation>, D::Error> {
    let v = serde_yaml::Value::deserialize(d)?;
    if v.is_mapping() {
        serde_yaml::from_value(v).map(Some).map_err(serde::de::Error::custom)
    } else {
        serde_yaml::from_value::<RotationPolicy>(v).map(|p| Some(Rotation::policy(p))).map_err(serde::de::Error::custom)
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
    /// The mock's client side refused a step.
    Mock,
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
            Cause::Mock => "mock",
        }
    }
}

/// One step as written: an id, exactly one kind, and options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub id: String,
    #[serde(rename = "wx.login", default, deserialize_with = "present")]
    pub login: Option<WxArgs>,
    #[serde(rename = "wx.getUserInfo", default, deserialize_with = "present")]
    pub get_user_info: Option<WxArgs>,
    #[serde(rename = "wx.getUserProfile", default, deserialize_with = "present")]
    pub get_user_profile: Option<WxArgs>,
    #[serde(rename = "wx.getShareInfo", default, deserialize_with = "present")]
    pub get_share_info: Option<WxArgs>,
    #[serde(rename = "wx.getWeRunData", default, deserialize_with = "present")]
    pub get_werun_data: Option<WxArgs>,
    #[serde(rename = "wx.getPhoneNumber", default, deserialize_with = "present")]
    pub get_phone_number: Option<WxArgs>,
    #[serde(rename = "wx.checkSession", default, deserialize_with = "present")]
    pub check_session: Option<WxArgs>,
    #[serde(default)]
    pub http: Option<HttpSpec>,
    #[serde(default)]
    pub sleep: Option<SleepSpec>,
    #[serde(default)]
    pub continue_on_error: bool,
    #[serde(default, rename = "assert")]
    pub asserts: Option<Asserts>,
    #[serde(default)]
    pub capture: serde_json::Map<String, Value>,
}

/// `wx.login:` with no value means "no options", not "absent".
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<WxArgs>, D::Error> {
    Ok(Some(Option::<WxArgs>::deserialize(d)?.unwrap_or_default()))
}

/// Options of a `wx.*` step.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WxArgs {
    /// Seal a watermark naming another appid (negative flows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark_appid: Option<String>,
    /// `wx.getPhoneNumber`: `encrypted` (default) or `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<PhoneMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneMode {
    Encrypted,
    Code,
}

/// An HTTP call to the backend under test.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// Default: POST with a body, else GET.
    #[serde(default)]
    pub method: Option<String>,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub json: Option<Value>,
    /// Sent `application/x-www-form-urlencoded`, each value percent-encoded.
    #[serde(default)]
    pub form: Option<serde_json::Map<String, Value>>,
    /// Sent as is; set `content-type` in `headers`.
    #[serde(default)]
    pub raw: Option<String>,
    /// e.g. `5s`, `500ms` (default 10s).
    #[serde(default)]
    pub timeout: Option<String>,
}

/// `sleep: 200ms`, or `sleep: {duration: 5m1s, clock: mock}` to move the
/// mock's clock for this user instead of waiting.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum SleepSpec {
    Short(String),
    Full {
        duration: String,
        #[serde(default)]
        clock: SleepClock,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SleepClock {
    #[default]
    Real,
    Mock,
}

/// Assertions on an http step's answer.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Asserts {
    /// One status or a list of accepted statuses.
    #[serde(default)]
    pub status: Option<StatusSpec>,
    /// RFC 9535 JSONPath → predicate (a plain value means `equals`).
    #[serde(default)]
    pub jsonpath: serde_json::Map<String, Value>,
    /// Header name → predicate.
    #[serde(default)]
    pub headers: serde_json::Map<String, Value>,
    /// Predicate on the body text.
    #[serde(default)]
    pub body: Option<Value>,
    /// e.g. `1s`: the step fails when slower.
    #[serde(default)]
    pub max_duration: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum StatusSpec {
    One(u16),
    Any(Vec<u16>),
}

impl<'de> Deserialize<'de> for StatusSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_yaml::Value::deserialize(d)?;
        let status = |v: &serde_yaml::Value| v.as_u64().filter(|s| (100..600).contains(s)).map(|s| s as u16);
        let list = v.as_sequence().map(|l| l.iter().map(status).collect::<Option<Vec<_>>>());
        match (status(&v), list) {
            (Some(s), _) => Ok(StatusSpec::One(s)),
            (None, Some(Some(l))) => Ok(StatusSpec::Any(l)),
            _ => Err(serde::de::Error::custom("expected an HTTP status (200) or a list of them ([200, 201])")),
        }
    }
}

impl StatusSpec {
    pub fn accepts(&self, status: u16) -> bool {
        match self {
            StatusSpec::One(s) => *s == status,
            StatusSpec::Any(list) => list.contains(&status),
        }
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

/// The API a `wx.*` step calls on the mock's client side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WxApi {
    Login,
    GetUserInfo,
    GetUserProfile,
    GetShareInfo,
    GetWeRunData,
    GetPhoneNumber,
    CheckSession,
}

impl WxApi {
    /// The client-side route name (`getUserInfo`).
    pub fn route(self) -> &'static str {
        match self {
            WxApi::Login => "login",
            WxApi::GetUserInfo => "getUserInfo",
            WxApi::GetUserProfile => "getUserProfile",
            WxApi::GetShareInfo => "getShareInfo",
            WxApi::GetWeRunData => "getWeRunData",
            WxApi::GetPhoneNumber => "getPhoneNumber",
            WxApi::CheckSession => "checkSession",
        }
    }

    /// The fields its result offers to templates.
    pub fn fields(self, mode: Option<PhoneMode>) -> &'static [&'static str] {
        match (self, mode) {
            (WxApi::Login, _) => &["code", "errMsg", "generation", "rotated"],
            (WxApi::GetUserInfo | WxApi::GetUserProfile, _) => {
                &["userInfo", "rawData", "signature", "encryptedData", "iv", "errMsg", "generation"]
            }
            (WxApi::GetPhoneNumber, Some(PhoneMode::Code)) => &["code", "errMsg"],
            (WxApi::GetShareInfo | WxApi::GetWeRunData | WxApi::GetPhoneNumber, _) => {
                &["encryptedData", "iv", "errMsg", "generation"]
            }
            (WxApi::CheckSession, _) => &["errMsg", "valid"],
        }
    }
}

/// What a checked step does.
#[derive(Debug, Clone)]
pub enum StepKind {
    Wx { api: WxApi, args: WxArgs },
    Http(Box<HttpStep>),
    Sleep { duration: Duration, clock: SleepClock },
}

/// A checked http step.
#[derive(Debug, Clone)]
pub struct HttpStep {
    pub spec: HttpSpec,
    pub method: reqwest::Method,
    pub timeout: Duration,
    pub status: Option<StatusSpec>,
    pub jsonpath: Vec<(String, serde_json_path::JsonPath, Predicate)>,
    pub headers: Vec<(String, Predicate)>,
    pub body: Option<Predicate>,
    pub max_duration: Option<Duration>,
    pub captures: Vec<(String, Capture)>,
}

/// Fields every http step result offers to templates.
pub const HTTP_FIELDS: &[&str] = &["status", "body", "headers", "duration_ms"];

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
            StepKind::Wx { api, .. } => format!("wx.{}", api.route()),
            StepKind::Http(h) => format!("http {}", h.method),
            StepKind::Sleep { .. } => "sleep".into(),
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
    pub vars: BTreeMap<String, Value>,
    pub mock: MockSettings,
    pub expect: Expectation,
    pub thresholds: Vec<Threshold>,
    pub steps: Vec<Step>,
}
