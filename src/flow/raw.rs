//! The flow file as written: serde types with `deny_unknown_fields`, so a
//! typo is refused with its location. `step_kinds!` is the one table of
//! step kinds: it makes [`WxApi`] and the [`RawStep`] fields alike.

use super::model::Expectation;
pub use crate::contract::PhoneMode;
use crate::contract::{Faults, Rotation, RotationPolicy};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

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
    /// The backend's own answer shape, when it differs from the reference
    /// contract (`code` or `errcode`, 0 for success).
    #[serde(default)]
    pub backend: Option<RawBackend>,
    /// The Mini Program root (its `app.json`) that `page.*` steps run,
    /// relative to the flow file.
    #[serde(default)]
    pub app: Option<String>,
    /// What wxflow answers the page's requests with when there is no
    /// `--target`: URL path → JSON body (HTTP 200).
    #[serde(default)]
    pub answers: BTreeMap<String, Value>,
    pub steps: Vec<RawStep>,
}

/// `page.open: pages/login/login`, or `{path, query}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PageOpenSpec {
    Path(String),
    Full {
        path: String,
        #[serde(default)]
        query: BTreeMap<String, String>,
    },
}

/// `page.tap: wechatAction`, or `{handler, detail}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PageTapSpec {
    Handler(String),
    Full {
        handler: String,
        #[serde(default)]
        detail: Option<Value>,
    },
}

/// `backend:` — where the backend puts its own result code, and which
/// values of it mean success.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackend {
    /// A JSONPath, e.g. `$.code` or `$.status.code`.
    pub error_code: String,
    /// Values that mean success, e.g. `[200]` (default `[0]`).
    #[serde(default = "success_default")]
    pub success: Vec<Value>,
}

fn success_default() -> Vec<Value> {
    vec![Value::from(0)]
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

macro_rules! step_kinds {
    ($($api:ident $field:ident $name:literal,)*) => {
        /// The API a `wx.*` step calls on the mock's client side.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
        pub enum WxApi {
            $($api,)*
        }

        impl WxApi {
            pub const ALL: &[WxApi] = &[$(WxApi::$api,)*];

            /// The step kind as written: `wx.getUserInfo`.
            pub fn name(self) -> &'static str {
                match self {
                    $(WxApi::$api => $name,)*
                }
            }
        }

        /// One step as written: an id, exactly one kind, and options.
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct RawStep {
            pub id: String,
            $(
                #[serde(rename = $name, default, deserialize_with = "present")]
                pub $field: Option<WxArgs>,
            )*
            #[serde(default)]
            pub http: Option<HttpSpec>,
            #[serde(default)]
            pub sleep: Option<SleepSpec>,
            #[serde(default, rename = "page.open")]
            pub page_open: Option<PageOpenSpec>,
            #[serde(default, rename = "page.tap")]
            pub page_tap: Option<PageTapSpec>,
            #[serde(default)]
            pub continue_on_error: bool,
            #[serde(default, rename = "assert")]
            pub asserts: Option<Asserts>,
            #[serde(default)]
            pub capture: serde_json::Map<String, Value>,
        }

        impl RawStep {
            /// The `wx.*` kinds this step names, with their options.
            pub fn take_wx(&mut self) -> Vec<(WxApi, WxArgs)> {
                let mut out = vec![];
                $(
                    if let Some(args) = self.$field.take() {
                        out.push((WxApi::$api, args));
                    }
                )*
                out
            }
        }
    };
}

step_kinds! {
    Login login "wx.login",
    GetUserInfo get_user_info "wx.getUserInfo",
    GetUserProfile get_user_profile "wx.getUserProfile",
    GetShareInfo get_share_info "wx.getShareInfo",
    GetWeRunData get_werun_data "wx.getWeRunData",
    GetPhoneNumber get_phone_number "wx.getPhoneNumber",
    CheckSession check_session "wx.checkSession",
}

/// Every step kind, as written.
pub fn step_kind_names() -> impl Iterator<Item = &'static str> {
    WxApi::ALL.iter().map(|a| a.name()).chain(["http", "sleep", "page.open", "page.tap"])
}

impl WxApi {
    /// The client-side route name (`getUserInfo`).
    pub fn route(self) -> &'static str {
        self.name().trim_start_matches("wx.")
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
    /// The mock guarantees a `+` in the iv or encryptedData.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ensure_plus: bool,
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
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asserts {
    /// One status or class (`4xx`), or a list of them.
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

/// `status:` — a status (`200`), a class (`4xx`), or a list of them
/// (`[200, 201]`, `[2xx, 4xx]`).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusSpec(pub Vec<Status>);

/// One accepted status, or every status of a class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Status {
    Is(u16),
    /// `4xx`: the hundreds digit.
    Class(u16),
}

impl<'de> Deserialize<'de> for StatusSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_yaml::Value::deserialize(d)?;
        let one = |v: &serde_yaml::Value| match v {
            serde_yaml::Value::Number(n) => n.as_u64().filter(|s| (100..600).contains(s)).map(|s| Status::Is(s as u16)),
            serde_yaml::Value::String(s) => match s.as_bytes() {
                [d @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => Some(Status::Class(u16::from(d - b'0'))),
                _ => None,
            },
            _ => None,
        };
        let list = match &v {
            serde_yaml::Value::Sequence(l) if !l.is_empty() => l.iter().map(one).collect::<Option<Vec<_>>>(),
            v => one(v).map(|s| vec![s]),
        };
        list.map(StatusSpec).ok_or_else(|| {
            serde::de::Error::custom(
                "expected an HTTP status (200), a class (4xx) or a list of them ([200, 201], [2xx, 4xx])",
            )
        })
    }
}

impl StatusSpec {
    pub fn accepts(&self, status: u16) -> bool {
        self.0.iter().any(|s| match s {
            Status::Is(n) => *n == status,
            Status::Class(d) => status / 100 == *d,
        })
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Is(n) => write!(f, "{n}"),
            Status::Class(d) => write!(f, "{d}xx"),
        }
    }
}

impl std::fmt::Display for StatusSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            all => write!(f, "one of {}", all.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
        }
    }
}
