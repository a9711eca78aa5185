//! The mock where real backends get burnt (wrong methods, token rotation
//! and expiry, slow answers that still spend the code, WeChat's errmsg
//! texts), and `wxflow mutate` proving the shipped flows catch every bug in
//! the catalogue.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::{tempdir, wxflow};
use serde_json::{Value, json};
use std::time::Duration;
use tower::ServiceExt;
use wxflow::mock::state::{DEMO_APPID, DEMO_SECRET};
use wxflow::mock::{self, Mock, MockConfig};

async fn call(m: &Mock, method: &str, uri: &str, body: &str) -> (u16, Value) {
    let req = Request::builder().method(method).uri(uri).body(Body::from(body.to_string())).unwrap();
    let resp = mock::app(m.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn token_uri() -> String {
    format!("/cgi-bin/token?grant_type=client_credential&appid={DEMO_APPID}&secret={DEMO_SECRET}")
}

async fn token(m: &Mock) -> String {
    call(m, "GET", &token_uri(), "").await.1["access_token"].as_str().unwrap().to_string()
}

async fn phone_errcode(m: &Mock, token: &str) -> i64 {
    let uri = format!("/wxa/business/getuserphonenumber?access_token={token}");
    call(m, "POST", &uri, r#"{"code":"nope"}"#).await.1["errcode"].as_i64().unwrap()
}

async fn advance(m: &Mock, secs: f64) {
    assert_eq!(call(m, "POST", "/__wxflow/clock", &json!({ "advance_secs": secs }).to_string()).await.0, 200);
}

#[tokio::test]
async fn a_wrong_method_gets_wechats_json_error_not_a_405() {
    let m = Mock::new(MockConfig::default());
    let (status, v) = call(&m, "POST", &token_uri(), "").await;
    assert_eq!((status, v["errcode"].as_i64()), (200, Some(43001)), "{v}");
    assert!(v["errmsg"].as_str().unwrap().starts_with("require GET method, rid: "), "{v}");
    for uri in ["/cgi-bin/stable_token", "/wxa/business/getuserphonenumber?access_token=x"] {
        let (status, v) = call(&m, "GET", uri, "").await;
        assert_eq!((status, v["errcode"].as_i64()), (200, Some(43002)), "{uri}: {v}");
    }
}

#[tokio::test]
async fn a_new_token_retires_the_previous_after_five_minutes_and_tokens_expire_after_two_hours() {
    let m = Mock::new(MockConfig::default());
    let first = token(&m).await;
    let second = token(&m).await;
    assert_ne!(first, second, "/cgi-bin/token issues a new token every call");
    // 40029 (the phone code) means the token itself was accepted.
    assert_eq!(phone_errcode(&m, &first).await, 40029, "the old one works for five more minutes");
    advance(&m, 301.0).await;
    assert_eq!(phone_errcode(&m, &first).await, 40001, "then the loser of two refreshes gets 40001");
    assert_eq!(phone_errcode(&m, &second).await, 40029);
    advance(&m, 7200.0).await;
    assert_eq!(phone_errcode(&m, &second).await, 42001, "the mock clock expires tokens without waiting");
    let (_, v) =
        call(&m, "POST", &format!("/wxa/business/getuserphonenumber?access_token={first}"), r#"{"code":"x"}"#).await;
    assert!(v["errmsg"].as_str().unwrap().starts_with(
        "invalid credential, access_token is invalid or not latest, could get access_token by getStableAccessToken, more details at https://mmbizurl.cn/s/JtxxFh33r rid: "
    ), "{v}");
}

#[tokio::test]
async fn stable_token_is_stable_until_a_limited_force_refresh() {
    let m = Mock::new(MockConfig::default());
    let body = |force: bool| {
        json!({"grant_type": "client_credential", "appid": DEMO_APPID, "secret": DEMO_SECRET, "force_refresh": force})
            .to_string()
    };
    let a = call(&m, "POST", "/cgi-bin/stable_token", &body(false)).await.1;
    let b = call(&m, "POST", "/cgi-bin/stable_token", &body(false)).await.1;
    assert_eq!(a["access_token"], b["access_token"]);
    let c = call(&m, "POST", "/cgi-bin/stable_token", &body(true)).await.1;
    assert_ne!(a["access_token"], c["access_token"]);
    let d = call(&m, "POST", "/cgi-bin/stable_token", &body(true)).await.1;
    assert_eq!(d["errcode"], 45009, "one force refresh per 30 s: {d}");
    assert_eq!(phone_errcode(&m, a["access_token"].as_str().unwrap()).await, 40029, "the old one overlaps");
    let (_, v) = call(&m, "POST", "/cgi-bin/stable_token", "not json").await;
    assert_eq!(v["errcode"], 47001, "a non-JSON body to a POST API: {v}");
    let (_, v) = call(&m, "POST", "/wxa/business/getuserphonenumber?access_token=x", "[1]").await;
    assert_eq!(v["errcode"], 47001, "{v}");
}

#[tokio::test]
async fn errmsgs_are_written_as_wechat_writes_them() {
    let m = Mock::new(MockConfig::default());
    let (_, v) =
        call(&m, "GET", &format!("/cgi-bin/token?grant_type=client_credential&appid={DEMO_APPID}&secret=wrong"), "")
            .await;
    assert_eq!(v["errcode"], 40125);
    assert!(
        regex::Regex::new(r"^invalid appsecret, view more at http://t\.cn/RAEkdVq hint: \[[0-9a-f-]+\]$")
            .unwrap()
            .is_match(v["errmsg"].as_str().unwrap()),
        "{v}"
    );
    let (_, v) = call(
        &m,
        "GET",
        &format!(
            "/sns/jscode2session?appid={DEMO_APPID}&secret={DEMO_SECRET}&js_code=0nope&grant_type=authorization_code"
        ),
        "",
    )
    .await;
    assert!(v["errmsg"].as_str().unwrap().starts_with("invalid code, rid: "), "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_answer_still_spends_the_code_so_a_retry_gets_40163() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 1).await;
    let http = reqwest::Client::new();
    let mock = &s.embedded.mock_url;
    let login = http
        .post(format!("{mock}/__wxflow/client/login"))
        .json(&json!({"user": "slow", "faults": {"jscode2session": {"latency_ms": 800}}}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let uri = format!(
        "{mock}/sns/jscode2session?appid={DEMO_APPID}&secret={DEMO_SECRET}&js_code={}&grant_type=authorization_code",
        login["code"].as_str().unwrap()
    );
    let gave_up = http.get(&uri).timeout(Duration::from_millis(200)).send().await;
    assert!(gave_up.is_err_and(|e| e.is_timeout()));
    let retry: Value = http.get(&uri).send().await.unwrap().json().await.unwrap();
    assert_eq!(retry["errcode"], 40163, "{retry}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_flows_catch_every_bug_in_the_catalogue() {
    let dir = tempdir();
    let path = dir.path().join("mutate.json");
    let rp = format!("json={}", path.display());
    let (code, out, err) = wxflow(&["mutate", "flows", "--report", &rp]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("13 of 13 bugs caught"), "{out}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let schema: Value = serde_json::from_str(include_str!("../schemas/mutate.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&report), "{report}");
    assert_eq!(report["baseline"]["caught_by"], json!([]));
    assert_eq!(report["survivors"], json!([]));
    let caught = |bug: &str| -> Vec<String> {
        report["bugs"].as_array().unwrap().iter().find(|b| b["bug"] == bug).unwrap()["caught_by"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_string())
            .collect()
    };
    assert!(caught("stale-session-cache").contains(&"returning-user".to_string()));
    assert!(caught("token-never-refreshed").contains(&"token-expiry".to_string()));
    assert!(caught("retry-same-code").contains(&"slow-jscode2session".to_string()));
    assert!(caught("no-signature-check").contains(&"tampered-rawdata".to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suite_missing_a_story_lets_bugs_survive_and_exits_1() {
    let (code, out, _) = wxflow(&["mutate", "flows/login-first.yaml"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("SURVIVED") && out.contains("survivors: no-signature-check"), "{out}");
    let (code, _, err) = wxflow(&["mutate", "--report", "junit=x.xml"]).await;
    assert_eq!(code, 2, "{err}");
}
