//! The mock's own API as a contract: what the mock serves under
//! [`CLIENT_PREFIX`] (client routes, ground truth, live settings) and the
//! plain data it speaks (rotation policy, faults, truth records). The mock,
//! the engine, the flows and the dashboard depend on this module; none of
//! them imports the mock's internals. The engine reads ground truth through
//! [`GroundTruth`]: over HTTP ([`HttpTruth`]) or in-process (the mock).

pub mod rotation;

pub use rotation::{Fault, Faults, Rotation, RotationPolicy, parse_fault_arg, validate_faults};

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

use crate::http1::MockClient;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

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
}

/// The mock's truth about a client answer, under its `wxflow` key (the rest
/// is what the Mini Program runtime returns).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
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
}

/// Where the engine reads ground truth.
pub trait GroundTruth: Send + Sync {
    /// The truth about every code and iv of `query`.
    fn lookup<'a>(&'a self, query: &'a TruthQuery) -> BoxFuture<'a, Truths>;
    /// Whether a lookup costs an HTTP request (counted in a run's figures).
    fn over_http(&self) -> bool;
}

/// Ground truth from a mock over HTTP (`POST /__wxflow/truth`). Lookups that
/// arrive while one is in flight go together in the next request: under
/// load one request serves many iterations, and a lone lookup waits for
/// nothing.
pub struct HttpTruth {
    http: Arc<MockClient>,
    /// The batcher, started on the runtime of the first lookup.
    batcher: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<Pending>>,
}

/// A lookup waiting for its batch.
type Pending = (TruthQuery, tokio::sync::oneshot::Sender<Truths>);

/// The most values one truth request carries.
const BATCH_VALUES: usize = 512;

impl HttpTruth {
    pub fn new(http: reqwest::Client, mock_url: &str) -> Self {
        HttpTruth { http: Arc::new(MockClient::new(http, mock_url)), batcher: std::sync::OnceLock::new() }
    }

    /// A mock that cannot say leaves freshness unknown, never fails the step.
    async fn post(http: &MockClient, query: &TruthQuery) -> Truths {
        let body = serde_json::to_string(query).unwrap_or_default();
        match http.post_json(&format!("{CLIENT_PREFIX}/truth"), body, Duration::from_secs(5)).await {
            Ok((200, bytes)) => serde_json::from_slice(&bytes).unwrap_or_default(),
            _ => Truths::default(),
        }
    }

    /// Sends what is queued as one request, answers each lookup its share.
    async fn batch(http: Arc<MockClient>, mut rx: tokio::sync::mpsc::UnboundedReceiver<Pending>) {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            let size = |b: &[Pending]| b.iter().map(|(q, _)| q.codes.len() + q.ivs.len()).sum::<usize>();
            while size(&batch) < BATCH_VALUES
                && let Ok(more) = rx.try_recv()
            {
                batch.push(more);
            }
            let query = TruthQuery {
                codes: batch.iter().flat_map(|(q, _)| q.codes.iter().cloned()).collect(),
                ivs: batch.iter().flat_map(|(q, _)| q.ivs.iter().cloned()).collect(),
            };
            let mut truths = Self::post(&http, &query).await;
            truths.codes.resize(query.codes.len(), None);
            truths.ivs.resize(query.ivs.len(), None);
            let (mut codes, mut ivs) = (truths.codes.into_iter(), truths.ivs.into_iter());
            for (i, (q, tx)) in batch.into_iter().enumerate() {
                let _ = tx.send(Truths {
                    codes: codes.by_ref().take(q.codes.len()).collect(),
                    ivs: ivs.by_ref().take(q.ivs.len()).collect(),
                    requests: u32::from(i == 0),
                });
            }
        }
    }
}

impl GroundTruth for HttpTruth {
    fn lookup<'a>(&'a self, query: &'a TruthQuery) -> BoxFuture<'a, Truths> {
        Box::pin(async move {
            let tx = self.batcher.get_or_init(|| {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                tokio::spawn(Self::batch(self.http.clone(), rx));
                tx
            });
            let (answer_tx, answer) = tokio::sync::oneshot::channel();
            if tx.send((query.clone(), answer_tx)).is_err() {
                return Truths::default();
            }
            answer.await.unwrap_or_default()
        })
    }

    fn over_http(&self) -> bool {
        true
    }
}
