//! The client side: what the Mini Program runtime would do, driven by flows
//! over HTTP under `/__wxflow`. Also the mock's ground truth and its live
//! settings.
//!
//! | route | does |
//! |---|---|
//! | `POST /__wxflow/client/login` | `wx.login`: maybe rotates the key, returns a code |
//! | `POST /__wxflow/client/{getUserInfo,getUserProfile,getShareInfo,getWeRunData}` | open data sealed with the current key |
//! | `POST /__wxflow/client/getPhoneNumber` | `mode: "encrypted"` (default) or `"code"` |
//! | `POST /__wxflow/client/checkSession` | `wx.checkSession` |
//! | `GET /__wxflow/truth?iv=…` / `?code=…` | which generation sealed / was exchanged |
//! | `POST /__wxflow/truth` `{codes, ivs}` | the same for many values in one round trip |
//! | `GET`/`PUT /__wxflow/config` | rotation policy and faults, live |
//! | `POST /__wxflow/clock` | skew the clock, for one user or everyone |
//! | `POST /__wxflow/leaks` `{candidates}` | which are session_keys handed to a backend (the keys never travel back) |
//! | `GET /__wxflow/identity` | service, version, apps, and an instance id new at every start |

use super::Mock;
use crate::contract::{
    CLIENT_PREFIX, ClientRequest, ClientTruth, ClockUpdate, ConfigUpdate, ConfigView, Identity, PhoneMode, TruthQuery,
    validate_faults,
};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::HashMap;

pub fn routes() -> Router<Mock> {
    Router::new()
        .route(&format!("{CLIENT_PREFIX}/client/{{api}}"), post(client))
        .route(&format!("{CLIENT_PREFIX}/truth"), get(truth).post(truths))
        .route(&format!("{CLIENT_PREFIX}/config"), get(get_config).put(put_config))
        .route(&format!("{CLIENT_PREFIX}/clock"), post(clock))
        .route(&format!("{CLIENT_PREFIX}/identity"), get(identity))
        .route(&format!("{CLIENT_PREFIX}/leaks"), post(leaks))
}

fn bad_request(msg: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": msg.into() }))).into_response()
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
}

/// The client APIs that return open data sealed with the session_key.
const OPEN_DATA_APIS: &[&str] = &["getUserInfo", "getUserProfile", "getShareInfo", "getWeRunData", "getPhoneNumber"];

/// The anonymised profile WeChat has returned since 2021, and its text
/// (`rawData`), made once.
fn user_info() -> &'static (Value, String) {
    static INFO: std::sync::OnceLock<(Value, String)> = std::sync::OnceLock::new();
    INFO.get_or_init(|| {
        let info = json!({
            "nickName": "微信用户",
            "gender": 0,
            "language": "",
            "city": "",
            "province": "",
            "country": "",
            "avatarUrl": "https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132",
        });
        let text = info.to_string();
        (info, text)
    })
}

/// A client API's answer: what the Mini Program runtime returns, with the
/// mock's truth under `wxflow` (left out when it has none).
#[derive(Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encrypted_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iv: Option<String>,
    err_msg: String,
    #[serde(skip_serializing_if = "is_default")]
    wxflow: ClientTruth,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_data: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_info: Option<&'static Value>,
}

fn is_default(t: &ClientTruth) -> bool {
    *t == ClientTruth::default()
}

async fn client(State(mock): State<Mock>, Path(api): Path<String>, body: Bytes) -> Response {
    let req: ClientRequest = match parse(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    if let Err(e) = req.validate() {
        return bad_request(e);
    }
    // Lookups riding this call are answered as of before it.
    let truths = req.truth.as_ref().map(|q| mock.truths(q));
    let mut s = mock.state();
    let appid = s.appid_or_first(req.appid.as_deref());
    let user = req.user.as_str();
    let result =
        match api.as_str() {
            "login" => s.login(&appid, user, req.rotation, req.faults.clone()).map(|o| ClientAnswer {
                code: Some(o.code),
                err_msg: "login:ok".into(),
                wxflow: ClientTruth {
                    generation: Some(o.generation),
                    rotated: Some(o.rotated),
                    logins: Some(o.logins),
                    ..ClientTruth::default()
                },
                ..ClientAnswer::default()
            }),
            "checkSession" => s.check_session(&appid, user).map(|ok| ClientAnswer {
                err_msg: if ok { "checkSession:ok" } else { "checkSession:fail session expired" }.into(),
                ..ClientAnswer::default()
            }),
            "getPhoneNumber" if req.mode == Some(PhoneMode::Code) => s.phone_code(&appid, user).map(|code| {
                ClientAnswer { code: Some(code), err_msg: "getPhoneNumber:ok".into(), ..ClientAnswer::default() }
            }),
            other => match OPEN_DATA_APIS.iter().find(|a| **a == other) {
                Some(api) => open_data(&mut s, &appid, user, api, req.watermark_appid.as_deref(), req.ensure_plus),
                None => Err(format!(
                    "unknown client API `{other}`: expected login, checkSession or {}",
                    OPEN_DATA_APIS.join(", ")
                )),
            },
        };
    let instance = s.instance.clone();
    drop(s);
    match result {
        Ok(mut answer) => {
            answer.wxflow.truths = truths;
            answer.wxflow.instance = Some(instance);
            Json(answer).into_response()
        }
        Err(e) => bad_request(e),
    }
}

/// Builds the plaintext each open-data API carries, seals it, and shapes the
/// answer as the Mini Program runtime does.
fn open_data(
    s: &mut super::MockState,
    appid: &str,
    user: &str,
    api: &'static str,
    watermark_appid: Option<&str>,
    ensure_plus: bool,
) -> Result<ClientAnswer, String> {
    let (openid, unionid) = s.identity(appid, user)?;
    let unionid_bound = s.app(appid).is_some_and(|a| a.unionid);
    let plaintext = match api {
        "getUserInfo" => {
            let mut p = user_info().0.clone();
            p["openId"] = json!(openid);
            if unionid_bound {
                p["unionId"] = json!(unionid);
            }
            p
        }
        "getUserProfile" => user_info().0.clone(),
        "getShareInfo" => json!({ "openGId": format!("tG{}", &openid[1..]) }),
        "getWeRunData" => {
            let day = s.now_ms() / 1000 / 86_400 * 86_400;
            json!({ "stepInfoList": (0..3).map(|d| json!({ "timestamp": day - d * 86_400, "step": 4000 + d * 1234 })).collect::<Vec<_>>() })
        }
        _ => {
            let number = s.phone_number(appid, user);
            json!({ "phoneNumber": number, "purePhoneNumber": number, "countryCode": "86" })
        }
    };
    let sealed = s.seal(appid, user, api, plaintext, watermark_appid, ensure_plus)?;
    let mut answer = ClientAnswer {
        encrypted_data: Some(sealed.encrypted_data),
        iv: Some(sealed.iv),
        err_msg: format!("{api}:ok"),
        wxflow: ClientTruth { generation: Some(sealed.generation), ..ClientTruth::default() },
        ..ClientAnswer::default()
    };
    if matches!(api, "getUserInfo" | "getUserProfile") {
        let (info, raw_data) = user_info();
        answer.signature = Some(crate::wechat::signature(raw_data, &sealed.session_key));
        answer.raw_data = Some(raw_data);
        answer.user_info = Some(info);
    }
    Ok(answer)
}

async fn truth(State(mock): State<Mock>, Query(q): Query<HashMap<String, String>>) -> Response {
    let s = mock.state();
    let found = match (q.get("iv"), q.get("code")) {
        (Some(iv), _) => s.iv_truth(iv).map(|t| json!(t)),
        (None, Some(code)) => s.code_truth(code).map(|t| json!(t)),
        (None, None) => return bad_request("pass ?iv=… or ?code=…"),
    };
    match found {
        Some(v) => Json(v).into_response(),
        None => {
            (StatusCode::NOT_FOUND, Json(json!({ "error": "the mock did not issue this value (or has forgotten it)" })))
                .into_response()
        }
    }
}

/// `POST /__wxflow/truth`: many codes and ivs in one round trip.
async fn truths(State(mock): State<Mock>, body: Bytes) -> Response {
    match parse::<TruthQuery>(&body) {
        Ok(q) => Json(mock.truths(&q)).into_response(),
        Err(e) => bad_request(e),
    }
}

fn config_json(s: &super::MockState) -> ConfigView {
    ConfigView {
        seed: s.seed,
        rotation: s.rotation,
        faults: s.faults.clone(),
        apps: s.appids(),
        clock_offset_ms: s.clock_offset_ms,
    }
}

async fn leaks(State(mock): State<Mock>, body: Bytes) -> Response {
    match parse::<crate::contract::LeakQuery>(&body) {
        Ok(q) if q.candidates.len() <= 64 => {
            let s = mock.state();
            Json(json!({ "handed_out": q.candidates.iter().map(|c| s.handed_out(c)).collect::<Vec<_>>() }))
                .into_response()
        }
        Ok(_) => bad_request("at most 64 candidates"),
        Err(e) => bad_request(e),
    }
}

async fn identity(State(mock): State<Mock>) -> Response {
    let s = mock.state();
    Json(Identity {
        service: Identity::SERVICE.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        apps: s.appids(),
        instance: s.instance.clone(),
    })
    .into_response()
}

async fn get_config(State(mock): State<Mock>) -> Response {
    Json(config_json(&mock.state())).into_response()
}

async fn put_config(State(mock): State<Mock>, body: Bytes) -> Response {
    let update: ConfigUpdate = match parse(&body) {
        Ok(u) => u,
        Err(e) => return bad_request(e),
    };
    if let Some(faults) = &update.faults
        && let Err(e) = validate_faults(faults)
    {
        return bad_request(e);
    }
    if let Some(Err(e)) = update.rotation.map(|r| r.validate()) {
        return bad_request(e);
    }
    let mut s = mock.state();
    if let Some(r) = update.rotation {
        s.rotation = r;
    }
    if let Some(f) = update.faults {
        s.faults = f;
    }
    Json(config_json(&s)).into_response()
}

async fn clock(State(mock): State<Mock>, body: Bytes) -> Response {
    let c: ClockUpdate = match parse(&body) {
        Ok(c) => c,
        Err(e) => return bad_request(e),
    };
    let mut s = mock.state();
    let appid = s.appid_or_first(c.appid.as_deref());
    if let Err(e) = c.validate() {
        return bad_request(e);
    }
    let ms = (c.advance_secs * 1000.0) as i64;
    match s.advance_clock(c.user.as_deref().map(|u| (appid.as_str(), u)), ms) {
        Ok(()) => Json(json!({ "now_ms": s.now_ms() })).into_response(),
        Err(e) => bad_request(e),
    }
}
