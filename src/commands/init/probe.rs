//! `wxflow init --probe URL`: learns a running backend's answer contract
//! from two requests through the mock it calls: a correct login, then the
//! same code again (WeChat refuses a spent code, so a correct backend
//! refuses the second). What differs between the two answers is the
//! result code; what only the first holds is the token.

use super::FLOWS;
use super::shape::{Contract, Paths, shape};
use crate::engine::{Engine, StepResult};
use crate::tls::ClientTls;
use serde_json::Value;
use std::time::Duration;

/// What the probe learned.
#[derive(Debug)]
pub struct Probed {
    pub contract: Contract,
    pub token: Option<String>,
    /// The two answers' HTTP statuses, for the user.
    pub statuses: (u16, u16),
    /// Why no result code was learned, when none was.
    pub no_code: Option<&'static str>,
    /// Where the login's answer carried the session_key, if it did.
    pub leak: Option<String>,
}

/// One answer: its status and, when it is JSON, its body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub json: Option<Value>,
}

/// Sends a correct login and the same code again to `target` + `login`,
/// through the mock at `mock`.
pub async fn probe(
    target: &str,
    login: &str,
    fields: &[(String, String)],
    form: bool,
    mock: &str,
    mock_wait: Duration,
    tls: &ClientTls,
) -> Result<Probed, String> {
    crate::serve::check_mock(mock, tls, mock_wait).await?;
    let (_, text) = FLOWS.iter().find(|(name, _)| *name == "reused-code.yaml").ok_or("no probe flow")?;
    let text = shape(text, &Paths { login, phone: "/", token: None, fields, form }, None);
    let mut flow = crate::flow::check("reused-code.yaml", &text).map_err(|_| "the probe flow does not check")?;
    // A leaking first answer is reported, not a reason to stop.
    for s in &mut flow.steps {
        s.continue_on_error = true;
    }
    let engine = Engine::new(mock, target, 0, None, false).with_client_tls(tls);
    let done = engine.run(&flow, 0, "wxflow-probe", None).await;
    let (masked, steps) = (done.masked().steps, &done.counts().steps);
    // The flow's two requests: `first` (a correct login), `again` (its code once more).
    let at = |id: &str| steps.iter().position(|s| s.id == id).ok_or("the probe flow lost a step");
    let (i, j) = (at("first")?, at("again")?);
    let url = format!("{}{login}", target.trim_end_matches('/'));
    let first = answer(&steps[i]).ok_or_else(|| unanswered(&url, &masked[i]))?;
    if steps[i].code_never_exchanged() || !(200..300).contains(&first.status) {
        let said = masked[i].exchange.as_ref().map(|x| excerpt(&x.response_body)).unwrap_or_default();
        let why = match steps[i].wechat_answered.filter(|_| !steps[i].code_never_exchanged()) {
            None => format!(
                "without taking the code to jscode2session at the mock ({mock}): check the login path (--login-path, or the URL's path), the request's field names and body (--field code=js_code, --body form), and that your backend calls that mock as its WeChat API"
            ),
            Some(0) => "although the mock exchanged its code for a session: check the login path (--login-path, or the URL's path) and what the backend does after the exchange".into(),
            Some(errcode) => {
                let meaning = crate::wechat::api::by_errcode(errcode).map_or("", |e| e.errmsg);
                format!(
                    "after the mock refused its code exchange with {errcode} `{meaning}`: the backend must log in to the mock's demo app (its appid and secret, `wxflow mock --help`)"
                )
            }
        };
        return Err(format!("the correct login to {url} was not a success: HTTP {}{said} {why}", first.status));
    }
    let again = answer(&steps[j]).ok_or_else(|| unanswered(&url, &masked[j]))?;
    let leak = (steps[i].cause == Some(crate::flow::Cause::SessionKeyLeaked))
        .then(|| masked[i].diagnosis.clone().unwrap_or_default());
    Ok(Probed { leak, ..infer(&first, &again)? })
}

fn answer(step: &StepResult) -> Option<Answer> {
    let x = step.exchange.as_ref()?;
    Some(Answer { status: x.status?, json: serde_json::from_str(&x.response_body).ok() })
}

/// An answer's first 160 characters, for an error.
fn excerpt(body: &str) -> String {
    let cut: String = body.chars().take(160).collect();
    if cut.is_empty() { String::new() } else { format!(" {cut}{}", if cut.len() < body.len() { "…" } else { "" }) }
}

fn unanswered(url: &str, step: &StepResult) -> String {
    let why = step.diagnosis.as_deref().or(step.reason.as_deref()).unwrap_or("no answer");
    format!("{url} gave no answer: {why}")
}

/// The contract two answers show: the first a correct login, the second
/// the same code again.
pub fn infer(ok: &Answer, refused: &Answer) -> Result<Probed, String> {
    let (a, b) = (leaves(ok.json.as_ref()), leaves(refused.json.as_ref()));
    let code = a
        .iter()
        .enumerate()
        .filter(|(_, (p, v))| b.iter().any(|(q, w)| q == p && w != v && scalar(w)) && scalar(v))
        .min_by_key(|(i, (p, v))| {
            (
                !named(p, &["code", "err", "status", "ret", "success", "ok", "result", "state"]),
                rank(v),
                p.matches('.').count(),
                *i,
            )
        })
        .map(|(_, (p, v))| (p.clone(), v.clone()));
    let token = a
        .iter()
        .filter(|(p, v)| {
            v.as_str().is_some_and(|s| s.len() >= 16 && !s.contains(char::is_whitespace) && !s.contains("://"))
                && !b.iter().any(|(q, w)| q == p && w == v)
        })
        .min_by_key(|(p, v)| {
            (
                !named(p, &["token"]),
                !named(p, &["jwt", "session", "auth", "ticket", "key"]),
                usize::MAX - v.as_str().map_or(0, str::len),
            )
        })
        .map(|(p, _)| p.clone());
    let no_code = match (&code, &refused.json) {
        (Some(_), _) => None,
        (None, None) => Some("the refusal was not JSON"),
        (None, Some(_)) => Some("no field of the two answers told them apart"),
    };
    if code.is_none() && ok.status == refused.status {
        return Err(format!(
            "a correct login and the same code sent again got the same answer (HTTP {}, {}): the backend either accepts a spent code (`wxflow run flows/reused-code.yaml` will show it) or answers both alike; say the shape with --success and --error-code",
            ok.status,
            no_code.unwrap_or("no result code")
        ));
    }
    let contract = Contract {
        status: Some(ok.status),
        error_code: code.as_ref().map(|(p, _)| p.clone()),
        fields: code.into_iter().collect(),
    };
    Ok(Probed { contract, token, statuses: (ok.status, refused.status), no_code, leak: None })
}

fn scalar(v: &Value) -> bool {
    match v {
        Value::Number(_) | Value::Bool(_) => true,
        Value::String(s) => s.len() <= 32 && !s.contains(char::is_whitespace),
        _ => false,
    }
}

/// Numbers before booleans before words.
fn rank(v: &Value) -> u8 {
    match v {
        Value::Number(_) => 0,
        Value::Bool(_) => 1,
        _ => 2,
    }
}

/// Whether the path's last name holds one of `words` (any case).
fn named(path: &str, words: &[&str]) -> bool {
    let last = path.rsplit(['.', '[']).next().unwrap_or(path).to_lowercase();
    words.iter().any(|w| last.contains(w))
}

/// Every non-array leaf of an answer down to three levels, with its
/// JSONPath, in document order.
fn leaves(v: Option<&Value>) -> Vec<(String, Value)> {
    fn walk(v: &Value, path: &str, depth: usize, out: &mut Vec<(String, Value)>) {
        let Value::Object(o) = v else { return };
        for (k, child) in o {
            let p = if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !k.starts_with(|c: char| c.is_ascii_digit())
            {
                format!("{path}.{k}")
            } else {
                format!("{path}[{}]", Value::from(k.as_str()))
            };
            match child {
                Value::Object(_) if depth < 3 => walk(child, &p, depth + 1, out),
                Value::Object(_) | Value::Array(_) => {}
                leaf => out.push((p, leaf.clone())),
            }
        }
    }
    let mut out = vec![];
    if let Some(v) = v {
        walk(v, "$", 1, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn a(status: u16, json: Value) -> Answer {
        Answer { status, json: Some(json) }
    }

    #[test]
    fn the_code_is_what_tells_the_answers_apart_and_the_token_what_only_success_holds() {
        let shop = infer(
            &a(200, json!({"code": 200, "msg": "ok", "ts": 1, "data": {"openid": "o-1234567890abcdef", "authorizationToken": "eyJhbGciOiJIUzI1NiJ9.e30.sig"}})),
            &a(200, json!({"code": 500, "msg": "登录失败", "ts": 2})),
        )
        .unwrap();
        assert_eq!(shop.contract.code_path(), Some("$.code"));
        assert_eq!(shop.contract.success_value(), json!(200));
        assert_eq!(shop.token.as_deref(), Some("$.data.authorizationToken"));
        let reference = infer(
            &a(200, json!({"code": 0, "data": {"token": "t0123456789abcdef", "user_id": "u1"}})),
            &a(401, json!({"code": 40163, "msg": "code been used"})),
        )
        .unwrap();
        assert_eq!(reference.contract.describe(), "success HTTP 200, $.code = 0; result code at $.code, success 0");
        assert_eq!(reference.token.as_deref(), Some("$.data.token"));
        let nested = infer(
            &a(200, json!({"meta": {"ok": true}, "skey": "abcdefabcdefabcdef01"})),
            &a(200, json!({"meta": {"ok": false}})),
        )
        .unwrap();
        assert_eq!((nested.contract.code_path(), nested.token.as_deref()), (Some("$.meta.ok"), Some("$.skey")));
    }

    #[test]
    fn status_alone_tells_them_apart_or_nothing_does() {
        let rest = infer(&a(201, json!({"token": "t0123456789abcdef"})), &Answer { status: 401, json: None }).unwrap();
        assert_eq!((rest.contract.status, rest.contract.code_path()), (Some(201), None));
        assert_eq!(rest.no_code, Some("the refusal was not JSON"));
        let same = infer(&a(200, json!({"code": 0})), &a(200, json!({"code": 0}))).unwrap_err();
        assert!(same.contains("accepts a spent code"), "{same}");
    }
}
