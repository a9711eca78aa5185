//! `wxflow mock` and `wxflow backend`: the two servers as their own processes.

use crate::cli::{BackendArgs, MockArgs};
use crate::contract::{CLIENT_PREFIX, Faults, Rotation, parse_fault_arg};
use crate::mock::{App, MockConfig, demo_app};
use crate::redact::mask;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

use crate::exit::InvalidInput;

/// Turns the mock flags into a config.
pub fn mock_config(args: &MockArgs) -> Result<MockConfig, InvalidInput> {
    let rotation =
        Rotation { policy: args.rotation, min_period_secs: args.rotation_min_period, ttl_secs: args.session_ttl };
    rotation.validate().map_err(|e| InvalidInput(format!("--rotation-min-period / --session-ttl: {e}")))?;
    let mut faults = Faults::new();
    for arg in &args.faults {
        let (name, fault) = parse_fault_arg(arg).map_err(|e| InvalidInput(format!("--fault: {e}")))?;
        faults.insert(name, fault);
    }
    let mut apps = vec![demo_app()];
    if let (Some(appid), Some(secret)) = (&args.appid, &args.secret) {
        apps.insert(0, App { appid: appid.clone(), secret: secret.clone(), unionid: false });
    }
    Ok(MockConfig { seed: args.seed, apps, rotation, faults })
}

/// Binds `addr` and serves `router` on every core, over TLS when
/// `--tls-cert/--tls-key` are given. The cores stop when the returned
/// [`Cores`](crate::cores::Cores) is dropped.
fn serve(
    router: axum::Router,
    addr: &str,
    tls: &crate::cli::ServeTls,
    connect_proxy: bool,
    stop: CancellationToken,
) -> Result<(crate::serve::Running, crate::cores::Cores), InvalidInput> {
    let config = match (&tls.tls_cert, &tls.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::server_config(cert, key).map_err(InvalidInput)?),
        _ => None,
    };
    let cores = crate::cores::Cores::start(crate::cores::available())
        .map_err(|e| InvalidInput(format!("cannot start the runtimes: {e}")))?;
    let limits = crate::serve::Limits { connect_proxy, ..crate::serve::Limits::default() };
    let running = crate::serve::spawn_on_cores(router, addr, stop, limits, config, &cores)
        .map_err(|e| InvalidInput(e.to_string()))?;
    Ok((running, cores))
}

/// Serves until SIGINT, SIGTERM or SIGHUP.
async fn until_signal(stop: CancellationToken) {
    crate::signals::any().await;
    eprintln!("\nstopping");
    stop.cancel();
}

/// `wxflow mock`: serves until Ctrl-C.
pub async fn mock(args: MockArgs) -> Result<ExitCode, InvalidInput> {
    let config = mock_config(&args)?;
    let stop = CancellationToken::new();
    let mock = crate::mock::Mock::new(config.clone());
    let mut app = crate::mock::app(mock.clone());
    if args.log {
        let secrets = config.apps.iter().map(|a| a.secret.clone()).collect();
        let redactor = std::sync::Arc::new(crate::redact::Redactor::new(args.reveal_secrets, secrets));
        app = app
            .layer(axum::middleware::from_fn(move |req, next| log_request(redactor.clone(), mock.clone(), req, next)));
    }
    let (running, _cores) = serve(app, &args.addr, &args.tls, args.connect_proxy, stop.clone())?;
    crate::outln!("wxflow mock WeChat service on {}", running.url());
    for app in &config.apps {
        crate::outln!("  app     appid={} secret={}", app.appid, mask(&app.secret, args.reveal_secrets));
    }
    crate::outln!("  seed    {}   rotation {}", config.seed, config.rotation);
    for (name, f) in &config.faults {
        crate::outln!("  fault   {name}: {}", serde_json::to_string(f).unwrap_or_default());
    }
    crate::outln!("  server API  {0}/sns/jscode2session, {0}/cgi-bin/token, …", running.url());
    crate::outln!("  client side {}{}/client/login, …/getUserInfo, …", running.url(), CLIENT_PREFIX);
    if args.connect_proxy {
        crate::outln!(
            "  proxy   HTTPS_PROXY=http://{} reaches https://api.weixin.qq.com here (trust the CA of --tls-cert)",
            running.addr
        );
    }
    crate::outln!("Ctrl-C (or SIGTERM) to stop");
    until_signal(stop).await;
    Ok(ExitCode::SUCCESS)
}

/// `wxflow backend`: serves until Ctrl-C.
pub async fn backend(args: BackendArgs) -> Result<ExitCode, InvalidInput> {
    let demo = demo_app();
    let config = crate::backend::BackendConfig {
        wechat_api: args.wechat_api.clone(),
        appid: args.appid.unwrap_or(demo.appid),
        secret: args.secret.unwrap_or(demo.secret),
        tls: crate::tls::ClientTls::load(&args.ca_certs, false).map_err(InvalidInput)?,
        bug: args.bug,
    };
    let stop = CancellationToken::new();
    let (running, _cores) = serve(crate::backend::app(config.clone()), &args.addr, &args.tls, false, stop.clone())?;
    crate::outln!("wxflow reference backend on {}", running.url());
    crate::outln!("  POST {}/api/login   GET {}/healthz", running.url(), running.url());
    crate::outln!("  WeChat API {}   appid {}", config.wechat_api, config.appid);
    if let Some(bug) = config.bug {
        crate::outln!("  WITH BUG {}: {}", bug.name(), bug.story());
    }
    crate::outln!("Ctrl-C (or SIGTERM) to stop");
    until_signal(stop).await;
    Ok(ExitCode::SUCCESS)
}

/// `--log`: one line per request on stderr, `METHOD /path?query → status in
/// N ms`, with secret parameters (appsecret, tokens) masked. Bodies are not
/// logged: they may carry secrets by any name.
async fn log_request(
    redactor: std::sync::Arc<crate::redact::Redactor>,
    mock: crate::mock::Mock,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    // Decoded first, so `access%5Ftoken=` is masked as `access_token=` is.
    let line = format!("{} {}", req.method(), percent_decoded(&req.uri().to_string()));
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let mut shown = redactor.text(&line, &mut vec![]);
    // A token or session_key the mock issued, wherever it stands (a path
    // segment, an odd parameter name), is masked by value.
    if !redactor.reveal() {
        for c in crate::engine::leak::candidates(&shown, &std::collections::BTreeMap::new()) {
            if mock.state().handed_out(&c.value) {
                shown = shown.replace(&c.value, &mask(&c.value, false));
            }
        }
    }
    eprintln!("{shown} → {} in {:.1} ms", response.status().as_u16(), started.elapsed().as_secs_f64() * 1e3);
    response
}

/// `%XX` escapes undone (bytes that are not UTF-8 stay escaped).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}
