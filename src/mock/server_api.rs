//! The WeChat server API as a backend sees it: same paths, parameters, JSON
//! and errcodes as `api.weixin.qq.com`. Errors are HTTP 200 with
//! `{"errcode","errmsg"}`, `Content-Type: text/plain`, and a request id in
//! errmsg, as the real service sends them. `access_token` on
//! jscode2session (added by SDKs) is accepted and ignored.

use super::Mock;
use crate::wechat::api::{self, ApiError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;

type Params = Query<HashMap<String, String>>;

pub fn routes() -> Router<Mock> {
    Router::new()
        .route("/sns/jscode2session", get(jscode2session).post(jscode2session))
        .route("/cgi-bin/token", get(token))
        .route("/cgi-bin/stable_token", post(stable_token))
        .route("/wxa/checksession", get(checksession))
        .route("/wxa/resetusersessionkey", get(reset_session_key).post(reset_session_key))
        .route("/wxa/business/getuserphonenumber", post(phone_number))
}

/// A body the way WeChat sends it: JSON text labelled `text/plain`.
fn wechat_body(value: Value) -> Response {
    ([(CONTENT_TYPE, "text/plain")], value.to_string()).into_response()
}

fn error(mock: &Mock, e: ApiError) -> Response {
    let rid = mock.state().rid();
    wechat_body(json!({ "errcode": e.errcode, "errmsg": format!("{}, rid: {rid}", e.errmsg) }))
}

/// Applies the endpoint's fault: sleeps its latency, returns the injected
/// errcode if one was drawn.
async fn fault(mock: &Mock, endpoint: &str, code: Option<&str>) -> Option<ApiError> {
    let drawn = {
        let mut s = mock.state();
        let owner = code.and_then(|c| s.code_owner(c));
        s.fault_for(endpoint, owner.as_ref()).map(|f| s.draw_fault(&f))
    };
    let (latency_ms, injected) = drawn?;
    if latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
    }
    injected
}

fn param<'a>(q: &'a Params, name: &str) -> Option<&'a str> {
    q.get(name).map(String::as_str)
}

fn reply<T>(mock: &Mock, result: Result<T, ApiError>, ok: impl FnOnce(T) -> Value) -> Response {
    match result {
        Ok(v) => wechat_body(ok(v)),
        Err(e) => error(mock, e),
    }
}

async fn jscode2session(State(mock): State<Mock>, q: Params) -> Response {
    if let Some(e) = fault(&mock, "jscode2session", param(&q, "js_code")).await {
        return error(&mock, e);
    }
    if param(&q, "appid").is_some() && param(&q, "grant_type").is_some_and(|g| g != "authorization_code") {
        return error(&mock, api::INVALID_GRANT_TYPE);
    }
    let result = mock.state().jscode2session(param(&q, "appid"), param(&q, "secret"), param(&q, "js_code"));
    reply(&mock, result, |r| serde_json::to_value(r).unwrap_or_default())
}

async fn token(State(mock): State<Mock>, q: Params) -> Response {
    if let Some(e) = fault(&mock, "token", None).await {
        return error(&mock, e);
    }
    if param(&q, "grant_type") != Some("client_credential") {
        return error(&mock, api::INVALID_GRANT_TYPE);
    }
    let result = mock.state().access_token(param(&q, "appid"), param(&q, "secret"), false, false);
    reply(&mock, result, |(t, exp)| json!({ "access_token": t, "expires_in": exp }))
}

async fn stable_token(State(mock): State<Mock>, body: Bytes) -> Response {
    if let Some(e) = fault(&mock, "stable_token", None).await {
        return error(&mock, e);
    }
    let Ok(b) = serde_json::from_slice::<Value>(&body) else {
        return error(&mock, api::DATA_FORMAT_ERROR);
    };
    if b["grant_type"].as_str() != Some("client_credential") {
        return error(&mock, api::INVALID_GRANT_TYPE);
    }
    let force = b["force_refresh"].as_bool().unwrap_or(false);
    let result = mock.state().access_token(b["appid"].as_str(), b["secret"].as_str(), true, force);
    reply(&mock, result, |(t, exp)| json!({ "access_token": t, "expires_in": exp }))
}

async fn checksession(State(mock): State<Mock>, q: Params) -> Response {
    if let Some(e) = fault(&mock, "checksession", None).await {
        return error(&mock, e);
    }
    let result = mock.state().server_check_session(
        param(&q, "access_token"),
        param(&q, "openid"),
        param(&q, "signature"),
        param(&q, "sig_method"),
    );
    reply(&mock, result, |()| json!({ "errcode": 0, "errmsg": "ok" }))
}

async fn reset_session_key(State(mock): State<Mock>, q: Params) -> Response {
    if let Some(e) = fault(&mock, "resetusersessionkey", None).await {
        return error(&mock, e);
    }
    let result = mock.state().reset_session_key(
        param(&q, "access_token"),
        param(&q, "openid"),
        param(&q, "signature"),
        param(&q, "sig_method"),
    );
    reply(&mock, result, |(openid, key)| json!({ "errcode": 0, "errmsg": "ok", "openid": openid, "session_key": key }))
}

async fn phone_number(State(mock): State<Mock>, q: Params, body: Bytes) -> Response {
    let code = serde_json::from_slice::<Value>(&body).ok().and_then(|b| b["code"].as_str().map(String::from));
    if let Some(e) = fault(&mock, "getuserphonenumber", None).await {
        return error(&mock, e);
    }
    let mut s = mock.state();
    let result = s.exchange_phone_code(param(&q, "access_token"), code.as_deref()).map(|(appid, user)| {
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
    reply(&mock, result, |v| v)
}
