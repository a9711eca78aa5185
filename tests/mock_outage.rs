//! The mock is the tester's side of every run: a mock that is down, is not
//! a mock, or restarts under a run never turns into a verdict about the
//! backend. Each test starts its own `wxflow mock` process on a free
//! loopback port, so it can stop and restart it on the same port.

mod common;

use common::{assert_valid_report, tempdir};
use serde_json::Value;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use wxflow::backend::{self, BackendConfig};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wxflow() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wxflow"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).env("NO_COLOR", "1");
    cmd
}

/// `wxflow mock` on `port`, once it answers.
fn start_mock(port: u16) -> Child {
    let child = wxflow()
        .args(["mock", "--addr", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "the mock started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A reference backend in this process, calling the mock at `mock_url`.
async fn backend(mock_url: &str, stop: &CancellationToken) -> String {
    let app = wxflow::mock::demo_app();
    let config = BackendConfig {
        wechat_api: mock_url.into(),
        appid: app.appid,
        secret: app.secret,
        tls: wxflow::tls::ClientTls::default(),
        bug: None,
    };
    wxflow::serve::spawn(backend::app(config), "127.0.0.1:0", stop.clone()).await.unwrap().url()
}

/// `wxflow ARGS` while the mock on `port` changes under it: started first
/// if `up`, then at `at` stopped (if up) and, after `gap`, started again;
/// stopped when the run ends.
fn run_while_mock_changes(port: u16, args: &[String], up: bool, at: Duration, gap: Duration) -> Output {
    let mock = up.then(|| start_mock(port));
    let run = wxflow().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(at);
    if let Some(m) = mock {
        stop(m);
    }
    std::thread::sleep(gap);
    let mock = start_mock(port);
    let out = run.wait_with_output().unwrap();
    stop(mock);
    out
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mock_stopped_and_restarted_mid_run_leaves_iterations_unjudged_never_failed() {
    let port = free_port();
    let mock_url = format!("http://127.0.0.1:{port}");
    let servers = CancellationToken::new();
    let target = backend(&mock_url, &servers).await;
    let dir = tempdir();
    let (json, junit) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    let reports = [format!("json={}", json.display()), format!("junit={}", junit.display())];
    let args: Vec<String> = ["run", "flows/login-first.yaml", "--mock", &mock_url, "--target", &target]
        .into_iter()
        .chain(["--concurrency", "4", "--duration", "5s", "--report", &reports[0], "--report", &reports[1]])
        .map(String::from)
        .collect();
    let (at, gap) = (Duration::from_millis(1500), Duration::from_secs(1));
    let out = tokio::task::spawn_blocking(move || run_while_mock_changes(port, &args, true, at, gap)).await.unwrap();
    servers.cancel();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(3), "inconclusive: {said}");
    assert!(said.contains("mock_unavailable") && said.contains("1 inconclusive"), "{said}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_valid_report(&report);
    let flow = &report["flows"][0];
    let causes = flow["causes"].as_object().unwrap();
    assert_eq!(causes.keys().collect::<Vec<_>>(), ["mock_unavailable"], "only the mock is named: {flow:#}");
    assert_eq!(flow["failed"], 0, "no failure is blamed on the backend: {flow:#}");
    assert!(flow["passed"].as_u64().unwrap() > 0, "{flow:#}");
    assert_eq!(flow["verdict"], "inconclusive");
    assert!(flow["mock_restart"].as_str().is_some_and(|r| r.starts_with("instance ")), "{flow:#}");
    assert!(said.contains("the mock restarted during this flow (instance "), "{said}");
    // Iterations went on passing once the mock was back: the unjudged ones
    // end well before the run does.
    let (window_end, seconds) = (flow["unjudged_window_s"][1].as_u64().unwrap(), flow["seconds"].as_u64().unwrap());
    assert!(window_end + 1 < seconds, "unjudged until second {window_end} of {seconds}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<error") && !xml.contains("<failure"), "{xml}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_between_the_wx_steps_and_the_backend_is_seen_through_the_instance_id() {
    let port = free_port();
    let mock_url = format!("http://127.0.0.1:{port}");
    let servers = CancellationToken::new();
    let target = backend(&mock_url, &servers).await;
    let dir = tempdir();
    // login-first with a pause before the backend step, for the restart.
    let flow = std::fs::read_to_string("flows/login-first.yaml")
        .unwrap()
        .replace("  - id: server\n", "  - id: pause\n    sleep: 2s\n  - id: server\n");
    let path = dir.path().join("paused.yaml");
    std::fs::write(&path, flow).unwrap();
    let args: Vec<String> =
        ["run", path.to_str().unwrap(), "--mock", &mock_url, "--target", &target].map(String::from).to_vec();
    let at = Duration::from_millis(800);
    let out = tokio::task::spawn_blocking(move || run_while_mock_changes(port, &args, true, at, Duration::ZERO))
        .await
        .unwrap();
    servers.cancel();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.contains("mock_unavailable"), "{said}");
    assert!(said.contains("the mock restarted during this iteration (instance "), "{said}");
    assert!(!said.contains("code_invalid") && !said.contains("backend_error"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mock_that_is_down_or_is_not_a_mock_is_refused_before_any_iteration() {
    let down = format!("http://127.0.0.1:{}", free_port());
    let servers = CancellationToken::new();
    let not_a_mock = backend(&down, &servers).await;
    let out = tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        let down = wxflow().args(["run", "flows/login-first.yaml", "--mock", &down, "--mock-wait", "1s"]).output();
        let waited = t.elapsed();
        let wrong = wxflow().args(["run", "flows/login-first.yaml", "--mock", &not_a_mock]).output();
        (down.unwrap(), waited, wrong.unwrap())
    })
    .await
    .unwrap();
    servers.cancel();
    let (down, waited, wrong) = out;
    let said = text(&down);
    assert_eq!(down.status.code(), Some(2), "{said}");
    assert!(
        said.contains("no wxflow mock answers at --mock") && said.contains("wxflow mock --addr 127.0.0.1:"),
        "{said}"
    );
    assert!(!said.contains("iterations"), "nothing ran: {said}");
    assert!(waited >= Duration::from_secs(1) && waited < Duration::from_secs(8), "{waited:?}");
    let said = text(&wrong);
    assert_eq!(wrong.status.code(), Some(2), "{said}");
    assert!(said.contains("is not a wxflow mock") && said.contains("HTTP 404"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mock_still_starting_is_waited_for_within_mock_wait() {
    let port = free_port();
    let mock_url = format!("http://127.0.0.1:{port}");
    let args: Vec<String> =
        ["run", "flows/login-first.yaml", "--mock", &mock_url, "--mock-wait", "20s"].map(String::from).to_vec();
    let at = Duration::from_secs(1);
    let out = tokio::task::spawn_blocking(move || run_while_mock_changes(port, &args, false, at, Duration::ZERO))
        .await
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("1 passed, 0 failed"), "{said}");
}

#[tokio::test]
async fn the_identity_route_names_the_service_its_apps_and_an_instance_new_at_every_start() {
    let ask = |mock: wxflow::mock::Mock| async move {
        let stop = CancellationToken::new();
        let m = wxflow::serve::spawn(wxflow::mock::app(mock), "127.0.0.1:0", stop.clone()).await.unwrap();
        let id: Value = reqwest::get(format!("{}/__wxflow/identity", m.url())).await.unwrap().json().await.unwrap();
        stop.cancel();
        id
    };
    let config = wxflow::mock::MockConfig::default;
    let (a, b) = (ask(wxflow::mock::Mock::new(config())).await, ask(wxflow::mock::Mock::new(config())).await);
    assert_eq!(a["service"], "wxflow-mock");
    assert_eq!(a["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(a["apps"][0], wxflow::mock::demo_app().appid);
    assert!(a["instance"].as_str().is_some_and(|i| i.len() == 16));
    assert_ne!(a["instance"], b["instance"], "same seed, new start: a new instance");
}
