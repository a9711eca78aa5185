//! Repeated runs: rates with intervals, causes, determinism, replay,
//! thresholds, user pools, until-fail, open model, Ctrl-C. Bounded in count
//! and time.

mod common;

use common::{assert_valid_report, flow, tempdir, wxflow};
use serde_json::Value;

async fn run_json(args: &[&str]) -> (i32, String, Value) {
    let dir = tempdir();
    let path = dir.path().join("r.json");
    let rp = format!("json={}", path.display());
    let mut all = vec!["run", "--report", &rp];
    all.extend_from_slice(args);
    let (code, out, err) = wxflow(&all).await;
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("no report: {out}{err}"));
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_valid_report(&report);
    (code, out, report)
}

const SCENARIO: [&str; 12] = [
    "flows/userinfo-first.yaml",
    "flows/login-first.yaml",
    "flows/button-then-refresh.yaml",
    "--rotation",
    "0.3",
    "--seed",
    "7",
    "--repeat",
    "400",
    "--concurrency",
    "16",
    "--max-latency",
];

#[tokio::test(flavor = "multi_thread")]
async fn rotation_0_3_fails_the_seeds_order_about_30_percent_all_stale_and_repeatably() {
    let args: Vec<&str> = SCENARIO.iter().copied().chain(["total:max=1h"]).collect();
    let (_, out, a) = run_json(&args).await;
    let uf = flow(&a, "userinfo-first");
    let (lo, hi) = (uf["failure_rate_ci95"][0].as_f64().unwrap(), uf["failure_rate_ci95"][1].as_f64().unwrap());
    assert!(lo <= 0.3 && 0.3 <= hi, "95% CI [{lo}, {hi}] must cover 0.3\n{out}");
    let failed = uf["failed"].as_u64().unwrap();
    assert!(failed > 0 && uf["verdict"] == "flaky");
    assert_eq!(uf["causes"]["stale_iv"].as_u64(), Some(failed), "every failure is a stale iv");
    assert_eq!(uf["stale_share"], 1.0);
    for id in ["login-first", "button-then-refresh"] {
        assert_eq!(flow(&a, id)["failed"], 0, "{id}");
    }
    // Latency percentiles and throughput are there and ordered.
    let l = &uf["latency_ms"];
    assert!(
        l["p50"].as_f64() <= l["p90"].as_f64()
            && l["p90"].as_f64() <= l["p99"].as_f64()
            && l["p99"].as_f64() <= l["max"].as_f64()
    );
    assert!(uf["throughput"]["flows_per_sec"].as_f64().unwrap() > 0.0);
    assert!(uf["reproduce"]["stale_iv"].as_str().unwrap().ends_with("--rotation 0.3"));
    // The same command twice: identical counts, and the same reproducer.
    let (_, _, b) = run_json(&args).await;
    assert_eq!(uf["reproduce"], flow(&b, "userinfo-first")["reproduce"]);
    for id in ["userinfo-first", "login-first", "button-then-refresh"] {
        assert_eq!(
            (flow(&a, id)["passed"].clone(), flow(&a, id)["causes"].clone()),
            (flow(&b, id)["passed"].clone(), flow(&b, id)["causes"].clone()),
            "{id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_reproduces_a_failure_found_at_concurrency_16_alone() {
    let (_, _, r) = run_json(&[
        "flows/userinfo-first.yaml",
        "--rotation",
        "0.3",
        "--seed",
        "11",
        "--repeat",
        "200",
        "--concurrency",
        "16",
    ])
    .await;
    let first = &flow(&r, "userinfo-first")["first_failures"]["stale_iv"];
    let i = first["iteration"].as_u64().unwrap();
    let (code, out, replay) =
        run_json(&["flows/userinfo-first.yaml", "--rotation", "0.3", "--replay", &format!("11:{i}")]).await;
    assert_eq!(code, 0, "the flow expects this failure: {out}");
    let f = flow(&replay, "userinfo-first");
    assert_eq!((f["iterations"].as_u64(), f["failed"].as_u64()), (Some(1), Some(1)));
    assert_eq!(f["example"]["iteration"].as_u64(), Some(i));
    assert_eq!(f["example"]["user"], first["user"]);
    assert!(out.contains("STALE gen 1→2") && out.contains("diagnosis:"), "full detail: {out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn thresholds_from_the_command_line_and_yaml_set_the_exit_code() {
    // login-first never fails: a 1% limit holds; a 1 h limit holds, a 0 ms one breaks.
    let (code, out, r) =
        run_json(&["flows/login-first.yaml", "--repeat", "30", "--concurrency", "4", "--max-failure-rate", "0.01"])
            .await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(r["thresholds"][0]["breached"], false);
    let (code, out, r) = run_json(&[
        "flows/login-first.yaml",
        "--repeat",
        "30",
        "--max-latency",
        "server:p50=0ms",
        "--max-latency",
        "total:p99=1h",
    ])
    .await;
    assert_eq!(code, 1, "{out}");
    let breached: Vec<(&Value, &Value)> =
        r["thresholds"].as_array().unwrap().iter().map(|t| (&t["metric"], &t["breached"])).collect();
    assert_eq!(
        breached,
        [
            (&Value::from("latency server p50 (ms)"), &Value::from(true)),
            (&Value::from("latency total p99 (ms)"), &Value::from(false))
        ],
        "{out}"
    );
    let dir = tempdir();
    let f = dir.path().join("strict.yaml");
    let src = std::fs::read_to_string("flows/login-first.yaml")
        .unwrap()
        .replace("steps:", "thresholds:\n  max_failure_rate: 0.0\n  max_latency:\n    server: { p99: 0ms }\nsteps:");
    std::fs::write(&f, src).unwrap();
    let (code, out, r) = run_json(&[f.to_str().unwrap(), "--repeat", "5"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("threshold strict latency server p99 (ms)") && out.contains("breached"), "{out}");
    assert!(
        r["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["breached"] == true && t["metric"] == "latency server p99 (ms)")
    );
    // A failure-rate breach on a failing flow.
    let (code, _, r) =
        run_json(&["flows/userinfo-first.yaml", "--rotation", "0.5", "--repeat", "40", "--max-failure-rate", "0.05"])
            .await;
    assert_eq!(code, 1);
    assert_eq!(r["thresholds"][0]["breached"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_pool_makes_racing_logins_visible_as_stale_iv() {
    let (_, out, r) = run_json(&[
        "flows/login-first.yaml",
        "--rotation",
        "always",
        "--users",
        "2",
        "--concurrency",
        "8",
        "--repeat",
        "120",
    ])
    .await;
    let f = flow(&r, "login-first");
    assert!(f["failed"].as_u64().unwrap() > 0, "two logins of one user racing must break some logins: {out}");
    assert!(f["causes"]["stale_iv"].as_u64().unwrap() > 0, "{}", f["causes"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn until_fail_stops_at_the_first_iteration_that_breaks_the_expectation() {
    // userinfo-first with its expectation turned to pass: the first stale
    // login breaks it.
    let dir = tempdir();
    let flow_path = dir.path().join("seed-order.yaml");
    let text = std::fs::read_to_string("flows/userinfo-first.yaml").unwrap();
    std::fs::write(&flow_path, text.replace("outcome: fail\n  cause: stale_iv", "outcome: pass")).unwrap();
    let fp = flow_path.to_str().unwrap();
    let (code, out, r) = run_json(&[fp, "--rotation", "0.3", "--seed", "3", "--repeat", "5000", "--until-fail"]).await;
    assert_eq!(code, 1);
    let f = &r["flows"][0];
    assert!(f["iterations"].as_u64().unwrap() < 100, "stopped early: {}", f["iterations"]);
    assert!(f["failed"].as_u64().unwrap() >= 1);
    let first = f["first_unmet"].as_u64().unwrap();
    assert!(out.contains(&format!("first iteration that broke the expectation (pass): {first}")), "{out}");
    assert!(out.contains(&format!("--replay 3:{first}")), "{out}");

    // The shipped flow expects the failure: a stale login meets it, so the
    // run stops at the first login that *worked*.
    let (code, out, r) = run_json(&[
        "flows/userinfo-first.yaml",
        "--rotation",
        "0.3",
        "--seed",
        "3",
        "--repeat",
        "5000",
        "--until-fail",
    ])
    .await;
    assert_eq!(code, 1);
    let f = flow(&r, "userinfo-first");
    assert!(f["iterations"].as_u64().unwrap() < 100, "stopped early: {}", f["iterations"]);
    assert!(f["passed"].as_u64().unwrap() >= 1, "{f}");
    let first = f["first_unmet"].as_u64().unwrap();
    assert!(out.contains(&format!("broke the expectation (fail (stale_iv)): {first}")), "{out}");
    // Its reproducer shows that login working.
    let (code, out, _) =
        wxflow(&["run", "flows/userinfo-first.yaml", "--replay", &format!("3:{first}"), "--rotation", "0.3"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("expected fail (stale_iv), got pass"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_open_model_starts_iterations_at_the_given_rate() {
    let (_, out, r) = run_json(&["flows/login-first.yaml", "--rate", "100", "--duration", "1s"]).await;
    let n = flow(&r, "login-first")["iterations"].as_u64().unwrap();
    assert!((50..=101).contains(&n), "about 100 iterations in 1 s at 100/s, got {n}: {out}");
}

/// Starts a long run of two flows, sends `signal` once 1.5 s in (twice if
/// `twice`), and returns (exit code, stdout, JSON report, JUnit report).
#[cfg(unix)]
async fn cut_short(signal: &str, twice: bool) -> (Option<i32>, String, Value, String) {
    let dir = tempdir();
    let (json, xml) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_wxflow"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "flows/login-first.yaml", "flows/userinfo-first.yaml", "--duration", "60s", "--concurrency", "4"])
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .arg("--report")
        .arg(format!("junit={}", xml.display()))
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let pid = child.id().to_string();
    let kill = || assert!(std::process::Command::new("kill").args([signal, &pid]).status().unwrap().success());
    kill();
    if twice {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        kill();
    }
    let t = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    assert!(t.elapsed() < std::time::Duration::from_secs(15), "stopped within the grace period");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_valid_report(&report);
    (out.status.code(), stdout, report, std::fs::read_to_string(&xml).unwrap())
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_sigterm_and_sighup_stop_cleanly_write_every_report_and_exit_128_plus_the_signal() {
    for (signal, code) in [("-INT", 130), ("-TERM", 143), ("-HUP", 129)] {
        let (status, stdout, report, junit) = cut_short(signal, false).await;
        assert_eq!(status, Some(code), "{signal}: {stdout}");
        assert!(stdout.contains("interrupted") && stdout.contains("1 not run"), "{signal}: {stdout}");
        assert_eq!(report["interrupted"], true);
        // The report says the exit code the process gave: never a pass.
        assert_eq!(
            (report["summary"]["exit_code"].as_i64(), report["summary"]["success"].as_bool()),
            (Some(i64::from(code)), Some(false))
        );
        let f = flow(&report, "login-first");
        assert!(f["iterations"].as_u64().unwrap() > 0 && f["failed"] == 0, "what finished is counted: {f}");
        assert_eq!(f["interrupted"], true);
        // The flow that never started is in every report, as not run.
        let nr = flow(&report, "userinfo-first");
        assert_eq!((nr["iterations"].as_u64(), nr["interrupted"].as_bool()), (Some(0), Some(true)));
        assert_eq!(report["summary"]["not_run"], 1);
        let doc = roxmltree::Document::parse(&junit).unwrap();
        let case = doc.descendants().find(|n| n.attribute("name") == Some("userinfo-first")).unwrap();
        assert!(case.children().any(|c| c.has_tag_name("skipped")), "{junit}");
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_stops_at_once_and_still_writes_what_finished() {
    let (status, stdout, report, _) = cut_short("-TERM", true).await;
    assert_eq!(status, Some(143), "{stdout}");
    assert_eq!((report["interrupted"].as_bool(), report["summary"]["exit_code"].as_i64()), (Some(true), Some(143)));
    assert!(flow(&report, "login-first")["iterations"].as_u64().unwrap() > 0);
}

/// Under load against the reference backend every shipped flow meets its
/// expectation in every iteration: `token-expiry`'s clock moves age only
/// their own user's tokens (they used to expire each other's: 5–10 of 32
/// iterations failed at this concurrency).
#[tokio::test(flavor = "multi_thread")]
async fn every_shipped_flow_meets_its_expectation_every_time_at_concurrency_16() {
    let (code, out, r) = run_json(&["flows", "--repeat", "32", "--concurrency", "16"]).await;
    for f in r["flows"].as_array().unwrap() {
        assert_eq!(f["met"], f["iterations"], "{}: {out}", f["flow"]);
    }
    assert_eq!(code, 0, "{out}");
}
