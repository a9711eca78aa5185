//! Backends as they are: payloads that travel in headers, and a backend
//! that refuses before the login ever reaches WeChat. Each backend is a
//! small server here, in front of the reference backend or alone.

mod common;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::{any, post};
use common::{assert_valid_report, tempdir, wxflow};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The seed's order (getUserInfo, then wx.login) under a rotate-always mock,
/// sending code, encryptedData and iv in headers as wafer-style backends
/// want them, rawData and signature in the body.
const HEADER_FLOW: &str = r#"name: headers
mock: { rotation: always }
expect: { outcome: fail, cause: stale_iv }
steps:
  - id: profile
    wx.getUserInfo: {}
  - id: login
    wx.login: {}
  - id: server
    http:
      url: "{{ target }}/weapp/login"
      headers:
        x-wx-code: "{{ login.code }}"
        x-wx-encrypted-data: "{{ profile.encryptedData }}"
        x-wx-iv: "{{ profile.iv }}"
      json:
        rawData: "{{ profile.rawData }}"
        signature: "{{ profile.signature }}"
    assert:
      status: 200
"#;

/// Runs `flow` against `target` and the embedded mock; the JSON report.
async fn run(flow: &str, mock: &str, target: &str) -> (i32, String, Value) {
    let dir = tempdir();
    let file = dir.path().join("flow.yaml");
    std::fs::write(&file, flow).unwrap();
    let json = dir.path().join("r.json");
    let (code, out, err) = wxflow(&[
        "run",
        file.to_str().unwrap(),
        "--mock",
        mock,
        "--target",
        target,
        "--report",
        &format!("json={}", json.display()),
    ])
    .await;
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap_or_else(|_| panic!("{out}{err}"))).unwrap();
    assert_valid_report(&report);
    (code, out, report)
}

/// What a backend of the demo app gets from the mock's jscode2session for
/// `code` (a GET with the parameters in the query).
async fn jscode2session(mock: &str, code: &Value) -> Value {
    let demo = wxflow::mock::demo_app();
    let url = format!(
        "{mock}/sns/jscode2session?appid={}&secret={}&js_code={}&grant_type=authorization_code",
        demo.appid,
        demo.secret,
        code.as_str().unwrap_or("")
    );
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// The server step of the report's first failed iteration.
fn server_step(report: &Value) -> Value {
    let first = report["flows"][0]["first_failures"].as_object().unwrap().values().next().unwrap();
    first["steps"].as_array().unwrap().iter().find(|s| s["id"] == "server").unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn payloads_in_headers_are_judged_fresh_or_stale_like_any_other() {
    let s = common::stack(wxflow::contract::RotationPolicy::Always, 3).await;
    let backend = s.embedded.backend_url.clone();
    // A header-contract backend: it takes the headers and logs in through
    // the reference backend.
    let app = axum::Router::new().route(
        "/weapp/login",
        post(move |headers: HeaderMap, body: axum::Json<Value>| {
            let backend = backend.clone();
            async move {
                let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let login = json!({
                    "code": h("x-wx-code"),
                    "encryptedData": h("x-wx-encrypted-data"),
                    "iv": h("x-wx-iv"),
                    "rawData": body["rawData"],
                    "signature": body["signature"],
                });
                let answer =
                    reqwest::Client::new().post(format!("{backend}/api/login")).json(&login).send().await.unwrap();
                let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
                (status, answer.text().await.unwrap())
            }
        }),
    );
    let stop = CancellationToken::new();
    let target = wxflow::serve::spawn(app, "127.0.0.1:0", stop.clone()).await.unwrap().url();
    let (code, out, report) = run(HEADER_FLOW, &s.embedded.mock_url, &target).await;
    assert_eq!(code, 0, "failed as expected, with stale_iv: {out}");
    let server = server_step(&report);
    assert_eq!(server["cause"], "stale_iv", "{server:#}");
    let payload = &server["payloads"][0];
    assert_eq!(
        (payload["freshness"]["state"].as_str(), payload["basis"].as_str()),
        (Some("stale"), Some("code_exchange"))
    );
    assert!(out.contains("STALE gen"), "{out}");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backend_that_refuses_before_the_login_is_not_blamed_for_a_stale_iv() {
    let s = common::stack(wxflow::contract::RotationPolicy::Always, 3).await;
    // Every route behind an auth middleware: 401 before any login.
    let app = axum::Router::new()
        .route("/{*path}", any(|| async { (StatusCode::UNAUTHORIZED, "{\"error\":\"jwt missing\"}") }));
    let stop = CancellationToken::new();
    let target = wxflow::serve::spawn(app, "127.0.0.1:0", stop.clone()).await.unwrap().url();
    let (code, out, report) = run(HEADER_FLOW, &s.embedded.mock_url, &target).await;
    assert_eq!(code, 1, "the flow expects stale_iv, and that is not what happened: {out}");
    let server = server_step(&report);
    assert_eq!(server["cause"], "http_status", "{server:#}");
    assert!(server["diagnosis"].as_str().unwrap().contains("never reached WeChat"), "{server:#}");
    assert_eq!(server["payloads"][0]["basis"], "not_exchanged");
    assert!(out.contains("code never exchanged by the backend"), "{out}");
    assert!(!out.contains("STALE"), "{out}");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mock_logs_one_line_per_request_with_secrets_masked() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mock = std::process::Command::new(env!("CARGO_BIN_EXE_wxflow"))
        .args(["mock", "--log", "--addr", &addr])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the mock started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (code, out, err) =
        wxflow(&["run", "flows/login-first.yaml", "flows/phone-code.yaml", "--mock", &format!("http://{addr}")]).await;
    assert_eq!(code, 0, "{out}{err}");
    let pid = mock.id().cast_signed();
    // SIGTERM: the mock stops cleanly and its stderr ends.
    std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    let log = String::from_utf8_lossy(&mock.wait_with_output().unwrap().stderr).into_owned();
    let secret = wxflow::mock::demo_app().secret;
    assert!(log.contains("GET /sns/jscode2session?appid="), "{log}");
    assert!(log.contains("&secret=") && log.contains("(masked)"), "{log}");
    assert!(
        log.lines().any(|l| l.starts_with("POST /wxa/business/getuserphonenumber?access_token=")
            && l.contains("(masked) → 200 in ")),
        "{log}"
    );
    assert!(!log.contains(&secret), "the appsecret in the log: {log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn mutate_refuses_flows_the_correct_backend_does_not_meet() {
    let dir = tempdir();
    // Written for a shop backend whose success is `{code: 200}`.
    let flow = std::fs::read_to_string("flows/login-first.yaml").unwrap().replace("$.code: 0", "$.code: 200");
    std::fs::write(dir.path().join("shop-login.yaml"), flow).unwrap();
    let path = dir.path().join("shop-login.yaml");
    let (code, out, err) = wxflow(&["mutate", "flows/login-first.yaml", path.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("does not meet 1 of 2 flows (shop-login)") && err.contains("do not fit its contract"),
        "{err}"
    );
    assert!(!out.contains("bugs caught"), "no table of bugs 'caught' by a flow that cannot pass: {out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_key_in_the_token_fails_a_flow_that_otherwise_passes_and_stays_masked() {
    let stop = CancellationToken::new();
    let config = wxflow::mock::MockConfig::default();
    let bug = Some(wxflow::backend::Bug::SessionKeyInToken);
    let servers = wxflow::serve::embedded_with_bug(config, bug, stop.clone()).await.unwrap();
    let flow = std::fs::read_to_string("flows/login-first.yaml").unwrap();
    let (code, out, report) = run(&flow, &servers.mock_url, &servers.backend_url).await;
    assert_eq!(code, 1, "{out}");
    let server = server_step(&report);
    assert_eq!(server["cause"], "session_key_leaked", "{server:#}");
    assert!(server["diagnosis"].as_str().unwrap().contains("(a JWT's payload in the body)"), "{server:#}");
    // The leaked key (and the JWT that held it) are masked in what is kept.
    let body = server["exchange"]["response_body"].as_str().unwrap();
    assert!(body.contains("\"token\":\"eyJh…(masked)\"") && !body.contains("eyJhbGci"), "{body}");
    assert!(!out.contains("eyJhbGci"), "{out}");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backend_that_dies_is_said_once_with_the_request_in_flight_and_a_replay_on_the_same_servers() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 3).await;
    let backend = s.embedded.backend_url.clone();
    // Answers three logins through the reference backend, then its process
    // "dies": the listener stops and nothing accepts any more.
    let dead = CancellationToken::new();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (dies, count) = (dead.clone(), answered.clone());
    let app = axum::Router::new().route(
        "/api/login",
        post(move |body: String| {
            let (backend, dies, count) = (backend.clone(), dies.clone(), count.clone());
            async move {
                // The third login crashes it: the listener stops and the
                // request in flight gets no answer (its task dies).
                if count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 2 {
                    dies.cancel();
                    panic!("the backend crashes on this request");
                }
                let answer = reqwest::Client::new()
                    .post(format!("{backend}/api/login"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                (StatusCode::from_u16(answer.status().as_u16()).unwrap(), answer.text().await.unwrap())
            }
        }),
    );
    let target = wxflow::serve::spawn(app, "127.0.0.1:0", dead.clone()).await.unwrap().url();
    let dir = tempdir();
    let json = dir.path().join("r.json");
    let (code, out, err) = wxflow(&[
        "run",
        "flows/login-first.yaml",
        "--mock",
        &s.embedded.mock_url,
        "--target",
        &target,
        "--repeat",
        "12",
        "--report",
        &format!("json={}", json.display()),
    ])
    .await;
    assert_eq!(code, 1, "{out}{err}");
    let said: Vec<&str> = out.lines().filter(|l| l.contains("stopped accepting connections")).collect();
    assert_eq!(said.len(), 1, "said once: {out}");
    assert!(said[0].contains(": 9 iterations met no backend since"), "{out}");
    assert!(said[0].contains("iteration 2 (its request was cut, in flight when the backend died)"), "{out}");
    // The replay runs against the same servers, not the built-in backend.
    assert!(said[0].contains("--replay 0:2") && said[0].contains(&format!("--target {target}")), "{out}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_valid_report(&report);
    let died = &report["flows"][0]["backend_died"];
    assert_eq!((died["trigger_iteration"].as_u64(), died["refused"].as_u64()), (Some(2), Some(9)), "{died:#}");
    assert_eq!(died["in_flight"], true, "{died:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backend_that_posts_jscode2session_as_a_form_logs_in() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 3).await;
    let mock = s.embedded.mock_url.clone();
    // As koa2-weixin-auth does: jscode2session as a POST with a form body.
    let app = axum::Router::new().route(
        "/api/login",
        post(move |body: axum::Json<Value>| {
            let mock = mock.clone();
            async move {
                let app = wxflow::mock::demo_app();
                let form = [
                    ("appid", app.appid.as_str()),
                    ("secret", app.secret.as_str()),
                    ("js_code", body["code"].as_str().unwrap_or("")),
                    ("grant_type", "authorization_code"),
                ];
                let wechat: Value = reqwest::Client::new()
                    .post(format!("{mock}/sns/jscode2session"))
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                match wechat["openid"].as_str() {
                    Some(openid) => {
                        axum::Json(json!({ "code": 0, "data": { "token": format!("t-{openid}"), "user_id": 1 } }))
                    }
                    None => axum::Json(json!({ "code": wechat["errcode"], "msg": wechat["errmsg"] })),
                }
            }
        }),
    );
    let stop = CancellationToken::new();
    let target = wxflow::serve::spawn(app, "127.0.0.1:0", stop.clone()).await.unwrap().url();
    let flow = std::fs::read_to_string("flows/login-first.yaml").unwrap();
    let (code, out, _) = run(&flow, &s.embedded.mock_url, &target).await;
    assert_eq!(code, 0, "a form POST exchanges the code: {out}");
    stop.cancel();
}

/// A backend that retries the exchange with the same code: WeChat's 40163
/// to it is named in the diagnosis, not only the backend's own status.
#[tokio::test(flavor = "multi_thread")]
async fn a_diagnosis_names_what_wechat_answered_the_backends_exchange() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 3).await;
    let mock = s.embedded.mock_url.clone();
    let app = axum::Router::new().route(
        "/api/login",
        post(move |body: axum::Json<Value>| {
            let mock = mock.clone();
            async move {
                let _first = jscode2session(&mock, &body["code"]).await;
                let again = jscode2session(&mock, &body["code"]).await;
                (StatusCode::INTERNAL_SERVER_ERROR, format!("login failed: {}", again["errcode"]))
            }
        }),
    );
    let stop = CancellationToken::new();
    let target = wxflow::serve::spawn(app, "127.0.0.1:0", stop.clone()).await.unwrap().url();
    let flow = std::fs::read_to_string("flows/login-first.yaml").unwrap();
    let (code, out, report) = run(&flow, &s.embedded.mock_url, &target).await;
    assert_eq!(code, 1, "{out}");
    let diagnosis = server_step(&report)["diagnosis"].as_str().unwrap().to_string();
    assert!(
        diagnosis.contains("WeChat answered the backend's jscode2session for this code with 40163 `code been used"),
        "{diagnosis}"
    );
    stop.cancel();
}

/// A refusal flow that checks only the status is not met by a route that
/// does not exist: the code never reached WeChat.
#[tokio::test(flavor = "multi_thread")]
async fn a_404_is_not_credited_as_a_refusal_of_the_login() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 3).await;
    let app = axum::Router::new().route("/other", post(|| async { "nothing here" }));
    let stop = CancellationToken::new();
    let target = wxflow::serve::spawn(app, "127.0.0.1:0", stop.clone()).await.unwrap().url();
    let flow = r#"name: a spent code is refused
steps:
  - id: login
    wx.login: {}
  - id: profile
    wx.getUserInfo: {}
  - id: server
    http:
      url: "{{ target }}/api/login"
      json: { code: "{{ login.code }}", encryptedData: "{{ profile.encryptedData }}", iv: "{{ profile.iv }}" }
    assert:
      status: 4xx
"#;
    let (code, out, report) = run(flow, &s.embedded.mock_url, &target).await;
    assert_eq!(code, 1, "{out}");
    let server = server_step(&report);
    assert_eq!(server["cause"], "http_status", "{server:#}");
    assert!(server["reason"].as_str().unwrap().contains("is not a refusal of this login"), "{server:#}");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backend_whose_success_code_is_200_is_read_by_its_declared_shape() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 3).await;
    // A shop backend: success is `{code: 200}`, its errors are its own codes.
    let app = axum::Router::new().route(
        "/users/login",
        post(|body: axum::Json<Value>| async move {
            if body["rawData"].as_str().is_some_and(|r| r.contains("tampered")) {
                (StatusCode::OK, axum::Json(json!({ "code": 4001, "msg": "bad signature" })))
            } else {
                (StatusCode::OK, axum::Json(json!({ "code": 200, "msg": "ok", "data": { "authorizationToken": "t" } })))
            }
        }),
    );
    let stop = CancellationToken::new();
    let target = wxflow::serve::spawn(app, "127.0.0.1:0", stop.clone()).await.unwrap().url();
    let flow = |shape: &str, raw: &str, expect: &str| {
        format!(
            "name: shop\n{shape}expect: {expect}\nsteps:\n  - id: login\n    wx.login: {{}}\n  - id: profile\n    wx.getUserInfo: {{}}\n  - id: server\n    http:\n      url: \"{{{{ target }}}}/users/login\"\n      json:\n        code: \"{{{{ login.code }}}}\"\n        rawData: {raw}\n    assert:\n      jsonpath:\n        $.data.user_id: {{ exists: true }}\n"
        )
    };
    let shape = "backend:\n  error_code: $.code\n  success: [200]\n";
    // Without the shape, success 200 reads as an error code.
    let (_, _, report) =
        run(&flow("", "\"{{ profile.rawData }}\"", "{ outcome: pass }"), &s.embedded.mock_url, &target).await;
    assert_eq!(server_step(&report)["cause"], "backend_error");
    // With it, the same answer is a success that lacks a field…
    let (_, out, report) =
        run(&flow(shape, "\"{{ profile.rawData }}\"", "{ outcome: pass }"), &s.embedded.mock_url, &target).await;
    let server = server_step(&report);
    assert_eq!(server["cause"], "assertion", "{out}");
    assert!(!server["diagnosis"].as_str().unwrap().contains("code 200"), "{server:#}");
    // …and its own error code is read where the shape says.
    let (code, out, report) =
        run(&flow(shape, "tampered", "{ outcome: fail, cause: backend_error }"), &s.embedded.mock_url, &target).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        server_step(&report)["diagnosis"].as_str().unwrap().contains("the backend answered code 4001: bad signature"),
        "{out}"
    );
    stop.cancel();
}

/// A correct backend with a shop's contract: `POST /users/login` answers
/// `{code: 200, msg, data: {authorizationToken}}`, and every refusal is
/// HTTP 200 with `{code: 500, msg}`. It logs in through the reference
/// backend behind it (which calls the mock), so it is correct.
async fn shop(reference: String, stop: CancellationToken) -> String {
    let forward = move |to: &'static str| {
        let url = format!("{reference}{to}");
        move |headers: HeaderMap, body: axum::body::Bytes| {
            let url = url.clone();
            async move {
                let kind = headers.get("content-type").cloned().unwrap();
                let resp =
                    reqwest::Client::new().post(url).header("content-type", kind).body(body).send().await.unwrap();
                let status = resp.status();
                let mut answer: Value = resp.json().await.unwrap();
                let Some(data) = answer.get_mut("data").filter(|_| status.is_success()) else {
                    return axum::Json(json!({ "code": 500, "msg": answer["msg"] }));
                };
                if let Some(token) = data.as_object_mut().unwrap().remove("token") {
                    data["authorizationToken"] = token;
                }
                axum::Json(json!({ "code": 200, "msg": "ok", "data": data }))
            }
        }
    };
    let app = axum::Router::new()
        .route("/users/login", post(forward("/api/login")))
        .route("/users/phone", post(forward("/api/phone")));
    wxflow::serve::spawn(app, "127.0.0.1:0", stop).await.unwrap().url()
}

#[tokio::test(flavor = "multi_thread")]
async fn init_shapes_every_flow_to_another_contract_by_flags_or_by_probing_and_they_all_hold() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 5).await;
    let stop = CancellationToken::new();
    let target = shop(s.embedded.backend_url.clone(), stop.clone()).await;
    let mock = s.embedded.mock_url.clone();
    let (probed, flagged) = (tempdir(), tempdir());
    let probe_url = format!("{target}/users/login");
    let init = |dir: &std::path::Path, how: &[&str]| {
        let mut args = vec!["init", dir.to_str().unwrap(), "--phone-path", "/users/phone"];
        args.extend(how);
        args.iter().map(ToString::to_string).collect::<Vec<_>>()
    };
    let args = init(probed.path(), &["--probe", &probe_url, "--mock", &mock]);
    let (code, out, err) = tokio::task::spawn_blocking(move || common::wxflow_blocking(&args)).await.unwrap();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("token $.data.authorizationToken"), "{out}");
    assert!(out.contains("answers: success HTTP 200, $.code = 200; result code at $.code, success 200"), "{out}");
    // The flags say the same, and write the same flows.
    let args = init(
        flagged.path(),
        &[
            "--login-path",
            "/users/login",
            "--success",
            "status=200,$.code=200",
            "--error-code",
            "$.code",
            "--token-path",
            "$.data.authorizationToken",
        ],
    );
    let (code, out, err) = tokio::task::spawn_blocking(move || common::wxflow_blocking(&args)).await.unwrap();
    assert_eq!(code, 0, "{out}{err}");
    for (name, _) in wxflow::commands::init::FLOWS {
        let read = |d: &tempfile::TempDir| std::fs::read_to_string(d.path().join("flows").join(name)).unwrap();
        assert_eq!(read(&probed), read(&flagged), "{name}");
    }
    // Every flow holds against the shop, the expected failures with their causes.
    let flows = probed.path().join("flows");
    let json = probed.path().join("r.json");
    let (code, out, _) = wxflow(&[
        "run",
        flows.to_str().unwrap(),
        "--mock",
        &mock,
        "--target",
        &target,
        "--report",
        &format!("json={}", json.display()),
    ])
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("16 passed, 0 failed"), "{out}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(common::flow(&report, "userinfo-first")["first_failures"].as_object().unwrap().len(), 1);
    // The shaped assertions are real: the reference backend, with its own
    // contract, meets none of the flows that check a success's code.
    let (code, out, _) =
        wxflow(&["run", flows.to_str().unwrap(), "--mock", &mock, "--target", &s.embedded.backend_url]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("$.code: expected 200, got 0"), "{out}");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_probe_that_cannot_log_in_says_why_and_writes_nothing() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 6).await;
    let dir = tempdir();
    let stop = CancellationToken::new();
    let nothing = wxflow::serve::spawn(axum::Router::new(), "127.0.0.1:0", stop.clone()).await.unwrap().url();
    let wrong_route = format!("{nothing}/users/login");
    let (code, out, err) =
        wxflow(&["init", dir.path().to_str().unwrap(), "--probe", &wrong_route, "--mock", &s.embedded.mock_url]).await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("was not a success: HTTP 404 without taking the code to jscode2session"), "{err}");
    assert!(err.contains("--login-path"), "{err}");
    assert!(!dir.path().join("flows").exists());
    let (code, _, err) = wxflow(&["init", dir.path().to_str().unwrap(), "--success", "status=200,$.code"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("--success status=200,$.code: `$.code`: expected status=CODE or $.json.path=VALUE"), "{err}");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_key_leaked_percent_encoded_in_a_cookie_is_masked_in_every_form() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 7).await;
    let mock = s.embedded.mock_url.clone();
    // Exchanges the code, then hands the session_key to the client in a cookie.
    let app = axum::Router::new().route(
        "/api/login",
        post(move |body: axum::Json<Value>| {
            let mock = mock.clone();
            async move {
                let s = jscode2session(&mock, &body["code"]).await;
                let key = s["session_key"].as_str().unwrap().to_string();
                let cookie: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
                let headers = [("set-cookie", format!("sk={cookie}; Path=/"))];
                // …and in the body, its escapes in lower case.
                let lower = cookie.replace("%2B", "%2b").replace("%2F", "%2f").replace("%3D", "%3d");
                (headers, axum::Json(json!({ "code": 0, "data": { "note": format!("key {lower}") } })))
            }
        }),
    );
    let stop = CancellationToken::new();
    let target = wxflow::serve::spawn(app, "127.0.0.1:0", stop.clone()).await.unwrap().url();
    let flow = std::fs::read_to_string("flows/login-first.yaml")
        .unwrap()
        .replace(
            "        $.data.token: { exists: true }\n        $.data.user_id: { exists: true }\n",
            "        $.data.note: key\n",
        )
        .replace("    capture:\n      token: $.data.token\n", "");
    let (code, out, report) = run(&flow, &s.embedded.mock_url, &target).await;
    assert_eq!(code, 1, "{out}");
    let server = server_step(&report);
    assert_eq!(server["cause"], "session_key_leaked", "{server:#}");
    let kept = format!("{out}{report}");
    let cookie = server["exchange"]["response_headers"]["set-cookie"].as_str().unwrap();
    assert!(cookie.starts_with("sk=") && cookie.contains("…(masked)"), "{cookie}");
    // Neither the key nor its percent-encoded form is left anywhere.
    let encoded = regex::Regex::new(r"(?i)[A-Za-z0-9%]{20,}%3D%3D").unwrap();
    assert!(!encoded.is_match(&kept), "{kept}");
    assert!(server["failures"].to_string().contains("…(masked)"), "{server:#}");
    stop.cancel();
}

/// A backend that puts the session_key in the JWT it hands out and in the
/// answer, and wants both back on its next request, byte for byte.
#[tokio::test(flavor = "multi_thread")]
async fn captured_secrets_are_sent_back_in_clear_and_masked_only_in_output() {
    use base64::Engine as _;
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 11).await;
    let mock = s.embedded.mock_url.clone();
    let issued: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>> = std::sync::Arc::default();
    let (kept, seen) = (issued.clone(), issued.clone());
    let app = axum::Router::new()
        .route(
            "/api/login",
            post(move |body: axum::Json<Value>| {
                let (mock, kept) = (mock.clone(), kept.clone());
                async move {
                    let s = jscode2session(&mock, &body["code"]).await;
                    let key = s["session_key"].as_str().unwrap().to_string();
                    let claims =
                        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json!({ "sk": key }).to_string());
                    let jwt = format!("eyJhbGciOiJIUzI1NiJ9.{claims}.c2lnbmF0dXJl");
                    kept.lock().unwrap().push((jwt.clone(), key.clone()));
                    axum::Json(json!({ "token": jwt, "session_key": key }))
                }
            }),
        )
        .route(
            "/api/me",
            post(move |headers: HeaderMap, body: axum::Json<Value>| {
                let seen = seen.clone();
                async move {
                    let bearer =
                        headers["authorization"].to_str().unwrap_or("").trim_start_matches("Bearer ").to_string();
                    let sk = body["session_key"].as_str().unwrap_or("").to_string();
                    if seen.lock().unwrap().iter().any(|(jwt, key)| *jwt == bearer && *key == sk) {
                        (StatusCode::OK, "welcome".to_string())
                    } else {
                        (StatusCode::INTERNAL_SERVER_ERROR, format!("jwt malformed: {bearer} / {sk}"))
                    }
                }
            }),
        );
    let stop = CancellationToken::new();
    let target = wxflow::serve::spawn(app, "127.0.0.1:0", stop.clone()).await.unwrap().url();
    let flow = r#"name: a session sent back
mock: { rotation: never }
expect: { outcome: fail, cause: session_key_leaked }
steps:
  - id: login
    wx.login: {}
  - id: server
    continue_on_error: true
    http:
      url: "{{ target }}/api/login"
      json: { code: "{{ login.code }}" }
    assert: { status: 200 }
    capture:
      jwt: $.token
      sk: $.session_key
  - id: me
    http:
      url: "{{ target }}/api/me"
      headers: { authorization: "Bearer {{ jwt }}" }
      json: { session_key: "{{ sk }}" }
    assert: { status: 200 }
"#;
    let (code, out, report) = run(flow, &s.embedded.mock_url, &target).await;
    assert_eq!(code, 0, "the leak fails the flow as expected: {out}");
    let steps = report["flows"][0]["example"]["steps"].as_array().cloned().unwrap_or_default();
    let steps = if steps.is_empty() {
        report["flows"][0]["first_failures"].as_object().unwrap().values().next().unwrap()["steps"]
            .as_array()
            .unwrap()
            .clone()
    } else {
        steps
    };
    let me = steps.iter().find(|s| s["id"] == "me").unwrap();
    assert_eq!(me["outcome"], "pass", "the backend got its JWT and key back in clear: {me:#}");
    // …and neither left the process in clear.
    let (jwt, key) = issued.lock().unwrap()[0].clone();
    let shown = format!("{out}{report}");
    for secret in [&jwt, &key] {
        for form in wxflow::redact::encodings(secret) {
            assert!(!shown.contains(form.as_ref()), "{form} is shown in clear: {shown}");
        }
    }
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn init_probe_reports_a_leak_and_goes_on_and_says_what_the_mock_answered_the_exchange() {
    let stop = CancellationToken::new();
    let bug = Some(wxflow::backend::Bug::SessionKeyInToken);
    let servers =
        wxflow::serve::embedded_with_bug(wxflow::mock::MockConfig::default(), bug, stop.clone()).await.unwrap();
    let dir = tempdir();
    let login = format!("{}/api/login", servers.backend_url);
    let (code, out, err) =
        wxflow(&["init", dir.path().to_str().unwrap(), "--probe", &login, "--mock", &servers.mock_url]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("warning: the login's answer carries the session_key"), "{out}");
    assert!(!out.contains("eyJhbGci"), "the leaked JWT is masked: {out}");
    // A backend that logs in to another app: the mock refuses its exchange.
    let mock = servers.mock_url.clone();
    let app = axum::Router::new().route(
        "/api/login",
        post(move |body: axum::Json<Value>| {
            let mock = mock.clone();
            async move {
                let url = format!(
                    "{mock}/sns/jscode2session?appid=wx0000000000000000&secret=nope&js_code={}&grant_type=authorization_code",
                    body["code"].as_str().unwrap_or("")
                );
                let wechat: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
                (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(wechat))
            }
        }),
    );
    let other = wxflow::serve::spawn(app, "127.0.0.1:0", stop.clone()).await.unwrap().url();
    let dir = tempdir();
    let login = format!("{other}/api/login");
    let (code, out, err) =
        wxflow(&["init", dir.path().to_str().unwrap(), "--probe", &login, "--mock", &servers.mock_url]).await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("after the mock refused its code exchange with 40013"), "{err}");
    stop.cancel();
}

/// A Flask-style backend that hands the app's access_token to the client in
/// every login answer: the mock knows it issued that token.
#[tokio::test(flavor = "multi_thread")]
async fn an_access_token_handed_to_the_client_is_access_token_leaked_and_masked() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 5).await;
    let mock = s.embedded.mock_url.clone();
    let given = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let kept = given.clone();
    let app = axum::Router::new().route(
        "/api/login",
        post(move |body: axum::Json<Value>| {
            let (mock, kept) = (mock.clone(), kept.clone());
            async move {
                let demo = wxflow::mock::demo_app();
                let _session = jscode2session(&mock, &body["code"]).await;
                let token_url = format!(
                    "{mock}/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
                    demo.appid, demo.secret
                );
                let token: Value = reqwest::get(token_url).await.unwrap().json().await.unwrap();
                let token = token["access_token"].as_str().unwrap().to_string();
                *kept.lock().unwrap() = token.clone();
                axum::Json(json!({ "code": 0, "data": { "token": "t-1", "user_id": 1, "wx": { "at": token } } }))
            }
        }),
    );
    let stop = CancellationToken::new();
    let target = wxflow::serve::spawn(app, "127.0.0.1:0", stop.clone()).await.unwrap().url();
    let flow = std::fs::read_to_string("flows/login-first.yaml").unwrap();
    let (code, out, report) = run(&flow, &s.embedded.mock_url, &target).await;
    assert_eq!(code, 1, "{out}");
    let server = server_step(&report);
    assert_eq!(server["cause"], "access_token_leaked", "{server:#}");
    let token = given.lock().unwrap().clone();
    assert!(!format!("{out}{report}").contains(&token), "the token is masked");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_whose_every_flow_meets_a_404_suggests_probing_the_backend() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 3).await;
    let stop = CancellationToken::new();
    let target = wxflow::serve::spawn(axum::Router::new(), "127.0.0.1:0", stop.clone()).await.unwrap().url();
    let (code, out, err) = wxflow(&[
        "run",
        "flows/login-first.yaml",
        "flows/userinfo-first.yaml",
        "--mock",
        &s.embedded.mock_url,
        "--target",
        &target,
    ])
    .await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("every flow's request got HTTP 404") && out.contains("wxflow init DIR --probe URL"), "{out}");
    stop.cancel();
}
