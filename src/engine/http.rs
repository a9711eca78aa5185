//! The http step: rendering its compiled request, reading the answer with a
//! size cap and time to first byte, judging the payloads it carried against
//! the mock's ground truth, then assertions, captures and diagnosis.

use super::diagnose;
use super::freshness::carried;
use super::leak;
use super::send::Rendered;
use super::{Engine, Exchange, Executed, Outcome, Produced, StepError, StepResult, assertions, ms};
use crate::flow::Cause;
use crate::flow::model::{Body, HttpStep};
use crate::flow::template::{RenderError, Scope, as_text};
use crate::limits::Exhausted;
use serde_json::{Value, json};
use std::time::Instant;

/// Bodies kept in results are cut past this many bytes.
const KEPT_BODY: usize = 16 * 1024;

/// A request that got no answer, judged again for the tester's own part:
/// the tester ran out of a resource meanwhile (its servers' accept, its own
/// connects), so the wait may be its own; or the embedded reference backend,
/// a server of this very process, is gone. Such an iteration is
/// `tester_limit`, never a verdict about the backend.
fn tester_side(classified: (Cause, String), t0: Instant, own_servers: bool) -> (Cause, String) {
    let starved = || crate::limits::starved_since(t0);
    match classified {
        (Cause::TesterLimit, said) => {
            crate::limits::note_exhausted();
            (Cause::TesterLimit, said)
        }
        (Cause::Timeout, _) if starved() => {
            (Cause::TesterLimit, Exhausted::Descriptors.diagnosis("this iteration's wait for an answer"))
        }
        (Cause::Connection, _) if own_servers && starved() => {
            (Cause::TesterLimit, Exhausted::Descriptors.diagnosis("the embedded servers' accept"))
        }
        (Cause::Connection, said) if own_servers => (
            Cause::TesterLimit,
            format!(
                "wxflow's own embedded reference backend gave no answer ({said}): a failure of the tester, not of a backend under test, so the iteration is not judged; please report it"
            ),
        ),
        classified => classified,
    }
}

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
        mut r: StepResult,
        h: &HttpStep,
        scope: &Scope,
        produced: &[Produced],
        defer_truth: bool,
        contract: Option<&crate::flow::model::ResultCode>,
    ) -> Executed {
        let req = match render_request(h, scope) {
            Ok(x) => x,
            Err(e) => return r.failed_with(StepError::Render(e)).into(),
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
                r.refused = matches!(t, super::send::Transport::Connect(_));
                // What the request carried is judged all the same: a
                // request that crashed the backend may have carried stale data.
                if let Some(c) = carried(produced, &req) {
                    let truths = self.truth.lookup(&c.query).await;
                    r.judge(&c, &truths);
                }
                let classified = diagnose::classify(&r, Some(&t), None, None, None, contract);
                let (cause, diag) = tester_side(classified, t0, self.own_servers);
                return r.failed(cause, diag).into();
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
        let leaked = self.leaked(&answer.text, &answer.headers).await;
        let mut failures = assertions::check(h, &judged);
        match assertions::capture(h, &judged) {
            Ok(c) => r.captures = c,
            Err(e) => failures.push(e),
        }
        let (mut mock_unavailable, mut pending, mut truth_time) = (None, None, std::time::Duration::ZERO);
        let mut never_exchanged = false;
        let mut wechat_answered = None;
        // A 404/405 is judged now: whether it refused this login depends on
        // whether the code reached WeChat.
        let no_route = matches!(answer.status, 404 | 405);
        let code_age = match carried(produced, &req) {
            // Nobody waits for the truth about a passing last step: it is
            // judged when the result is settled (`Finished::settle`).
            Some(c) if failures.is_empty() && defer_truth && !no_route => {
                pending = Some(c);
                None
            }
            Some(c) => {
                let asked = Instant::now();
                let truths = self.truth.lookup(&c.query).await;
                truth_time = asked.elapsed();
                mock_unavailable = c.mock_unavailable(&truths);
                let code = r.judge(&c, &truths);
                never_exchanged = code.is_some_and(|t| !t.asked);
                wechat_answered = code.and_then(|t| t.answered);
                code.map(|t| t.age_ms)
            }
            None => None,
        };
        // A refusal is credited only when the backend refused this login: a
        // route or method that does not exist answered before the code
        // ever reached WeChat.
        if failures.is_empty() && no_route && never_exchanged {
            failures.push(super::Failure::new(
                format!(
                    "HTTP {} is not a refusal of this login: the code it carried never reached jscode2session (no such route or method here), so the step's checks cannot credit it; check the URL",
                    answer.status
                ),
                None,
            ));
        }
        r.wechat_answered = wechat_answered;
        // A restart under a passing step still leaves the iteration
        // unjudged; a lookup that found no mock only matters on a failure.
        let passed = failures.is_empty();
        if passed && let Some((true, diag)) = mock_unavailable {
            r.reason = Some("the mock restarted under this iteration".into());
            r = r.failed(Cause::MockUnavailable, diag);
        } else if passed {
            r.outcome = Outcome::Pass;
        } else {
            r.reason = Some(failures.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join("; "));
            r.failures = failures;
            let (cause, diag) = match (self.own_exhaustion(&answer.text), mock_unavailable) {
                (Some(x), _) => (Cause::TesterLimit, x.diagnosis("the embedded reference backend's call to the mock")),
                (None, Some((_, diag))) => (Cause::MockUnavailable, diag),
                (None, None) => diagnose::classify(&r, None, json.as_ref(), Some(answer.status), code_age, contract),
            };
            let diag = match wechat_answered.and_then(crate::wechat::api::by_errcode).filter(|e| e.errcode != 0) {
                Some(e) if !cause.unjudged() => format!(
                    "{diag} (WeChat answered the backend's jscode2session for this code with {} `{}`)",
                    e.errcode, e.errmsg
                ),
                _ => diag,
            };
            r = r.failed(cause, diag);
        }
        // A leaked session_key or access_token fails the step whatever else
        // it showed.
        if let Some(leak) = &leaked
            && r.cause.is_none_or(|c| !c.unjudged())
        {
            let (cause, what, why) = match leak.secret {
                leak::Secret::SessionKey => (
                    Cause::SessionKeyLeaked,
                    "a session_key",
                    format!(
                        "the backend's answer carries the session_key WeChat's jscode2session gave it ({}): a session_key must never leave the backend; whoever holds it can forge signatures and read the user's encrypted data. Keep it server-side and give the client a token of your own",
                        leak.place
                    ),
                ),
                leak::Secret::AccessToken => (
                    Cause::AccessTokenLeaked,
                    "the app's access_token",
                    format!(
                        "the backend's answer carries the app's access_token that WeChat's /cgi-bin/token issued to it ({}): whoever holds it calls WeChat's server APIs as the app (user data, messages, phone numbers) until it expires. Keep it server-side",
                        leak.place
                    ),
                ),
            };
            let said = format!("the answer carries {what}");
            r.reason = Some(r.reason.map_or(said.clone(), |other| format!("{other}; {said}")));
            r = r.failed(cause, why);
        }
        // Masked where results leave the process, never here: later steps
        // send what this one captured, in clear.
        if let Some(leak) = leaked {
            r.secrets.extend(std::iter::once(leak.value).chain(leak.jwt));
        }
        let value = Some(json!({
            "status": answer.status,
            "headers": answer.headers,
            "body": json.unwrap_or(Value::String(answer.text)),
            "duration_ms": r.duration_ms,
        }));
        Executed { result: r, value, truth_time, pending }
    }
}

impl Engine {
    /// A session_key the mock handed to a backend, found in its answer.
    async fn leaked(
        &self,
        body: &str,
        headers: &std::collections::BTreeMap<String, String>,
    ) -> Option<leak::Candidate> {
        let candidates = leak::candidates(body, headers);
        if candidates.is_empty() {
            return None;
        }
        let values: Vec<String> = candidates.iter().map(|c| c.value.clone()).collect();
        let handed = self.truth.handed_out(&values).await?;
        candidates.into_iter().zip(handed).find_map(|(c, handed)| handed.then_some(c))
    }

    /// The resource the reference backend of this process says it ran out
    /// of in its answer (its WeChat call met EMFILE): inside one process
    /// that is the tester's own limit. A backend elsewhere saying so is the
    /// backend's failure.
    fn own_exhaustion(&self, answer: &str) -> Option<Exhausted> {
        if self.own_servers { Exhausted::in_text(answer) } else { None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_while_the_tester_ran_out_of_descriptors_is_not_the_backends() {
        let timeout = || (Cause::Timeout, "the backend did not answer in time".to_string());
        // Long ago: nothing ran out since this request began.
        let later = Instant::now() + std::time::Duration::from_hours(1);
        assert_eq!(tester_side(timeout(), later, false).0, Cause::Timeout);
        let t0 = Instant::now();
        crate::limits::note_exhausted();
        let (cause, said) = tester_side(timeout(), t0, false);
        assert_eq!(cause, Cause::TesterLimit);
        assert!(said.contains("EMFILE") && said.contains("not judged"), "{said}");
        // A refused connection to a backend elsewhere stays the backend's.
        assert_eq!(tester_side((Cause::Connection, String::new()), t0, false).0, Cause::Connection);
    }
}
