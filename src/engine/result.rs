//! What a run produces: plain, serialisable data that the reports, the
//! statistics and the dashboard all read. No I/O, and nothing of the
//! engine's own: [`Finished`](super::Finished) wraps it until it is masked.

use crate::flow::Cause;
use crate::flow::locate::Pos;
use crate::flow::model::Expectation;
use crate::redact::Redactor;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

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
    /// The request carried a code the backend never took to jscode2session
    /// (a route, auth or method error before the login): judged against the
    /// current key, but no evidence of what the backend decrypted with.
    NotExchanged,
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
    /// … and the request carried it unencoded where `+` decodes to a
    /// space (a form body, a URL query): the client's own doing.
    #[serde(skip, default)]
    pub plus_unencoded: bool,
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

/// A check of a step that failed (an assertion, a capture, a template),
/// and where its flow file wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The place in the file, until [`Failure::locate`] names the file.
    #[serde(skip)]
    pub at: Option<Pos>,
}

/// A place in a flow file, with its line of source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub source_line: String,
}

impl std::fmt::Display for Location {
    /// `FILE:LINE:COL`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

impl Failure {
    pub fn new(message: impl Into<String>, at: Option<Pos>) -> Self {
        Failure { message: message.into(), location: None, at }
    }

    /// Names the file and its line of source.
    pub fn locate(&mut self, flow: &crate::flow::Flow) {
        if let Some(at) = self.at.take() {
            self.location = Some(Location {
                file: flow.file.clone(),
                line: at.line,
                col: at.col,
                source_line: flow.source_line(at.line).unwrap_or_default().to_string(),
            });
        }
    }

    /// The failure in the one diagnostic look: the message, then
    /// `--> FILE:LINE:COL`, the source line and a caret under the check.
    pub fn render(&self, color: bool) -> String {
        use crate::diagnostic::{Diagnostic, Severity, Snippet, render};
        let primary = self.location.as_ref().map(|l| {
            // Underline the key or name at the place: `$.code`, `status`, `login.nope`.
            let key: String =
                l.source_line.chars().skip(l.col.saturating_sub(1)).take_while(|c| !c.is_whitespace()).collect();
            Snippet {
                file: l.file.clone(),
                line: l.line,
                col: l.col,
                width: key.trim_end_matches(':').chars().count().max(1),
                source_line: Some(l.source_line.clone()),
                label: String::new(),
            }
        });
        let file = self.location.as_ref().map_or("", |l| l.file.as_str());
        let d = Diagnostic {
            severity: Severity::Error,
            code: None,
            message: &self.message,
            file,
            primary: primary.as_ref(),
            related: &[],
            notes: &[],
        };
        render(&d, color)
    }

    /// `FILE:LINE:COL: message`, or the message alone.
    pub fn headline(&self) -> String {
        match &self.location {
            Some(l) => format!("{l}: {}", self.message),
            None => self.message.clone(),
        }
    }
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
    /// Every check of the step that failed, each placed in the flow file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
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
    /// The requests a page step's own code made, with where in the app.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<super::ClientCall>,
    #[serde(skip, default)]
    pub note: Option<StepNote>,
    /// This step's HTTP requests to the backend under test and the mock.
    #[serde(skip, default)]
    pub http_requests: u32,
    /// Values this step found to be secret by their provenance, not their
    /// name (a session_key the answer leaked, the JWT that held it): kept in
    /// clear for later steps, masked with every encoding wherever a result
    /// is shown.
    #[serde(skip, default)]
    pub secrets: Vec<String>,
    /// The errcode WeChat (the mock) answered the backend's exchange of
    /// the code this step carried (0: a session), when it was asked.
    #[serde(skip, default)]
    pub wechat_answered: Option<i64>,
    /// The backend refused the connection (nothing listens), as opposed to
    /// cutting one it had accepted.
    #[serde(skip, default)]
    pub refused: bool,
}

impl StepResult {
    /// Masks the secrets in what this result keeps by key: JSON fields,
    /// query and form parameters, headers and captures whose names say
    /// secret; adds their values to `seen`. The step's `value` (what later
    /// templates see) keeps them: it never leaves.
    pub fn mask_keys(&mut self, red: &Redactor, seen: &mut Vec<String>) {
        for s in &self.secrets {
            crate::redact::remember(s, seen);
        }
        if let Some(x) = &mut self.exchange {
            for text in [&mut x.url, &mut x.request_body, &mut x.response_body] {
                if let Some(m) = changed(red.by_key(text, seen)) {
                    *text = m;
                }
            }
            for (k, v) in x.request_headers.iter_mut().chain(x.response_headers.iter_mut()) {
                if let Some(m) = changed(red.named(k, v, seen)) {
                    *v = m;
                }
            }
        }
        for (k, v) in &mut self.captures {
            if let Value::String(s) = v
                && let Some(m) = changed(red.named(k, s, seen))
            {
                *s = m;
            }
        }
        let failures = self.failures.iter_mut().map(|f| &mut f.message);
        for text in [&mut self.reason, &mut self.diagnosis].into_iter().flatten().chain(failures) {
            if let Some(m) = changed(red.by_key(text, seen)) {
                *text = m;
            }
        }
    }

    /// Masks every value in `seen` (and every known secret) wherever it
    /// appears in this result's texts.
    pub fn mask_values(&mut self, red: &Redactor, seen: &[String]) {
        let x = self.exchange.as_mut();
        let exchange_texts = x.into_iter().flat_map(|x| [&mut x.url, &mut x.request_body, &mut x.response_body]);
        let failures = self.failures.iter_mut().map(|f| &mut f.message);
        let texts = [&mut self.reason, &mut self.diagnosis].into_iter().flatten().chain(failures);
        for text in exchange_texts.chain(texts) {
            if let Some(m) = changed(red.by_value(text, seen)) {
                *text = m;
            }
        }
    }

    /// A step not run (yet): its executor fills in what it did.
    pub fn new(id: &str, kind: String) -> Self {
        StepResult {
            id: id.into(),
            kind,
            start_ms: 0.0,
            duration_ms: 0.0,
            ttfb_ms: None,
            outcome: Outcome::Skipped,
            reason: None,
            failures: vec![],
            cause: None,
            diagnosis: None,
            payloads: vec![],
            captures: BTreeMap::new(),
            secrets: vec![],
            requests: vec![],
            wechat_answered: None,
            refused: false,
            exchange: None,
            note: None,
            http_requests: 0,
        }
    }

    /// This step, failed for `cause`, with what that means.
    pub fn failed(self, cause: Cause, diagnosis: String) -> Self {
        StepResult { outcome: Outcome::Fail, cause: Some(cause), diagnosis: Some(diagnosis), ..self }
    }

    /// This step, failed by `e`: its cause and its words.
    pub fn failed_with(self, e: super::StepError) -> Self {
        let at = match &e {
            super::StepError::Render(r) => r.pos,
            _ => None,
        };
        let r = StepResult { reason: Some(e.to_string()), failures: vec![Failure::new(e.to_string(), at)], ..self };
        r.failed(e.cause(), e.diagnosis())
    }

    /// The payload a one-line verdict is about: the first that was not
    /// fresh, else the first.
    pub fn verdict_payload(&self) -> Option<&PayloadUse> {
        self.payloads.iter().find(|p| p.freshness != Freshness::Fresh).or(self.payloads.first())
    }

    /// The first stale payload this step sent, if any, where the backend
    /// took its code to WeChat (else staleness says nothing of the failure).
    pub fn stale(&self) -> Option<(u32, u32)> {
        self.payloads.iter().find_map(|p| match p.freshness {
            Freshness::Stale { sealed, against } if p.basis != Basis::NotExchanged => Some((sealed, against)),
            _ => None,
        })
    }

    /// How reports say a payload's freshness when its code never reached
    /// WeChat.
    pub const NEVER_EXCHANGED: &str = "code never exchanged by the backend";

    /// The request carried a login code the backend never took to WeChat.
    pub fn code_never_exchanged(&self) -> bool {
        self.payloads.iter().any(|p| p.basis == Basis::NotExchanged)
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
        deciding_step(&self.steps)
    }

    /// Where in the flow file the deciding step's first located check failed.
    pub fn failure_location(&self) -> Option<&Location> {
        self.failed_step()?.failures.iter().find_map(|f| f.location.as_ref())
    }
}

/// The step that decides an iteration's outcome: one the tester's own side
/// failed (its limits, its mock) leaves the iteration unjudged, whatever
/// failed before it; else the first that failed.
pub fn deciding_step(steps: &[StepResult]) -> Option<&StepResult> {
    steps
        .iter()
        .find(|s| s.cause.is_some_and(crate::flow::Cause::unjudged))
        .or_else(|| steps.iter().find(|s| s.outcome == Outcome::Fail))
}

/// The masked text, if masking changed it.
fn changed(masked: Cow<'_, str>) -> Option<String> {
    match masked {
        Cow::Owned(m) => Some(m),
        Cow::Borrowed(_) => None,
    }
}
