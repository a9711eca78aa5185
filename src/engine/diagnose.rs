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
        return match t {
            Transport::Timeout(m) => (Cause::Timeout, format!("the backend did not answer in time: {m}")),
            Transport::Connection(m) => (Cause::Connection, format!("cannot reach the backend: {m}; is it running?")),
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
