//! Turns a failed step into a cause and a diagnosis in plain words.

use super::result::StepResult;
use crate::flow::Cause;
use serde_json::Value;

/// How a step's request failed before any answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Transport {
    Timeout(String),
    Connection(String),
}

/// The backend's own error code in an answer: `code` (the reference
/// contract) or `errcode` (WeChat style).
pub fn backend_code(body: &Value) -> Option<i64> {
    let code = body.get("code").or_else(|| body.get("errcode"))?.as_i64()?;
    (code != 0).then_some(code)
}

const STALE_FIX: &str = "call wx.login before getUserInfo (or call getUserInfo again after login)";

/// Classifies a failed http step. `code_age_ms` is the age of the login
/// code it sent, per the mock.
pub fn classify(
    step: &StepResult,
    transport: Option<&Transport>,
    body: Option<&Value>,
    status: Option<u16>,
    code_age_ms: Option<i64>,
) -> (Cause, String) {
    if let Some(t) = transport {
        // The error itself is the step's reason; the diagnosis says what it means.
        return match t {
            Transport::Timeout(_) => (
                Cause::Timeout,
                "the backend did not answer in time: it is stuck or overloaded, or the step's timeout is too short"
                    .into(),
            ),
            Transport::Connection(_) => {
                (Cause::Connection, "cannot reach the backend: is it running, at that address and port?".into())
            }
        };
    }
    if let Some((sealed, current)) = step.stale() {
        return (
            Cause::StaleIv,
            format!(
                "encryptedData was sealed before wx.login rotated the session_key (sealed with session_key gen {sealed}, the code exchange returned gen {current}); {STALE_FIX}"
            ),
        );
    }
    let code = body.and_then(backend_code);
    let msg = body.and_then(|b| b.get("msg").or_else(|| b.get("errmsg"))).and_then(Value::as_str).unwrap_or("");
    // A space where base64 had '+' breaks decoding (-41004) or yields
    // garbage (-41003); it cannot break the hex signature.
    let plus_hazard = step.payloads.iter().any(|p| p.has_plus) || msg.contains("space");
    match code {
        Some(40163) => (
            Cause::CodeReused,
            "the login code was exchanged twice (40163): a wx.login code works once; get a new code for every login request, and do not let two requests share one".into(),
        ),
        Some(40029) if code_age_ms.is_some_and(|a| a > crate::mock::state::CODE_TTL_MS) => (
            Cause::CodeExpired,
            "the login code was older than 5 minutes when exchanged (40029): call wx.login right before the login request".into(),
        ),
        Some(-41004..=-41002) if plus_hazard => (
            Cause::PlusAsSpace,
            "decryption failed on fresh data whose base64 holds '+': a form or URL decoder turned '+' into a space; percent-encode '+' as %2B (or send JSON) and decode exactly once".into(),
        ),
        Some(-40001) => (
            Cause::SignatureMismatch,
            "the signature check failed on fresh data: rawData or signature changed between the client and the check (re-serialised, trimmed or URL-decoded JSON); send rawData exactly as received".into(),
        ),
        Some(-41005) => (
            Cause::BackendError,
            "the watermark names another appid: the data was sealed for another Mini Program; check the appid the backend uses".into(),
        ),
        Some(c) => (Cause::BackendError, format!("the backend answered code {c}: {msg}")),
        None if status.is_some_and(|s| !(200..300).contains(&s)) => {
            (Cause::HttpStatus, format!("the backend answered HTTP {}", status.unwrap_or(0)))
        }
        None => (Cause::Assertion, step.reason.clone().unwrap_or_else(|| "an assertion failed".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::result::{Freshness, Outcome, PayloadUse};
    use serde_json::json;

    fn step(freshness: Freshness, has_plus: bool) -> StepResult {
        let mut s = StepResult::skipped("server", "http POST".into());
        s.outcome = Outcome::Fail;
        s.payloads.push(PayloadUse {
            from_step: "profile".into(),
            iv: "iv".into(),
            sealed_generation: Some(1),
            against_generation: Some(2),
            basis: "code_exchange",
            age_ms: 1.0,
            freshness,
            has_plus,
        });
        s
    }

    fn cause(s: &StepResult, body: serde_json::Value, status: u16, age: Option<i64>) -> Cause {
        classify(s, None, Some(&body), Some(status), age).0
    }

    #[test]
    fn a_stale_payload_is_the_cause_whatever_the_backend_said() {
        let s = step(Freshness::Stale { sealed: 1, current: 2 }, true);
        let (c, d) = classify(&s, None, Some(&json!({"code": -41003})), Some(401), None);
        assert_eq!(c, Cause::StaleIv);
        assert!(d.contains("gen 1") && d.contains("gen 2") && d.contains("call wx.login before getUserInfo"), "{d}");
    }

    #[test]
    fn backend_codes_map_to_their_causes_on_fresh_data() {
        let fresh = step(Freshness::Fresh, false);
        assert_eq!(cause(&fresh, json!({"code": 40163}), 401, None), Cause::CodeReused);
        assert_eq!(cause(&fresh, json!({"code": 40029}), 401, Some(301_000)), Cause::CodeExpired);
        assert_eq!(cause(&fresh, json!({"code": 40029}), 401, Some(1_000)), Cause::BackendError);
        assert_eq!(cause(&fresh, json!({"code": -40001}), 401, None), Cause::SignatureMismatch);
        assert_eq!(cause(&fresh, json!({"errcode": 45011}), 502, None), Cause::BackendError);
        assert_eq!(cause(&fresh, json!({"code": 0}), 500, None), Cause::HttpStatus);
        assert_eq!(cause(&fresh, json!({"ok": true}), 200, None), Cause::Assertion);
    }

    #[test]
    fn plus_as_space_needs_a_plus_and_a_decrypt_code() {
        let plus = step(Freshness::Fresh, true);
        assert_eq!(cause(&plus, json!({"code": -41004}), 400, None), Cause::PlusAsSpace);
        assert_eq!(cause(&plus, json!({"code": -41003}), 401, None), Cause::PlusAsSpace);
        // A '+' cannot break the hex signature.
        assert_eq!(cause(&plus, json!({"code": -40001}), 401, None), Cause::SignatureMismatch);
        let no_plus = step(Freshness::Fresh, false);
        assert_eq!(cause(&no_plus, json!({"code": -41003}), 401, None), Cause::BackendError);
    }

    #[test]
    fn transport_failures_are_timeouts_or_connection_errors() {
        let s = step(Freshness::Fresh, false);
        let t = Transport::Timeout("operation timed out".into());
        assert_eq!(classify(&s, Some(&t), None, None, None).0, Cause::Timeout);
        let t = Transport::Connection("connection refused".into());
        let (c, d) = classify(&s, Some(&t), None, None, None);
        assert_eq!(c, Cause::Connection);
        assert!(d.contains("is it running, at that address and port?"), "{d}");
    }
}
