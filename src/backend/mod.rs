//! The reference login backend: the correct server the seed's Mini Program
//! talks to, and the default target of every flow.
//!
//! `POST /api/login` with `{code, encryptedData, iv, rawData, signature}`
//! (JSON, or form-encoded) → jscode2session → signature check → decrypt →
//! watermark check → `200 {"code":0,"data":{"token","user_id"}}`.
//! Every failure is a non-2xx status with `{"code": <int>, "msg": "…"}`;
//! bad input never causes a 500.

use crate::wechat::{self, DecryptError, api::Code2Session, crypto::BufferFault};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header::CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Body limit of `/api/login`: a real login body is under 2 KiB.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The backend's own failure codes (beside WeChat's errcodes, passed through).
pub mod codes {
    /// The body is not JSON / form, not an object, or too large.
    pub const MALFORMED_BODY: i64 = -40100;
    /// A required field is missing, empty or not a string.
    pub const BAD_FIELD: i64 = -40101;
    /// `signature != sha1(rawData + session_key)`.
    pub const SIGNATURE_MISMATCH: i64 = -40001;
    /// The watermark names another appid.
    pub const WATERMARK_MISMATCH: i64 = -41005;
    /// WeChat's API could not be reached or answered nonsense.
    pub const WECHAT_UNREACHABLE: i64 = -50200;
}

/// Where the backend finds WeChat and who it is.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    pub wechat_api: String,
    pub appid: String,
    pub secret: String,
}

struct Backend {
    config: BackendConfig,
    http: reqwest::Client,
}

/// The backend as a router.
pub fn app(config: BackendConfig) -> Router {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
    let state = Arc::new(Backend { config, http });
    Router::new()
        .route("/api/login", post(login))
        .route("/healthz", get(|| async { Json(json!({ "ok": true })) }))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// A failed login: status, code, message.
struct Failure(StatusCode, i64, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "code": self.1, "msg": self.2 }))).into_response()
    }
}

fn malformed(msg: impl Into<String>) -> Failure {
    Failure(StatusCode::BAD_REQUEST, codes::MALFORMED_BODY, msg.into())
}

/// The five fields of a login, read from a JSON or form-encoded body.
struct LoginBody {
    code: String,
    encrypted_data: String,
    iv: String,
    raw_data: String,
    signature: String,
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<LoginBody, Failure> {
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
        // `curl -d '{…}'` labels JSON as a form: trust the body's first byte.
        && !body.trim_ascii_start().starts_with(b"{");
    let object: serde_json::Map<String, Value> = if is_form {
        form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect()
    } else {
        if body.is_empty() {
            return Err(malformed("empty body: expected JSON {code, encryptedData, iv, rawData, signature}"));
        }
        match serde_json::from_slice(body) {
            Ok(Value::Object(o)) => o,
            Ok(_) => return Err(malformed("body must be a JSON object {code, encryptedData, iv, rawData, signature}")),
            Err(e) => return Err(malformed(format!("body is not JSON: {e}"))),
        }
    };
    let field = |name: &str| -> Result<String, Failure> {
        match object.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::String(_)) => {
                Err(Failure(StatusCode::BAD_REQUEST, codes::BAD_FIELD, format!("field `{name}` is empty")))
            }
            Some(_) => {
                Err(Failure(StatusCode::BAD_REQUEST, codes::BAD_FIELD, format!("field `{name}` must be a string")))
            }
            None => Err(Failure(StatusCode::BAD_REQUEST, codes::BAD_FIELD, format!("missing field `{name}`"))),
        }
    };
    Ok(LoginBody {
        code: field("code")?,
        encrypted_data: field("encryptedData")?,
        iv: field("iv")?,
        raw_data: field("rawData")?,
        signature: field("signature")?,
    })
}

async fn login(State(b): State<Arc<Backend>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    match try_login(&b, &headers, body).await {
        Ok(v) => Json(v).into_response(),
        Err(f) => f.into_response(),
    }
}

async fn try_login(b: &Backend, headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Value, Failure> {
    let body = body.map_err(|e| Failure(e.status(), codes::MALFORMED_BODY, format!("cannot read body: {e}")))?;
    let login = parse_body(headers, &body)?;
    let session = code2session(b, &login.code).await?;
    let (Some(openid), Some(session_key)) = (session.openid, session.session_key) else {
        return Err(Failure(
            StatusCode::BAD_GATEWAY,
            codes::WECHAT_UNREACHABLE,
            "jscode2session returned no session_key".into(),
        ));
    };
    if !wechat::signature(&login.raw_data, &session_key).eq_ignore_ascii_case(&login.signature) {
        return Err(Failure(
            StatusCode::UNAUTHORIZED,
            codes::SIGNATURE_MISMATCH,
            "signature mismatch: sha1(rawData + session_key) differs; rawData was altered or was signed with an older session_key".into(),
        ));
    }
    wechat::decrypt(&session_key, &login.iv, &login.encrypted_data, Some(&b.config.appid)).map_err(|e| {
        let code = match e {
            DecryptError::IllegalBuffer(BufferFault::WatermarkAppid { .. }) => codes::WATERMARK_MISMATCH,
            _ => e.code() as i64,
        };
        let status = if matches!(e, DecryptError::IllegalBuffer(_)) {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        Failure(status, code, format!("decrypt failed: {e}"))
    })?;
    let token: [u8; 16] = rand::random();
    Ok(json!({ "code": 0, "data": { "token": wechat::hex(&token), "user_id": user_id(&openid) } }))
}

/// A stable numeric user id for an openid (the reference backend keeps no
/// user table, so memory stays flat in long runs).
fn user_id(openid: &str) -> u64 {
    let digest = wechat::signature(openid, "user_id");
    u64::from_str_radix(&digest[..12], 16).unwrap_or(0)
}

async fn code2session(b: &Backend, code: &str) -> Result<Code2Session, Failure> {
    let url = format!("{}/sns/jscode2session", b.config.wechat_api.trim_end_matches('/'));
    let unreachable = |e: String| Failure(StatusCode::BAD_GATEWAY, codes::WECHAT_UNREACHABLE, e);
    let resp = b
        .http
        .get(&url)
        .query(&[
            ("appid", b.config.appid.as_str()),
            ("secret", b.config.secret.as_str()),
            ("js_code", code),
            ("grant_type", "authorization_code"),
        ])
        .send()
        .await
        .map_err(|e| unreachable(format!("jscode2session at {url} failed: {e}")))?;
    // WeChat labels JSON as text/plain: parse the body whatever its type.
    let text = resp.text().await.map_err(|e| unreachable(format!("jscode2session body: {e}")))?;
    let session: Code2Session =
        serde_json::from_str(&text).map_err(|e| unreachable(format!("jscode2session answered non-JSON ({e})")))?;
    match session.errcode {
        None | Some(0) => Ok(session),
        Some(code) => {
            let status =
                if matches!(code, 40029 | 40163 | 40226) { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_GATEWAY };
            Err(Failure(status, code, format!("jscode2session: {}", session.errmsg.unwrap_or_default())))
        }
    }
}
