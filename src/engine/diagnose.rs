//! Turns a failed step into a cause and a diagnosis in plain words.

use super::result::StepResult;
use super::send::Transport;
use crate::backend::codes;
use crate::flow::Cause;
use crate::flow::model::ResultCode;
use crate::wechat::{DecryptError, api};
use serde_json::Value;

/// The backend's own error code in an answer: where its contract says,
/// else `code` (the reference contract) or `errcode` (WeChat style).
pub fn backend_code(body: &Value, contract: Option<&ResultCode>) -> Option<Value> {
    if let Some(c) = contract {
        return c.error_in(body);
    }
    let code = body.get("code").or_else(|| body.get("errcode"))?.as_i64()?;
    (code != 0).then(|| Value::from(code))
}

const STALE_FIX: &str = "call wx.login before getUserInfo (or call getUserInfo again after login)";

/// Classifies a failed http step from what the backend answered, with the
/// mock's ground truth (the step's payload freshness) as the supporting
/// fact. `code_age_ms` is the age of the login code it sent, per the mock.
///
/// In order: no answer (timeout, connection); a WeChat code error in the
/// body (its own cause, even with a stale payload along); a 5xx (the
/// backend crashed, whatever it was sent); a stale payload rejected with a
/// 4xx or an error code (`stale_iv`); then the backend's own codes.
pub fn classify(
    step: &StepResult,
    transport: Option<&Transport>,
    body: Option<&Value>,
    status: Option<u16>,
    code_age_ms: Option<i64>,
    contract: Option<&ResultCode>,
) -> (Cause, String) {
    if let Some(t) = transport {
        if let Some(x) = crate::limits::Exhausted::in_text(t.detail()) {
            return (Cause::TesterLimit, x.diagnosis("the request to the backend"));
        }
        // The error itself is the step's reason; the diagnosis says what it means.
        let said = match t {
            Transport::Timeout(_) => {
                return (
                    Cause::Timeout,
                    "the backend did not answer in time (wxflow's step timeout ran out first): the backend is stuck or overloaded, waits on WeChat longer than the step allows, or the step's timeout is too short"
                        .into(),
                );
            }
            Transport::Connect(_) => "cannot reach the backend: is it running, at that address and port?",
            Transport::Broken(_) => {
                "the backend was reached but sent no valid HTTP answer: it reset or closed the connection, or spoke another protocol (TLS on a plain-HTTP URL?)"
            }
            Transport::BodyCut(_) => {
                "the backend closed the connection in the middle of its answer: it crashed or a proxy cut it off"
            }
            Transport::Redirect(_) => "the backend redirected too many times: a redirect loop",
            Transport::Certificate(_, problem) => {
                return (
                    Cause::Connection,
                    format!("{problem}; the backend was reached, its certificate was not accepted"),
                );
            }
        };
        return (Cause::Connection, said.into());
    }
    // The code as answered (`40163`, `false`, `"FAIL"`), and as a number
    // when it is one, to match WeChat's codes.
    let answered = body.and_then(|b| backend_code(b, contract));
    let code = answered.as_ref().and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
    let said_code = answered.as_ref().map(|v| v.as_str().map_or_else(|| v.to_string(), String::from));
    let msg = body
        .and_then(|b| b.get("msg").or_else(|| b.get("errmsg")).or_else(|| b.get("message")))
        .and_then(Value::as_str)
        .unwrap_or("");
    let status = status.unwrap_or(0);
    let stale = step.stale();
    let stale_note = stale
        .map(|(sealed, exchanged)| {
            format!(" (the payload it carried was stale too: sealed with gen {sealed}, the code exchange returned gen {exchanged})")
        })
        .unwrap_or_default();
    match code {
        Some(c) if c == api::CODE_BEEN_USED.errcode => {
            return (
                Cause::CodeReused,
                format!(
                    "the login code was exchanged twice (40163): a wx.login code works once; get a new code for every login request, and do not let two requests share one{stale_note}"
                ),
            );
        }
        Some(c) if c == api::INVALID_CODE.errcode => {
            return if code_age_ms.is_some_and(|a| a > crate::contract::CODE_TTL_MS) {
                (
                    Cause::CodeExpired,
                    format!(
                        "the login code was older than 5 minutes when exchanged (40029): call wx.login right before the login request{stale_note}"
                    ),
                )
            } else {
                (
                    Cause::CodeInvalid,
                    format!(
                        "WeChat called the login code invalid (40029) although it was fresh: the backend exchanged it with another appid than the Mini Program's, or sent it altered{stale_note}"
                    ),
                )
            };
        }
        Some(c) if c == api::INVALID_APPID.errcode || c == api::INVALID_APPSECRET.errcode => {
            return (
                Cause::AppCredentials,
                format!(
                    "WeChat refused the backend's app credentials ({c}: {msg}): check the appid and appsecret it is configured with{stale_note}"
                ),
            );
        }
        Some(codes::WECHAT_TIMEOUT) => {
            return (
                Cause::BackendError,
                format!(
                    "WeChat's API was slow and the backend's own timeout ran out first (the backend, not wxflow, timed out; code -50504): {msg}"
                ),
            );
        }
        _ => {}
    }
    // Refused before the login (its WeChat codes aside): whatever the
    // payloads were, they were never tried against WeChat. A route or
    // method the backend does not have is that too.
    let said = said_code
        .as_ref()
        .map(|c| format!(" (code {c}{})", if msg.is_empty() { String::new() } else { format!(": {msg}") }))
        .unwrap_or_default();
    if step.code_never_exchanged() && (400..500).contains(&status) {
        return (
            Cause::HttpStatus,
            format!(
                "the login never reached WeChat: the backend answered HTTP {status}{said} without taking the code to jscode2session (a route, auth or method error before the login); check the URL, method, headers and credentials the flow sends"
            ),
        );
    }
    if matches!(status, 404 | 405) {
        return (
            Cause::HttpStatus,
            format!("the backend has no such route or method (HTTP {status}{said}): check the step's URL and method"),
        );
    }
    if status >= 500 {
        let what = match stale {
            Some((sealed, exchanged)) => format!(
                "the iv was stale (sealed with session_key gen {sealed}, the code exchange returned gen {exchanged}) and the backend crashed with HTTP {status} instead of rejecting it: a decrypt or signature failure must be answered as a client error, not thrown"
            ),
            None if step.code_never_exchanged() => format!(
                "the backend failed with HTTP {status} before the login reached WeChat (it never took the code to jscode2session)"
            ),
            None => format!("the backend failed with HTTP {status}"),
        };
        return (Cause::BackendError, format!("{what}{said}"));
    }
    if let Some((sealed, exchanged)) = stale
        && (status >= 400 || answered.is_some())
    {
        return (
            Cause::StaleIv,
            format!(
                "encryptedData was sealed before wx.login rotated the session_key (sealed with session_key gen {sealed}, the code exchange returned gen {exchanged}); {STALE_FIX}"
            ),
        );
    }
    // The request itself put '+' where it decodes to a space, and the
    // backend's own codes (a declared contract) cannot say why it refused
    // that fresh data: this is the likely reason.
    if contract.is_some() && (status >= 400 || answered.is_some()) && step.payloads.iter().any(|p| p.plus_unencoded) {
        return (
            Cause::PlusAsSpace,
            "the request sent base64 holding '+' unencoded in a form body or URL query, where '+' decodes to a space: most likely why the backend refused this fresh data; percent-encode '+' as %2B (the `urlencode` filter) or send JSON".into(),
        );
    }
    // A space where base64 had '+' breaks decoding (-41004) or yields
    // garbage (-41003); it cannot break the hex signature.
    let plus_hazard = step.payloads.iter().any(|p| p.has_plus) || msg.contains("space");
    let decrypt_codes = i64::from(DecryptError::DECODE_BASE64)..=i64::from(DecryptError::ILLEGAL_IV);
    match code {
        Some(c) if decrypt_codes.contains(&c) && plus_hazard => (
            Cause::PlusAsSpace,
            "decryption failed on fresh data whose base64 holds '+': a form or URL decoder turned '+' into a space; percent-encode '+' as %2B (or send JSON) and decode exactly once".into(),
        ),
        Some(codes::SIGNATURE_MISMATCH) => (
            Cause::SignatureMismatch,
            "the signature check failed on fresh data: rawData or signature changed between the client and the check (re-serialised, trimmed or URL-decoded JSON); send rawData exactly as received".into(),
        ),
        Some(codes::WATERMARK_MISMATCH) => (
            Cause::BackendError,
            "the watermark names another appid: the data was sealed for another Mini Program; check the appid the backend uses".into(),
        ),
        _ => match said_code {
            Some(c) => (Cause::BackendError, format!("the backend answered code {c}: {msg}")),
            None if !(200..300).contains(&status) => (Cause::HttpStatus, format!("the backend answered HTTP {status}")),
            None => {
                let reason = step.reason.clone().unwrap_or_else(|| "an assertion failed".into());
                match stale {
                    Some((sealed, exchanged)) => (
                        Cause::Assertion,
                        format!("{reason}; the backend accepted a stale payload (sealed with gen {sealed}, the code exchange returned gen {exchanged}) without an error: it checks neither the signature nor the decryption"),
                    ),
                    None => (Cause::Assertion, reason),
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::result::{Freshness, Outcome, PayloadUse};
    use serde_json::json;

    fn step(freshness: Freshness, has_plus: bool) -> StepResult {
        let mut s = StepResult::new("server", "http POST".into());
        s.outcome = Outcome::Fail;
        s.payloads.push(PayloadUse {
            from_step: "profile".into(),
            iv: "iv".into(),
            sealed_generation: Some(1),
            against_generation: Some(2),
            basis: crate::engine::Basis::CodeExchange,
            age_ms: 1.0,
            freshness,
            has_plus,
            plus_unencoded: false,
        });
        s
    }

    fn cause(s: &StepResult, body: serde_json::Value, status: u16, age: Option<i64>) -> Cause {
        classify(s, None, Some(&body), Some(status), age, None).0
    }

    #[test]
    fn a_stale_payload_rejected_as_a_client_error_is_stale_iv() {
        let s = step(Freshness::Stale { sealed: 1, against: 2 }, true);
        let (c, d) = classify(&s, None, Some(&json!({"code": -41003})), Some(401), None, None);
        assert_eq!(c, Cause::StaleIv);
        assert!(d.contains("gen 1") && d.contains("gen 2") && d.contains("call wx.login before getUserInfo"), "{d}");
        // An error code in a 200 answer is a rejection too.
        assert_eq!(cause(&s, json!({"code": -40001}), 200, None), Cause::StaleIv);
        assert_eq!(cause(&s, json!({"errcode": 41003}), 200, None), Cause::StaleIv);
    }

    #[test]
    fn a_stale_payload_answered_with_5xx_is_a_backend_crash() {
        let s = step(Freshness::Stale { sealed: 1, against: 2 }, false);
        let (c, d) = classify(&s, None, None, Some(500), None, None);
        assert_eq!(c, Cause::BackendError);
        assert!(d.contains("stale") && d.contains("crashed with HTTP 500 instead of rejecting it"), "{d}");
        assert_eq!(cause(&s, json!({"code": -41003}), 502, None), Cause::BackendError);
    }

    #[test]
    fn code_errors_are_their_own_cause_even_with_a_stale_payload() {
        let s = step(Freshness::Stale { sealed: 1, against: 2 }, false);
        assert_eq!(cause(&s, json!({"code": 40029}), 401, Some(1_000)), Cause::CodeInvalid);
        assert_eq!(cause(&s, json!({"code": 40029}), 401, Some(301_000)), Cause::CodeExpired);
        assert_eq!(cause(&s, json!({"code": 40163}), 401, None), Cause::CodeReused);
        assert_eq!(cause(&s, json!({"errcode": 40013}), 502, None), Cause::AppCredentials);
        assert_eq!(cause(&s, json!({"errcode": 40125}), 200, None), Cause::AppCredentials);
    }

    #[test]
    fn a_stale_payload_accepted_without_error_is_an_assertion_failure_that_says_so() {
        let mut s = step(Freshness::Stale { sealed: 1, against: 2 }, false);
        s.reason = Some("$.data.token: expected a value, got nothing".into());
        let (c, d) = classify(&s, None, Some(&json!({"code": 0})), Some(200), None, None);
        assert_eq!(c, Cause::Assertion);
        assert!(d.contains("accepted a stale payload"), "{d}");
    }

    #[test]
    fn backend_codes_map_to_their_causes_on_fresh_data() {
        let fresh = step(Freshness::Fresh, false);
        assert_eq!(cause(&fresh, json!({"code": 40163}), 401, None), Cause::CodeReused);
        assert_eq!(cause(&fresh, json!({"code": 40029}), 401, Some(301_000)), Cause::CodeExpired);
        assert_eq!(cause(&fresh, json!({"code": 40029}), 401, Some(1_000)), Cause::CodeInvalid);
        assert_eq!(cause(&fresh, json!({"code": -40001}), 401, None), Cause::SignatureMismatch);
        assert_eq!(cause(&fresh, json!({"errcode": 45011}), 502, None), Cause::BackendError);
        assert_eq!(cause(&fresh, json!({"code": 0}), 500, None), Cause::BackendError);
        assert_eq!(cause(&fresh, json!({"code": 0}), 404, None), Cause::HttpStatus);
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
        // A backend with its own codes: the request's unencoded '+' is the
        // evidence, and only it.
        let shop = ResultCode { path: serde_json_path::JsonPath::parse("$.code").unwrap(), success: vec![json!(200)] };
        let mut sent_raw = step(Freshness::Fresh, true);
        sent_raw.payloads[0].plus_unencoded = true;
        let by_shop = |s: &StepResult| classify(s, None, Some(&json!({"code": 500})), Some(200), None, Some(&shop)).0;
        assert_eq!(by_shop(&sent_raw), Cause::PlusAsSpace);
        assert_eq!(by_shop(&plus), Cause::BackendError);
    }

    #[test]
    fn a_contract_whose_result_is_not_a_number_still_says_refusal() {
        let ok =
            ResultCode { path: serde_json_path::JsonPath::parse("$.success").unwrap(), success: vec![json!(true)] };
        let refused = json!({"success": false, "message": "decrypt failed"});
        let stale = step(Freshness::Stale { sealed: 1, against: 2 }, false);
        assert_eq!(classify(&stale, None, Some(&refused), Some(200), None, Some(&ok)).0, Cause::StaleIv);
        let fresh = step(Freshness::Fresh, false);
        let (c, d) = classify(&fresh, None, Some(&refused), Some(200), None, Some(&ok));
        assert_eq!((c, d.as_str()), (Cause::BackendError, "the backend answered code false: decrypt failed"));
        let (c, _) = classify(&fresh, None, Some(&json!({"success": true})), Some(200), None, Some(&ok));
        assert_eq!(c, Cause::Assertion);
    }

    #[test]
    fn a_route_the_backend_lacks_is_an_http_status_whatever_code_it_carries() {
        let mut never = step(Freshness::Fresh, false);
        never.payloads[0].basis = crate::engine::Basis::NotExchanged;
        let (c, d) = classify(&never, None, Some(&json!({"code": 401, "msg": "no token"})), Some(401), None, None);
        assert_eq!(c, Cause::HttpStatus);
        assert!(
            d.starts_with("the login never reached WeChat: the backend answered HTTP 401 (code 401: no token)"),
            "{d}"
        );
        // A WeChat code is still read: a backend may remember spent codes itself.
        assert_eq!(cause(&never, json!({"code": 40163}), 401, None), Cause::CodeReused);
        let fresh = step(Freshness::Fresh, false);
        assert_eq!(cause(&fresh, json!({"code": 404, "msg": "not found"}), 404, None), Cause::HttpStatus);
    }

    #[test]
    fn transport_failures_are_timeouts_or_connection_errors() {
        let s = step(Freshness::Fresh, false);
        let t = Transport::Timeout("operation timed out".into());
        assert_eq!(classify(&s, Some(&t), None, None, None, None).0, Cause::Timeout);
        let t = Transport::Connect("connection refused".into());
        let (c, d) = classify(&s, Some(&t), None, None, None, None);
        assert_eq!(c, Cause::Connection);
        assert!(d.contains("is it running, at that address and port?"), "{d}");
    }
}
