//! The reference login backend: the correct server the seed's Mini Program
//! talks to, and the default target of every flow.
//!
//! `POST /api/login` with `{code, encryptedData, iv, rawData, signature}`
//! (JSON, or form-encoded) → jscode2session → signature check → decrypt →
//! watermark check → `200 {"code":0,"data":{"token","user_id"}}`.
//! `POST /api/phone` with `{code, encryptedData, iv}` (older
//! getPhoneNumber) or `{phone_code}` (newer: exchanged at
//! `getuserphonenumber` with an access token the backend caches) →
//! `200 {"code":0,"data":{"phoneNumber","purePhoneNumber","countryCode"}}`.
//! Any other POST path whose body carries a `code` is answered by the
//! same contract (`rawData` or `signature` beside it: the login, else the
//! phone number), so a flow written from a client's own paths (`wxflow
//! lint --emit-flows`) runs against the reference as it is; anything else
//! is 404.
//! Every failure is a non-2xx status with `{"code": <int>, "msg": "…"}`;
//! bad input never causes a 500.

pub mod bugs;

pub use bugs::Bug;

use crate::cores::PerThread;
use crate::http1::{ApiClient, CallError};
use crate::wechat::{self, DecryptError, api::Code2Session, crypto::BufferFault};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header::CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
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
    /// WeChat's API did not answer within [`super::WECHAT_TIMEOUT`].
    pub const WECHAT_TIMEOUT: i64 = -50504;
}

/// How long the backend waits for WeChat's API: shorter than a flow step's
/// default timeout (10 s), so a slow WeChat shows as the backend's timeout,
/// not the runner's.
pub const WECHAT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the backend finds WeChat and who it is.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    pub wechat_api: String,
    pub appid: String,
    pub secret: String,
    /// How it trusts WeChat's API over https (a private CA for the mock).
    pub tls: crate::tls::ClientTls,
    /// Run with this known bug (`wxflow backend --bug`, `wxflow mutate`).
    pub bug: Option<Bug>,
}

struct Backend {
    config: BackendConfig,
    /// WeChat's API client, one per thread (see [`PerThread`]).
    http: PerThread<Arc<ApiClient>>,
    /// The cached access token and when it stops being used.
    token: tokio::sync::Mutex<Option<(String, std::time::Instant)>>,
    /// What the buggy variants remember: code → or openid → (openid, session_key).
    cache: bugs::Cache,
}

impl Backend {
    fn has(&self, bug: Bug) -> bool {
        self.config.bug == Some(bug)
    }

    /// Calls WeChat's API `path` with `query` (and a JSON `body`); its
    /// answer parsed as JSON whatever its type (WeChat labels JSON as
    /// text/plain). Errors name the API without the query: it holds the
    /// appsecret or the access token.
    async fn wechat_call(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.config.wechat_api.trim_end_matches('/'));
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish();
        let body = body.map(Value::to_string);
        let method = if body.is_some() { Method::POST } else { Method::GET };
        let unreachable = |why: String| Failure(StatusCode::BAD_GATEWAY, codes::WECHAT_UNREACHABLE, why);
        let failed = |e: CallError| match e {
            CallError::Timeout(t) => Failure(
                StatusCode::GATEWAY_TIMEOUT,
                codes::WECHAT_TIMEOUT,
                format!("WeChat API at {url} did not answer within {}s", t.as_secs_f64()),
            ),
            CallError::Failed { detail, certificate: Some(problem) } => unreachable(format!(
                "WeChat API at {url} failed: {problem} (wxflow backend --ca-cert trusts a private CA): {detail}"
            )),
            CallError::Connect(detail) | CallError::Failed { detail, .. } => {
                unreachable(format!("WeChat API at {url} failed: {detail}"))
            }
        };
        let (_, bytes) =
            self.http.get().call(method, &format!("{path}?{query}"), body, timeout).await.map_err(failed)?;
        serde_json::from_slice(&bytes).map_err(|e| unreachable(format!("WeChat API at {url} answered non-JSON ({e})")))
    }
}

/// How long the `retry-same-code` bug waits for jscode2session.
const BUGGY_TIMEOUT: Duration = Duration::from_secs(1);

/// The backend as a router.
pub fn app(config: BackendConfig) -> Router {
    let tls = config.tls.clone();
    let base = config.wechat_api.clone();
    let http = PerThread::new(move || {
        let http = tls.apply(reqwest::Client::builder()).build().unwrap_or_default();
        Arc::new(ApiClient::new(http, &base).pooled(crate::limits::POOLED_LEG))
    });
    let state = Arc::new(Backend { config, http, token: tokio::sync::Mutex::new(None), cache: bugs::Cache::default() });
    Router::new()
        .route("/api/login", post(login))
        .route("/api/phone", post(phone))
        .route("/healthz", get(|| async { Json(json!({ "ok": true })) }))
        .fallback(other_path)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// A POST to a path of the client's own: the login or phone contract, by its fields.
async fn other_path(State(b): State<Arc<Backend>>, req: Request) -> Response {
    let not_found = || Failure(StatusCode::NOT_FOUND, codes::MALFORMED_BODY, "no such route".into()).into_response();
    if req.method() != Method::POST {
        return not_found();
    }
    let f = match Fields::from_request(req, &()).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    match (f.has("code"), f.has("rawData") || f.has("signature")) {
        (true, true) => login(State(b), f).await.into_response(),
        (true, false) => phone(State(b), f).await.into_response(),
        _ => not_found(),
    }
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

/// A JSON or form-encoded body as an object of fields, and whether it was a form.
struct Fields(serde_json::Map<String, Value>, bool);

impl Fields {
    /// The `double-form-decode` bug: a form's values decoded once more.
    fn decoded_again(self, b: &Backend) -> Fields {
        if !(self.1 && b.has(Bug::DoubleFormDecode)) {
            return self;
        }
        let map = self
            .0
            .into_iter()
            .map(|(k, v)| (k, v.as_str().map_or(v.clone(), |s| Value::String(bugs::decode_again(s)))))
            .collect();
        Fields(map, true)
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    fn get(&self, name: &str) -> Result<String, Failure> {
        let bad = |msg: String| Failure(StatusCode::BAD_REQUEST, codes::BAD_FIELD, msg);
        match self.0.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::String(_)) => Err(bad(format!("field `{name}` is empty"))),
            Some(_) => Err(bad(format!("field `{name}` must be a string"))),
            None => Err(bad(format!("missing field `{name}`"))),
        }
    }
}

/// A login body read straight from the request: a bad one is refused with
/// a [`Failure`] before the handler runs.
impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Failure> {
        let headers = req.headers().clone();
        parse_body(&headers, Bytes::from_request(req, state).await)
    }
}

fn parse_body(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Fields, Failure> {
    let body = body.map_err(|e| Failure(e.status(), codes::MALFORMED_BODY, format!("cannot read body: {e}")))?;
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
        // `curl -d '{…}'` labels JSON as a form: trust the body's first byte.
        && !body.trim_ascii_start().starts_with(b"{");
    let object: serde_json::Map<String, Value> = if is_form {
        form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect()
    } else {
        if body.is_empty() {
            return Err(malformed("empty body: expected JSON {code, encryptedData, iv, rawData, signature}"));
        }
        match serde_json::from_slice(&body) {
            Ok(Value::Object(o)) => o,
            Ok(_) => return Err(malformed("body must be a JSON object {code, encryptedData, iv, rawData, signature}")),
            Err(e) => return Err(malformed(format!("body is not JSON: {e}"))),
        }
    };
    Ok(Fields(object, is_form))
}

async fn login(State(b): State<Arc<Backend>>, f: Fields) -> Result<Json<Value>, Failure> {
    let b = b.as_ref();
    let f = f.decoded_again(b);
    let (code, encrypted_data, iv) = (f.get("code")?, f.get("encryptedData")?, f.get("iv")?);
    let (raw_data, signature) = (f.get("rawData")?, f.get("signature")?);
    let (openid, session_key) = code2session(b, &code).await?;
    let signed = if b.has(Bug::RawdataReserialized) {
        serde_json::from_str(&raw_data).map_or(raw_data.clone(), |v| bugs::python_dumps(&v))
    } else {
        raw_data
    };
    if !b.has(Bug::NoSignatureCheck) && !wechat::signature(&signed, &session_key).eq_ignore_ascii_case(&signature) {
        return Err(Failure(
            StatusCode::UNAUTHORIZED,
            codes::SIGNATURE_MISMATCH,
            "signature mismatch: sha1(rawData + session_key) differs; rawData was altered or was signed with an older session_key".into(),
        ));
    }
    open(b, &session_key, &iv, &encrypted_data)?;
    let token = if b.has(Bug::SessionKeyInToken) {
        bugs::jwt(&json!({ "openid": openid, "session_key": session_key }))
    } else {
        wechat::hex(&rand::random::<[u8; 16]>())
    };
    Ok(Json(json!({ "code": 0, "data": { "token": token, "user_id": user_id(&openid) } })))
}

/// Decrypts and checks the watermark, mapping errors to the backend's codes.
fn open(b: &Backend, session_key: &str, iv: &str, encrypted_data: &str) -> Result<Value, Failure> {
    let appid = (!b.has(Bug::NoWatermarkCheck)).then_some(b.config.appid.as_str());
    let (key, iv) = if b.has(Bug::KeyIvSwapped) { (iv, session_key) } else { (session_key, iv) };
    let opened = wechat::decrypt(key, iv, encrypted_data, appid);
    if opened.is_err() && b.has(Bug::DecryptFailureSwallowed) {
        return Ok(Value::Null);
    }
    if opened.is_err() && b.has(Bug::DecryptFailureCrashes) {
        return Err(Failure(StatusCode::INTERNAL_SERVER_ERROR, -500, "Internal Server Error".into()));
    }
    opened.map_err(|e| {
        let code = match e {
            DecryptError::IllegalBuffer(BufferFault::WatermarkAppid { .. }) => codes::WATERMARK_MISMATCH,
            _ => i64::from(e.code()),
        };
        let status = if matches!(e, DecryptError::IllegalBuffer(_)) {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        Failure(status, code, format!("decrypt failed: {e}"))
    })
}

async fn phone(State(b): State<Arc<Backend>>, f: Fields) -> Result<Json<Value>, Failure> {
    let b = b.as_ref();
    let info = if f.has("phone_code") {
        let phone_code = f.get("phone_code")?;
        if b.has(Bug::PhoneCodeTwice) {
            phone_by_code(b, &phone_code).await?;
        }
        phone_by_code(b, &phone_code).await?
    } else {
        let (code, encrypted_data, iv) = (f.get("code")?, f.get("encryptedData")?, f.get("iv")?);
        let (_, session_key) = code2session(b, &code).await?;
        open(b, &session_key, &iv, &encrypted_data)?
    };
    Ok(Json(json!({ "code": 0, "data": {
        "phoneNumber": info["phoneNumber"],
        "purePhoneNumber": info["purePhoneNumber"],
        // WeChat documents countryCode as a number and as a string: accept both.
        "countryCode": info["countryCode"].as_str().map_or_else(|| info["countryCode"].to_string(), String::from),
    }})))
}

/// The newer getPhoneNumber: exchange the phone code with an access token,
/// fetching a new token once if WeChat says the cached one is bad.
async fn phone_by_code(b: &Backend, phone_code: &str) -> Result<Value, Failure> {
    for attempt in 0..2 {
        let token = access_token(b, attempt > 0).await?;
        let (path, body) = ("/wxa/business/getuserphonenumber", json!({ "code": phone_code }));
        let v = b.wechat_call(path, &[("access_token", &token)], Some(&body), WECHAT_TIMEOUT).await?;
        match v["errcode"].as_i64().unwrap_or(0) {
            0 => return Ok(v["phone_info"].clone()),
            40001 | 42001 if attempt == 0 && !b.has(Bug::TokenNeverRefreshed) => {}
            code => return Err(wechat_error(code, &v)),
        }
    }
    Err(Failure(StatusCode::BAD_GATEWAY, codes::WECHAT_UNREACHABLE, "access token rejected twice".into()))
}

async fn access_token(b: &Backend, refresh: bool) -> Result<String, Failure> {
    let mut cached = b.token.lock().await;
    let never_refreshed = b.has(Bug::TokenNeverRefreshed);
    if let Some((t, until)) = cached.as_ref()
        && (never_refreshed || (!refresh && *until > std::time::Instant::now()))
    {
        return Ok(t.clone());
    }
    let query = [("grant_type", "client_credential"), ("appid", &b.config.appid), ("secret", &b.config.secret)];
    let v = b.wechat_call("/cgi-bin/token", &query, None, WECHAT_TIMEOUT).await?;
    let Some(token) = v["access_token"].as_str() else {
        return Err(wechat_error(v["errcode"].as_i64().unwrap_or(-1), &v));
    };
    // Renew five minutes early, as WeChat advises.
    let life = v["expires_in"].as_u64().unwrap_or(7200).saturating_sub(300);
    *cached = Some((token.to_string(), std::time::Instant::now() + Duration::from_secs(life)));
    Ok(token.to_string())
}

fn wechat_error(code: i64, v: &Value) -> Failure {
    let status = if matches!(code, 40029 | 40163 | 40226) { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_GATEWAY };
    Failure(status, code, format!("WeChat: {}", v["errmsg"].as_str().unwrap_or("")))
}

/// A stable numeric user id for an openid (the reference backend keeps no
/// user table, so memory stays flat in long runs).
fn user_id(openid: &str) -> u64 {
    let digest = wechat::signature(openid, "user_id");
    u64::from_str_radix(&digest[..12], 16).unwrap_or(0)
}

/// jscode2session: returns (openid, session_key), with the buggy variants'
/// caches and retries where one is on.
async fn code2session(b: &Backend, code: &str) -> Result<(String, String), Failure> {
    if b.has(Bug::ReusedCodeAccepted)
        && let Some(hit) = b.cache.get(code)
    {
        return Ok(hit);
    }
    let mut session = exchange_code(b, code).await;
    if b.has(Bug::RetrySameCode) && matches!(&session, Err(f) if f.1 == codes::WECHAT_TIMEOUT) {
        session = exchange_code(b, code).await;
    }
    let (openid, key) = session?;
    if b.has(Bug::ReusedCodeAccepted) {
        b.cache.put(code, (openid.clone(), key.clone()));
    }
    if b.has(Bug::StaleSessionCache) {
        if let Some(old) = b.cache.get(&openid) {
            return Ok(old);
        }
        b.cache.put(&openid, (openid.clone(), key.clone()));
    }
    Ok((openid, key))
}

/// One jscode2session call.
async fn exchange_code(b: &Backend, code: &str) -> Result<(String, String), Failure> {
    let query = [
        ("appid", &*b.config.appid),
        ("secret", &b.config.secret),
        ("js_code", code),
        ("grant_type", "authorization_code"),
    ];
    let timeout = if b.has(Bug::RetrySameCode) { BUGGY_TIMEOUT } else { WECHAT_TIMEOUT };
    let v = b.wechat_call("/sns/jscode2session", &query, None, timeout).await?;
    let session = Code2Session::deserialize(&v).unwrap_or_default();
    match (session.errcode.unwrap_or(0), session.openid, session.session_key) {
        (0, Some(openid), Some(key)) => Ok((openid, key)),
        (0, _, _) => Err(Failure(
            StatusCode::BAD_GATEWAY,
            codes::WECHAT_UNREACHABLE,
            "jscode2session returned no session_key".into(),
        )),
        (code, _, _) => Err(wechat_error(code, &v)),
    }
}
