//! `wxflow run` end to end: every shipped flow through the CLI, outcomes,
//! freshness verdicts, reports, determinism, dead and slow backends.

mod common;

use common::{assert_valid_report, flow, tempdir, wxflow};
use serde_json::{Value, json};

async fn run_with_reports(extra: &[&str]) -> (i32, String, Value, String) {
    let dir = tempdir();
    let json_path = dir.path().join("report.json");
    let junit_path = dir.path().join("report.xml");
    let (jp, xp) = (format!("json={}", json_path.display()), format!("junit={}", junit_path.display()));
    let mut args = vec!["run", "--report", &jp, "--report", &xp];
    args.extend_from_slice(extra);
    let (code, out, err) = wxflow(&args).await;
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap_or_else(|_| panic!("no JSON report: {err}")))
            .unwrap();
    (code, out, report, std::fs::read_to_string(junit_path).unwrap())
}

fn server_step<'a>(result: &'a Value, id: &str) -> &'a Value {
    result["steps"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_shipped_flow_meets_its_expectation_and_the_reports_say_so() {
    let (code, out, report, junit) = run_with_reports(&[]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.trim_end().ends_with("16 passed, 0 failed"), "{out}");
    assert_valid_report(&report);
    assert_eq!(report["summary"]["expectations_met"], 16);

    // The seed's order fails, with a stale iv judged from the mock's ground truth.
    let uf = flow(&report, "userinfo-first");
    assert_eq!(
        (uf["passed"].as_u64(), uf["failed"].as_u64(), uf["expectation_met"].as_bool()),
        (Some(0), Some(1), Some(true))
    );
    assert_eq!(uf["causes"]["stale_iv"], 1);
    let server = server_step(&uf["example"], "server");
    assert_eq!(server["outcome"], "fail");
    let p = &server["payloads"][0];
    assert_eq!((p["from_step"].as_str(), p["basis"].as_str()), (Some("profile"), Some("code_exchange")));
    assert_eq!(p["freshness"], serde_json::json!({ "state": "stale", "sealed": 1, "against": 2 }));
    assert!(server["diagnosis"].as_str().unwrap().contains("call wx.login before getUserInfo"));
    assert!(out.contains("STALE gen 1→2"), "{out}");

    // The fixed orders pass with fresh data, under the same rotate-always mock.
    for (id, step) in [("login-first", "server"), ("button-then-refresh", "server")] {
        let f = flow(&report, id);
        assert_eq!((f["passed"].as_u64(), f["verdict"].as_str()), (Some(1), Some("pass")), "{id}");
        let s = server_step(&f["example"], step);
        assert_eq!(s["payloads"][0]["freshness"]["state"], "fresh", "{id}");
    }
    // The fix sends the refreshed payload, sealed with generation 2.
    let s = server_step(&flow(&report, "button-then-refresh")["example"], "server");
    assert_eq!(
        (s["payloads"][0]["from_step"].as_str(), s["payloads"][0]["sealed_generation"].as_u64()),
        (Some("refresh"), Some(2))
    );

    assert_eq!(flow(&report, "phone-before-login")["causes"]["stale_iv"], 1);
    assert_eq!(flow(&report, "form-unencoded-plus")["causes"]["plus_as_space"], 1);
    for id in [
        "reused-code",
        "tampered-rawdata",
        "foreign-watermark",
        "expired-code",
        "form-plus",
        "phone-code",
        "phone-login-first",
        "mixed-payloads",
        "returning-user",
        "token-expiry",
        "slow-jscode2session",
    ] {
        assert_eq!(flow(&report, id)["verdict"], "pass", "{id}: the backend rejects correctly");
    }

    // The JUnit report parses, has a case per flow, and no failures.
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 16);
    assert!(cases.iter().any(|c| c.attribute("name") == Some("userinfo-first")));
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("failure")).count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unmet_expectation_exits_1_and_fails_in_junit() {
    // Without rotation the seed's order works, so its expectation (fail) is not met.
    let (code, out, report, junit) = run_with_reports(&["flows/userinfo-first.yaml", "--rotation", "never"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("expected fail (stale_iv), got pass"), "{out}");
    assert!(out.trim_end().ends_with("0 passed, 1 failed"), "{out}");
    assert_valid_report(&report);
    assert_eq!(report["rotation_override"], "never");
    let doc = roxmltree::Document::parse(&junit).unwrap();
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("failure")).count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn same_seed_gives_the_same_outcomes_and_payloads() {
    // Every shipped flow but the one that waits 1.5 s per iteration by design.
    let flows: Vec<String> = std::fs::read_dir("flows")
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| !p.contains("slow-jscode2session"))
        .collect();
    let with = |extra: &[&'static str]| -> Vec<String> {
        flows.iter().cloned().chain(extra.iter().map(|s| (*s).to_string())).collect()
    };
    let args = with(&["--seed", "31", "--rotation", "0.5", "--repeat", "12"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, _, a, _) = run_with_reports(&args).await;
    let (_, _, b, _) = run_with_reports(&args).await;
    let pick = |r: &Value| -> Vec<Value> {
        r["flows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                serde_json::json!([
                    f["flow"],
                    f["passed"],
                    f["failed"],
                    f["causes"],
                    f["example"]["steps"][0]["payloads"]
                ])
            })
            .collect()
    };
    let strip_age = |mut v: Vec<Value>| {
        for f in &mut v {
            for p in f[4].as_array_mut().into_iter().flatten() {
                p["age_ms"] = Value::Null;
            }
        }
        v
    };
    assert_eq!(strip_age(pick(&a)), strip_age(pick(&b)));
    // With P = 0.5 over 12 iterations the seed's order both passes and fails.
    assert_eq!(flow(&a, "userinfo-first")["verdict"], "flaky");
    let other = with(&["--seed", "32", "--rotation", "0.5", "--repeat", "12"]);
    let other: Vec<&str> = other.iter().map(String::as_str).collect();
    let (_, _, c, _) = run_with_reports(&other).await;
    assert_ne!(pick(&a), pick(&c), "another seed, other payloads");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_backend_fails_its_step_with_the_connection_error() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 1).await;
    let (code, out, err) =
        wxflow(&["run", "flows/login-first.yaml", "--mock", &s.embedded.mock_url, "--target", "http://127.0.0.1:1"])
            .await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("FAIL  server"), "{out}");
    assert!(
        out.contains("cannot reach the backend: is it running") && out.to_lowercase().contains("connection refused"),
        "{out}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_backend_times_out_and_the_step_says_so() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 1).await;
    let slow = axum::Router::new().route(
        "/api/login",
        axum::routing::post(|| async {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            "late"
        }),
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let b = wxflow::serve::spawn(slow, "127.0.0.1:0", stop.clone()).await.unwrap();
    let dir = tempdir();
    let flow_path = dir.path().join("slow.yaml");
    std::fs::write(&flow_path, "name: slow\nsteps:\n  - id: login\n    wx.login: {}\n  - id: server\n    http:\n      url: \"{{ target }}/api/login\"\n      json: { code: \"{{ login.code }}\" }\n      timeout: 300ms\n").unwrap();
    let t = std::time::Instant::now();
    let (code, out, _) =
        wxflow(&["run", flow_path.to_str().unwrap(), "--mock", &s.embedded.mock_url, "--target", &b.url()]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("did not answer in time"), "{out}");
    assert!(t.elapsed() < std::time::Duration::from_secs(4), "the timeout bounds the step");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_header_that_renders_to_a_line_break_fails_its_step_where_the_template_is() {
    let dir = tempdir();
    let flow_path = dir.path().join("header.yaml");
    std::fs::write(&flow_path, "name: header\nvars: { nl: \"a\\nb\" }\nsteps:\n  - id: server\n    http:\n      url: \"{{ target }}/api/login\"\n      headers: { x-trace: \"{{ nl }}\" }\n").unwrap();
    let (code, out, err) = wxflow(&["run", flow_path.to_str().unwrap()]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("header `x-trace` renders to a value HTTP cannot carry"), "{out}");
    assert!(out.contains("line 7, column 28") && out.contains("got fail (template)"), "{out}");
}

/// A backend behind a proxy that form-decodes twice: `%2B` → `+` → ` `.
async fn plus_mangling_backend(real: String) -> (String, tokio_util::sync::CancellationToken) {
    let proxy = axum::Router::new().route(
        "/api/login",
        axum::routing::post(move |body: String| {
            let real = real.clone();
            async move {
                let once: String = form_urlencoded::parse(body.as_bytes())
                    .map(|(k, v)| format!("{k}={}", v.replace('+', " ")))
                    .collect::<Vec<_>>()
                    .join("&");
                let resp = reqwest::Client::new()
                    .post(format!("{real}/api/login"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(once.replace(' ', "+"))
                    .send()
                    .await
                    .unwrap();
                let status = axum::http::StatusCode::from_u16(resp.status().as_u16()).unwrap();
                (status, [("content-type", "application/json")], resp.text().await.unwrap())
            }
        }),
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let p = wxflow::serve::spawn(proxy, "127.0.0.1:0", stop.clone()).await.unwrap();
    (p.url(), stop)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backend_that_turns_plus_into_space_is_caught_and_diagnosed() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 1).await;
    let (proxy, stop) = plus_mangling_backend(s.embedded.backend_url.clone()).await;
    let (code, out, _) =
        wxflow(&["run", "flows/form-plus.yaml", "--mock", &s.embedded.mock_url, "--target", &proxy]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("turned '+' into a space"), "{out}");
    // Against the correct backend the same flow passes.
    let (code, out, _) =
        wxflow(&["run", "flows/form-plus.yaml", "--mock", &s.embedded.mock_url, "--target", &s.embedded.backend_url])
            .await;
    assert_eq!(code, 0, "{out}");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_masked_unless_revealed() {
    let dir = tempdir();
    let flow_path = dir.path().join("echo.yaml");
    // A flow that puts the demo secret in a URL, as a careless script might.
    std::fs::write(&flow_path, "name: echo\nvars: { secret: 9f8e7d6c5b4a39281706f5e4d3c2b1a0 }\nsteps:\n  - id: h\n    http:\n      url: \"{{ mock }}/sns/jscode2session?appid=x&secret={{ secret }}&js_code=y\"\n    assert: { status: 500 }\n").unwrap();
    let report = dir.path().join("r.json");
    let rp = format!("json={}", report.display());
    wxflow(&["run", flow_path.to_str().unwrap(), "--report", &rp]).await;
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(!text.contains("9f8e7d6c5b4a39281706f5e4d3c2b1a0") && text.contains("9f8e…(masked)"), "{text}");
    wxflow(&["run", flow_path.to_str().unwrap(), "--report", &rp, "--reveal-secrets"]).await;
    assert!(std::fs::read_to_string(&report).unwrap().contains("9f8e7d6c5b4a39281706f5e4d3c2b1a0"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_flags_exit_2_with_a_clear_message() {
    for (args, needle) in [
        (vec!["run", "--rotation", "often"], "invalid rotation policy"),
        (vec!["run", "--target", "http://127.0.0.1:1"], "--target needs --mock"),
        (vec!["run", "--report", "xml=out.xml"], "unknown kind `xml`"),
        (vec!["run", "nope/"], "no such file or directory"),
        (vec!["run", "--replay", "7"], "expected SEED:ITERATION"),
        (vec!["run", "--until-fail"], "needs --repeat"),
    ] {
        let (code, _, err) = wxflow(&args).await;
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// Against an external mock, ground-truth lookups ride the next client
/// request of another iteration: fewer requests, the same verdicts as with
/// the truth read in process.
#[tokio::test(flavor = "multi_thread")]
async fn ground_truth_over_http_rides_client_requests_and_gives_the_same_verdicts() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 7).await;
    let load =
        ["flows/userinfo-first.yaml", "--rotation", "0.3", "--seed", "7", "--repeat", "400", "--concurrency", "16"];
    let (_, _, embedded, _) = run_with_reports(&load).await;
    let mut external = load.to_vec();
    external.extend_from_slice(&[
        "--threads",
        "1",
        "--mock",
        &s.embedded.mock_url,
        "--target",
        &s.embedded.backend_url,
    ]);
    let (_, out, report, _) = run_with_reports(&external).await;
    let (e, x) = (flow(&embedded, "userinfo-first"), flow(&report, "userinfo-first"));
    assert!(x["failed"].as_u64().unwrap() > 50, "{out}");
    for key in ["passed", "failed", "causes", "stale_failures"] {
        assert_eq!(e[key], x[key], "{key}: {out}");
    }
    // The kept results are judged alike, also a passing login's payloads,
    // whose truth the iteration did not wait for (login-first passes).
    let judged = |f: &Value, result: &str| -> Vec<Value> {
        let steps = f.pointer(result).and_then(Value::as_array).cloned().unwrap_or_default();
        let payloads = steps.iter().flat_map(|s| s["payloads"].as_array().cloned().unwrap_or_default());
        payloads
            .map(|p| json!([p["iv"], p["sealed_generation"], p["against_generation"], p["basis"], p["freshness"]]))
            .collect()
    };
    for result in ["/example/steps", "/first_failures/stale_iv/steps"] {
        let (ej, xj) = (judged(e, result), judged(x, result));
        assert!(!xj.is_empty(), "{result}: {x}");
        assert_eq!(ej, xj, "{result}");
    }
    // Three requests of the flow's own per iteration; lookups on their own
    // only when no other iteration's request came to carry them.
    let per_flow =
        x["throughput"]["http_requests_per_sec"].as_f64().unwrap() / x["throughput"]["flows_per_sec"].as_f64().unwrap();
    assert!((3.0..3.3).contains(&per_flow), "{per_flow} requests per iteration: {out}");
    let passing = ["flows/login-first.yaml", "--seed", "7", "--repeat", "50", "--concurrency", "8"];
    let (_, _, embedded, _) = run_with_reports(&passing).await;
    let external = [&passing[..], &["--mock", &s.embedded.mock_url, "--target", &s.embedded.backend_url]].concat();
    let (_, out, report, _) = run_with_reports(&external).await;
    let (e, x) = (flow(&embedded, "login-first"), flow(&report, "login-first"));
    assert_eq!(x["example"]["passed"], true, "{out}");
    let xj = judged(x, "/example/steps");
    assert!(!xj.is_empty() && xj.iter().all(|p| p[4]["state"] == "fresh"), "{xj:?}");
    assert_eq!(judged(e, "/example/steps"), xj);
}
