//! Page steps: a Mini Program's own code run headless (tests/seed-app, the
//! seed's page; tests/page-apps/shapes, promise style, a login at launch, an
//! exception, an API not modelled, a race), judged at the client.

mod common;
use common::{assert_valid_report, tempdir, wxflow_blocking};
use serde_json::Value;
use std::path::Path;

fn run(args: &[&str]) -> (i32, String, Value) {
    let dir = tempdir();
    let json = dir.path().join("r.json");
    let mut all: Vec<String> = vec!["run".into()];
    all.extend(args.iter().map(ToString::to_string));
    all.extend(["--report".into(), format!("json={}", json.display())]);
    let (code, out, err) = wxflow_blocking(&all);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_else(|_| panic!("{out}{err}"))).unwrap();
    assert_valid_report(&report);
    (code, format!("{out}{err}"), report)
}

/// A flow tapping `handler` on `page` of the shapes app.
fn shapes_flow(dir: &Path, page: &str, handler: &str, rotation: &str, expect: &str) -> String {
    let app = std::fs::canonicalize("tests/page-apps/shapes").unwrap();
    let file = dir.join(format!("{page}.yaml"));
    std::fs::write(
        &file,
        format!(
            "name: {page}\napp: {}\nmock: {{ rotation: {rotation} }}\nexpect: {expect}\nsteps:\n  - id: open\n    page.open: {{ path: pages/{page}/{page}, query: {{ from: test }} }}\n  - id: tap\n    page.tap: {handler}\n",
            app.display()
        ),
    )
    .unwrap();
    file.display().to_string()
}

/// The 1-based line of `file` that holds `needle`.
fn line_of(file: &str, needle: &str) -> usize {
    std::fs::read_to_string(file).unwrap().lines().position(|l| l.contains(needle)).unwrap() + 1
}

fn tap_step(report: &Value, flow: usize) -> Value {
    let f = &report["flows"][flow];
    let iteration = f["first_failures"].as_object().and_then(|m| m.values().next()).unwrap_or(&f["example"]);
    iteration["steps"].as_array().unwrap().iter().find(|s| s["id"] == "tap").unwrap().clone()
}

#[test]
fn the_seeds_page_fails_as_stale_iv_at_its_own_reqlogin_line_and_its_fix_passes() {
    let (code, out, report) = run(&["tests/seed-app/flows"]);
    assert_eq!(code, 0, "both flows meet their expectations: {out}");
    let flows: Vec<&str> = report["flows"].as_array().unwrap().iter().map(|f| f["flow"].as_str().unwrap()).collect();
    let seed = flows.iter().position(|f| *f == "seed-page").unwrap();
    let tap = tap_step(&report, seed);
    assert_eq!(tap["cause"], "stale_iv", "{tap:#}");
    let line = line_of("tests/seed-app/pages/login/login.js", "req.reqLogin(");
    let at = tap["requests"][0]["at"].as_str().unwrap();
    assert!(at.starts_with(&format!("pages/login/login.js:{line}:")), "{at} is not the reqLogin line {line}");
    assert_eq!(tap["requests"][0]["stale"], true);
    assert_eq!(tap["requests"][0]["url"], "https://api.example.com/api/login");
    assert_eq!(tap["payloads"][0]["freshness"]["sealed"], 1, "{tap:#}");
    let fixed = flows.iter().position(|f| *f == "seed-page-fixed").unwrap();
    assert_eq!(report["flows"][fixed]["passed"], 1, "{out}");
}

#[test]
fn under_a_rotation_of_three_in_ten_the_seeds_page_fails_about_three_times_in_ten() {
    let (_, out, report) =
        run(&["tests/seed-app/flows/seed-page.yaml", "--rotation", "0.3", "--repeat", "300", "--concurrency", "8"]);
    let f = &report["flows"][0];
    assert_eq!(f["iterations"], 300, "{out}");
    let (lo, hi) = (f["failure_rate_ci95"][0].as_f64().unwrap(), f["failure_rate_ci95"][1].as_f64().unwrap());
    assert!(lo <= 0.3 && 0.3 <= hi, "interval {lo}–{hi} misses 0.3: {out}");
    assert_eq!(f["causes"]["stale_iv"], f["failed"], "every failure is a stale iv: {out}");
}

#[test]
fn promise_style_a_login_at_launch_a_dataset_and_an_api_not_modelled() {
    let dir = tempdir();
    let flow = shapes_flow(dir.path(), "cached", "onLogin", "always", "{ outcome: pass }");
    let (code, out, report) = run(&[&flow]);
    assert_eq!(code, 0, "the code from App.onLaunch and data sealed after it are fresh: {out}");
    let tap = tap_step(&report, 0);
    assert_eq!(tap["requests"][0]["at"].as_str().unwrap().split(':').next(), Some("pages/cached/cached.js"), "{tap:#}");
    assert_eq!(tap["requests"][0]["url"], "https://shop.example.com/api/login");
    assert!(out.contains("called but not modelled: wx.getLocation ×1"), "{out}");
}

#[test]
fn an_exception_in_the_apps_code_fails_the_step_with_its_message_and_app_stack() {
    let dir = tempdir();
    let flow = shapes_flow(dir.path(), "boom", "explode", "never", "{ outcome: fail, cause: client_error }");
    let (code, out, report) = run(&[&flow]);
    assert_eq!(code, 0, "{out}");
    let tap = tap_step(&report, 0);
    let why = tap["diagnosis"].as_str().unwrap();
    assert!(why.contains("nickName") && why.contains("pages/boom/boom.js:4:"), "{why}");
    assert!(!why.contains("wxflow:runtime"), "{why}");
}

#[test]
fn a_race_between_login_and_open_data_is_drawn_from_the_seed_and_replays_exactly() {
    let dir = tempdir();
    let flow = shapes_flow(dir.path(), "race", "signIn", "always", "{ outcome: pass }");
    let (_, out, report) = run(&[&flow, "--repeat", "40"]);
    let f = &report["flows"][0];
    let failed = f["failed"].as_u64().unwrap();
    assert!(failed > 0 && failed < 40, "both orders happen: {out}");
    let first = f["first_failures"]["stale_iv"]["iteration"].as_u64().unwrap();
    for _ in 0..2 {
        let (_, out, replay) = run(&[&flow, "--replay", &format!("0:{first}")]);
        assert_eq!(replay["flows"][0]["failed"], 1, "iteration {first} fails again alone: {out}");
    }
    let passing = (0..40).find(|i| {
        let (_, _, r) = run(&[&flow, "--replay", &format!("0:{i}")]);
        r["flows"][0]["passed"] == 1
    });
    assert!(passing.is_some(), "and some iteration passes alone");
}

#[test]
fn a_page_step_without_an_app_or_with_a_source_tree_says_what_to_give() {
    let dir = tempdir();
    let flow = dir.path().join("f.yaml");
    std::fs::write(&flow, "name: f\nsteps:\n  - id: open\n    page.open: pages/a/a\n").unwrap();
    let (code, out, _) = run(&[flow.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("set `app:` in the flow or give --app DIR"), "{out}");
    std::fs::write(dir.path().join("pages.json"), "{}").unwrap();
    let (_, out, _) = run(&[flow.to_str().unwrap(), "--app", dir.path().to_str().unwrap()]);
    assert!(out.contains("uni-app/Taro/wepy source tree") && out.contains("build output"), "{out}");
}

fn lint_json(args: &[&str]) -> (i32, Value) {
    let mut all: Vec<String> = vec!["lint".into()];
    all.extend(args.iter().map(ToString::to_string));
    all.extend(["--format".into(), "json".into()]);
    let (code, out, err) = wxflow_blocking(&all);
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let (_, schema, _) = wxflow_blocking(&["schema".into(), "lint".into()]);
    let schema: Value = serde_json::from_str(&schema).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    (code, report)
}

#[test]
fn lint_prove_runs_the_finding_and_confirms_it_at_the_apps_own_line() {
    let (code, report) = lint_json(&["tests/seed-app", "--prove"]);
    assert_eq!(code, 1);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "the fixed page is not flagged: {report:#}");
    let proof = &findings[0]["proof"];
    assert_eq!(proof["status"], "confirmed", "{proof}");
    assert!(proof["detail"].as_str().unwrap().contains("from pages/login/login.js:84:"), "{proof}");
    // A finding outside a native app (no app.json above it) is said not to be runnable.
    let (_, report) = lint_json(&["tests/lint/seed-native", "--prove"]);
    let proof = &report["findings"][0]["proof"];
    assert_eq!(proof["status"], "not_confirmed", "{proof}");
    assert!(proof["detail"].as_str().unwrap().contains("no app.json"), "{proof}");
}

#[test]
fn emitted_page_flows_tap_the_real_handler_and_fail_until_the_page_is_fixed() {
    let dir = tempdir();
    let flows = dir.path().join("flows");
    let (code, _, err) =
        wxflow_blocking(&["lint".into(), "tests/seed-app".into(), "--emit-flows".into(), flows.display().to_string()]);
    assert_eq!(code, 1, "{err}");
    let page_flow = std::fs::read_dir(&flows)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-page.yaml"))
        .unwrap_or_else(|| panic!("no page flow: {err}"));
    let text = std::fs::read_to_string(&page_flow).unwrap();
    assert!(text.contains("page.tap: wechatAction") && text.contains("page.open: pages/login/login"), "{text}");
    let (code, out, report) = run(&[page_flow.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(report["flows"][0]["causes"]["stale_iv"], 1, "{out}");
}

#[test]
fn a_phone_button_inside_a_custom_component_reaches_the_pages_handler() {
    let dir = tempdir();
    let flow = shapes_flow(dir.path(), "phone", "onPhone", "always", "{ outcome: fail, cause: stale_iv }");
    let (code, out, report) = run(&[&flow]);
    assert_eq!(code, 0, "{out}");
    let tap = tap_step(&report, 0);
    assert!(tap["payloads"][0]["from_step"].as_str().unwrap().starts_with("wx.getPhoneNumber#"), "{tap:#}");
    assert!(tap["requests"][0]["at"].as_str().unwrap().starts_with("pages/phone/phone.js:"), "{tap:#}");
}

#[test]
fn a_typescript_page_runs_with_its_own_lines() {
    let dir = tempdir();
    let flow = shapes_flow(dir.path(), "typed", "onGetUserInfo", "always", "{ outcome: fail, cause: stale_iv }");
    let (code, out, report) = run(&[&flow]);
    assert_eq!(code, 0, "{out}");
    let tap = tap_step(&report, 0);
    let line = line_of("tests/page-apps/shapes/pages/typed/typed.ts", "await post(");
    let at = tap["requests"][0]["at"].as_str().unwrap();
    assert!(at.starts_with(&format!("pages/typed/typed.ts:{line}:")), "{at}");
}

/// With `--target`, the page's requests go to the backend with their origin
/// replaced: the reference backend logs the fixed page in, and a target
/// without the route is judged as an http step's answer is.
#[tokio::test(flavor = "multi_thread")]
async fn with_a_target_the_pages_requests_reach_the_backend_and_its_answer_is_judged() {
    let s = common::stack(wxflow::contract::RotationPolicy::Always, 5).await;
    let (mock, backend) = (s.embedded.mock_url.clone(), s.embedded.backend_url.clone());
    let out = tokio::task::spawn_blocking(move || {
        let (fixed_ok, _, fixed) = run(&["tests/seed-app/flows", "--mock", &mock, "--target", &backend]);
        let (_, _, no_route) = run(&["tests/seed-app/flows/seed-page-fixed.yaml", "--mock", &mock, "--target", &mock]);
        (fixed_ok, fixed, no_route)
    })
    .await
    .unwrap();
    let (code, report, no_route) = out;
    assert_eq!(code, 0, "the reference backend logs the fixed page in, and the seed's order is stale: {report:#}");
    let tap = tap_step(&no_route, 0);
    assert_eq!(tap["cause"], "http_status", "{tap:#}");
    assert_eq!(tap["requests"][0]["status"], 404, "{tap:#}");
}

#[test]
fn a_flow_whose_app_is_not_there_is_refused_before_anything_runs() {
    let dir = tempdir();
    let flow = dir.path().join("f.yaml");
    std::fs::write(&flow, "name: f\napp: ../nowhere\nsteps:\n  - id: open\n    page.open: pages/a/a\n").unwrap();
    let (code, _, err) = wxflow_blocking(&["validate".into(), flow.display().to_string()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no app.json, so not a Mini Program root") && err.contains("f.yaml:2:6"), "{err}");
}
