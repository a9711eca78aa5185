//! Verdicts and reports a CI pipeline can trust: causes from the backend's
//! answer, reproducers that reproduce, the app the embedded backend uses,
//! secrets kept in, closed pipes, report paths checked before the run.

mod common;

use common::{assert_valid_report, flow, tempdir, wxflow};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use wxflow::mock::{App, Mock, MockConfig};

/// The reference backend of the demo app, pointed at a WeChat API that is
/// not there: every login ends in its -50200 answer.
async fn backend_without_wechat(stop: &CancellationToken) -> wxflow::serve::Running {
    let demo = wxflow::mock::demo_app();
    let config = wxflow::backend::BackendConfig {
        wechat_api: "http://127.0.0.1:1".into(),
        appid: demo.appid,
        secret: demo.secret,
        tls: wxflow::tls::ClientTls::default(),
        bug: None,
    };
    wxflow::serve::spawn(wxflow::backend::app(config), "127.0.0.1:0", stop.clone()).await.unwrap()
}

/// A backend that answers every request with `status` and `body`.
async fn canned_backend(status: u16, body: Value) -> (String, CancellationToken) {
    let answer = move || {
        let body = body.clone();
        async move { (axum::http::StatusCode::from_u16(status).unwrap(), axum::Json(body)) }
    };
    let router = axum::Router::new().fallback(answer);
    let stop = CancellationToken::new();
    let b = wxflow::serve::spawn(router, "127.0.0.1:0", stop.clone()).await.unwrap();
    (b.url(), stop)
}

async fn run_report(args: &[&str]) -> (i32, String, Value, String) {
    let dir = tempdir();
    let (json_path, xml_path) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    let (jp, xp) = (format!("json={}", json_path.display()), format!("junit={}", xml_path.display()));
    let mut all = vec!["run", "--report", &jp, "--report", &xp];
    all.extend_from_slice(args);
    let (code, out, err) = wxflow(&all).await;
    let text = std::fs::read_to_string(&json_path).unwrap_or_else(|_| panic!("no report: {out}{err}"));
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_valid_report(&report);
    (code, out + &err, report, text + &std::fs::read_to_string(&xml_path).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backend_that_crashes_on_stale_data_does_not_pass_the_stale_flows() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 1).await;
    let (target, stop) = canned_backend(500, json!({"error": "Internal Server Error"})).await;
    let (code, out, r, _) = run_report(&[
        "flows/userinfo-first.yaml",
        "flows/phone-before-login.yaml",
        "--mock",
        &s.embedded.mock_url,
        "--target",
        &target,
    ])
    .await;
    assert_eq!(code, 1, "{out}");
    for id in ["userinfo-first", "phone-before-login"] {
        let f = flow(&r, id);
        assert_eq!(f["expectation_met"], false, "{id}");
        assert_eq!(f["causes"], json!({"backend_error": 1}), "{id}");
    }
    // It never took the code to WeChat: the mock's ground truth says so, and
    // no stale iv is blamed for a crash that happened before the login.
    assert!(out.contains("failed with HTTP 500 before the login reached WeChat"), "{out}");
    assert!(out.contains("expected fail (stale_iv), got fail (backend_error)"), "{out}");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_error_is_its_own_cause_even_when_a_stale_payload_rode_along() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 1).await;
    let (target, stop) = canned_backend(401, json!({"code": 40029, "msg": "WeChat: invalid code"})).await;
    let (code, out, r, _) =
        run_report(&["flows/userinfo-first.yaml", "--mock", &s.embedded.mock_url, "--target", &target]).await;
    assert_eq!(code, 1, "{out}");
    let f = flow(&r, "userinfo-first");
    assert_eq!(f["causes"], json!({"code_invalid": 1}));
    assert_eq!(f["expectation_met"], false);
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shared_user_pool_prints_the_load_that_reproduces_a_race() {
    let (_, out, r, _) = run_report(&[
        "flows/login-first.yaml",
        "--rotation",
        "always",
        "--users",
        "2",
        "--repeat",
        "200",
        "--concurrency",
        "8",
        "--seed",
        "5",
    ])
    .await;
    let f = flow(&r, "login-first");
    assert!(f["failed"].as_u64().unwrap() > 0, "racing logins fail some: {f}");
    let cmd = f["reproduce"]["stale_iv"].as_str().unwrap();
    assert_eq!(
        cmd,
        "wxflow run flows/login-first.yaml --seed 5 --users 2 --repeat 200 --concurrency 8 --rotation always"
    );
    assert!(!cmd.contains("--replay"));
    assert!(out.contains("shared users race: the whole load"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mock_started_with_its_own_app_still_passes_every_flow_with_the_reference_backend() {
    let stop = CancellationToken::new();
    let mut config = MockConfig::default();
    config.apps.insert(
        0,
        App { appid: "wx1111222233334444".into(), secret: "s3cr3t-of-my-own-app-000".into(), unionid: false },
    );
    let m = wxflow::serve::spawn(wxflow::mock::app(Mock::new(config)), "127.0.0.1:0", stop.clone()).await.unwrap();
    let (code, out, r, _) = run_report(&["--mock", &m.url()]).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(r["summary"]["expectations_met"], 16);
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_the_console_or_a_report_when_wechat_is_unreachable() {
    // The reference backend pointed at a dead WeChat API answers -50200.
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 1).await;
    let stop = CancellationToken::new();
    let demo = wxflow::mock::demo_app();
    let b = backend_without_wechat(&stop).await;
    let once =
        ["flows/login-first.yaml", "flows/phone-code.yaml", "--mock", &s.embedded.mock_url, "--target", &b.url()];
    // A load run keeps a few of its results (the first failure of each cause).
    let load = [&once[..], &["--repeat", "12", "--concurrency", "3"]].concat();
    for args in [&once[..], &load] {
        let (code, out, _, reports) = run_report(args).await;
        assert_eq!(code, 1, "{out}");
        assert!(reports.contains("-50200"), "{reports}");
        for text in [&out, &reports] {
            assert!(!text.contains(&demo.secret), "secret leaked: {text}");
            assert!(!text.contains("secret="), "a query with the secret: {text}");
        }
    }
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_a_backend_echoes_anywhere_and_login_tokens_are_masked_by_value() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 1).await;
    let demo = wxflow::mock::demo_app();
    let (target, stop) = canned_backend(
        200,
        json!({"code": 0, "data": {"token": "tok-0123456789abcdef"}, "debug": format!("used {} and tok-0123456789abcdef", demo.secret)}),
    )
    .await;
    let once = ["flows/login-first.yaml", "--mock", &s.embedded.mock_url, "--target", &target];
    // A load run masks the results it keeps (its example iteration).
    let load = [&once[..], &["--repeat", "12", "--concurrency", "3"]].concat();
    for args in [&once[..], &load] {
        let (_, out, _, reports) = run_report(args).await;
        for text in [&out, &reports] {
            assert!(!text.contains(&demo.secret) && !text.contains("tok-0123456789abcdef"), "leaked: {text}");
        }
        assert!(reports.contains("tok-…(masked)"), "{reports}");
    }
    let (_, _, _, revealed) = run_report(&[
        "flows/login-first.yaml",
        "--mock",
        &s.embedded.mock_url,
        "--target",
        &target,
        "--reveal-secrets",
    ])
    .await;
    assert!(revealed.contains("tok-0123456789abcdef") && revealed.contains(&demo.secret));
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_backend_never_answers_with_a_secret() {
    let stop = CancellationToken::new();
    let demo = wxflow::mock::demo_app();
    let b = backend_without_wechat(&stop).await;
    let http = reqwest::Client::new();
    for (path, body) in [
        ("/api/login", json!({"code": "c", "encryptedData": "e", "iv": "i", "rawData": "{}", "signature": "s"})),
        ("/api/phone", json!({"phone_code": "p"})),
    ] {
        let text = http.post(format!("{}{path}", b.url())).json(&body).send().await.unwrap().text().await.unwrap();
        assert!(text.contains("-50200"), "{text}");
        assert!(!text.contains(&demo.secret) && !text.contains("secret="), "{path}: {text}");
    }
    stop.cancel();
}

/// Runs wxflow with stdout closed at once, as `wxflow … | head -0` would.
fn with_closed_stdout(args: &[&str]) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wxflow"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_neither_panics_nor_loses_the_report() {
    let dir = tempdir();
    let path = dir.path().join("r.json");
    let rp = format!("json={}", path.display());
    let out = with_closed_stdout(&["run", "--report", &rp]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(report["summary"]["expectations_met"], 16);
    let out = with_closed_stdout(&["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn report_paths_are_checked_before_anything_runs() {
    let dir = tempdir();
    let d = dir.path().display().to_string();
    let flow_copy = dir.path().join("f.yaml");
    std::fs::copy("flows/login-first.yaml", &flow_copy).unwrap();
    let fc = flow_copy.display().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![format!("json={d}/missing/r.json")], "its directory does not exist"),
        (vec![format!("json={d}")], "is a directory"),
        (vec![format!("json={d}/r.json"), format!("junit={d}/r.json")], "two reports on one path"),
        (vec![format!("json={d}/./r.json"), format!("junit={d}/r.json")], "two reports on one path"),
        (vec![format!("junit={fc}")], "is one of this run's inputs"),
    ];
    for (reports, needle) in cases {
        let mut args = vec!["run".to_string(), fc.clone(), "--duration".into(), "30s".into()];
        for r in &reports {
            args.extend(["--report".to_string(), r.clone()]);
        }
        let t = std::time::Instant::now();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = wxflow(&args).await;
        assert_eq!(code, 2, "{reports:?}: {out}{err}");
        assert!(err.contains(needle), "{reports:?}: {err}");
        assert!(t.elapsed() < std::time::Duration::from_secs(10), "refused at once, not after the run");
    }
    assert_eq!(
        std::fs::read_to_string(&flow_copy).unwrap(),
        std::fs::read_to_string("flows/login-first.yaml").unwrap()
    );
    assert!(!dir.path().join("r.json").exists(), "the check leaves no file behind");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_path_that_is_a_link_or_a_device_is_written_through_never_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempdir();
    let elsewhere = tempdir();
    let target = elsewhere.path().join("real.json");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let mut reports = vec!["--report".to_string(), format!("json={}", link.display())];
    // A copy of /dev/null made with mknod (root, as CI runs); else /dev/null itself is left alone.
    let null = dir.path().join("null");
    let node = std::ffi::CString::new(null.to_str().unwrap()).unwrap();
    let made = unsafe { libc::mknod(node.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) } == 0;
    if made {
        reports.extend(["--report".to_string(), format!("junit={}", null.display())]);
    }
    let mut args = vec!["run", "flows/login-first.yaml"];
    args.extend(reports.iter().map(String::as_str));
    let (code, out, err) = wxflow(&args).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_valid_report(&written);
    if made {
        assert!(std::fs::metadata(&null).unwrap().file_type().is_char_device(), "the device stays a device");
    }
    assert!(
        !std::fs::read_dir(dir.path()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("wxflow-tmp"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unwritable_report_is_refused_at_once() {
    // A path under a regular file cannot be written, even by root.
    let dir = tempdir();
    let file = dir.path().join("plain.txt");
    std::fs::write(&file, "x").unwrap();
    let rp = format!("json={}/r.json", file.display());
    let (code, _, err) = wxflow(&["run", "flows/login-first.yaml", "--duration", "30s", "--report", &rp]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot be written"), "{err}");
}
