//! The page steps: a Mini Program's own code, driven ([`crate::client`]).
//! `page.open` launches the app once per iteration and opens a page;
//! `page.tap` calls a handler with the event its WXML element gives (an
//! open-type button gets its open data from the mock). Each then runs
//! until the page is idle: the operations it asked for are completed one
//! at a time in an order drawn from the seed, virtual timers fire.
//!
//! What the page sends is judged at the client: a request that carries an
//! iv sealed with another key than the one of the login whose code (or,
//! without a code, the user's latest login) it carries is `stale_iv`,
//! whatever a backend answers.

use super::{Basis, Engine, Exchange, Executed, Freshness, Outcome, PayloadUse, Produced, StepResult, ms};
use crate::client::{AppFiles, ClientError, Op, Page};
use crate::flow::Flow;
use crate::flow::model::{Cause, StepKind, WxApi, WxArgs};
use rand::{RngExt, SeedableRng, rngs::ChaCha8Rng};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// Operations and timers one step may complete before it is called busy.
const MAX_TURNS: u32 = 10_000;
/// Virtual time one step may move the page's clock.
const MAX_VIRTUAL_MS: u64 = 10 * 60 * 1000;

/// One iteration's launch of the app, kept across its page steps.
pub(super) struct PageRun {
    page: Page,
    files: Arc<AppFiles>,
    /// Draws the order in which pending operations complete.
    rng: ChaCha8Rng,
    /// Logins and open data produced so far, for the step's `from_step`.
    calls: u32,
    /// HTTP requests made for the page so far (the mock's, the target's).
    http: u32,
}

/// A request the page made, as the step's result shows it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ClientCall {
    pub method: String,
    pub url: String,
    /// The line of the app's code that made it: `pages/login/login.js:96:5`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The answer's status (wxflow's own answer without a target).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// It carried an iv sealed with another key than its login's.
    pub stale: bool,
}

impl Engine {
    /// The app a flow's page steps run, read once per run.
    fn app_files(&self, flow: &Flow) -> Result<Arc<AppFiles>, String> {
        let root = flow
            .app
            .clone()
            .or_else(|| self.app.clone())
            .ok_or("a page step needs the Mini Program: set `app:` in the flow or give --app DIR")?;
        let mut apps = self.apps.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(files) = apps.get(&root) {
            return Ok(files.clone());
        }
        let files = Arc::new(AppFiles::load(&root)?);
        apps.insert(root, files.clone());
        Ok(files)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn page_step(
        &self,
        flow: &Flow,
        r: StepResult,
        kind: &StepKind,
        run: &mut Option<PageRun>,
        user: &str,
        iteration: u64,
        produced: &mut Vec<Produced>,
    ) -> Executed {
        let t0 = Instant::now();
        if run.is_none() {
            let started = self.app_files(flow).and_then(|files| {
                let page = Page::new(files.clone()).map_err(|e| e.to_string())?;
                let rng = ChaCha8Rng::seed_from_u64(self.seed ^ iteration.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                Ok(PageRun { page, files, rng, calls: 0, http: 0 })
            });
            match started {
                Ok(p) => *run = Some(p),
                Err(e) => return r.failed(Cause::ClientError, e).into(),
            }
        }
        let Some(run) = run.as_mut() else { return r.into() };
        let http_before = run.http;
        let mut step = Drive { r, requests: vec![], refusal: None };
        let started = match kind {
            StepKind::PageOpen { path, query } => run.page.open(path, query, &run.files.uses(path)),
            StepKind::PageTap { handler, detail } => {
                match self.tap_event(flow, run, handler, detail.as_ref(), user, produced).await {
                    Ok((event, component)) => run.page.tap(handler, &event, component.as_deref()),
                    Err(failed) => {
                        return StepResult { duration_ms: ms(t0.elapsed()), ..step.r.failed(failed.0, failed.1) }
                            .into();
                    }
                }
            }
            _ => Ok(()),
        };
        let outcome = match started {
            Ok(()) => self.drive(flow, run, &mut step, user, produced).await,
            Err(e) => Err(client_failure(&e)),
        };
        let Drive { mut r, requests, refusal } = step;
        r.duration_ms = ms(t0.elapsed());
        r.http_requests = run.http - http_before;
        let unmodelled = run.page.take_unmodelled();
        if !unmodelled.is_empty() {
            let list: Vec<String> = unmodelled.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
            r.reason = Some(format!("called but not modelled: {}", list.join(", ")));
        }
        let stale = requests.iter().find(|c| c.stale).cloned();
        r.requests = requests;
        r = match (outcome, stale) {
            (Err((cause, why)), _) => r.failed(cause, why),
            (Ok(()), Some(call)) => {
                let (sealed, against) = r
                    .payloads
                    .iter()
                    .find_map(|p| match p.freshness {
                        Freshness::Stale { sealed, against } => Some((sealed, against)),
                        _ => None,
                    })
                    .unwrap_or_default();
                let at = call.at.map_or_else(String::new, |a| format!(" from {a}"));
                r.failed(
                    Cause::StaleIv,
                    format!(
                        "the page's request {} {}{at} carried encryptedData/iv sealed with session_key generation {sealed}, but the login it goes with made generation {against}: the backend cannot decrypt it (-41003) or the signature mismatches. Call wx.login first and obtain the open data after it answers, or obtain it again after the login (no popup the second time)",
                        call.method, call.url
                    ),
                )
            }
            (Ok(()), None) => match refusal {
                // The target refused a request the page made: judged as an
                // http step's answer is (its codes, its contract).
                Some((status, body)) => {
                    let (cause, why) =
                        super::diagnose::classify(&r, None, Some(&body), Some(status), None, flow.backend.as_ref());
                    r.failed(cause, why)
                }
                None => StepResult { outcome: Outcome::Pass, ..r },
            },
        };
        r.into()
    }

    /// The event the element binding `handler` gives, and the custom
    /// component whose template holds it (none: the page's own): an
    /// open-type button's open data from the mock, its `data-*` as the
    /// dataset; `detail:` wins.
    async fn tap_event(
        &self,
        flow: &Flow,
        run: &mut PageRun,
        handler: &str,
        detail: Option<&Value>,
        user: &str,
        produced: &mut Vec<Produced>,
    ) -> Result<(Value, Option<String>), (Cause, String)> {
        let route = run.page.route();
        let element_in =
            |file: &str| run.files.get(&format!("{file}.wxml")).and_then(|w| crate::client::element_for(w, handler));
        let (element, component) = match element_in(&route) {
            Some(e) => (Some(e), None),
            None => run
                .files
                .uses(&route)
                .iter()
                .find_map(|u| element_in(&u.path).map(|e| (Some(e), Some(u.name.clone()))))
                .unwrap_or_default(),
        };
        let (open_type, dataset) = element.unwrap_or_default();
        let api = match open_type.as_deref() {
            Some("getUserInfo") => Some(WxApi::GetUserInfo),
            Some("getPhoneNumber") => Some(WxApi::GetPhoneNumber),
            _ => None,
        };
        let mut event_detail = json!({});
        if let Some(api) = api
            && detail.is_none()
        {
            let (ok, value) = self.client_wx(flow, run, api, &WxArgs::default(), user, produced).await?;
            if !ok {
                return Err((Cause::Mock, format!("the mock refused the button's {}: {value}", api.name())));
            }
            event_detail = value;
            // Newer base libraries hand the phone button both forms: the
            // sealed data and a one-time code for getuserphonenumber.
            if api == WxApi::GetPhoneNumber {
                let code_mode = WxArgs { mode: Some(crate::contract::PhoneMode::Code), ..WxArgs::default() };
                let (ok, value) = self.client_wx(flow, run, api, &code_mode, user, produced).await?;
                if ok && let Some(code) = value.get("code") {
                    event_detail["code"] = code.clone();
                }
            }
        }
        if let Some(d) = detail {
            event_detail = d.clone();
        }
        let kind = open_type.as_deref().map_or("tap".to_string(), str::to_ascii_lowercase);
        let target = json!({ "id": "", "dataset": dataset });
        Ok((json!({ "type": kind, "detail": event_detail, "currentTarget": target, "target": target }), component))
    }

    /// Completes what the page asked for, one at a time in seeded order,
    /// and fires its timers, until nothing is pending.
    async fn drive(
        &self,
        flow: &Flow,
        run: &mut PageRun,
        step: &mut Drive,
        user: &str,
        produced: &mut Vec<Produced>,
    ) -> Result<(), (Cause, String)> {
        let mut inflight: Vec<Op> = vec![];
        let mut virtual_ms = 0;
        for _ in 0..MAX_TURNS {
            inflight.extend(run.page.take_ops());
            if !inflight.is_empty() {
                let op = inflight.remove(run.rng.random_range(0..inflight.len()));
                let (ok, result) = self.client_op(flow, run, &op, step, user, produced).await?;
                run.page.complete(op.id, ok, &result).map_err(|e| client_failure(&e))?;
                continue;
            }
            match run.page.next_timer().map_err(|e| client_failure(&e))? {
                Some(wait) if virtual_ms + wait > MAX_VIRTUAL_MS => {
                    return Err((
                        Cause::ClientError,
                        format!(
                            "the page was not idle after {} s of virtual time: a timer {wait} ms away is still pending",
                            MAX_VIRTUAL_MS / 1000
                        ),
                    ));
                }
                Some(wait) => {
                    virtual_ms += wait;
                    run.page.fire_timer().map_err(|e| client_failure(&e))?;
                }
                None => return Ok(()),
            }
        }
        let names: Vec<&str> = inflight.iter().map(|o| o.api.as_str()).collect();
        Err((
            Cause::ClientError,
            format!("the page was not idle after {MAX_TURNS} operations and timers (pending: {})", names.join(", ")),
        ))
    }

    /// One operation of the page: a wx call through the mock, or a request.
    async fn client_op(
        &self,
        flow: &Flow,
        run: &mut PageRun,
        op: &Op,
        step: &mut Drive,
        user: &str,
        produced: &mut Vec<Produced>,
    ) -> Result<(bool, Value), (Cause, String)> {
        let api = match op.api.as_str() {
            "login" => WxApi::Login,
            "checkSession" => WxApi::CheckSession,
            "getUserInfo" => WxApi::GetUserInfo,
            "getUserProfile" => WxApi::GetUserProfile,
            "request" => return Ok(self.client_request(flow, run, op, step, produced).await),
            other => return Ok((false, json!({ "errMsg": format!("{other}:fail not modelled") }))),
        };
        let (ok, mut v) = self.client_wx(flow, run, api, &WxArgs::default(), user, produced).await?;
        if api == WxApi::CheckSession && v["valid"] == false {
            return Ok((false, json!({ "errMsg": "checkSession:fail session time out, need relogin" })));
        }
        if let Some(o) = v.as_object_mut() {
            for internal in ["generation", "rotated", "valid"] {
                o.remove(internal);
            }
        }
        Ok((ok, v))
    }

    /// A wx call on the mock's client face, as a flow's `wx.*` step makes
    /// it; what it produced is remembered for the freshness judgement.
    async fn client_wx(
        &self,
        flow: &Flow,
        run: &mut PageRun,
        api: WxApi,
        args: &WxArgs,
        user: &str,
        produced: &mut Vec<Produced>,
    ) -> Result<(bool, Value), (Cause, String)> {
        run.calls += 1;
        let id = format!("{}#{}", api.name(), run.calls);
        let done = self.wx(flow, StepResult::new(&id, api.name().into()), api, args, user, produced).await;
        run.http += done.result.http_requests;
        match (done.result.outcome, done.result.cause) {
            (Outcome::Pass, _) => Ok((true, done.value.unwrap_or_default())),
            (_, Some(cause)) if cause.unjudged() || cause == Cause::MockUnavailable => {
                Err((cause, done.result.diagnosis.unwrap_or_default()))
            }
            _ => Ok((
                false,
                json!({ "errMsg": format!("{}:fail {}", api.route(), done.result.reason.unwrap_or_default()) }),
            )),
        }
    }

    /// A request of the page: judged at the client, then answered by the
    /// flow's `answers:` (or a default success) or, against an outside
    /// target, sent there with the page's origin replaced.
    async fn client_request(
        &self,
        flow: &Flow,
        run: &mut PageRun,
        op: &Op,
        step: &mut Drive,
        produced: &[Produced],
    ) -> (bool, Value) {
        let url = op.args["url"].as_str().unwrap_or("").to_string();
        let method = op.args["method"].as_str().unwrap_or("GET").to_string();
        let data = &op.args["data"];
        let body = match data {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        let headers: BTreeMap<String, String> = op.args["header"]
            .as_object()
            .map(|h| {
                h.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), String::from))).collect()
            })
            .unwrap_or_default();
        // A GET's data rides in the URL, as wx.request sends it.
        let sent_url = match (method.as_str(), data.as_object()) {
            ("GET", Some(o)) if !o.is_empty() => {
                let query: String = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(
                        o.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), String::from))),
                    )
                    .finish();
                format!("{url}{}{query}", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.clone(),
        };
        let stale = step.judge(produced, &[&sent_url, &body], &headers);
        let at = op.location(&run.page.route());
        let path = path_of(&url);
        let forwarded = !(self.own_servers || url.starts_with("cloud://"));
        let (status, answer, text) = if forwarded {
            run.http += 1;
            match self.forward(&method, &sent_url, &path, &headers, &body).await {
                Ok(answer) => answer,
                Err(e) => {
                    step.requests.push(ClientCall { method, url: sent_url, at, status: None, stale });
                    return (false, json!({ "errMsg": format!("request:fail {e}") }));
                }
            }
        } else {
            let body = flow.answers.get(&path).cloned().unwrap_or_else(default_answer);
            (200, body.clone(), body.to_string())
        };
        let refused_now = forwarded && !(200..300).contains(&status) && step.refusal.is_none();
        if refused_now {
            step.refusal = Some((status, answer.clone()));
        }
        if stale || refused_now || step.r.exchange.is_none() {
            step.r.exchange = Some(Exchange {
                method: method.clone(),
                url: sent_url.clone(),
                request_headers: headers,
                request_body: body,
                status: Some(status),
                response_headers: BTreeMap::new(),
                response_body: text,
            });
        }
        step.requests.push(ClientCall { method, url: sent_url, at, status: Some(status), stale });
        let res = if op.args["cloud"] == true {
            json!({ "errMsg": "cloud.callFunction:ok", "result": answer })
        } else {
            json!({ "errMsg": "request:ok", "statusCode": status, "data": answer, "header": {} })
        };
        (true, res)
    }

    /// Sends the page's request to the target, its origin replaced.
    async fn forward(
        &self,
        method: &str,
        url: &str,
        path: &str,
        headers: &BTreeMap<String, String>,
        body: &str,
    ) -> Result<(u16, Value, String), String> {
        let query = url.split_once('?').map_or(String::new(), |(_, q)| format!("?{q}"));
        let to = format!("{}{path}{query}", self.target);
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut request = self.http.request(method.clone(), &to).timeout(std::time::Duration::from_secs(10));
        for (k, v) in headers {
            request = request.header(k, v);
        }
        if method != reqwest::Method::GET && !body.is_empty() {
            if !headers.keys().any(|k| k.eq_ignore_ascii_case("content-type")) {
                request = request.header("content-type", "application/json");
            }
            request = request.body(body.to_string());
        }
        let answer = request.send().await.map_err(|e| format!("{to}: {e}"))?;
        let status = answer.status().as_u16();
        let text = answer.text().await.map_err(|e| e.to_string())?;
        let json = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
        Ok((status, json, text))
    }
}

/// What a page step gathers while it drives.
struct Drive {
    r: StepResult,
    requests: Vec<ClientCall>,
    /// The target's first refusal of a forwarded request (status, body):
    /// judged as an http step's answer is.
    refusal: Option<(u16, Value)>,
}

impl Drive {
    /// Judges the payloads a request carries (in `texts` or `headers`)
    /// against the login they go with; true if one is stale.
    fn judge(&mut self, produced: &[Produced], texts: &[&str], headers: &BTreeMap<String, String>) -> bool {
        let texts: Vec<&str> = texts.iter().copied().chain(headers.values().map(String::as_str)).collect();
        let sent = |v: &str| super::freshness::carries(&texts, v);
        let is_login = |p: &&Produced| p.login;
        // The login whose code rides along, else the user's latest login.
        let carried_code = produced.iter().filter(is_login).rfind(|p| p.code.as_deref().is_some_and(sent));
        let (login, basis) = match carried_code {
            Some(p) => (Some(p), Basis::CodeExchange),
            None => (produced.iter().rfind(is_login), Basis::CurrentKey),
        };
        let mut stale = false;
        for p in produced.iter().filter(|p| p.iv.as_deref().is_some_and(sent)) {
            let against = login.and_then(|l| l.generation);
            let freshness = match (p.generation, against) {
                (Some(s), Some(a)) if s == a => Freshness::Fresh,
                (Some(sealed), Some(against)) => Freshness::Stale { sealed, against },
                _ => Freshness::Unknown,
            };
            stale |= matches!(freshness, Freshness::Stale { .. });
            self.r.payloads.push(PayloadUse {
                from_step: p.step.clone(),
                iv: p.iv.clone().unwrap_or_default(),
                sealed_generation: p.generation,
                against_generation: against,
                basis,
                age_ms: ms(p.at.elapsed()),
                freshness,
                has_plus: p.has_plus,
                plus_unencoded: false,
            });
        }
        stale
    }
}

/// A URL's path: `https://api.example.com/v1/login?x=1` → `/v1/login`.
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r.find('/').map_or("", |i| &r[i..]));
    let path = rest.split(['?', '#']).next().unwrap_or("");
    if path.starts_with('/') { path.to_string() } else { format!("/{path}") }
}

/// What wxflow answers a page's request with when the flow gives nothing:
/// a success in the shapes login pages read (`res.data.data.token`).
fn default_answer() -> Value {
    json!({ "code": 0, "errcode": 0, "msg": "ok", "data": { "token": "wxflow-page-token", "user_id": 1 }, "token": "wxflow-page-token" })
}

/// A failure of the page's own code (or its app) as the step's cause.
fn client_failure(e: &ClientError) -> (Cause, String) {
    match e {
        ClientError::Exception { message, stack } => {
            let frames: Vec<&str> = stack
                .lines()
                .map(str::trim)
                .filter(|l| !l.contains("wxflow:runtime") && !l.ends_with("(native)"))
                .collect();
            (
                Cause::ClientError,
                format!("the app's code threw: {message}\n{}", frames.join("\n")).trim_end().to_string(),
            )
        }
        ClientError::App(m) => (Cause::ClientError, m.clone()),
    }
}
