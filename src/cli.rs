//! Command-line types (clap). No logic here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "wxflow", version, about = "Finds login bugs in WeChat Mini Programs before users do")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run flows headless against the mock and a backend; exit 0 when every flow met its expectation.
    Run(RunArgs),
    /// Open the terminal dashboard over flows (headless `run` when not a terminal or in CI).
    Tui(TuiArgs),
    /// Check flow files without running them (exit 2 on errors).
    Validate(ValidateArgs),
    /// Print a JSON Schema: for flow files (default) or the JSON report.
    Schema(SchemaArgs),
    /// Decrypt a Mini Program's encryptedData, as WeChat's official sample does.
    Decrypt(DecryptArgs),
    /// Run the mock WeChat service (server API + client side).
    Mock(MockArgs),
    /// Run the reference login backend.
    Backend(BackendArgs),
}

#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// session_key from jscode2session (base64, 24 characters).
    #[arg(long)]
    pub session_key: String,
    /// iv from getUserInfo (base64, 24 characters).
    #[arg(long)]
    pub iv: String,
    /// encryptedData (base64); `-` reads standard input, `@FILE` a file.
    #[arg(long)]
    pub data: String,
    /// Check that watermark.appid is this appid.
    #[arg(long)]
    pub appid: Option<String>,
}

#[derive(Debug, Args)]
pub struct MockArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    pub addr: String,
    /// Seed for keys, ivs, codes and rotation draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// session_key rotation on wx.login: never, always, a probability (0.3) or every:N.
    #[arg(long, default_value = "never")]
    pub rotation: String,
    /// Minimum seconds between two refreshes of one user's key.
    #[arg(long)]
    pub rotation_min_period: Option<f64>,
    /// Session lifetime in seconds: after it, checkSession fails and the next login refreshes.
    #[arg(long)]
    pub session_ttl: Option<f64>,
    /// Fault on a server endpoint, e.g. `jscode2session:errcode=-1,rate=0.1,latency_ms=50,jitter_ms=20` (repeatable).
    #[arg(long = "fault")]
    pub faults: Vec<String>,
    /// Register this app (besides the demo app); requires --secret.
    #[arg(long, requires = "secret")]
    pub appid: Option<String>,
    /// The app's secret.
    #[arg(long, requires = "appid")]
    pub secret: Option<String>,
    /// Print secrets in full instead of masked.
    #[arg(long)]
    pub reveal_secrets: bool,
}

#[derive(Debug, Args)]
pub struct BackendArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9100")]
    pub addr: String,
    /// Base URL of the WeChat API (the mock, or https://api.weixin.qq.com).
    #[arg(long, default_value = "http://127.0.0.1:9000")]
    pub wechat_api: String,
    /// The Mini Program's appid (default: the mock's demo app).
    #[arg(long, requires = "secret")]
    pub appid: Option<String>,
    /// The Mini Program's secret.
    #[arg(long, requires = "appid")]
    pub secret: Option<String>,
}

/// What to run and against what: shared by `run` and `tui`.
#[derive(Debug, Clone, Default, Args)]
pub struct Targets {
    /// Flow files or directories [default: ./flows].
    pub paths: Vec<PathBuf>,
    /// A running mock WeChat service (default: start one on a free loopback port).
    #[arg(long, value_name = "URL")]
    pub mock: Option<String>,
    /// The backend under test (default: the built-in reference backend). Needs --mock.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Seed for the mock's keys, ivs, codes and rotation draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// The flow paths given, or `./flows`.
pub fn flow_paths(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() { vec![PathBuf::from("flows")] } else { paths.to_vec() }
}

#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub targets: Targets,
    /// Override every flow's rotation policy: never, always, 0.3, every:N.
    #[arg(long)]
    pub rotation: Option<String>,
    /// Write a report: json=PATH or junit=PATH (repeatable).
    #[arg(long = "report", value_name = "KIND=PATH")]
    pub reports: Vec<String>,
    /// Show secrets (session_key, appsecret, tokens) in output and reports.
    #[arg(long)]
    pub reveal_secrets: bool,
    /// Iterations per flow.
    #[arg(long)]
    pub repeat: Option<u64>,
    /// Iterations in flight at once (with --rate: at most) [default: 1, with --rate 256].
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Run each flow for this long, e.g. 30s.
    #[arg(long)]
    pub duration: Option<String>,
    /// Open model: start this many iterations per second, however fast they finish.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Draw iterations from a pool of this many users (so one user can log in twice at once).
    #[arg(long)]
    pub users: Option<u64>,
    /// Re-run exactly iteration I of seed S, alone, in full detail: S:I.
    #[arg(long, value_name = "S:I")]
    pub replay: Option<String>,
    /// Stop a flow at its first failed iteration and print how to reproduce it.
    #[arg(long)]
    pub until_fail: bool,
    /// Fail the run when a flow's failure rate exceeds this (0..1).
    #[arg(long)]
    pub max_failure_rate: Option<f64>,
    /// Fail the run when a latency percentile exceeds a limit: STEP:PCT=DUR, e.g. server:p99=500ms or total:p99=1s.
    #[arg(long = "max-latency", value_name = "STEP:PCT=DUR")]
    pub max_latency: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Flow files or directories [default: ./flows].
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema.
    #[arg(value_enum, default_value_t = SchemaKind::Flow)]
    pub kind: SchemaKind,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    Flow,
    Report,
}

#[derive(Debug, Clone, Default, Args)]
pub struct TuiArgs {
    #[command(flatten)]
    pub targets: Targets,
}
