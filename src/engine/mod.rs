//! Runs one flow as one virtual user: step executors, assertions, ground
//! truth freshness, diagnosis. Emits [`RunEvent`]s; never imports a view.
//!
//! One iteration's life, and the files it passes through:
//! ```text
//! Flow (checked once, templates compiled)           flow/
//!   │ per step, in order                             mod.rs (the run loop)
//!   ├─ wx step ──▶ mock client API ──▶ answer       wx.rs      ─┐ side exits:
//!   │                                 └▶ Produced   freshness.rs │ mock down/restarted
//!   ├─ http step: render ──▶ Rendered request       http.rs      │   → mock_unavailable
//!   │      send ──▶ answer │ transport error        send.rs      │ own descriptors
//!   │      assertions + captures (FILE:LINE:COL)    assertions.rs│   → tester_limit
//!   │      Carried ──▶ ground truth ──▶ judge       freshness.rs │ template → template
//!   │      cause + diagnosis                        diagnose.rs ─┘ (all: the step fails)
//!   └─ sleep
//!   each executor returns Executed; the loop assembles the StepResult once,
//!   places its failures in the file, feeds captures to later templates
//!   ▼
//! FlowResult (deciding step: unjudged cause first)   result.rs
//!   ▼ Finished: settle (deferred truth), then masked
//! stats.rs (pure fold) ──▶ report/ (text, JSON, JUnit, HTML), tui/
//! ```

pub mod assertions;
pub mod diagnose;
mod error;
mod finished;
mod freshness;
mod http;
pub mod leak;
mod page;
pub mod result;
mod send;
mod wx;

pub use error::{RESTARTED, StepError, UNJUDGED};
pub use finished::{Finished, RunEvent};
pub use page::ClientCall;
pub use result::{
    Basis, Exchange, Failure, FlowResult, Freshness, Location, Outcome, PayloadUse, StepNote, StepResult,
};

use crate::contract::{GroundTruth, HttpTruth, Rotation};
use crate::flow::Flow;
use crate::flow::model::{ExpectedOutcome, StepKind};
use crate::flow::template::Scope;
use crate::http1::ApiClient;
use crate::redact::Redactor;
use freshness::Produced;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::Sender;

/// What every iteration of a run shares.
#[derive(Clone)]
pub struct Engine {
    http: reqwest::Client,
    pub mock_url: String,
    pub target: String,
    pub seed: u64,
    /// Overrides every flow's rotation policy (`--rotation`); the dashboard
    /// changes it while a load run goes on.
    rotation: Arc<RwLock<Option<Rotation>>>,
    /// Masks secrets in everything a result keeps (unless revealing).
    redactor: Arc<Redactor>,
    /// The app every client-side request names; the mock's first if `None`.
    appid: Option<String>,
    /// Where ground truth comes from: the mock over HTTP, or in-process.
    truth: Arc<dyn GroundTruth>,
    /// Where http steps' URLs go (see [`send`]).
    routes: Arc<std::sync::Mutex<send::Routes>>,
    /// How wx steps reach the mock.
    mock: Arc<ApiClient>,
    /// Iterations in progress on this engine: ground-truth lookups wait for
    /// a ride while some are still running.
    running: Arc<AtomicUsize>,
    /// The target (and its accept loop) runs in this process: its own
    /// resource errors are the tester's.
    own_servers: bool,
    /// Variables given from outside the flows, by name, in every scope.
    variables: Arc<Vec<(String, serde_json::Value)>>,
    /// The Mini Program `page.*` steps run when their flow names none (`--app`).
    app: Option<std::path::PathBuf>,
    /// Mini Programs read so far, by root: each read once per run.
    apps: Arc<std::sync::Mutex<std::collections::HashMap<std::path::PathBuf, Arc<crate::client::AppFiles>>>>,
}

/// Counts an iteration as running until it is dropped (also when its
/// future is dropped half way).
struct Running<'a>(&'a AtomicUsize);

impl<'a> Running<'a> {
    fn start(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Running(count)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// What a step executor hands back: its result, timed by itself, and what
/// only the run loop needs (reports never see it).
struct Executed {
    result: StepResult,
    /// What later templates see as `{{ <id>.… }}`.
    value: Option<serde_json::Value>,
    /// Time spent asking the mock for ground truth: the tool's own work,
    /// left out of the flow's duration.
    truth_time: Duration,
    /// Payloads of a passing step still to judge ([`Finished::settle`]).
    pending: Option<freshness::Carried>,
}

impl From<StepResult> for Executed {
    fn from(result: StepResult) -> Self {
        Executed { result, value: None, truth_time: Duration::ZERO, pending: None }
    }
}

impl Engine {
    pub fn new(mock_url: &str, target: &str, seed: u64, rotation: Option<Rotation>, reveal_secrets: bool) -> Self {
        let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap_or_default();
        let mock_url = mock_url.trim_end_matches('/');
        let running = Arc::new(AtomicUsize::new(0));
        Engine {
            truth: Arc::new(HttpTruth::new(http.clone(), mock_url, running.clone())),
            running,
            mock_url: mock_url.into(),
            target: target.trim_end_matches('/').into(),
            seed,
            rotation: Arc::new(RwLock::new(rotation)),
            redactor: Arc::new(Redactor::new(reveal_secrets, vec![])),
            appid: None,
            routes: Arc::default(),
            mock: Arc::new(ApiClient::new(http.clone(), mock_url).pooled(crate::limits::POOLED_LEG)),
            http,
            own_servers: false,
            variables: Arc::default(),
            app: None,
            apps: Arc::default(),
        }
    }

    /// Runs `page.*` steps of flows without an `app:` on this Mini Program.
    pub fn with_app(mut self, app: Option<std::path::PathBuf>) -> Self {
        self.app = app;
        self
    }

    /// The `--app` of `other` (a replay's engine takes the run's).
    pub fn with_app_of(mut self, other: &Engine) -> Self {
        self.app.clone_from(&other.app);
        self
    }

    /// Reads ground truth from here (the in-process mock) instead of over HTTP.
    pub fn with_truth(mut self, truth: Option<Arc<dyn GroundTruth>>) -> Self {
        if let Some(t) = truth {
            self.truth = t;
        }
        self
    }

    /// Trusts servers as `tls` says (extra CA roots, or `--insecure`) for
    /// the target and the mock.
    pub fn with_client_tls(mut self, tls: &crate::tls::ClientTls) -> Self {
        let builder = reqwest::Client::builder().pool_max_idle_per_host(256);
        self.http = tls.apply(builder).build().unwrap_or_default();
        self.mock = Arc::new(ApiClient::new(self.http.clone(), &self.mock_url).pooled(crate::limits::POOLED_LEG));
        if self.truth.over_http() {
            self.truth = Arc::new(HttpTruth::new(self.http.clone(), &self.mock_url, self.running.clone()));
        }
        self
    }

    /// Says the target runs in this process (the embedded reference backend).
    pub fn with_own_servers(mut self, own: bool) -> Self {
        self.own_servers = own;
        self
    }

    /// Names this app in every client-side request (wx steps, the mock clock).
    pub fn with_appid(mut self, appid: Option<String>) -> Self {
        self.appid = appid;
        self
    }

    /// Masks these secrets (the apps' appsecrets) by value wherever they
    /// appear in results, besides those known already.
    pub fn with_known_secrets(mut self, secrets: Vec<String>) -> Self {
        let known = self.redactor.known().iter().cloned().chain(secrets).collect();
        self.redactor = Arc::new(Redactor::new(self.redactor.reveal(), known));
        self
    }

    /// Gives every flow the variables from outside (they beat a flow's own
    /// `vars:` of the same name); masks the secret ones.
    pub fn with_variables(mut self, outside: &crate::flow::vars::Outside) -> Self {
        self.variables = Arc::new(outside.0.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect());
        self.with_known_secrets(outside.secrets())
    }

    /// The variables and known secrets of `other` (a replay's engine takes
    /// the run's).
    pub fn with_variables_of(mut self, other: &Engine) -> Self {
        self.variables = other.variables.clone();
        self.with_known_secrets(other.redactor.known().to_vec())
    }

    /// The rotation override in force.
    pub fn rotation(&self) -> Option<Rotation> {
        *self.rotation.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Changes the rotation override for every login from now on.
    pub fn set_rotation(&self, rotation: Option<Rotation>) {
        *self.rotation.write().unwrap_or_else(std::sync::PoisonError::into_inner) = rotation;
    }

    /// The virtual user of an iteration: its own unless a pool is shared.
    pub fn user_for(flow: &Flow, seed: u64, iteration: u64) -> String {
        format!("{}-s{seed}-i{iteration}", flow.id)
    }

    /// The builtins and the flow's vars, in order.
    fn scope(&self, flow: &Flow, iteration: u64, user: &str) -> Result<Scope, StepError> {
        let mut scope = Scope::new();
        scope.insert("target".into(), json!(self.target));
        scope.insert("mock".into(), json!(self.mock_url));
        scope.insert("user".into(), json!(user));
        scope.insert("seed".into(), json!(self.seed));
        scope.insert("iteration".into(), json!(iteration));
        for (k, v) in self.variables.iter() {
            scope.insert(k.clone(), v.clone());
        }
        for (k, v) in &flow.vars {
            if !self.variables.iter().any(|(given, _)| given == k) {
                let v = v.render(&scope)?;
                scope.insert(k.clone(), v);
            }
        }
        Ok(scope)
    }

    /// Runs `flow` once as `user`; step events (masked) go to `events` if
    /// given.
    pub async fn run(&self, flow: &Flow, iteration: u64, user: &str, events: Option<&Sender<RunEvent>>) -> Finished {
        self.run_with(flow, iteration, user, events, false).await
    }

    /// [`Engine::run`] as a load run's virtual user: it does not wait for
    /// the ground truth about a passing last step (against an external
    /// mock, a round trip the backend never sees); the result then needs
    /// [`Finished::settle`].
    pub async fn run_unsettled(&self, flow: &Flow, iteration: u64, user: &str) -> Finished {
        self.run_with(flow, iteration, user, None, self.truth.over_http()).await
    }

    async fn run_with(
        &self,
        flow: &Flow,
        iteration: u64,
        user: &str,
        events: Option<&Sender<RunEvent>>,
        defer_truth: bool,
    ) -> Finished {
        let started = Instant::now();
        let _running = Running::start(&self.running);
        let (mut scope, mut failed_vars) = match self.scope(flow, iteration, user) {
            Ok(s) => (s, None),
            Err(e) => (Scope::new(), Some(e)),
        };
        let mut produced: Vec<Produced> = vec![];
        let mut steps = vec![];
        let (mut pending, mut truth_time) = (vec![], Duration::ZERO);
        // Secret values the step events have shown, masked wherever they recur.
        let mut seen = vec![];
        let mut stopped = false;
        // The app's launch, once its first page step runs.
        let mut page_run = None;
        for (n, step) in flow.steps.iter().enumerate() {
            let new = StepResult::new(&step.id, step.label());
            if stopped {
                steps.push(new);
                continue;
            }
            let start_ms = ms(started.elapsed());
            let done: Executed = if let Some(e) = failed_vars.take() {
                new.failed_with(e).into()
            } else {
                match &step.kind {
                    StepKind::Wx { api, args } => self.wx(flow, new, *api, args, user, &mut produced).await,
                    StepKind::Http(h) => {
                        let last = n + 1 == flow.steps.len();
                        self.http_step(new, h, &scope, &produced, defer_truth && last, flow.backend.as_ref()).await
                    }
                    StepKind::Sleep { duration, clock } => self.sleep(new, *duration, *clock, user).await.into(),
                    kind @ (StepKind::PageOpen { .. } | StepKind::PageTap { .. }) => {
                        self.page_step(flow, new, kind, &mut page_run, user, iteration, &mut produced).await
                    }
                }
            };
            let mut r = StepResult { start_ms, ..done.result };
            for f in &mut r.failures {
                f.locate(flow);
            }
            if let Some(v) = done.value {
                scope.insert(step.id.clone(), v);
            }
            if let Some(c) = done.pending {
                pending.push((n, c));
            }
            truth_time += done.truth_time;
            for (k, v) in &r.captures {
                scope.insert(k.clone(), v.clone());
            }
            if r.outcome == Outcome::Fail && !step.continue_on_error {
                stopped = true;
            }
            if let Some(tx) = events {
                let mut step = r.clone();
                step.mask_keys(&self.redactor, &mut seen);
                step.mask_values(&self.redactor, &seen);
                let _ = tx.send(RunEvent::Step { flow: flow.id.clone(), iteration, step: Box::new(step) }).await;
            }
            steps.push(r);
        }
        let failed = result::deciding_step(&steps);
        let passed = failed.is_none();
        let cause = failed.and_then(|s| s.cause);
        let diagnosis = failed.and_then(|s| s.diagnosis.clone().or_else(|| s.reason.clone()));
        let expectation_met = match flow.expect.outcome {
            ExpectedOutcome::Pass => passed,
            ExpectedOutcome::Fail => !passed && flow.expect.cause.is_none_or(|c| Some(c) == cause),
        };
        let result = FlowResult {
            flow: flow.id.clone(),
            name: flow.name.clone(),
            file: flow.file.clone(),
            iteration,
            seed: self.seed,
            user: user.into(),
            passed,
            expected: flow.expect.clone(),
            expectation_met,
            cause,
            diagnosis,
            // What a user would wait: the mock's ground truth is the tool's.
            duration_ms: ms(started.elapsed().saturating_sub(truth_time)),
            late_ms: 0.0,
            steps,
        };
        Finished::unmasked(result, pending, self.redactor.clone(), self.truth.clone())
    }
}
