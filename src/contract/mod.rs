//! The mock's own API as a contract: what the mock serves under
//! [`CLIENT_PREFIX`] (client routes, ground truth, live settings) and the
//! plain data it speaks (rotation policy, faults, truth records). The mock,
//! the engine, the flows and the dashboard depend on this module; none of
//! them imports the mock's internals. The engine reads ground truth through
//! [`GroundTruth`]: over HTTP ([`HttpTruth`]) or in-process (the mock).

pub mod rotation;
mod truth;

pub use rotation::{Fault, Faults, Rotation, RotationPolicy, parse_fault_arg, validate_faults};
pub use truth::{HttpTruth, Riders};

/// The longest user name, appid or option a client request may carry.
pub const MAX_FIELD_BYTES: usize = 256;

impl ClientRequest {
    /// Refuses oversized names and absurd settings before they reach the
    /// mock's tables.
    pub fn validate(&self) -> Result<(), String> {
        let fields = [Some(&self.user), self.appid.as_ref(), self.watermark_appid.as_ref()];
        if fields.iter().flatten().any(|f| f.len() > MAX_FIELD_BYTES) {
            return Err(format!("user, appid and watermark_appid are at most {MAX_FIELD_BYTES} bytes"));
        }
        if self.user.is_empty() {
            return Err("`user` is empty".into());
        }
        if let Some(r) = &self.rotation {
            r.validate()?;
        }
        if let Some(f) = &self.faults {
            validate_faults(f)?;
        }
        Ok(())
    }
}

impl ClockUpdate {
    /// Refuses a non-finite or absurd advance.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.advance_secs.is_finite() && self.advance_secs.abs() <= MAX_CLOCK_ADVANCE_SECS) {
            return Err(format!(
                "advance_secs is {}: expected a finite number of seconds, at most ten years either way",
                self.advance_secs
            ));
        }
        if self.user.as_ref().is_some_and(|u| u.len() > MAX_FIELD_BYTES) {
            return Err(format!("user is at most {MAX_FIELD_BYTES} bytes"));
        }
        Ok(())
    }
}

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// Path prefix of everything that is the mock's own, not WeChat's.
pub const CLIENT_PREFIX: &str = "/__wxflow";

/// A login code lives five minutes.
pub const CODE_TTL_MS: i64 = 5 * 60 * 1000;

/// `wx.getPhoneNumber`'s two forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneMode {
    /// Older base libraries: encryptedData + iv.
    Encrypted,
    /// Newer ones: a code the backend exchanges.
    Code,
}

/// `POST /__wxflow/client/{api}`: which virtual user of which app, and options.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRequest {
    /// The app; the mock's first when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    pub user: String,
    /// `wx.login`: this user's rotation policy from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Rotation>,
    /// `wx.login`: faults on server endpoints for this user's codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<Faults>,
    /// Open data: seal a watermark naming another appid (negative flows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark_appid: Option<String>,
    /// `getPhoneNumber`: `encrypted` (default) or `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<PhoneMode>,
    /// Open data: guarantee a `+` in the iv or encryptedData (flows whose
    /// premise is one: form decoding turns it into a space).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ensure_plus: bool,
    /// Ground truth the runner's other iterations wait for, asked along
    /// (answered under `wxflow.truths`, as of before this call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truth: Option<TruthQuery>,
}

/// The mock's truth about a client answer, under its `wxflow` key (the rest
/// is what the Mini Program runtime returns).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ClientTruth {
    /// The session_key generation that sealed the payload or that the login
    /// left in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u32>,
    /// `wx.login`: whether it refreshed the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated: Option<bool>,
    /// `wx.login`: this user's logins so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logins: Option<u64>,
    /// The answer to the request's `truth`, when it asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truths: Option<Truths>,
    /// The mock's [`Identity::instance`]: a change within one iteration
    /// means the mock restarted under it, its state lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// `GET /__wxflow/identity`: who answers, asked before a run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Identity {
    /// Always [`Identity::SERVICE`].
    pub service: String,
    /// wxflow's version.
    pub version: String,
    /// The appids it serves.
    pub apps: Vec<String>,
    /// Random, new at every start of the mock: a run that sees it change
    /// knows the mock restarted and forgot its users, codes and keys.
    pub instance: String,
}

impl Identity {
    pub const SERVICE: &str = "wxflow-mock";
}

/// The furthest one clock update moves the mock's clock: ten years.
pub const MAX_CLOCK_ADVANCE_SECS: f64 = 10.0 * 365.0 * 86_400.0;

/// `POST /__wxflow/clock`: skew the clock, for one user or everyone.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClockUpdate {
    pub advance_secs: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// `PUT /__wxflow/config`: the live settings to change.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Rotation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<Faults>,
}

/// `GET /__wxflow/config`: the settings in force (no secrets).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ConfigView {
    pub seed: u64,
    pub rotation: Rotation,
    pub faults: Faults,
    pub apps: Vec<String>,
    pub clock_offset_ms: i64,
}

/// Ground truth for one sealed payload.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct PayloadTruth {
    pub appid: String,
    pub user: String,
    pub api: String,
    pub sealed_generation: u32,
    pub sealed_ms: i64,
}

/// What the mock knows about an iv at the time of asking.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct IvTruth {
    #[serde(flatten)]
    pub payload: PayloadTruth,
    pub current_generation: u32,
    pub age_ms: i64,
}

/// What the mock knows about a login code.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct CodeTruth {
    pub user: String,
    pub issued_generation: u32,
    /// The generation jscode2session returned for it; `None` until exchanged.
    pub exchanged_generation: Option<u32>,
    /// The backend called jscode2session with it, whatever the answer: the
    /// login reached WeChat.
    #[serde(default)]
    pub asked: bool,
    /// The errcode WeChat answered its last exchange (0: a session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<i64>,
    pub current_generation: u32,
    pub age_ms: i64,
}

/// `POST /__wxflow/truth`: every code and iv one request carried, asked in
/// one round trip.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TruthQuery {
    #[serde(default)]
    pub codes: Vec<String>,
    #[serde(default)]
    pub ivs: Vec<String>,
}

/// The answer to a [`TruthQuery`], in its order; `None` where the mock did
/// not issue the value (or has forgotten it).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Truths {
    pub codes: Vec<Option<CodeTruth>>,
    pub ivs: Vec<Option<IvTruth>>,
    /// HTTP requests this lookup caused (0 in-process, or when it rode in
    /// another lookup's batch), for the run's request counts.
    #[serde(skip)]
    pub requests: u32,
    /// The answering mock's [`Identity::instance`]; `None` when no mock
    /// answered (the lookup could not reach it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// Where the engine reads ground truth.
pub trait GroundTruth: Send + Sync {
    /// The truth about every code and iv of `query`.
    fn lookup<'a>(&'a self, query: &'a TruthQuery) -> BoxFuture<'a, Truths>;
    /// Whether a lookup costs an HTTP request (counted in a run's figures).
    fn over_http(&self) -> bool;
    /// Lookups waiting that may ride a client request to the mock instead
    /// of a request of their own.
    fn riders(&self) -> Option<Riders> {
        None
    }
    /// For each candidate (base64 text found in a backend's answer to its
    /// client), whether it is a session_key the mock handed to a backend;
    /// `None` when the mock could not say. The keys never travel back.
    fn handed_out<'a>(&'a self, candidates: &'a [String]) -> BoxFuture<'a, Option<Vec<bool>>>;
}

/// `POST /__wxflow/leaks`: candidates for leaked session_keys; answered
/// `{"handed_out": [bool, …]}` in the same order.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LeakQuery {
    pub candidates: Vec<String>,
}
