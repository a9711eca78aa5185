//! The runner's own cost per step, next to the HTTP it does.
//!
//! `cargo bench --bench overhead` prints:
//! * engine cost of a step that does no I/O (a `sleep: 0ms` step),
//! * template rendering + assertions + captures of the login http step,
//! * a real http step's duration on loopback (mock + backend in-process),
//! * the ground-truth lookup that follows it (one request for every code and iv),
//!
//! so the first two can be read as a share of the third.

use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use wxflow::contract::{Rotation, RotationPolicy};
use wxflow::engine::Engine;
use wxflow::mock::MockConfig;

fn per(d: Duration, n: u64) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let stop = CancellationToken::new();
    let config = MockConfig { rotation: Rotation::policy(RotationPolicy::Never), ..MockConfig::default() };
    let servers = wxflow::serve::embedded(config, stop.clone()).await.expect("servers start");
    let engine = Engine::new(&servers.mock_url, &servers.backend_url, 1, None, false);

    // 1. A flow of 100 steps that do no I/O.
    let src: String = std::iter::once("name: bench\nsteps:\n".to_string())
        .chain((0..100).map(|i| format!("  - id: s{i}\n    sleep: 0ms\n")))
        .collect();
    let idle = wxflow::flow::check("bench.yaml", &src).expect("valid");
    let iterations = 200u64;
    let t = Instant::now();
    for i in 0..iterations {
        engine.run(&idle, i, "idle", None).await;
    }
    let idle_step = per(t.elapsed(), iterations * 100);

    // 2. Rendering the login body and checking the answer, without the HTTP.
    let flow = wxflow::flow::load(std::path::Path::new("flows/login-first.yaml")).expect("shipped flow");
    let wxflow::flow::StepKind::Http(http) = &flow.steps[2].kind else { panic!("step 3 is http") };
    let scope = serde_json::json!({
        "target": "http://127.0.0.1:1",
        "login": { "code": "0abcdefghijklmnopqrstuvwxyz12345" },
        "profile": { "encryptedData": "A".repeat(560), "iv": "r7BXXKkLb8qrSNn05n0qiA==", "rawData": "{\"nickName\":\"x\"}", "signature": "0".repeat(40) },
    });
    let scope = scope.as_object().expect("object").clone();
    let answer_text = r#"{"code":0,"data":{"token":"0123456789abcdef0123456789abcdef","user_id":42}}"#;
    let answer_json: serde_json::Value = serde_json::from_str(answer_text).expect("json");
    let headers = std::collections::BTreeMap::new();
    let n = 100_000u64;
    let t = Instant::now();
    for _ in 0..n {
        let wxflow::flow::model::Body::Json(json) = &http.body else { panic!("a json body") };
        let body = json.render(&scope).expect("renders");
        std::hint::black_box(body.to_string());
        let a = wxflow::engine::assertions::Answer {
            status: 200,
            headers: &headers,
            text: answer_text,
            json: Some(&answer_json),
            truncated: false,
            duration: Duration::from_millis(1),
        };
        std::hint::black_box(wxflow::engine::assertions::check(http, &a));
        std::hint::black_box(wxflow::engine::assertions::capture(http, &a).ok());
    }
    let render_assert = per(t.elapsed(), n);

    // 3. The real thing: login-first, one iteration at a time.
    let iterations = 2_000u64;
    let mut http_step = 0.0;
    let mut wx_step = 0.0;
    let t = Instant::now();
    for i in 0..iterations {
        let finished = engine.run(&flow, i, &format!("u{i}"), None).await;
        let r = finished.counts();
        assert!(r.passed, "{:?}", r.diagnosis);
        wx_step += r.steps[0].duration_ms + r.steps[1].duration_ms;
        http_step += r.steps[2].duration_ms;
    }
    let whole = per(t.elapsed(), iterations);
    let http_us = http_step * 1e3 / iterations as f64;
    let wx_us = wx_step * 1e3 / (2 * iterations) as f64;
    stop.cancel();

    println!("runner overhead (cargo bench --bench overhead; release, one thread, system allocator,");
    println!("ground truth over HTTP as against an external `wxflow mock`)");
    println!("  engine cost of a step with no I/O           {idle_step:8.2} µs");
    println!("  render + assert + capture, login http step  {render_assert:8.2} µs");
    println!("  wx.* step on loopback (1 HTTP request)      {wx_us:8.2} µs");
    println!("  http step on loopback (the backend calls jscode2session)  {http_us:8.2} µs");
    println!("  1 ground-truth lookup over HTTP + the rest   {:8.2} µs", whole - 2.0 * wx_us - http_us);
    println!("  whole login-first iteration                 {whole:8.2} µs");
    println!("  runner's own work per http step: {:.1}% of the step", 100.0 * (idle_step + render_assert) / http_us);
}
