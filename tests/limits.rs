//! Hostile and absurd input: servers that bound their connections, flags
//! and files refused at the door with exit 2, the mock's settings checked.

mod common;

use common::{tempdir, wxflow};
use serde_json::json;
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn healthz() -> axum::Router {
    axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }))
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_are_closed_and_their_number_is_bounded() {
    let stop = CancellationToken::new();
    let limits = wxflow::serve::Limits {
        header_read_timeout: Duration::from_millis(300),
        max_connections: 2,
        ..wxflow::serve::Limits::default()
    };
    let s = wxflow::serve::spawn_with(healthz(), "127.0.0.1:0", stop.clone(), limits, None).await.unwrap();
    let addr = s.addr;
    let answer = tokio::task::spawn_blocking(move || {
        // Two idle connections fill the server.
        let idle: Vec<std::net::TcpStream> = (0..2).map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
        std::thread::sleep(Duration::from_millis(100));
        let t = Instant::now();
        let mut third = std::net::TcpStream::connect(addr).unwrap();
        third.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        third.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").unwrap();
        let mut text = String::new();
        third.read_to_string(&mut text).unwrap();
        // The idle ones were closed by the server.
        let mut buf = [0u8; 1];
        let closed = idle.into_iter().all(|mut c| {
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            matches!(c.read(&mut buf), Ok(0) | Err(_))
        });
        (text, t.elapsed(), closed)
    })
    .await
    .unwrap();
    let (text, waited, closed) = answer;
    assert!(text.starts_with("HTTP/1.1 200") && text.ends_with("ok"), "{text}");
    assert!(waited >= Duration::from_millis(150), "the third waited for a slot: {waited:?}");
    assert!(closed, "idle connections are closed after the header timeout");
    stop.cancel();
}

/// A client that sends its headers and half a body, then nothing, is
/// answered 408 after the body timeout, and others are answered meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_stops_half_way_is_timed_out_and_others_are_served() {
    let stop = CancellationToken::new();
    let limits =
        wxflow::serve::Limits { body_read_timeout: Duration::from_millis(500), ..wxflow::serve::Limits::default() };
    let app = axum::Router::new().route("/echo", axum::routing::post(|body: String| async move { body }));
    let s = wxflow::serve::spawn_with(app, "127.0.0.1:0", stop.clone(), limits, None).await.unwrap();
    let addr = s.addr;
    let (slow, fast) = tokio::task::spawn_blocking(move || {
        let mut slow = std::net::TcpStream::connect(addr).unwrap();
        slow.write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nhalf a body").unwrap();
        let mut fast = std::net::TcpStream::connect(addr).unwrap();
        fast.write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").unwrap();
        let mut fast_text = String::new();
        fast.read_to_string(&mut fast_text).unwrap();
        let t = Instant::now();
        slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut head = [0u8; 12];
        slow.read_exact(&mut head).unwrap();
        ((String::from_utf8_lossy(&head).into_owned(), t.elapsed()), fast_text)
    })
    .await
    .unwrap();
    assert!(fast.starts_with("HTTP/1.1 200") && fast.ends_with("ok"), "{fast}");
    assert_eq!(slow.0, "HTTP/1.1 408", "the stalled body is timed out");
    assert!(slow.1 < Duration::from_secs(3), "{:?}", slow.1);
    stop.cancel();
}

/// More clients than slots, each dripping a header byte at a time, do not
/// keep others out: the one that has waited longest gives up its slot.
#[tokio::test(flavor = "multi_thread")]
async fn clients_dripping_bytes_into_every_slot_do_not_keep_others_out() {
    let stop = CancellationToken::new();
    let limits = wxflow::serve::Limits {
        header_read_timeout: Duration::from_secs(30),
        max_connections: 4,
        ..wxflow::serve::Limits::default()
    };
    let s = wxflow::serve::spawn_with(healthz(), "127.0.0.1:0", stop.clone(), limits, None).await.unwrap();
    let addr = s.addr;
    let (text, waited, evicted) = tokio::task::spawn_blocking(move || {
        let drippers: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(move || {
                    // A byte every 200 ms for at most 6 s; a closed socket ends it.
                    let mut c = std::net::TcpStream::connect(addr).unwrap();
                    let line = b"GET /healthz HTTP/1.1\r\nx-drip: ";
                    let mut bytes = line.iter().chain(std::iter::repeat(&b'a'));
                    for _ in 0..30 {
                        if c.write_all(&[*bytes.next().unwrap()]).is_err() {
                            return true;
                        }
                        std::thread::sleep(Duration::from_millis(200));
                    }
                    false
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(1500));
        let t = Instant::now();
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").unwrap();
        let mut text = String::new();
        let _ = c.read_to_string(&mut text);
        let waited = t.elapsed();
        let evicted = drippers.into_iter().map(|d| d.join().unwrap()).filter(|&closed| closed).count();
        (text, waited, evicted)
    })
    .await
    .unwrap();
    assert!(text.starts_with("HTTP/1.1 200") && text.ends_with("ok"), "{text}");
    assert!(waited < Duration::from_secs(3), "answered while 8 clients drip into 4 slots: {waited:?}");
    assert!(evicted >= 5, "drippers closed to make room: {evicted}");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn flags_out_of_range_are_refused_with_exit_2() {
    for (args, needle) in [
        (vec!["run", "--duration", "0s"], "runs nothing"),
        (vec!["run", "--duration", "99999999999999999999h"], "longer than the maximum"),
        (vec!["run", "--max-latency", "server:p99=99999999999999999999h"], "longer than the maximum"),
        (vec!["run", "--mock", "notaurl"], "not a URL"),
        (vec!["run", "--mock", "ftp://127.0.0.1:9000"], "not http or https"),
        (vec!["run", "--mock", "http://127.0.0.1:99999"], "invalid port"),
        (vec!["run", "--mock", ""], "not a URL"),
        (vec!["run", "--mock", "http://127.0.0.1:9000", "--target", "http://x:1/?a=b"], "no query"),
        (vec!["run", "--concurrency", "1000000"], "1000000"),
        (vec!["run", "--concurrency", "0"], "0"),
        (vec!["run", "--threads", "0"], "0"),
        (vec!["run", "--threads", "17"], "17"),
        (vec!["run", "--max-latency", "servr:p99=1s"], "did you mean `server`?"),
        (vec!["run", "--max-latency", "server:p42=1s"], "unknown percentile"),
        (vec!["run", "--replay", "1:2", "--repeat", "5"], "cannot be used with"),
        (vec!["mock", "--fault", "token:latency_ms=18446744073709551615"], "at most 60000"),
        (vec!["mock", "--rotation-min-period=-1"], "expected 0 to"),
        (vec!["mock", "--session-ttl", "inf"], "expected 0 to"),
        (vec!["backend", "--wechat-api", "api.weixin.qq.com"], "not a URL"),
    ] {
        let (code, _, err) = wxflow(&args).await;
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mock_refuses_absurd_settings_and_oversized_names() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 1).await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}/__wxflow{p}", s.embedded.mock_url);
    let cases = [
        ("PUT", "/config", json!({"faults": {"jscode2session": {"latency_ms": u64::MAX}}}), "at most 60000"),
        ("PUT", "/config", json!({"rotation": {"policy": "always", "ttl_secs": -5.0}}), "expected 0 to"),
        ("PUT", "/config", json!({"rotation": {"policy": "always", "min_period_secs": 1e300}}), "expected 0 to"),
        ("POST", "/clock", json!({"advance_secs": 1e300}), "at most ten years"),
        ("POST", "/client/login", json!({"user": "u".repeat(300)}), "at most 256 bytes"),
        (
            "POST",
            "/client/login",
            json!({"user": "u", "faults": {"token": {"jitter_ms": 99_999_999}}}),
            "at most 60000",
        ),
    ];
    for (method, path, body, needle) in cases {
        let req = if method == "PUT" { http.put(url(path)) } else { http.post(url(path)) };
        let resp = req.json(&body).send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 400, "{path}: {text}");
        assert!(text.contains(needle), "{path}: {text}");
    }
    // A body past 64 KiB is refused. One byte past it: the mock reads it all
    // before it answers, so its close is never a reset that loses the answer.
    let addr = s.embedded.mock_url.trim_start_matches("http://").to_string();
    let answer = tokio::task::spawn_blocking(move || {
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        let len = wxflow::mock::BODY_LIMIT + 1;
        let head = format!("POST /__wxflow/client/login HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\r\n");
        tcp.write_all(head.as_bytes()).unwrap();
        tcp.write_all(&vec![b' '; len]).unwrap();
        let mut answer = vec![0; 12];
        tcp.read_exact(&mut answer).unwrap();
        answer
    });
    assert_eq!(answer.await.unwrap(), b"HTTP/1.1 413");
    // Skews add up, but never past a century.
    for _ in 0..11 {
        let _ = http.post(url("/clock")).json(&json!({"advance_secs": 9.9 * 365.0 * 86_400.0})).send().await.unwrap();
    }
    let resp = http.post(url("/clock")).json(&json!({"advance_secs": 9.9 * 365.0 * 86_400.0})).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.text().await.unwrap().contains("100 years"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flow_sleeping_for_an_absurd_time_is_refused_without_a_false_no_kind() {
    let dir = tempdir();
    let f = dir.path().join("sleepy.yaml");
    std::fs::write(&f, "name: s\nsteps:\n  - id: nap\n    sleep: 99999999999999999999h\n").unwrap();
    let (code, _, err) = wxflow(&["validate", f.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("longer than the maximum") && err.contains(":4:12"), "{err}");
    assert!(!err.contains("has no kind"), "{err}");
    assert!(err.contains("1 error in flow files"), "{err}");
}

/// A raw TCP server on 127.0.0.1:0 that answers every connection with
/// `bytes` and closes.
async fn raw_server(bytes: &'static [u8]) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            // Read the whole request first (it may come in several
            // segments): closing with unread data would reset the
            // connection instead of showing what this server means to show.
            let mut buf = [0u8; 4096];
            while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(100), tcp.read(&mut buf)).await {
                if n == 0 {
                    break;
                }
            }
            let _ = tcp.write_all(bytes).await;
            let _ = tcp.shutdown().await;
            // Let the client read what was sent before the socket goes.
            let _ = tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf)).await;
        }
    });
    format!("http://{addr}")
}

async fn login_first_against(target: &str) -> String {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 1).await;
    let (code, out, err) =
        wxflow(&["run", "flows/login-first.yaml", "--mock", &s.embedded.mock_url, "--target", target]).await;
    assert_eq!(code, 1, "{out}{err}");
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reached_backend_that_answers_garbage_or_hangs_up_is_not_called_unreachable() {
    let garbage = raw_server(b"SSH-2.0-OpenSSH_9.6\r\n").await;
    let out = login_first_against(&garbage).await;
    assert!(out.contains("was reached but sent no valid HTTP answer"), "{out}");
    assert!(!out.contains("is it running"), "{out}");

    let cut = raw_server(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n{\"code\":0").await;
    let out = login_first_against(&cut).await;
    assert!(out.contains("closed the connection in the middle of its answer"), "{out}");

    let stop = CancellationToken::new();
    let looping = axum::Router::new()
        .route("/api/login", axum::routing::post(|| async { axum::response::Redirect::temporary("/api/login") }));
    let b = wxflow::serve::spawn(looping, "127.0.0.1:0", stop.clone()).await.unwrap();
    let out = login_first_against(&b.url()).await;
    assert!(out.contains("redirect loop"), "{out}");

    let huge = axum::Router::new().route(
        "/api/login",
        axum::routing::post(|| async { format!("{{\"code\":0,\"pad\":\"{}\"}}", "x".repeat(2 << 20)) }),
    );
    let b = wxflow::serve::spawn(huge, "127.0.0.1:0", stop.clone()).await.unwrap();
    let out = login_first_against(&b.url()).await;
    assert!(out.contains("the body was cut at 1 MiB"), "{out}");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_wechat_api_is_the_backends_timeout_not_the_runners() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 1).await;
    let put = reqwest::Client::new()
        .put(format!("{}/__wxflow/config", s.embedded.mock_url))
        .json(&json!({"faults": {"jscode2session": {"latency_ms": 6000}}}))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let (code, out, _) =
        wxflow(&["run", "flows/login-first.yaml", "--mock", &s.embedded.mock_url, "--target", &s.embedded.backend_url])
            .await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the backend, not wxflow, timed out") && out.contains("-50504"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn flow_files_that_are_not_small_regular_files_are_refused() {
    let dir = tempdir();
    let big = dir.path().join("big.yaml");
    std::fs::write(&big, format!("name: big\n# {}\nsteps: []\n", "x".repeat(2 << 20))).unwrap();
    let (code, _, err) = wxflow(&["validate", big.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("larger than 1048576 bytes"), "{err}");
    #[cfg(unix)]
    {
        let fifo = dir.path().join("pipe.yaml");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let t = Instant::now();
        let (code, _, err) = wxflow(&["validate", fifo.to_str().unwrap()]).await;
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("not a regular file"), "{err}");
        assert!(t.elapsed() < Duration::from_secs(5), "refused, not read forever");
    }
}

#[test]
fn decrypt_reads_at_most_a_mebibyte_from_stdin() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wxflow"))
        .args([
            "decrypt",
            "--session-key",
            "tiihtNczf5v6AKRyjwEUhQ==",
            "--iv",
            "r7BXXKkLb8qrSNn05n0qiA==",
            "--data",
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // An endless stream, as /dev/zero would be: the reader must stop on its own.
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'A'; 64 * 1024];
        while stdin.write_all(&chunk).is_ok() {}
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("more than 1048576 bytes"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_concurrency_for_little_work_starts_only_the_workers_it_needs() {
    let t = Instant::now();
    let (code, out, _) = wxflow(&["run", "flows/login-first.yaml", "--concurrency", "10000", "--repeat", "3"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("3 iterations: 3 passed"), "{out}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_null_and_list_documents_say_what_a_flow_is_without_internal_names() {
    let dir = tempdir();
    for (name, text, needle) in [
        ("empty.yaml", "", "the file is empty"),
        ("null.yaml", "~\n", "expected a flow: a mapping with `name` and `steps`"),
        ("list.yaml", "[1, 2]\n", "expected a flow: a mapping with `name` and `steps`"),
        ("step.yaml", "name: x\nsteps: [3]\n", "expected a step: a mapping with `id` and one kind"),
    ] {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        let (code, _, err) = wxflow(&["validate", f.to_str().unwrap()]).await;
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains(needle), "{name}: {err}");
        assert!(!err.contains("Raw") && !err.contains("struct"), "{name}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_open_model_run_that_cannot_keep_its_rate_says_so() {
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 1).await;
    let stop = CancellationToken::new();
    let slow = axum::Router::new().route(
        "/api/login",
        axum::routing::post(|| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            axum::Json(json!({"code": 0, "data": {"token": "t0000000", "user_id": 1}}))
        }),
    );
    let b = wxflow::serve::spawn(slow, "127.0.0.1:0", stop.clone()).await.unwrap();
    let dir = tempdir();
    let rp = format!("json={}", dir.path().join("r.json").display());
    let args = [
        "run",
        "flows/login-first.yaml",
        "--mock",
        &s.embedded.mock_url,
        "--target",
        &b.url(),
        "--rate",
        "200",
        "--concurrency",
        "1",
        "--repeat",
        "20",
        "--report",
        &rp,
    ];
    let (code, out, err) = wxflow(&args).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("rate not kept:") && out.contains("started late"), "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    common::assert_valid_report(&report);
    let late = &report["flows"][0]["late_starts"];
    assert!(late["count"].as_u64().unwrap() >= 10 && late["max_ms"].as_f64().unwrap() > 50.0, "{late}");
    stop.cancel();
}
