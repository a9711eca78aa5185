//! What each subcommand does, between the CLI types and the library.

use crate::cli::{BackendArgs, DecryptArgs, MockArgs};
use crate::contract::{CLIENT_PREFIX, Faults, Rotation, parse_fault_arg};
use crate::mock::{App, MockConfig, demo_app};
use crate::redact::mask;
use crate::wechat;
use std::io::Read;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

pub use crate::exit::{EXIT_FAILED, EXIT_INVALID, InvalidInput};

/// The most encryptedData `decrypt` reads: a real payload is under 2 KiB.
pub const MAX_DATA_BYTES: u64 = 1024 * 1024;

/// `--data`: the text, `-` for stdin or `@FILE`, read up to
/// [`MAX_DATA_BYTES`] bytes.
fn read_data(arg: &str) -> Result<String, InvalidInput> {
    let bad = |e: String| InvalidInput(format!("--data {arg}: {e}"));
    let mut bytes = vec![];
    let read = if arg == "-" {
        std::io::stdin().take(MAX_DATA_BYTES + 1).read_to_end(&mut bytes)
    } else if let Some(path) = arg.strip_prefix('@') {
        std::fs::File::open(path).and_then(|f| f.take(MAX_DATA_BYTES + 1).read_to_end(&mut bytes))
    } else {
        bytes.extend_from_slice(arg.as_bytes());
        Ok(bytes.len())
    };
    read.map_err(|e| bad(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_DATA_BYTES {
        return Err(bad(format!("more than {MAX_DATA_BYTES} bytes; encryptedData is base64 of a few hundred bytes")));
    }
    let text = String::from_utf8(bytes).map_err(|_| bad("not text: encryptedData is base64".into()))?;
    Ok(text.trim().to_string())
}

/// `wxflow decrypt`.
pub fn decrypt(args: DecryptArgs) -> Result<ExitCode, InvalidInput> {
    let data = read_data(&args.data)?;
    match wechat::decrypt(&args.session_key, &args.iv, &data, args.appid.as_deref()) {
        Ok(value) => {
            crate::outln!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error {} {}: {e}", e.code(), e.name());
            eprintln!("hint: {}", e.explanation());
            Ok(ExitCode::from(EXIT_FAILED))
        }
    }
}

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
    stop: CancellationToken,
) -> Result<(crate::serve::Running, crate::cores::Cores), InvalidInput> {
    let config = match (&tls.tls_cert, &tls.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::server_config(cert, key).map_err(InvalidInput)?),
        _ => None,
    };
    let cores = crate::cores::Cores::start(crate::cores::available())
        .map_err(|e| InvalidInput(format!("cannot start the runtimes: {e}")))?;
    let running = crate::serve::spawn_on_cores(router, addr, stop, crate::serve::Limits::default(), config, &cores)
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
    let (running, _cores) = serve(crate::mock::app(mock), &args.addr, &args.tls, stop.clone())?;
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
    let (running, _cores) = serve(crate::backend::app(config.clone()), &args.addr, &args.tls, stop.clone())?;
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

/// Loads and checks flows; prints every error. `Err` means exit 2.
pub fn load_flows(paths: &[std::path::PathBuf]) -> Result<Vec<crate::flow::Flow>, InvalidInput> {
    let files = crate::flow::discover(paths).map_err(InvalidInput)?;
    let (flows, errors) = crate::flow::load_all(&files);
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("{e}\n");
        }
        let n = errors.len();
        return Err(InvalidInput(format!("{n} error{} in flow files; nothing was run", if n == 1 { "" } else { "s" })));
    }
    Ok(flows)
}

/// `wxflow validate`: checks flows; exit 0 when all are valid, else 2.
pub fn validate(args: crate::cli::ValidateArgs) -> Result<ExitCode, InvalidInput> {
    let flows = load_flows(&crate::cli::flow_paths(&args.paths))?;
    for f in &flows {
        crate::outln!("ok  {}  {} steps  {}", f.file, f.steps.len(), f.name);
    }
    crate::outln!("{} flow{} valid", flows.len(), if flows.len() == 1 { "" } else { "s" });
    Ok(ExitCode::SUCCESS)
}

/// The published JSON Schemas.
pub const FLOW_SCHEMA: &str = include_str!("../schemas/flow.schema.json");
pub const REPORT_SCHEMA: &str = include_str!("../schemas/report.schema.json");
pub const MUTATE_SCHEMA: &str = include_str!("../schemas/mutate.schema.json");

/// `wxflow schema [flow|report]`.
pub fn schema(args: crate::cli::SchemaArgs) -> Result<ExitCode, InvalidInput> {
    crate::out!(
        "{}",
        match args.kind {
            crate::cli::SchemaKind::Flow => FLOW_SCHEMA,
            crate::cli::SchemaKind::Report => REPORT_SCHEMA,
            crate::cli::SchemaKind::Mutate => MUTATE_SCHEMA,
        }
    );
    Ok(ExitCode::SUCCESS)
}
