//! Runs one flow as one virtual user: step executors, assertions, ground
//! truth freshness, diagnosis. Emits [`RunEvent`]s; never imports a view.

pub mod assertions;
pub mod diagnose;
mod http;

use crate::error_chain;
use http::{cut, read_answer, render_request};
pub mod result;

pub use result::{Exchange, FlowResult, Freshness, Outcome, PayloadUse, RunEvent, StepResult};

use crate::flow::model::{ExpectedOutcome, HttpStep, SleepClock, StepKind, WxApi, WxArgs};
use crate::flow::template::render_value;
use crate::flow::{Cause, Flow};
use crate::mock::{CLIENT_PREFIX, Rotation};
use crate::redact::{self, Redactor};
use diagnose::Transport;
use serde_json::{Value, json};
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
    redactor: Redactor,
    /// The app every client-side request names; the mock's first if `None`.
    appid: Option<String>,
    /// The mock itself when it runs in this process: ground truth is read
    /// directly instead of over HTTP (a third of a flow's requests).
    local: Option<crate::mock::Mock>,
}

/// A payload or code a wx step produced, remembered for later steps.
struct Produced {
    step: String,
    iv: Option<String>,
    has_plus: bool,
    code: Option<String>,
    generation: Option<u32>,
    at: Instant,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl Engine {
    pub fn new(mock_url: &str, target: &str, seed: u64, rotation: Option<Rotation>, reveal_secrets: bool) -> Self {
        let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap_or_default();
        Engine {
            http,
            mock_url: mock_url.trim_end_matches('/').into(),
            target: target.trim_end_matches('/').into(),
            seed,
            rotation: Arc::new(RwLock::new(rotation)),
            redactor: Redactor::new(reveal_secrets, vec![]),
            appid: None,
            local: None,
        }
    }

    /// Names this app in every client-side request (wx steps, the mock clock).
    pub fn with_appid(mut self, appid: Option<String>) -> Self {
        self.appid = appid;
        self
    }

    /// Masks these secrets (the apps' appsecrets) by value wherever they
    /// appear in results.
    pub fn with_known_secrets(mut self, secrets: Vec<String>) -> Self {
        self.redactor = Redactor::new(self.redactor.reveal(), secrets);
        self
    }

    /// Reads ground truth from this in-process mock instead of over HTTP.
    pub fn with_local_mock(mut self, mock: Option<crate::mock::Mock>) -> Self {
        self.local = mock;
        self
    }

    /// The rotation override in force.
    pub fn rotation(&self) -> Option<Rotation> {
        *self.rotation.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the rotation override for every login from now on.
    pub fn set_rotation(&self, rotation: Option<Rotation>) {
        *self.rotation.write().unwrap_or_else(|p| p.into_inner()) = rotation;
    }

    /// The virtual user of an iteration: its own unless a pool is shared.
    pub fn user_for(flow: &Flow, seed: u64, iteration: u64) -> String {
        format!("{}-s{seed}-i{iteration}", flow.id)
    }

    /// Runs `flow` once as `user`; step events go to `events` if given.
    pub async fn run(&self, flow: &Flow, iteration: u64, user: &str, events: Option<&Sender<RunEvent>>) -> FlowResult {
        let started = Instant::now();
        let mut scope = serde_json::Map::new();
        scope.insert("target".into(), json!(self.target));
        scope.insert("mock".into(), json!(self.mock_url));
        scope.insert("user".into(), json!(user));
        scope.insert("seed".into(), json!(self.seed));
        scope.insert("iteration".into(), json!(iteration));
        for (k, v) in &flow.vars {
            let v = render_value(v, &scope).unwrap_or_else(|_| v.clone());
            scope.insert(k.clone(), v);
        }
        let mut produced: Vec<Produced> = vec![];
        let mut steps = vec![];
        // Secret values this iteration has seen, masked wherever they recur.
        let mut seen = vec![];
        let mut stopped = false;
        for step in &flow.steps {
            if stopped {
                steps.push(StepResult::skipped(&step.id, step.label()));
                continue;
            }
            let t0 = Instant::now();
            let mut r = match &step.kind {
                StepKind::Wx { api, args } => self.wx(flow, &step.id, *api, args, user, &mut produced).await,
                StepKind::Http(h) => self.http_step(&step.id, h, &scope, &produced).await,
                StepKind::Sleep { duration, clock } => self.sleep(&step.id, *duration, *clock, user).await,
            };
            r.kind = step.label();
            r.start_ms = ms(t0 - started);
            // wx and http steps time themselves (the http step leaves out its
            // ground-truth lookups); time the others here.
            if r.duration_ms == 0.0 {
                r.duration_ms = ms(t0.elapsed());
            }
            if let Some(v) = &r.value {
                scope.insert(step.id.clone(), v.clone());
            }
            for (k, v) in &r.captures {
                scope.insert(k.clone(), v.clone());
            }
            if r.outcome == Outcome::Fail && !step.continue_on_error {
                stopped = true;
            }
            self.redact(&mut r, &mut seen);
            if let Some(tx) = events {
                let _ = tx.send(RunEvent::Step { flow: flow.id.clone(), iteration, step: Box::new(r.clone()) }).await;
            }
            steps.push(r);
        }
        let failed = steps.iter().find(|s| s.outcome == Outcome::Fail);
        let passed = failed.is_none();
        let cause = failed.and_then(|s| s.cause);
        let diagnosis = failed.and_then(|s| s.diagnosis.clone().or_else(|| s.reason.clone()));
        let expectation_met = match flow.expect.outcome {
            ExpectedOutcome::Pass => passed,
            ExpectedOutcome::Fail => !passed && flow.expect.cause.is_none_or(|c| Some(c) == cause),
        };
        FlowResult {
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
            duration_ms: ms(started.elapsed()),
            steps,
        }
    }

    async fn post_mock(&self, path: &str, body: &Value) -> Result<(u16, Value), String> {
        let url = format!("{}{CLIENT_PREFIX}{path}", self.mock_url);
        let resp = self
            .http
            .post(&url)
            .json(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| format!("mock at {url}: {}", error_chain(&e)))?;
        let status = resp.status().as_u16();
        let v = resp.json().await.map_err(|e| format!("mock at {url} answered non-JSON: {e}"))?;
        Ok((status, v))
    }

    async fn wx(
        &self,
        flow: &Flow,
        id: &str,
        api: WxApi,
        args: &WxArgs,
        user: &str,
        produced: &mut Vec<Produced>,
    ) -> StepResult {
        let mut r = StepResult::skipped(id, String::new());
        let mut body = json!({ "user": user });
        if let Some(appid) = &self.appid {
            body["appid"] = json!(appid);
        }
        if api == WxApi::Login {
            if let Some(rot) = self.rotation().or(flow.mock.rotation) {
                body["rotation"] = json!(rot);
            }
            if let Some(f) = &flow.mock.faults {
                body["faults"] = json!(f);
            }
        }
        if let Some(w) = &args.watermark_appid {
            body["watermark_appid"] = json!(w);
        }
        if let Some(m) = args.mode {
            body["mode"] = json!(m);
        }
        let path = format!("/client/{}", api.route());
        r.http_requests = 1;
        let t0 = Instant::now();
        let answer = self.post_mock(&path, &body).await;
        r.duration_ms = ms(t0.elapsed());
        r.exchange = Some(Exchange {
            method: "POST".into(),
            url: format!("{}{CLIENT_PREFIX}{path}", self.mock_url),
            request_body: body.to_string(),
            status: answer.as_ref().ok().map(|a| a.0),
            response_body: answer.as_ref().map(|a| a.1.to_string()).unwrap_or_default(),
            ..Exchange::default()
        });
        let mut v = match answer {
            Ok((200, v)) => v,
            Ok((status, v)) => {
                return fail(
                    r,
                    Cause::Mock,
                    format!("the mock refused wx.{} (HTTP {status}): {}", api.route(), v["error"]),
                );
            }
            Err(e) => return fail(r, Cause::Connection, e),
        };
        // The mock's truth (generation, rotated) becomes plain result fields.
        if let Some(Value::Object(truth)) = v.as_object_mut().and_then(|o| o.remove("wxflow")) {
            for (k, x) in truth {
                v[k] = x;
            }
        }
        if api == WxApi::CheckSession {
            v["valid"] = json!(v["errMsg"].as_str().is_some_and(|m| m.ends_with(":ok")));
        }
        let iv = v["iv"].as_str().map(String::from);
        let generation = v["generation"].as_u64().map(|g| g as u32);
        let has_plus = [&v["iv"], &v["encryptedData"]].iter().any(|x| x.as_str().is_some_and(|s| s.contains('+')));
        if let Some(iv) = &iv {
            r.payloads.push(PayloadUse {
                from_step: id.into(),
                iv: iv.clone(),
                sealed_generation: generation,
                against_generation: generation,
                basis: "current_key",
                age_ms: 0.0,
                freshness: Freshness::Fresh,
                has_plus,
            });
        }
        produced.push(Produced {
            step: id.into(),
            iv,
            has_plus,
            code: v["code"].as_str().map(String::from),
            generation,
            at: Instant::now(),
        });
        r.outcome = Outcome::Pass;
        r.value = Some(v);
        r
    }

    async fn sleep(&self, id: &str, d: Duration, clock: SleepClock, user: &str) -> StepResult {
        let r = StepResult { outcome: Outcome::Pass, ..StepResult::skipped(id, String::new()) };
        match clock {
            SleepClock::Real => {
                // A zero sleep is a no-op, not a wait for the timer's next tick.
                if !d.is_zero() {
                    tokio::time::sleep(d).await;
                }
                r
            }
            SleepClock::Mock => {
                let mut body = json!({ "user": user, "advance_secs": d.as_secs_f64() });
                if let Some(appid) = &self.appid {
                    body["appid"] = json!(appid);
                }
                match self.post_mock("/clock", &body).await {
                    Ok((200, _)) => {
                        StepResult { value: Some(json!({ "mock_clock_advanced_s": d.as_secs_f64() })), ..r }
                    }
                    Ok((s, v)) => fail(r, Cause::Mock, format!("the mock refused to move its clock (HTTP {s}): {v}")),
                    Err(e) => fail(r, Cause::Connection, e),
                }
            }
        }
    }

    async fn http_step(
        &self,
        id: &str,
        h: &HttpStep,
        scope: &serde_json::Map<String, Value>,
        produced: &[Produced],
    ) -> StepResult {
        let mut r = StepResult::skipped(id, String::new());
        let (url, headers, body, content_type) = match render_request(h, scope) {
            Ok(x) => x,
            Err(e) => return fail(r, Cause::Assertion, format!("template: {e}")),
        };
        let mut req = self.http.request(h.method.clone(), &url).timeout(h.timeout);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        let mut exchange = Exchange {
            method: h.method.to_string(),
            url: url.clone(),
            request_headers: headers.iter().cloned().collect(),
            request_body: cut(&body),
            ..Exchange::default()
        };
        let sent = format!("{url}\n{body}");
        let t0 = Instant::now();
        r.http_requests = 1;
        let outcome = read_answer(req.body(body)).await;
        let duration = t0.elapsed();
        r.duration_ms = ms(duration);
        let (status, resp_headers, text) = match outcome {
            Ok((status, ttfb, headers, text)) => {
                r.ttfb_ms = Some(ms(ttfb));
                (status, headers, text)
            }
            Err(t) => {
                r.exchange = Some(exchange);
                r.reason = Some(match &t {
                    Transport::Timeout(m) | Transport::Connection(m) => m.clone(),
                });
                let (cause, diag) = diagnose::classify(&r, Some(&t), None, None, None);
                return fail_with(r, cause, diag);
            }
        };
        let json: Option<Value> = serde_json::from_str(&text).ok();
        exchange.status = Some(status);
        exchange.response_headers = resp_headers.clone();
        exchange.response_body = cut(&text);
        r.exchange = Some(exchange);
        let code_age = self.freshness(&mut r, produced, &sent).await;
        let answer = assertions::Answer { status, headers: &resp_headers, text: &text, json: json.as_ref(), duration };
        let mut failures = assertions::check(h, &answer);
        match assertions::capture(h, &answer) {
            Ok(c) => r.captures = c,
            Err(e) => failures.push(e),
        }
        r.value = Some(json!({
                "status": status,
                "headers": resp_headers,
                "body": json.clone().unwrap_or(Value::String(text.clone())),
                "duration_ms": r.duration_ms,
        }));
        if failures.is_empty() {
            r.outcome = Outcome::Pass;
            return r;
        }
        r.reason = Some(failures.join("; "));
        let (cause, diag) = diagnose::classify(&r, None, json.as_ref(), Some(status), code_age);
        fail_with(r, cause, diag)
    }

    /// Judges every payload this request carried against the mock's ground
    /// truth; returns the age of the login code it carried.
    async fn freshness(&self, r: &mut StepResult, produced: &[Produced], sent: &str) -> Option<i64> {
        let carried = |v: &str| {
            sent.contains(v) || sent.contains(&form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>())
        };
        let mut exchanged = None;
        let mut code_age = None;
        for p in produced.iter().filter(|p| p.code.as_deref().is_some_and(carried)) {
            let (truth, over_http) = self.truth("code", p.code.as_deref().unwrap_or_default()).await;
            r.http_requests += over_http as u32;
            if let Some(t) = truth {
                exchanged = t["exchanged_generation"].as_u64().map(|g| g as u32).or(exchanged);
                code_age = t["age_ms"].as_i64();
            }
        }
        for p in produced.iter().filter(|p| p.iv.as_deref().is_some_and(carried)) {
            let iv = p.iv.clone().unwrap_or_default();
            let (truth, over_http) = self.truth("iv", &iv).await;
            r.http_requests += over_http as u32;
            let sealed =
                truth.as_ref().and_then(|t| t["sealed_generation"].as_u64()).map(|g| g as u32).or(p.generation);
            let current = truth.as_ref().and_then(|t| t["current_generation"].as_u64()).map(|g| g as u32);
            let (against, basis) = match exchanged {
                Some(g) => (Some(g), "code_exchange"),
                None => (current, "current_key"),
            };
            let freshness = match (sealed, against) {
                (Some(s), Some(a)) if s == a => Freshness::Fresh,
                (Some(s), Some(a)) => Freshness::Stale { sealed: s, current: a },
                _ => Freshness::Unknown,
            };
            r.payloads.push(PayloadUse {
                from_step: p.step.clone(),
                iv,
                sealed_generation: sealed,
                against_generation: against,
                basis,
                age_ms: ms(p.at.elapsed()),
                freshness,
                has_plus: p.has_plus,
            });
        }
        code_age
    }

    /// The mock's ground truth for an `iv` or a `code`, and whether asking
    /// cost an HTTP request.
    async fn truth(&self, key: &str, value: &str) -> (Option<Value>, bool) {
        if let Some(mock) = &self.local {
            let s = mock.state();
            let v =
                if key == "iv" { s.iv_truth(value).map(|t| json!(t)) } else { s.code_truth(value).map(|t| json!(t)) };
            return (v, false);
        }
        (self.truth_over_http(key, value).await, true)
    }

    async fn truth_over_http(&self, key: &str, value: &str) -> Option<Value> {
        let url = format!("{}{CLIENT_PREFIX}/truth", self.mock_url);
        let resp = self.http.get(url).query(&[(key, value)]).timeout(Duration::from_secs(5)).send().await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        resp.json().await.ok()
    }

    /// Masks the secrets in what a step's result keeps, by key and by value,
    /// first learning the secret values its exchange and captures hold. The
    /// step's `value` (what later templates see) keeps them: it never leaves.
    fn redact(&self, r: &mut StepResult, seen: &mut Vec<String>) {
        if self.redactor.reveal() {
            return;
        }
        if let Some(x) = &r.exchange {
            for text in [&x.url, &x.request_body, &x.response_body] {
                Redactor::harvest(text, seen);
            }
            for (k, v) in x.request_headers.iter().chain(&x.response_headers) {
                if redact::is_secret_name(k) {
                    redact::remember(v, seen);
                }
            }
        }
        for (k, v) in &r.captures {
            if let (true, Some(v)) = (redact::is_secret_name(k), v.as_str()) {
                redact::remember(v, seen);
            }
        }
        let red = &self.redactor;
        if let Some(x) = &mut r.exchange {
            x.url = red.text(&x.url, seen);
            x.request_body = red.text(&x.request_body, seen);
            x.response_body = red.text(&x.response_body, seen);
            for (k, v) in x.request_headers.iter_mut().chain(x.response_headers.iter_mut()) {
                *v = red.named(k, v, seen);
            }
        }
        for (k, v) in r.captures.iter_mut() {
            if let Value::String(s) = v {
                *s = red.named(k, s, seen);
            }
        }
        for text in [&mut r.reason, &mut r.diagnosis].into_iter().flatten() {
            *text = red.text(text, seen);
        }
    }
}

fn fail(r: StepResult, cause: Cause, reason: String) -> StepResult {
    StepResult { reason: Some(reason.clone()), ..fail_with(r, cause, reason) }
}

fn fail_with(mut r: StepResult, cause: Cause, diagnosis: String) -> StepResult {
    r.outcome = Outcome::Fail;
    r.cause = Some(cause);
    r.diagnosis = Some(diagnosis);
    r
}
