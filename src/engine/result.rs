//! What a run produces: plain, serialisable data that the reports, the
//! statistics and the dashboard all read. Nothing here does I/O.

use crate::flow::Cause;
use crate::flow::model::Expectation;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Skipped,
}

/// Whether a payload was sealed with the key the backend got for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Freshness {
    Fresh,
    /// Sealed with generation `sealed`, judged against generation
    /// `against` (see [`PayloadUse::basis`]).
    Stale {
        sealed: u32,
        against: u32,
    },
    /// The mock could not say (it did not issue this iv, or forgot it).
    Unknown,
}

/// What a payload's generation is judged against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The generation jscode2session returned for the code the same request
    /// carried: what the backend really decrypted with.
    CodeExchange,
    /// The user's key at the time of asking (no code was exchanged).
    CurrentKey,
}

/// What a step did besides passing, for one-line views.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "note")]
pub enum StepNote {
    /// A `wx.login` refreshed the session_key to this generation.
    Rotated { generation: u32 },
    /// A `sleep {clock: mock}` moved this user's mock clock.
    MockClockAdvanced { secs: f64 },
}

/// One iv/encryptedData a step produced or sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayloadUse {
    /// The step that produced it.
    pub from_step: String,
    pub iv: String,
    pub sealed_generation: Option<u32>,
    /// The generation it was judged against: what the code exchange
    /// returned, else the user's current one.
    pub against_generation: Option<u32>,
    pub basis: Basis,
    /// Milliseconds between producing and using it.
    pub age_ms: f64,
    pub freshness: Freshness,
    /// Its iv or encryptedData holds a `+` (which form decoding turns
    /// into a space).
    #[serde(skip, default)]
    pub has_plus: bool,
}

/// A request and its answer, secrets masked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_headers: BTreeMap<String, String>,
    pub request_body: String,
    pub status: Option<u16>,
    pub response_headers: BTreeMap<String, String>,
    pub response_body: String,
}

/// One step of one iteration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepResult {
    pub id: String,
    /// `wx.login`, `http POST`, `sleep`.
    pub kind: String,
    /// Offset from the iteration's start.
    pub start_ms: f64,
    pub duration_ms: f64,
    /// HTTP steps: time to the response headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttfb_ms: Option<f64>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payloads: Vec<PayloadUse>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub captures: BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Exchange>,
    #[serde(skip, default)]
    pub note: Option<StepNote>,
    /// This step's HTTP requests to the backend under test and the mock.
    #[serde(skip, default)]
    pub http_requests: u32,
    /// Time this step spent asking the mock for ground truth: the tool's
    /// own work, left out of the flow's duration.
    #[serde(skip, default)]
    pub truth_time: Duration,
    /// What later templates see as `{{ <id>.… }}`.
    #[serde(skip, default)]
    pub value: Option<Value>,
}

impl StepResult {
    pub fn skipped(id: &str, kind: String) -> Self {
        StepResult {
            id: id.into(),
            kind,
            start_ms: 0.0,
            duration_ms: 0.0,
            ttfb_ms: None,
            outcome: Outcome::Skipped,
            reason: None,
            cause: None,
            diagnosis: None,
            payloads: vec![],
            captures: BTreeMap::new(),
            exchange: None,
            note: None,
            http_requests: 0,
            truth_time: Duration::ZERO,
            value: None,
        }
    }

    /// This step, failed by `e`: its cause and its words.
    pub fn failed_with(self, e: super::StepError) -> Self {
        let reason = e.to_string();
        StepResult {
            outcome: Outcome::Fail,
            cause: Some(e.cause()),
            diagnosis: Some(reason.clone()),
            reason: Some(reason),
            ..self
        }
    }

    /// The payload a one-line verdict is about: the first that was not
    /// fresh, else the first.
    pub fn verdict_payload(&self) -> Option<&PayloadUse> {
        self.payloads.iter().find(|p| p.freshness != Freshness::Fresh).or(self.payloads.first())
    }

    /// The first stale payload this step sent, if any.
    pub fn stale(&self) -> Option<(u32, u32)> {
        self.payloads.iter().find_map(|p| match p.freshness {
            Freshness::Stale { sealed, against } => Some((sealed, against)),
            _ => None,
        })
    }
}

/// One iteration of one flow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowResult {
    /// The flow's file stem (`login-first`).
    pub flow: String,
    pub name: String,
    pub file: String,
    pub iteration: u64,
    pub seed: u64,
    pub user: String,
    /// Every step passed (the login worked).
    pub passed: bool,
    pub expected: Expectation,
    /// Whether this iteration showed what the flow expects.
    pub expectation_met: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<String>,
    pub duration_ms: f64,
    /// Open model: how long after its due time the iteration could start
    /// (all in-flight slots were taken); counted in `duration_ms`.
    #[serde(skip, default)]
    pub late_ms: f64,
    pub steps: Vec<StepResult>,
}

impl FlowResult {
    /// The failed step, if any.
    pub fn failed_step(&self) -> Option<&StepResult> {
        self.steps.iter().find(|s| s.outcome == Outcome::Fail)
    }
}

/// What the engine reports while it runs. The run is over when every
/// sender is dropped.
#[derive(Debug, Clone)]
pub enum RunEvent {
    /// A step finished (for live views).
    Step { flow: String, iteration: u64, step: Box<StepResult> },
    /// An iteration finished.
    Flow(Box<FlowResult>),
}
