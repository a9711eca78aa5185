//! Route-level tests of the mock WeChat service (`Router::oneshot`).

use axum::body::Body;
use axum::http::{Request, header::CONTENT_TYPE};
use serde_json::{Value, json};
use tower::ServiceExt;
use wxflow::contract::{Rotation, RotationPolicy};
use wxflow::mock::state::{DEMO_APPID, DEMO_SECRET};
use wxflow::mock::{self, Mock, MockConfig};

fn mock_with(policy: RotationPolicy, seed: u64) -> Mock {
    Mock::new(MockConfig { seed, rotation: Rotation::policy(policy), ..MockConfig::default() })
}

async fn call(mock: &Mock, method: &str, uri: &str, body: Option<Value>) -> (u16, Option<String>, Value) {
    let req = Request::builder().method(method).uri(uri);
    let req = match body {
        Some(b) => req.header(CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = mock::app(mock.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let ctype = resp.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string());
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, ctype, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn login(mock: &Mock, user: &str) -> Value {
    call(mock, "POST", "/__wxflow/client/login", Some(json!({ "user": user }))).await.2
}

async fn exchange(mock: &Mock, code: &str) -> Value {
    let uri = format!(
        "/sns/jscode2session?appid={DEMO_APPID}&secret={DEMO_SECRET}&js_code={code}&grant_type=authorization_code"
    );
    let (status, ctype, body) = call(mock, "GET", &uri, None).await;
    assert_eq!(status, 200, "WeChat answers errors with HTTP 200");
    if body.get("errcode").is_some() {
        assert_eq!(ctype.as_deref(), Some("text/plain"), "errors are labelled text/plain like the real API");
    }
    body
}

fn errcode(v: &Value) -> i64 {
    v["errcode"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn code_exchange_returns_openid_and_a_24_char_session_key() {
    let m = mock_with(RotationPolicy::Never, 1);
    let code = login(&m, "alice").await["code"].as_str().unwrap().to_string();
    let s = exchange(&m, &code).await;
    assert!(s.get("errcode").is_none(), "real successes omit errcode: {s}");
    assert_eq!(s["openid"].as_str().unwrap().len(), 28);
    assert_eq!(s["session_key"].as_str().unwrap().len(), 24);
    assert!(s["unionid"].is_string(), "the demo app is bound to an Open Platform account");
}

#[tokio::test]
async fn reused_code_is_rejected_with_40163() {
    let m = mock_with(RotationPolicy::Never, 1);
    let code = login(&m, "alice").await["code"].as_str().unwrap().to_string();
    assert_eq!(errcode(&exchange(&m, &code).await), 0);
    let again = exchange(&m, &code).await;
    assert_eq!(errcode(&again), 40163);
    assert!(again["errmsg"].as_str().unwrap().starts_with("code been used, rid: "), "{again}");
}

#[tokio::test]
async fn unknown_code_is_40029() {
    let m = mock_with(RotationPolicy::Never, 1);
    assert_eq!(errcode(&exchange(&m, "0nosuchcode").await), 40029);
}

#[tokio::test]
async fn code_expires_after_five_minutes_on_the_skewed_clock() {
    let m = mock_with(RotationPolicy::Never, 1);
    let code = login(&m, "alice").await["code"].as_str().unwrap().to_string();
    let (status, _, _) =
        call(&m, "POST", "/__wxflow/clock", Some(json!({ "user": "alice", "advance_secs": 301 }))).await;
    assert_eq!(status, 200);
    assert_eq!(errcode(&exchange(&m, &code).await), 40029);
    // Another user's code is untouched by alice's clock.
    let code = login(&m, "bob").await["code"].as_str().unwrap().to_string();
    assert_eq!(errcode(&exchange(&m, &code).await), 0);
}

#[tokio::test]
async fn parameter_errors_match_the_real_api() {
    let m = mock_with(RotationPolicy::Never, 1);
    let cases = [
        ("/sns/jscode2session?secret=s&js_code=c&grant_type=authorization_code", 41002),
        (&format!("/sns/jscode2session?appid={DEMO_APPID}&js_code=c&grant_type=authorization_code") as &str, 41004),
        (&format!("/sns/jscode2session?appid={DEMO_APPID}&secret={DEMO_SECRET}&grant_type=authorization_code"), 41008),
        ("/sns/jscode2session?appid=wxnope&secret=s&js_code=c&grant_type=authorization_code", 40013),
        (
            &format!("/sns/jscode2session?appid={DEMO_APPID}&secret=wrong&js_code=c&grant_type=authorization_code"),
            40125,
        ),
    ];
    for (uri, expected) in cases {
        let (status, _, body) = call(&m, "GET", uri, None).await;
        assert_eq!((status, errcode(&body)), (200, expected), "{uri} -> {body}");
    }
}

#[tokio::test]
async fn params_in_a_post_body_form_or_json_are_read_as_in_the_query() {
    let m = mock_with(RotationPolicy::Never, 1);
    for json in [false, true] {
        let code = login(&m, "alice").await["code"].as_str().unwrap().to_string();
        let (kind, body) = if json {
            ("application/json", serde_json::json!({"appid": DEMO_APPID, "secret": DEMO_SECRET, "js_code": code, "grant_type": "authorization_code"}).to_string())
        } else {
            (
                "application/x-www-form-urlencoded",
                format!("appid={DEMO_APPID}&secret={DEMO_SECRET}&js_code={code}&grant_type=authorization_code"),
            )
        };
        let req = Request::post("/sns/jscode2session").header(CONTENT_TYPE, kind).body(Body::from(body)).unwrap();
        let resp = mock::app(m.clone()).oneshot(req).await.unwrap();
        let body: Value =
            serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap()).unwrap();
        assert!(body["session_key"].is_string(), "json={json}: {body}");
    }
    // Without a code anywhere it is still 41008, as in the query.
    let req = Request::post("/sns/jscode2session")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("appid={DEMO_APPID}&secret={DEMO_SECRET}")))
        .unwrap();
    let resp = mock::app(m).oneshot(req).await.unwrap();
    let body: Value = serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap()).unwrap();
    assert_eq!(errcode(&body), 41008);
}

#[tokio::test]
async fn sdk_access_token_param_is_ignored_on_jscode2session() {
    let m = mock_with(RotationPolicy::Never, 1);
    let code = login(&m, "alice").await["code"].as_str().unwrap().to_string();
    let uri = format!(
        "/sns/jscode2session?access_token=ANY&appid={DEMO_APPID}&secret={DEMO_SECRET}&js_code={code}&grant_type=authorization_code"
    );
    assert!(call(&m, "GET", &uri, None).await.2["session_key"].is_string());
}

#[tokio::test]
async fn rotation_always_changes_the_key_and_never_keeps_it() {
    for (policy, expect_rotation) in [(RotationPolicy::Always, true), (RotationPolicy::Never, false)] {
        let m = mock_with(policy, 3);
        let mut keys = vec![];
        for _ in 0..3 {
            let l = login(&m, "alice").await;
            assert_eq!(l["wxflow"]["rotated"], expect_rotation);
            keys.push(exchange(&m, l["code"].as_str().unwrap()).await["session_key"].as_str().unwrap().to_string());
        }
        assert_eq!(keys[0] != keys[1] && keys[1] != keys[2], expect_rotation, "{policy}: {keys:?}");
        assert_eq!(keys[0] == keys[2], !expect_rotation);
    }
}

#[tokio::test]
async fn rotation_every_n_refreshes_on_every_nth_login() {
    let m = mock_with(RotationPolicy::Every(3), 3);
    let mut rotated = vec![];
    for _ in 0..6 {
        rotated.push(login(&m, "alice").await["wxflow"]["rotated"].as_bool().unwrap());
    }
    assert_eq!(rotated, [false, false, true, false, false, true]);
}

#[tokio::test]
async fn rotation_probability_follows_p_over_many_users() {
    let m = mock_with(RotationPolicy::Probability(0.3), 11);
    let mut n = 0;
    for i in 0..1000 {
        n += u32::from(login(&m, &format!("u{i}")).await["wxflow"]["rotated"].as_bool().unwrap());
    }
    // Binomial(1000, 0.3): mean 300, sd 14.5; ±5 sd.
    assert!((228..=372).contains(&n), "{n} of 1000 rotated");
}

#[tokio::test]
async fn min_period_and_ttl_override_the_policy() {
    let m = Mock::new(MockConfig {
        rotation: Rotation { policy: RotationPolicy::Always, min_period_secs: Some(60.0), ttl_secs: None },
        ..MockConfig::default()
    });
    assert_eq!(login(&m, "a").await["wxflow"]["rotated"], true);
    assert_eq!(login(&m, "a").await["wxflow"]["rotated"], false, "second login within the minimum period");
    let m = Mock::new(MockConfig {
        rotation: Rotation { policy: RotationPolicy::Never, min_period_secs: None, ttl_secs: Some(100.0) },
        ..MockConfig::default()
    });
    assert_eq!(login(&m, "a").await["wxflow"]["rotated"], false);
    let check =
        |m: Mock| async move { call(&m, "POST", "/__wxflow/client/checkSession", Some(json!({"user": "a"}))).await.2 };
    assert_eq!(check(m.clone()).await["errMsg"], "checkSession:ok");
    call(&m, "POST", "/__wxflow/clock", Some(json!({ "user": "a", "advance_secs": 101 }))).await;
    assert_eq!(check(m.clone()).await["errMsg"], "checkSession:fail session expired");
    assert_eq!(login(&m, "a").await["wxflow"]["rotated"], true, "an expired session refreshes on login");
}

/// Everything a user sees, for comparing runs: ivs, the session_key (through
/// the signature), codes and rotations. Not the encryptedData: its watermark
/// holds the wall-clock second, which two stories may not share.
async fn user_story(m: &Mock, user: &str) -> Vec<Value> {
    let mut out = vec![];
    for _ in 0..4 {
        let info = call(m, "POST", "/__wxflow/client/getUserInfo", Some(json!({ "user": user }))).await.2;
        let l = login(m, user).await;
        out.push(json!([info["iv"], info["signature"], l["code"], l["wxflow"]["rotated"]]));
    }
    out
}

#[tokio::test]
async fn same_seed_same_user_same_story_whatever_other_users_do() {
    let a = mock_with(RotationPolicy::Probability(0.5), 42);
    let story_a = user_story(&a, "alice").await;
    let b = mock_with(RotationPolicy::Probability(0.5), 42);
    for i in 0..5 {
        user_story(&b, &format!("noise{i}")).await;
    }
    assert_eq!(user_story(&b, "alice").await, story_a);
    let c = mock_with(RotationPolicy::Probability(0.5), 43);
    assert_ne!(user_story(&c, "alice").await, story_a, "another seed, another story");
}

#[tokio::test]
async fn ground_truth_tells_which_generation_sealed_and_which_was_exchanged() {
    let m = mock_with(RotationPolicy::Always, 5);
    let info = call(&m, "POST", "/__wxflow/client/getUserInfo", Some(json!({ "user": "alice" }))).await.2;
    let code = login(&m, "alice").await["code"].as_str().unwrap().to_string();
    exchange(&m, &code).await;
    let iv = info["iv"].as_str().unwrap();
    let uri = format!("/__wxflow/truth?iv={}", iv.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D"));
    let t = call(&m, "GET", &uri, None).await.2;
    assert_eq!((t["sealed_generation"].as_u64(), t["current_generation"].as_u64()), (Some(1), Some(2)), "{t}");
    let c = call(&m, "GET", &format!("/__wxflow/truth?code={code}"), None).await.2;
    assert_eq!(c["exchanged_generation"], 2);
    assert_eq!(call(&m, "GET", "/__wxflow/truth?iv=unknown", None).await.0, 404);
}

#[tokio::test]
async fn open_data_apis_seal_their_documented_payloads() {
    let m = mock_with(RotationPolicy::Never, 5);
    let l = login(&m, "alice").await;
    let key = exchange(&m, l["code"].as_str().unwrap()).await["session_key"].as_str().unwrap().to_string();
    for (api, field) in [
        ("getUserInfo", "openId"),
        ("getUserProfile", "nickName"),
        ("getShareInfo", "openGId"),
        ("getWeRunData", "stepInfoList"),
        ("getPhoneNumber", "purePhoneNumber"),
    ] {
        let r = call(&m, "POST", &format!("/__wxflow/client/{api}"), Some(json!({ "user": "alice" }))).await.2;
        let plain = wxflow::wechat::decrypt(
            &key,
            r["iv"].as_str().unwrap(),
            r["encryptedData"].as_str().unwrap(),
            Some(DEMO_APPID),
        )
        .unwrap();
        assert!(plain.get(field).is_some(), "{api}: {plain}");
        if api == "getUserProfile" {
            assert!(plain.get("openId").is_none(), "getUserProfile carries no openId");
        }
        if let Some(raw) = r["rawData"].as_str() {
            assert_eq!(r["signature"].as_str().unwrap(), wxflow::wechat::signature(raw, &key));
        }
    }
}

#[tokio::test]
async fn phone_code_exchanges_once_with_a_valid_token() {
    let m = mock_with(RotationPolicy::Never, 5);
    let tok = call(
        &m,
        "GET",
        &format!("/cgi-bin/token?grant_type=client_credential&appid={DEMO_APPID}&secret={DEMO_SECRET}"),
        None,
    )
    .await
    .2;
    assert_eq!(tok["expires_in"], 7200);
    let token = tok["access_token"].as_str().unwrap();
    let code = call(&m, "POST", "/__wxflow/client/getPhoneNumber", Some(json!({ "user": "a", "mode": "code" })))
        .await
        .2["code"]
        .as_str()
        .unwrap()
        .to_string();
    let uri = format!("/wxa/business/getuserphonenumber?access_token={token}");
    let r = call(&m, "POST", &uri, Some(json!({ "code": code }))).await.2;
    assert_eq!((errcode(&r), r["phone_info"]["countryCode"].as_str()), (0, Some("86")), "{r}");
    assert_eq!(errcode(&call(&m, "POST", &uri, Some(json!({ "code": code }))).await.2), 40029, "one use");
    let r =
        call(&m, "POST", "/wxa/business/getuserphonenumber?access_token=bogus", Some(json!({ "code": "x" }))).await.2;
    assert_eq!(errcode(&r), 40001);
}

#[tokio::test]
async fn stable_token_is_stable_until_force_refresh() {
    let m = mock_with(RotationPolicy::Never, 5);
    let body = json!({ "grant_type": "client_credential", "appid": DEMO_APPID, "secret": DEMO_SECRET });
    let a = call(&m, "POST", "/cgi-bin/stable_token", Some(body.clone())).await.2;
    let b = call(&m, "POST", "/cgi-bin/stable_token", Some(body.clone())).await.2;
    assert_eq!(a["access_token"], b["access_token"]);
    let mut forced = body.clone();
    forced["force_refresh"] = json!(true);
    assert_ne!(call(&m, "POST", "/cgi-bin/stable_token", Some(forced)).await.2["access_token"], a["access_token"]);
    let mut wrong = body;
    wrong["secret"] = json!("nope");
    assert_eq!(errcode(&call(&m, "POST", "/cgi-bin/stable_token", Some(wrong)).await.2), 40125);
}

#[tokio::test]
async fn checksession_verifies_the_hmac_of_the_current_key() {
    let m = mock_with(RotationPolicy::Never, 5);
    let token = call(
        &m,
        "GET",
        &format!("/cgi-bin/token?grant_type=client_credential&appid={DEMO_APPID}&secret={DEMO_SECRET}"),
        None,
    )
    .await
    .2["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let s = exchange(&m, login(&m, "alice").await["code"].as_str().unwrap()).await;
    let (openid, key) = (s["openid"].as_str().unwrap(), s["session_key"].as_str().unwrap());
    let sig = wxflow::wechat::hmac_sha256_hex(key.as_bytes(), b"");
    let uri = |sig: &str, method: &str| {
        format!("/wxa/checksession?access_token={token}&openid={openid}&signature={sig}&sig_method={method}")
    };
    assert_eq!(errcode(&call(&m, "GET", &uri(&sig, "hmac_sha256"), None).await.2), 0);
    assert_eq!(errcode(&call(&m, "GET", &uri("00", "hmac_sha256"), None).await.2), 87009);
    assert_eq!(errcode(&call(&m, "GET", &uri(&sig, "md5"), None).await.2), 87008);
    // resetusersessionkey rotates: the old signature stops working.
    let r = call(&m, "GET", &uri(&sig, "hmac_sha256").replace("/wxa/checksession", "/wxa/resetusersessionkey"), None)
        .await
        .2;
    assert_ne!(r["session_key"].as_str().unwrap(), key);
    assert_eq!(errcode(&call(&m, "GET", &uri(&sig, "hmac_sha256"), None).await.2), 87009);
}

#[tokio::test]
async fn faults_inject_errcodes_and_can_change_at_runtime() {
    let m = mock_with(RotationPolicy::Never, 5);
    let set = json!({ "faults": { "jscode2session": { "errcode": -1, "rate": 1.0 } } });
    assert_eq!(call(&m, "PUT", "/__wxflow/config", Some(set)).await.0, 200);
    let code = login(&m, "alice").await["code"].as_str().unwrap().to_string();
    let r = exchange(&m, &code).await;
    assert_eq!((errcode(&r), r["errmsg"].as_str().unwrap().starts_with("system error")), (-1, true));
    let set = json!({ "faults": { "jscode2session": { "errcode": 45011, "rate": 1.0, "latency_ms": 30 } } });
    call(&m, "PUT", "/__wxflow/config", Some(set)).await;
    let t = std::time::Instant::now();
    assert_eq!(errcode(&exchange(&m, &code).await), 45011);
    assert!(t.elapsed().as_millis() >= 30);
    call(&m, "PUT", "/__wxflow/config", Some(json!({ "faults": {} }))).await;
    assert_eq!(errcode(&exchange(&m, &code).await), 0, "the injected errors did not consume the code");
    let bad = json!({ "faults": { "jscode2sesion": { "rate": 1.0 } } });
    let (status, _, body) = call(&m, "PUT", "/__wxflow/config", Some(bad)).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("unknown fault endpoint"));
}

#[tokio::test]
async fn per_user_faults_from_login_apply_only_to_that_users_codes() {
    let m = mock_with(RotationPolicy::Never, 5);
    let body = json!({ "user": "slow", "faults": { "jscode2session": { "errcode": 45011, "rate": 1.0 } } });
    let code = call(&m, "POST", "/__wxflow/client/login", Some(body)).await.2["code"].as_str().unwrap().to_string();
    assert_eq!(errcode(&exchange(&m, &code).await), 45011);
    let other = login(&m, "fast").await["code"].as_str().unwrap().to_string();
    assert_eq!(errcode(&exchange(&m, &other).await), 0);
}

#[tokio::test]
async fn bad_client_requests_get_clear_400s() {
    let m = mock_with(RotationPolicy::Never, 5);
    for (uri, body, needle) in [
        ("/__wxflow/client/login", json!({}), "missing field `user`"),
        ("/__wxflow/client/login", json!({ "user": "a", "appid": "wxnope" }), "unknown appid"),
        ("/__wxflow/client/getUsrInfo", json!({ "user": "a" }), "unknown client API"),
        (
            "/__wxflow/client/login",
            json!({ "user": "a", "rotation": { "policy": "sometimes" } }),
            "invalid rotation policy",
        ),
    ] {
        let (status, _, r) = call(&m, "POST", uri, Some(body)).await;
        assert_eq!(status, 400);
        assert!(r["error"].as_str().unwrap().contains(needle), "{r}");
    }
}

/// A user's clock move (`sleep {clock: mock}`) expires, for that user, the
/// tokens issued before it; a token fetched after it is fresh for them, and
/// another user's move leaves their token alone: concurrent iterations of
/// `token-expiry` do not expire each other's tokens.
#[tokio::test]
async fn a_clock_move_ages_the_tokens_used_for_that_user_only() {
    let m = mock_with(RotationPolicy::Never, 5);
    let token = || async {
        let uri = format!("/cgi-bin/token?grant_type=client_credential&appid={DEMO_APPID}&secret={DEMO_SECRET}");
        call(&m, "GET", &uri, None).await.2["access_token"].as_str().unwrap().to_string()
    };
    let phone = |user: &'static str, token: String| {
        let m = m.clone();
        async move {
            let body = json!({ "user": user, "mode": "code" });
            let code = call(&m, "POST", "/__wxflow/client/getPhoneNumber", Some(body)).await.2["code"].clone();
            let uri = format!("/wxa/business/getuserphonenumber?access_token={token}");
            errcode(&call(&m, "POST", &uri, Some(json!({ "code": code }))).await.2)
        }
    };
    let move_clock = |user: &'static str| {
        let m = m.clone();
        async move {
            let body = json!({ "user": user, "advance_secs": 7260 });
            assert_eq!(call(&m, "POST", "/__wxflow/clock", Some(body)).await.0, 200);
        }
    };
    let before = token().await;
    assert_eq!(phone("a", before.clone()).await, 0);
    move_clock("a").await;
    assert_eq!(phone("a", before.clone()).await, 42001, "expired for the user who slept two hours");
    assert_eq!(phone("b", before.clone()).await, 0, "still fresh for a user who did not");
    let after = token().await;
    assert_eq!(phone("a", after.clone()).await, 0, "a token fetched after the move is fresh");
    move_clock("b").await;
    assert_eq!(phone("a", after.clone()).await, 0, "b's move leaves a's fresh token alone");
    assert_eq!(phone("b", after).await, 42001);
}

/// `stable_token` (asked without a user) judges its token by the clock of
/// the app's last user to move: after a two-hour move it hands out a new one.
#[tokio::test]
async fn stable_token_expires_with_the_last_users_clock_move() {
    let m = mock_with(RotationPolicy::Never, 5);
    let body = json!({ "grant_type": "client_credential", "appid": DEMO_APPID, "secret": DEMO_SECRET });
    let a = call(&m, "POST", "/cgi-bin/stable_token", Some(body.clone())).await.2;
    call(&m, "POST", "/__wxflow/clock", Some(json!({ "user": "u", "advance_secs": 3600 }))).await;
    let b = call(&m, "POST", "/cgi-bin/stable_token", Some(body.clone())).await.2;
    assert_eq!((&b["access_token"], b["expires_in"].as_i64().unwrap() <= 3600), (&a["access_token"], true), "{b}");
    call(&m, "POST", "/__wxflow/clock", Some(json!({ "user": "u", "advance_secs": 3601 }))).await;
    let c = call(&m, "POST", "/cgi-bin/stable_token", Some(body)).await.2;
    assert_ne!(c["access_token"], a["access_token"], "expired by u's clock");
    assert_eq!(c["expires_in"], 7200);
}
