//! Verdicts at scale: what runs out on the tester's side (descriptors) is
//! never blamed on the backend. A plan that cannot fit is refused up front;
//! one that runs out mid-run is inconclusive (exit 3, cause `tester_limit`)
//! and still writes every report; servers out of descriptors serve again.

mod common;

use common::{assert_valid_report, tempdir, wxflow};
use serde_json::Value;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use wxflow::backend::{self, BackendConfig};
use wxflow::mock::{self, Mock, MockConfig};

/// `wxflow …` with its descriptor limit (soft and hard) set to `nofile`.
fn wxflow_limited(nofile: u64, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wxflow"));
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR")).env("NO_COLOR", "1");
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || rlimit::setrlimit(rlimit::Resource::NOFILE, nofile, nofile));
    }
    cmd
}

/// A mock and a reference backend that closes every connection after its
/// answer (each request needs a new socket), on 127.0.0.1:0.
async fn mock_and_closing_backend(stop: &CancellationToken) -> (String, String) {
    let m =
        wxflow::serve::spawn(mock::app(Mock::new(MockConfig::default())), "127.0.0.1:0", stop.clone()).await.unwrap();
    let app = mock::demo_app();
    let config = BackendConfig {
        wechat_api: m.url(),
        appid: app.appid,
        secret: app.secret,
        tls: wxflow::tls::ClientTls::default(),
        bug: None,
    };
    let closing = backend::app(config).layer(axum::middleware::map_response(|mut r: axum::response::Response| async {
        r.headers_mut().insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        r
    }));
    let b = wxflow::serve::spawn(closing, "127.0.0.1:0", stop.clone()).await.unwrap();
    (m.url(), b.url())
}

fn open_descriptors(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_that_cannot_fit_is_refused_before_it_starts_with_the_figures_and_the_ways_out() {
    let dir = tempdir();
    let json = dir.path().join("r.json");
    let report = format!("json={}", json.display());
    let out = tokio::task::spawn_blocking(move || {
        wxflow_limited(
            256,
            &["run", "flows/login-first.yaml", "--concurrency", "400", "--repeat", "800", "--report", &report],
        )
        .output()
        .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for said in ["needs about", "may open 256", "--concurrency", "fits", "wxflow mock --addr", "ulimit -n"] {
        assert!(stderr.contains(said), "`{said}` in: {stderr}");
    }
    assert!(String::from_utf8_lossy(&out.stdout).is_empty(), "nothing ran");
    assert!(!json.exists(), "no report of a run that never started");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "no temporary report file left behind");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_limit_lowered_mid_run_leaves_iterations_unjudged_exit_3_and_every_report_written() {
    let stop = CancellationToken::new();
    let (mock_url, target_url) = mock_and_closing_backend(&stop).await;
    let dir = tempdir();
    let path = |name: &str| dir.path().join(name);
    let (json, junit, html) = (path("r.json"), path("r.xml"), path("r.html"));
    let args: Vec<String> = [
        "run",
        "flows/login-first.yaml",
        "--mock",
        &mock_url,
        "--target",
        &target_url,
        "--concurrency",
        "4",
        "--duration",
        "4s",
    ]
    .iter()
    .map(ToString::to_string)
    .chain(
        ["json", "junit", "html"]
            .iter()
            .zip([&json, &junit, &html])
            .flat_map(|(kind, p)| ["--report".to_string(), format!("{kind}={}", p.display())]),
    )
    .collect();
    let out = tokio::task::spawn_blocking(move || {
        let child = Command::new(env!("CARGO_BIN_EXE_wxflow"))
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        // Let iterations pass first, then allow half the descriptors it has
        // open: its kept-alive connections to the mock stay, every new one
        // to the target fails with EMFILE.
        std::thread::sleep(Duration::from_millis(1500));
        let open = open_descriptors(pid);
        assert!(open > 0, "the run is still going");
        rlimit::prlimit(pid.cast_signed(), rlimit::Resource::NOFILE, Some((open / 2, open / 2)), None).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    stop.cancel();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "inconclusive\n{stdout}\n{stderr}");
    assert!(stdout.contains("inconclusive") && stdout.contains("tester_limit"), "{stdout}");
    assert!(stdout.contains("EMFILE"), "the diagnosis names the resource: {stdout}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).expect("the JSON report was written")).unwrap();
    assert_valid_report(&report);
    let flow = &report["flows"][0];
    assert_eq!(flow["verdict"], "inconclusive", "{flow:#}");
    assert!(flow["passed"].as_u64().unwrap() > 0, "iterations before the limit were judged: {flow:#}");
    let unjudged = flow["unjudged"].as_u64().unwrap();
    assert!(unjudged > 0);
    assert_eq!(flow["causes"]["tester_limit"].as_u64(), Some(unjudged));
    for blamed in ["connection", "timeout", "backend_error", "http_status"] {
        assert!(flow["causes"].get(blamed).is_none(), "the tester's limit blamed as {blamed}: {:#}", flow["causes"]);
    }
    assert_eq!(report["summary"]["exit_code"], 3);
    assert_eq!(report["summary"]["success"], false);
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report was written");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let case = doc.descendants().find(|n| n.has_tag_name("testcase")).unwrap();
    assert!(case.children().any(|n| n.has_tag_name("error")), "an error, not a failure: {xml}");
    assert!(!case.children().any(|n| n.has_tag_name("failure")), "{xml}");
    let page = std::fs::read_to_string(&html).expect("the HTML report was written");
    assert!(page.contains("inconclusive"), "the HTML says so");
}

/// A shard's report marked as a run with unjudged iterations would be.
fn inconclusive(mut report: Value) -> Value {
    let flow = &mut report["flows"][0];
    flow["passed"] = (flow["passed"].as_u64().unwrap() - 1).into();
    flow["unjudged"] = 1.into();
    flow["causes"]["tester_limit"] = 1.into();
    report
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merged_run_is_inconclusive_if_any_shard_is() {
    let dir = tempdir();
    let shard = |i: usize| dir.path().join(format!("s{i}.json"));
    for i in 0..2 {
        let report = format!("json={}", shard(i).display());
        let shard_arg = format!("{i}/2");
        let (code, out, err) =
            wxflow(&["run", "flows/login-first.yaml", "--repeat", "6", "--shard", &shard_arg, "--report", &report])
                .await;
        assert_eq!(code, 0, "{out}{err}");
    }
    let second: Value = serde_json::from_slice(&std::fs::read(shard(1)).unwrap()).unwrap();
    std::fs::write(shard(1), inconclusive(second).to_string()).unwrap();
    let merged = dir.path().join("m.json");
    let junit = dir.path().join("m.xml");
    let (a, b) = (shard(0).display().to_string(), shard(1).display().to_string());
    let (code, out, err) = wxflow(&[
        "merge",
        &a,
        &b,
        "--report",
        &format!("json={}", merged.display()),
        "--report",
        &format!("junit={}", junit.display()),
    ])
    .await;
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.contains("1 inconclusive"), "{out}");
    let report: Value = serde_json::from_slice(&std::fs::read(&merged).unwrap()).unwrap();
    assert_valid_report(&report);
    let flow = &report["flows"][0];
    assert_eq!((flow["verdict"].as_str(), flow["unjudged"].as_u64()), (Some("inconclusive"), Some(1)));
    assert_eq!(flow["iterations"], 6);
    assert_eq!(flow["passed"], 5, "the unjudged one is not a pass");
    assert!(std::fs::read_to_string(&junit).unwrap().contains("<error"));
}

/// CPU seconds (user + system) the process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap().split_whitespace().collect();
    // utime and stime, fields 14 and 15 of stat (11 and 12 after the name).
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mock_out_of_descriptors_after_a_flood_neither_crashes_nor_spins_and_serves_again() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut mock = wxflow_limited(512, &["mock", "--addr", &addr]).stdout(Stdio::null()).spawn().unwrap();
    let pid = mock.id();
    let healthy = |addr: &str| {
        use std::io::{Read, Write};
        let Ok(mut c) = std::net::TcpStream::connect(addr) else { return false };
        let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
        let request = "GET /__wxflow/config HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
        let mut text = String::new();
        c.write_all(request.as_bytes()).is_ok()
            && c.read_to_string(&mut text).is_ok()
            && text.starts_with("HTTP/1.1 200")
    };
    let started = Instant::now();
    while !healthy(&addr) {
        assert!(started.elapsed() < Duration::from_secs(10), "the mock started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // 2,000 idle connections against a limit of 512: the mock runs out.
    // Connections past the mock's backlog wait for a SYN retry: give each a second.
    let connect = |addr: String| async move {
        tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await.ok()?.ok()
    };
    let flood: Vec<tokio::net::TcpStream> =
        futures::future::join_all((0..2000).map(|_| connect(addr.clone()))).await.into_iter().flatten().collect();
    assert!(flood.len() > 512, "the flood connected: {}", flood.len());
    std::thread::sleep(Duration::from_millis(300));
    let cpu = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(2));
    let spent = cpu_seconds(pid) - cpu;
    assert!(spent < 0.5, "out of descriptors, the mock backs off instead of spinning: {spent} CPU s in 2 s");
    assert!(mock.try_wait().unwrap().is_none(), "the mock did not crash");
    drop(flood);
    let freed = Instant::now();
    while !healthy(&addr) {
        assert!(freed.elapsed() < Duration::from_secs(15), "the mock serves again once descriptors free up");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(mock.try_wait().unwrap().is_none());
    let _ = mock.kill();
    let _ = mock.wait();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_embedded_backend_dying_inside_the_process_is_the_testers_failure_not_a_verdict() {
    let stop = CancellationToken::new();
    let m =
        wxflow::serve::spawn(mock::app(Mock::new(MockConfig::default())), "127.0.0.1:0", stop.clone()).await.unwrap();
    // The embedded backend's listener is gone: nothing accepts at its port.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let flow = wxflow::flow::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/flows/login-first.yaml")))
        .unwrap();
    for (own, cause) in [(true, "tester_limit"), (false, "connection")] {
        let engine = wxflow::engine::Engine::new(&m.url(), &target, 0, None, false).with_own_servers(own);
        let r = engine.run(&flow, 0, &format!("dying-{own}"), None).await.masked();
        assert_eq!(r.cause.map(wxflow::flow::Cause::as_str), Some(cause), "own servers {own}: {:?}", r.diagnosis);
    }
    stop.cancel();
}
