//! The http step: rendering its compiled request, reading the answer with a
//! size cap and time to first byte, judging the payloads it carried against
//! the mock's ground truth, then assertions, captures and diagnosis.

use super::diagnose;
use super::send::Rendered;
use super::{Basis, Engine, Exchange, Freshness, Outcome, PayloadUse, Produced, StepError, StepResult, assertions, ms};
use crate::contract::{TruthQuery, Truths};
use crate::flow::Cause;
use crate::flow::model::{Body, HttpStep};
use crate::flow::template::{RenderError, Scope, as_text};
use crate::limits::Exhausted;
use serde_json::{Value, json};
use std::time::Instant;

/// Bodies kept in results are cut past this many bytes.
const KEPT_BODY: usize = 16 * 1024;

fn cut(text: &str) -> String {
    if text.len() <= KEPT_BODY {
        return text.to_string();
    }
    let mut end = KEPT_BODY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

fn render_request(h: &HttpStep, scope: &Scope) -> Result<Rendered, RenderError> {
    let url = h.url.render_text(scope)?;
    let headers = h
        .headers
        .iter()
        .map(|(k, v)| {
            let text = v.render_text(scope)?;
            if reqwest::header::HeaderValue::from_str(&text).is_err() {
                let message =
                    format!("header `{k}` renders to a value HTTP cannot carry (a line break or control character)");
                return Err(RenderError { message, pos: v.pos });
            }
            Ok((k.clone(), text))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (body, ct) = match &h.body {
        Body::None => (String::new(), None),
        Body::Json(j) => (j.render(scope)?.to_string(), Some("application/json")),
        Body::Form(fields) => {
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in fields {
                s.append_pair(k, &as_text(&v.render(scope)?));
            }
            (s.finish(), Some("application/x-www-form-urlencoded"))
        }
        Body::Raw(t) => (t.render_text(scope)?, None),
    };
    let has_ct = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    let content_type = if has_ct { None } else { ct };
    Ok(Rendered { url, method: h.method.clone(), headers, body, content_type, timeout: h.timeout })
}

impl Engine {
    /// Runs an http step. With `defer_truth`, a passing step leaves its
    /// payloads unjudged for [`Finished::settle`](super::Finished::settle).
    pub(super) async fn http_step(
        &self,
        id: &str,
        h: &HttpStep,
        scope: &Scope,
        produced: &[Produced],
        defer_truth: bool,
    ) -> StepResult {
        let mut r = StepResult::skipped(id, String::new());
        let req = match render_request(h, scope) {
            Ok(x) => x,
            Err(e) => return r.failed_with(StepError::Render(e)),
        };
        let mut exchange = Exchange {
            method: h.method.to_string(),
            url: req.url.clone(),
            request_headers: req.headers.iter().cloned().collect(),
            request_body: cut(&req.body),
            ..Exchange::default()
        };
        let t0 = Instant::now();
        r.http_requests = 1;
        let outcome = self.send(&req, t0).await;
        let duration = t0.elapsed();
        r.duration_ms = ms(duration);
        let answer = match outcome {
            Ok(a) => a,
            Err(t) => {
                r.exchange = Some(exchange);
                r.reason = Some(t.detail().to_string());
                let (cause, diag) = match diagnose::classify(&r, Some(&t), None, None, None) {
                    // No answer from a server of this process while its
                    // accept loop was out of descriptors: the tester's doing.
                    (Cause::Timeout | Cause::Connection, _)
                        if self.own_servers && crate::limits::servers_starved_since(t0) =>
                    {
                        (Cause::TesterLimit, Exhausted::Descriptors.diagnosis("the embedded servers' accept"))
                    }
                    classified => classified,
                };
                return fail_with(r, cause, diag);
            }
        };
        r.ttfb_ms = Some(ms(answer.ttfb));
        let json: Option<Value> = if answer.truncated { None } else { serde_json::from_str(&answer.text).ok() };
        exchange.status = Some(answer.status);
        exchange.response_headers.clone_from(&answer.headers);
        exchange.response_body = cut(&answer.text);
        r.exchange = Some(exchange);
        let judged = assertions::Answer {
            status: answer.status,
            headers: &answer.headers,
            text: &answer.text,
            json: json.as_ref(),
            truncated: answer.truncated,
            duration,
        };
        let mut failures = assertions::check(h, &judged);
        match assertions::capture(h, &judged) {
            Ok(c) => r.captures = c,
            Err(e) => failures.push(e),
        }
        let mut mock_unavailable = None;
        let code_age = match carried(produced, &req) {
            // Nobody waits for the truth about a passing last step: it is
            // judged when the result is settled (`Finished::settle`).
            Some(c) if failures.is_empty() && defer_truth => {
                r.unjudged = Some(Box::new(c));
                None
            }
            Some(c) => {
                let asked = Instant::now();
                let truths = self.truth.lookup(&c.query).await;
                r.truth_time = asked.elapsed();
                mock_unavailable = c.mock_unavailable(&truths);
                r.judge(&c, &truths)
            }
            None => None,
        };
        // A restart under a passing step still leaves the iteration
        // unjudged; a lookup that found no mock only matters on a failure.
        let passed = failures.is_empty();
        if passed && let Some((true, diag)) = mock_unavailable {
            r.reason = Some("the mock restarted under this iteration".into());
            r = fail_with(r, Cause::MockUnavailable, diag);
        } else if passed {
            r.outcome = Outcome::Pass;
        } else {
            r.reason = Some(failures.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join("; "));
            r.failures = failures;
            let (cause, diag) = match (self.own_exhaustion(&answer.text), mock_unavailable) {
                (Some(x), _) => (Cause::TesterLimit, x.diagnosis("the embedded reference backend's call to the mock")),
                (None, Some((_, diag))) => (Cause::MockUnavailable, diag),
                (None, None) => diagnose::classify(&r, None, json.as_ref(), Some(answer.status), code_age),
            };
            r = fail_with(r, cause, diag);
        }
        r.value = Some(json!({
            "status": answer.status,
            "headers": answer.headers,
            "body": json.unwrap_or(Value::String(answer.text)),
            "duration_ms": r.duration_ms,
        }));
        r
    }
}

impl Engine {
    /// The resource the reference backend of this process says it ran out
    /// of in its answer (its WeChat call met EMFILE): inside one process
    /// that is the tester's own limit. A backend elsewhere saying so is the
    /// backend's failure.
    fn own_exhaustion(&self, answer: &str) -> Option<Exhausted> {
        if self.own_servers { Exhausted::in_text(answer) } else { None }
    }
}

/// The codes and ivs an http step's request carried, to judge against the
/// mock's ground truth in one lookup.
#[derive(Debug, Clone)]
pub struct Carried {
    pub(super) query: TruthQuery,
    /// Per iv of the query: where it came from and how old it was when sent.
    ivs: Vec<CarriedIv>,
    /// The mock instance that issued them.
    instance: Option<String>,
}

impl Carried {
    /// Why the mock's `truths` about what this step carried leave the
    /// iteration unjudged: no mock answered the lookup (it was unreachable
    /// while the backend worked), or another instance did (it restarted:
    /// `true`, which leaves even a passing step unjudged).
    fn mock_unavailable(&self, truths: &Truths) -> Option<(bool, String)> {
        match &truths.instance {
            None => Some((
                false,
                format!(
                    "the mock did not answer the ground-truth lookup after this step, so it was unreachable while the backend handled the login: {}",
                    super::UNJUDGED
                ),
            )),
            now => StepError::restart(self.instance.as_deref(), now.as_deref()).map(|e| (true, e.diagnosis())),
        }
    }
}

#[derive(Debug, Clone)]
struct CarriedIv {
    from_step: String,
    /// The generation the wx step's answer named, if the mock forgot the iv.
    generation: Option<u32>,
    age_ms: f64,
    has_plus: bool,
}

/// What of `produced` the request carried (as is or form-encoded).
fn carried(produced: &[Produced], req: &Rendered) -> Option<Carried> {
    let sent = |v: &str| {
        let sent = |s: &str| req.url.contains(s) || req.body.contains(s);
        sent(v) || sent(&form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>())
    };
    let codes: Vec<String> = produced.iter().filter_map(|p| p.code.clone().filter(|c| sent(c))).collect();
    let ivs: Vec<&Produced> = produced.iter().filter(|p| p.iv.as_deref().is_some_and(sent)).collect();
    if codes.is_empty() && ivs.is_empty() {
        return None;
    }
    Some(Carried {
        query: TruthQuery { codes, ivs: ivs.iter().filter_map(|p| p.iv.clone()).collect() },
        ivs: ivs
            .iter()
            .map(|p| CarriedIv {
                from_step: p.step.clone(),
                generation: p.generation,
                age_ms: ms(p.at.elapsed()),
                has_plus: p.has_plus,
            })
            .collect(),
        instance: produced.iter().find_map(|p| p.instance.clone()),
    })
}

impl StepResult {
    /// Judges every payload `carried` names against the mock's `truths`;
    /// returns the age of the login code it carried.
    pub(super) fn judge(&mut self, carried: &Carried, truths: &Truths) -> Option<i64> {
        self.http_requests += truths.requests;
        // The last code carried is the one the backend exchanged.
        let code = truths.codes.iter().rev().flatten().next();
        let exchanged = truths.codes.iter().flatten().filter_map(|t| t.exchanged_generation).next_back();
        for (i, (p, iv)) in carried.ivs.iter().zip(&carried.query.ivs).enumerate() {
            let truth = truths.ivs.get(i).and_then(Option::as_ref);
            let sealed = truth.map(|t| t.payload.sealed_generation).or(p.generation);
            let (against, basis) = match exchanged {
                Some(g) => (Some(g), Basis::CodeExchange),
                None => (truth.map(|t| t.current_generation), Basis::CurrentKey),
            };
            let freshness = match (sealed, against) {
                (Some(s), Some(a)) if s == a => Freshness::Fresh,
                (Some(sealed), Some(against)) => Freshness::Stale { sealed, against },
                _ => Freshness::Unknown,
            };
            self.payloads.push(PayloadUse {
                from_step: p.from_step.clone(),
                iv: iv.clone(),
                sealed_generation: sealed,
                against_generation: against,
                basis,
                age_ms: p.age_ms,
                freshness,
                has_plus: p.has_plus,
            });
        }
        code.map(|t| t.age_ms)
    }
}

fn fail_with(mut r: StepResult, cause: Cause, diagnosis: String) -> StepResult {
    r.outcome = Outcome::Fail;
    r.cause = Some(cause);
    r.diagnosis = Some(diagnosis);
    r
}
