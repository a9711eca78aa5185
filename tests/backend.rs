//! End to end: mock + reference backend on 127.0.0.1:0.

mod common;

use common::stack;
use serde_json::json;
use wxflow::contract::RotationPolicy;

fn code_of(v: &serde_json::Value) -> String {
    v["code"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn login_then_getuserinfo_logs_in_under_any_rotation() {
    for policy in [RotationPolicy::Always, RotationPolicy::Never, RotationPolicy::Probability(0.5)] {
        let s = stack(policy, 9).await;
        for user in ["a", "b", "c"] {
            let code = code_of(&s.client("login", json!({ "user": user })).await);
            let info = s.client("getUserInfo", json!({ "user": user })).await;
            let (status, body) = s.backend_login(&code, &info).await;
            assert_eq!((status, body["code"].as_i64()), (200, Some(0)), "{policy}: {body}");
            assert!(body["data"]["token"].is_string() && body["data"]["user_id"].is_u64(), "{body}");
        }
    }
}

#[tokio::test]
async fn getuserinfo_then_login_under_rotate_always_fails_with_41003_or_40001_never_500() {
    let s = stack(RotationPolicy::Always, 9).await;
    for user in ["a", "b", "c", "d"] {
        let info = s.client("getUserInfo", json!({ "user": user })).await;
        let code = code_of(&s.client("login", json!({ "user": user })).await);
        let (status, body) = s.backend_login(&code, &info).await;
        assert!(matches!(body["code"].as_i64(), Some(-41003 | -40001)), "{body}");
        assert!((400..500).contains(&status), "{status}");
    }
}

#[tokio::test]
async fn the_seeds_fix_refreshing_after_login_works() {
    let s = stack(RotationPolicy::Always, 9).await;
    s.client("getUserInfo", json!({ "user": "a" })).await;
    let code = code_of(&s.client("login", json!({ "user": "a" })).await);
    let fresh = s.client("getUserInfo", json!({ "user": "a" })).await;
    assert_eq!(s.backend_login(&code, &fresh).await.0, 200);
}

#[tokio::test]
async fn backend_rejects_reuse_tamper_and_foreign_watermark_with_their_codes() {
    let s = stack(RotationPolicy::Never, 9).await;
    let code = code_of(&s.client("login", json!({ "user": "a" })).await);
    let info = s.client("getUserInfo", json!({ "user": "a" })).await;
    assert_eq!(s.backend_login(&code, &info).await.0, 200);
    let (status, body) = s.backend_login(&code, &info).await;
    assert_eq!((status, body["code"].as_i64()), (401, Some(40163)), "{body}");

    let code = code_of(&s.client("login", json!({ "user": "a" })).await);
    let mut tampered = info.clone();
    tampered["rawData"] = json!(info["rawData"].as_str().unwrap().replace("微信用户", "admin"));
    assert_eq!(s.backend_login(&code, &tampered).await.1["code"], -40001);

    let code = code_of(&s.client("login", json!({ "user": "a" })).await);
    let foreign = s.client("getUserInfo", json!({ "user": "a", "watermark_appid": "wx0000000000000000" })).await;
    assert_eq!(s.backend_login(&code, &foreign).await.1["code"], -41005);
}

#[tokio::test]
async fn form_encoded_login_works_when_plus_is_percent_encoded_and_fails_41004_when_not() {
    let s = stack(RotationPolicy::Never, 9).await;
    let form = |code: &str, info: &serde_json::Value, encode: bool| {
        let enc = |v: &serde_json::Value| {
            let t = v.as_str().unwrap();
            if encode { form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>() } else { t.to_string() }
        };
        format!(
            "code={code}&encryptedData={}&iv={}&rawData={}&signature={}",
            enc(&info["encryptedData"]),
            enc(&info["iv"]),
            form_urlencoded::byte_serialize(info["rawData"].as_str().unwrap().as_bytes()).collect::<String>(),
            enc(&info["signature"])
        )
    };
    let code = code_of(&s.client("login", json!({ "user": "a" })).await);
    let info = s.client("getUserInfo", json!({ "user": "a" })).await;
    assert!(info["encryptedData"].as_str().unwrap().contains('+'), "this seed's payload holds a '+'");
    let (status, body) = s.post_backend(&form(&code, &info, true), "application/x-www-form-urlencoded").await;
    assert_eq!(status, 200, "{body}");
    let code = code_of(&s.client("login", json!({ "user": "a" })).await);
    let (status, body) = s.post_backend(&form(&code, &info, false), "application/x-www-form-urlencoded").await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(-41004)), "{body}");
    assert!(body["msg"].as_str().unwrap().contains("space"), "{body}");
}

#[tokio::test]
async fn bad_bodies_get_clear_4xx_json_never_500() {
    let s = stack(RotationPolicy::Never, 9).await;
    let huge = "x".repeat(200_000);
    let cases: [(&str, &str, i64); 7] = [
        ("", "application/json", -40100),
        ("{", "application/json", -40100),
        ("[1,2]", "application/json", -40100),
        ("not json", "text/plain", -40100),
        (r#"{"code":"x"}"#, "application/json", -40101),
        (r#"{"code":"x","encryptedData":"a","iv":"b","rawData":"c","signature":5}"#, "application/json", -40101),
        (&huge, "application/json", -40100),
    ];
    for (body, ctype, code) in cases {
        let (status, answer) = s.post_backend(body, ctype).await;
        assert!((400..500).contains(&status), "{status} for {body:.40}");
        assert_eq!(answer["code"].as_i64(), Some(code), "{answer}");
    }
    // An unknown code is WeChat's 40029, passed through.
    let body = json!({"code":"0nope","encryptedData":"a","iv":"b","rawData":"c","signature":"d"}).to_string();
    assert_eq!(s.post_backend(&body, "application/json").await.1["code"], 40029);
}

#[tokio::test]
async fn dead_wechat_api_gives_502_with_a_clear_code() {
    let stop = tokio_util::sync::CancellationToken::new();
    let config = wxflow::backend::BackendConfig {
        wechat_api: "http://127.0.0.1:9".into(),
        appid: "wx".into(),
        secret: "s".into(),
        tls: wxflow::tls::ClientTls::default(),
        bug: None,
    };
    let b = wxflow::serve::spawn(wxflow::backend::app(config), "127.0.0.1:0", stop.clone()).await.unwrap();
    let body = json!({"code":"c","encryptedData":"a","iv":"b","rawData":"c","signature":"d"});
    let resp = reqwest::Client::new().post(format!("{}/api/login", b.url())).json(&body).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 502);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["code"], -50200);
    stop.cancel();
}
