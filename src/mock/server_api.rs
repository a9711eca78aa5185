//! The WeChat server API as a backend sees it: same paths, parameters, JSON
//! and errcodes as `api.weixin.qq.com`. Errors are HTTP 200 with
//! `{"errcode","errmsg"}`, `Content-Type: text/plain`, and a request id in
//! errmsg, as the real service sends them. `access_token` on
//! jscode2session (added by SDKs) is accepted and ignored.

use super::Mock;
use crate::wechat::api::{self, ApiError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};

/// A request's query parameters, read as WeChat does: leniently, the last
/// of a repeated name winning.
struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        Ok(Params(form_urlencoded::parse(query.as_bytes()).into_owned().collect()))
    }
}

pub fn routes() -> Router<Mock> {
    // A wrong method gets WeChat's JSON error (43001 / 43002), not a bare 405.
    Router::new()
        // jscode2session also takes POST, its parameters in the query or
        // the body.
        .route("/sns/jscode2session", get(jscode2session).post(jscode2session_post))
        .route("/cgi-bin/token", get(token).fallback(require_get))
        .route("/cgi-bin/stable_token", post(stable_token).fallback(require_post))
        .route("/wxa/checksession", get(checksession).fallback(require_get))
        .route("/wxa/resetusersessionkey", get(reset_session_key).post(reset_session_key))
        .route("/wxa/business/getuserphonenumber", post(phone_number).fallback(require_post))
}

async fn require_get(State(mock): State<Mock>) -> Response {
    error(&mock, api::REQUIRE_GET_METHOD)
}

async fn require_post(State(mock): State<Mock>) -> Response {
    error(&mock, api::REQUIRE_POST_METHOD)
}

/// A body the way WeChat sends it: JSON text labelled `text/plain`.
fn wechat_body(value: &impl Serialize) -> Response {
    ([(CONTENT_TYPE, "text/plain")], serde_json::to_string(value).unwrap_or_default()).into_response()
}

fn error(mock: &Mock, e: ApiError) -> Response {
    let rid = mock.state().rid();
    wechat_body(&json!({ "errcode": e.errcode, "errmsg": e.errmsg_with(&rid) }))
}

/// The endpoint's fault, drawn when the request arrives: its latency and
/// the errcode to answer instead, if one was drawn.
fn fault(mock: &Mock, endpoint: &str, code: Option<&str>) -> (u64, Option<ApiError>) {
    let mut s = mock.state();
    let owner = code.and_then(|c| s.code_owner(c));
    s.fault_for(endpoint, owner.as_ref()).map_or((0, None), |f| s.draw_fault(&f))
}

/// Answers after the fault's latency. The work is done before: a code is
/// spent when the request arrives, even if the caller gives up waiting
/// (so a backend that times out and retries the same code gets 40163).
async fn after(latency_ms: u64, answer: Response) -> Response {
    if latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
    }
    answer
}

fn param<'a>(q: &'a Params, name: &str) -> Option<&'a str> {
    q.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn reply<T, S: Serialize>(mock: &Mock, result: Result<T, ApiError>, ok: impl FnOnce(T) -> S) -> Response {
    match result {
        Ok(v) => wechat_body(&ok(v)),
        Err(e) => error(mock, e),
    }
}

/// jscode2session with its parameters in a POST body (form or JSON), as
/// public backends and the npm package koa2-weixin-auth send it, and report
/// working logins: no source shows WeChat refusing it, so the mock reads
/// the body's parameters after the query's (docs/mock.md has the evidence).
async fn jscode2session_post(State(mock): State<Mock>, q: Params, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    let from_body: Vec<(String, String)> = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(o)) => {
            o.into_iter().map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), String::from))).collect()
        }
        _ => form_urlencoded::parse(text.as_bytes()).into_owned().collect(),
    };
    let Params(mut params) = q;
    for (k, v) in from_body {
        if !params.iter().any(|(have, _)| *have == k) {
            params.push((k, v));
        }
    }
    jscode2session(State(mock), Params(params)).await
}

async fn jscode2session(State(mock): State<Mock>, q: Params) -> Response {
    let js_code = param(&q, "js_code");
    mock.state().note_code_asked(js_code);
    let (latency, injected) = fault(&mock, "jscode2session", js_code);
    let result = if let Some(e) = injected {
        Err(e)
    } else if param(&q, "appid").is_some() && param(&q, "grant_type").is_some_and(|g| g != "authorization_code") {
        Err(api::INVALID_GRANT_TYPE)
    } else {
        mock.state().jscode2session(param(&q, "appid"), param(&q, "secret"), js_code)
    };
    // What WeChat answered this code's exchange: the run names it when the
    // backend's login fails.
    mock.state().note_code_answer(js_code, result.as_ref().map_or_else(|e| e.errcode, |_| 0));
    after(latency, reply(&mock, result, |r| r)).await
}

async fn token(State(mock): State<Mock>, q: Params) -> Response {
    let (latency, injected) = fault(&mock, "token", None);
    let answer = if let Some(e) = injected {
        error(&mock, e)
    } else if param(&q, "grant_type") != Some("client_credential") {
        error(&mock, api::INVALID_GRANT_TYPE)
    } else {
        let result = mock.state().access_token(param(&q, "appid"), param(&q, "secret"), false, false);
        reply(&mock, result, |(t, exp)| json!({ "access_token": t, "expires_in": exp }))
    };
    after(latency, answer).await
}

async fn stable_token(State(mock): State<Mock>, body: Bytes) -> Response {
    let (latency, injected) = fault(&mock, "stable_token", None);
    let answer = match (injected, json_object(&body)) {
        (Some(e), _) => error(&mock, e),
        (None, None) => error(&mock, api::DATA_FORMAT_ERROR),
        (None, Some(b)) if b["grant_type"].as_str() != Some("client_credential") => {
            error(&mock, api::INVALID_GRANT_TYPE)
        }
        (None, Some(b)) => {
            let force = b["force_refresh"].as_bool().unwrap_or(false);
            let result = mock.state().access_token(b["appid"].as_str(), b["secret"].as_str(), true, force);
            reply(&mock, result, |(t, exp)| json!({ "access_token": t, "expires_in": exp }))
        }
    };
    after(latency, answer).await
}

/// A POST body as a JSON object; anything else is WeChat's 47001.
fn json_object(body: &[u8]) -> Option<Value> {
    serde_json::from_slice::<Value>(body).ok().filter(Value::is_object)
}

async fn checksession(State(mock): State<Mock>, q: Params) -> Response {
    let (latency, injected) = fault(&mock, "checksession", None);
    let answer = if let Some(e) = injected {
        error(&mock, e)
    } else {
        let result = mock.state().server_check_session(
            param(&q, "access_token"),
            param(&q, "openid"),
            param(&q, "signature"),
            param(&q, "sig_method"),
        );
        reply(&mock, result, |()| json!({ "errcode": 0, "errmsg": "ok" }))
    };
    after(latency, answer).await
}

async fn reset_session_key(State(mock): State<Mock>, q: Params) -> Response {
    let (latency, injected) = fault(&mock, "resetusersessionkey", None);
    let answer = if let Some(e) = injected {
        error(&mock, e)
    } else {
        let result = mock.state().reset_session_key(
            param(&q, "access_token"),
            param(&q, "openid"),
            param(&q, "signature"),
            param(&q, "sig_method"),
        );
        reply(
            &mock,
            result,
            |(openid, key)| json!({ "errcode": 0, "errmsg": "ok", "openid": openid, "session_key": key }),
        )
    };
    after(latency, answer).await
}

async fn phone_number(State(mock): State<Mock>, q: Params, body: Bytes) -> Response {
    let (latency, injected) = fault(&mock, "getuserphonenumber", None);
    let answer = match (injected, json_object(&body)) {
        (Some(e), _) => error(&mock, e),
        (None, None) => error(&mock, api::DATA_FORMAT_ERROR),
        (None, Some(b)) => exchange_phone(&mock, param(&q, "access_token"), b["code"].as_str()),
    };
    after(latency, answer).await
}

fn exchange_phone(mock: &Mock, token: Option<&str>, code: Option<&str>) -> Response {
    let mut s = mock.state();
    let result = s.exchange_phone_code(token, code).map(|(appid, user)| {
        let number = s.phone_number(&appid, &user);
        json!({
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                "phoneNumber": number,
                "purePhoneNumber": number,
                "countryCode": "86",
                "watermark": { "timestamp": s.now_ms() / 1000, "appid": appid },
            }
        })
    });
    drop(s);
    reply(mock, result, |v| v)
}
