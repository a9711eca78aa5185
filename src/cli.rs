//! Command-line types (clap), and the value types its flags parse into, so
//! a bad flag is refused by clap with its name (exit 2) before anything runs.

use crate::contract::RotationPolicy;
use crate::flow::model::{Percentile, Threshold};
pub use crate::report::{ReportKind, ReportSpec};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// The most iterations in flight at once (`--concurrency`): beyond it a
/// 2-core machine only queues, and each worker costs memory.
pub const MAX_CONCURRENCY: u32 = 10_000;

#[derive(Debug, Parser)]
#[command(
    name = "wxflow",
    version,
    about = "Finds login bugs in WeChat Mini Programs before users do",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no command: the dashboard on these flows and targets (a headless run when not a terminal).
    #[command(flatten)]
    pub targets: Targets,
}

impl Cli {
    /// Parses an argument list (the first is the program name), as the
    /// binary does: for checking command lines kept elsewhere (manifests).
    pub fn try_parse_from_args(args: &[String]) -> Result<Cli, clap::Error> {
        <Cli as Parser>::try_parse_from(args)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run flows headless against the mock and a backend; exit 0 when every flow met its expectation.
    Run(RunArgs),
    /// Open the terminal dashboard over flows (headless `run` when not a terminal or in CI).
    Tui(TuiArgs),
    /// Check flow files without running them (exit 2 on errors).
    Validate(ValidateArgs),
    /// Print a JSON Schema: for flow files (default), the JSON report or the mutate report.
    Schema(SchemaArgs),
    /// Decrypt a Mini Program's encryptedData, as WeChat's official sample does.
    Decrypt(DecryptArgs),
    /// Run the mock WeChat service (server API + client side).
    Mock(MockArgs),
    /// Run the reference login backend.
    Backend(BackendArgs),
    /// Run flows against the reference backend, correct and with each known bug; list what each flow caught.
    Mutate(MutateArgs),
    /// Merge the JSON reports of the shards of one run (--shard) into one result.
    Merge(MergeArgs),
    /// Write starter flows (and their schema) into a folder, shaped to your backend's contract.
    Init(InitArgs),
    /// Read a Mini Program's source (JS/TS, WXML, Vue, Taro) and find its login bugs; exit 1 on an error-level finding.
    Lint(LintArgs),
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell.
    Completions(CompletionsArgs),
    /// Print the man page (roff) to standard output.
    Man,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write flows/ and schemas/.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Your backend's login path.
    #[arg(long, default_value = "/api/login")]
    pub login_path: String,
    /// Your backend's phone-number path.
    #[arg(long, default_value = "/api/phone")]
    pub phone_path: String,
    /// Your backend's name for a request field, FLOWS=YOURS, e.g. `encryptedData=encrypted_data` (code, encryptedData, iv, rawData, signature, phone_code; repeatable).
    #[arg(long = "field", value_name = "FLOWS=YOURS")]
    pub fields: Vec<String>,
    /// How your backend reads the login request's body: a JSON object, or a form (application/x-www-form-urlencoded, as PHP's $_POST wants).
    #[arg(long, value_enum, default_value_t = Body::Json)]
    pub body: Body,
    /// Your backend has no phone-number login: write no phone flows.
    #[arg(long, conflicts_with = "phone_path")]
    pub no_phone: bool,
    /// Where your login answer holds the token (JSONPath) [default: $.data.token, or what --probe found].
    #[arg(long, value_name = "JSONPATH")]
    pub token_path: Option<String>,
    /// What your backend answers to a login that works, e.g. `status=200,$.code=200`: an HTTP status and/or JSONPath=VALUE pairs.
    #[arg(long, value_name = "SPEC")]
    pub success: Option<String>,
    /// Where your backend's answers hold its own result code, e.g. `$.code` [default: the first JSONPath of --success].
    #[arg(long, value_name = "JSONPATH")]
    pub error_code: Option<String>,
    /// Learn the answer shape from your running backend (its base URL, or its login URL): one correct login and the same code again, through --mock.
    #[arg(long, value_name = "URL", value_parser = base_url)]
    pub probe: Option<String>,
    /// The mock WeChat service your backend calls, for --probe.
    #[arg(long, value_name = "URL", value_parser = base_url, default_value = "http://127.0.0.1:9000", requires = "probe")]
    pub mock: String,
    /// How long to wait for a --mock that is still starting.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = crate::flow::parse_duration, requires = "probe")]
    pub mock_wait: Duration,
    /// Trust this CA (PEM) for an https --probe and --mock (repeatable).
    #[arg(long = "ca-cert", value_name = "PEM", requires = "probe")]
    pub ca_certs: Vec<PathBuf>,
    /// Accept any TLS certificate while probing.
    #[arg(long, requires = "probe")]
    pub insecure: bool,
    /// Overwrite starter files that exist.
    #[arg(long)]
    pub force: bool,
}

/// A request body's encoding, for `init --body`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Body {
    Json,
    Form,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' JSON reports.
    #[arg(required = true, value_name = "REPORT")]
    pub inputs: Vec<PathBuf>,
    /// Write the merged report: json=PATH, junit=PATH or html=PATH (repeatable).
    #[arg(long = "report", value_name = "KIND=PATH")]
    pub reports: Vec<ReportSpec>,
    /// Fail when a flow's merged failure rate exceeds this (0..1).
    #[arg(long, value_parser = fraction)]
    pub max_failure_rate: Option<f64>,
    /// Fail when a merged latency percentile exceeds a limit: STEP:PCT=DUR.
    #[arg(long = "max-latency", value_name = "STEP:PCT=DUR")]
    pub max_latency: Vec<LatencyLimit>,
}

#[derive(Debug, Args)]
pub struct MutateArgs {
    /// Flow files or directories [default: ./flows].
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Seed for the mock.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the table as JSON: json=PATH.
    #[arg(long = "report", value_name = "json=PATH")]
    pub reports: Vec<ReportSpec>,
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
    pub rotation: RotationPolicy,
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
    /// Print one line per request to stderr: method, path and query (secrets masked), status, time.
    #[arg(long)]
    pub log: bool,
    /// Print secrets in full instead of masked.
    #[arg(long)]
    pub reveal_secrets: bool,
    /// Also answer HTTP CONNECT for api.weixin.qq.com:443 on this port with the TLS face (--tls-cert for that name): a backend with the host hard-coded needs only HTTPS_PROXY=http://ADDR and the CA.
    #[arg(long, requires = "tls_cert")]
    pub connect_proxy: bool,
    #[command(flatten)]
    pub tls: ServeTls,
}

#[derive(Debug, Args)]
pub struct BackendArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9100")]
    pub addr: String,
    /// Base URL of the WeChat API (the mock, or https://api.weixin.qq.com).
    #[arg(long, default_value = "http://127.0.0.1:9000", value_parser = base_url)]
    pub wechat_api: String,
    /// The Mini Program's appid (default: the mock's demo app).
    #[arg(long, requires = "secret")]
    pub appid: Option<String>,
    /// The Mini Program's secret.
    #[arg(long, requires = "appid")]
    pub secret: Option<String>,
    /// Trust this CA (PEM) for the WeChat API, besides the system's roots (repeatable).
    #[arg(long = "ca-cert", value_name = "PEM")]
    pub ca_certs: Vec<PathBuf>,
    #[command(flatten)]
    pub tls: ServeTls,
    /// Run with one known login bug, to see which flows catch it.
    #[arg(long, value_enum)]
    pub bug: Option<crate::backend::Bug>,
}

/// What to run and against what: shared by `run` and `tui`.
#[derive(Debug, Clone, Default, Args)]
pub struct Targets {
    /// Flow files or directories [default: ./flows].
    pub paths: Vec<PathBuf>,
    /// A running mock WeChat service (default: start one on a free loopback port).
    #[arg(long, value_name = "URL", value_parser = base_url)]
    pub mock: Option<String>,
    /// The backend under test (default: the built-in reference backend). Needs --mock.
    #[arg(long, value_name = "URL", value_parser = base_url)]
    pub target: Option<String>,
    /// How long to wait for a --mock that is still starting before refusing the run.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = crate::flow::parse_duration)]
    pub mock_wait: Duration,
    /// Seed for the mock's keys, ivs, codes and rotation draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Trust this CA (PEM) for https targets and mocks, besides the system's roots (repeatable).
    #[arg(long = "ca-cert", value_name = "PEM")]
    pub ca_certs: Vec<PathBuf>,
    /// Accept any TLS certificate: for a quick look only, never in CI (the output says so).
    #[arg(long)]
    pub insecure: bool,
    /// The Mini Program (the folder holding app.json) that page.open/page.tap steps run, for flows without `app:`.
    #[arg(long, value_name = "DIR")]
    pub app: Option<PathBuf>,
    #[command(flatten)]
    pub vars: VarArgs,
}

/// Variables from outside the flows: the flags beat `WXFLOW_VAR_<NAME>` /
/// `WXFLOW_SECRET_<NAME>` in the environment, which beat the files, which
/// beat a flow's own `vars:`.
#[derive(Debug, Clone, Default, Args)]
pub struct VarArgs {
    /// A variable for the flows' templates, NAME=VALUE (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// A secret variable, NAME=VALUE (repeatable): masked everywhere unless --reveal-secrets; prefer WXFLOW_SECRET_<NAME>, which `ps` does not show.
    #[arg(long = "secret", value_name = "NAME=VALUE")]
    pub secrets: Vec<String>,
    /// A YAML or JSON map of variables, types kept (repeatable; later files win).
    #[arg(long = "vars-file", value_name = "PATH")]
    pub files: Vec<PathBuf>,
}

impl VarArgs {
    /// The variables given: flags, environment, files.
    /// Parsed here, not by clap, whose error would echo a secret's value.
    pub fn gather(&self) -> Result<crate::flow::vars::Outside, crate::exit::InvalidInput> {
        use crate::flow::vars::{Outside, parse_pair};
        let pairs = |flag: &str, given: &[String]| {
            given
                .iter()
                .map(|g| parse_pair(g).map_err(|e| crate::exit::InvalidInput(format!("{flag}: {e}"))))
                .collect::<Result<Vec<_>, _>>()
        };
        let (vars, secrets) = (pairs("--var", &self.vars)?, pairs("--secret", &self.secrets)?);
        Outside::gather(&vars, &secrets, &self.files, std::env::vars()).map_err(crate::exit::InvalidInput)
    }
}

/// Serving over TLS: a certificate chain and its key, both PEM.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeTls {
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
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
    pub rotation: Option<RotationPolicy>,
    /// Write a report: json=PATH, junit=PATH or html=PATH (repeatable).
    #[arg(long = "report", value_name = "KIND=PATH")]
    pub reports: Vec<ReportSpec>,
    /// Show secrets (session_key, appsecret, tokens) in output and reports.
    #[arg(long)]
    pub reveal_secrets: bool,
    /// Iterations per flow.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub repeat: Option<u64>,
    /// Iterations in flight at once, at most 10000 (with --rate: at most) [default: 1, with --rate 256].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CONCURRENCY)))]
    pub concurrency: Option<u32>,
    /// Run each flow for this long, e.g. 30s (at most 30 days).
    #[arg(long, value_parser = run_duration)]
    pub duration: Option<Duration>,
    /// Open model: start this many iterations per second, however fast they finish.
    #[arg(long, value_parser = rate)]
    pub rate: Option<f64>,
    /// Runner threads, each with its own runtime, connections and (embedded) mock and backend, at most 16 [default: one per core; half the cores when --mock or --target is on this machine].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub threads: Option<u16>,
    /// Draw iterations from a pool of this many users (so one user can log in twice at once).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub users: Option<u64>,
    /// Run one shard of the plan: the iterations i ≡ INDEX (mod COUNT), INDEX from 0 (Kubernetes: $(JOB_COMPLETION_INDEX)/N).
    #[arg(long, value_name = "INDEX/COUNT", env = "WXFLOW_SHARD", conflicts_with = "replay")]
    pub shard: Option<crate::stats::Shard>,
    /// Re-run exactly iteration I of seed S, alone, in full detail: S:I.
    #[arg(long, value_name = "S:I", conflicts_with_all = ["repeat", "concurrency", "duration", "rate", "until_fail"])]
    pub replay: Option<Replay>,
    /// Stop a flow at its first failed iteration and print how to reproduce it.
    #[arg(long)]
    pub until_fail: bool,
    /// Fail the run when a flow's failure rate exceeds this (0..1).
    #[arg(long, value_parser = fraction)]
    pub max_failure_rate: Option<f64>,
    /// Fail the run when a latency percentile exceeds a limit: STEP:PCT=DUR, e.g. server:p99=500ms or total:p99=1s.
    #[arg(long = "max-latency", value_name = "STEP:PCT=DUR")]
    pub max_latency: Vec<LatencyLimit>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Flow files or directories [default: ./flows].
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub vars: VarArgs,
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
    /// The `wxflow mutate` report.
    Mutate,
    /// The `wxflow lint --format json` report.
    Lint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    /// rustc-style: the source lines with markers.
    Human,
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintDeny {
    /// Warnings count as errors for the exit code.
    Warnings,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Mini Program source folders or files [default: this folder].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Human)]
    pub format: LintFormat,
    /// Exit 1 on warnings too.
    #[arg(long, value_enum)]
    pub deny: Option<LintDeny>,
    /// Write, per stale-open-data finding, a flow that replays the order found.
    #[arg(long, value_name = "DIR")]
    pub emit_flows: Option<PathBuf>,
    /// With --emit-flows: overwrite flows of the same name (a symlink is never written through).
    #[arg(long, requires = "emit_flows")]
    pub force: bool,
    /// Run each finding that starts in a page's handler (the app's own code, a key that rotates) and mark it confirmed or not.
    #[arg(long)]
    pub prove: bool,
    /// Explain a rule (what it flags, why, code it flags and the same code fixed) and exit; lints nothing.
    #[arg(long, value_name = "RULE")]
    pub explain: Option<String>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct TuiArgs {
    #[command(flatten)]
    pub targets: Targets,
}

/// `--replay SEED:ITERATION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replay {
    pub seed: u64,
    pub iteration: u64,
}

impl FromStr for Replay {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.split_once(':')
            .and_then(|(seed, i)| Some(Replay { seed: seed.parse().ok()?, iteration: i.parse().ok()? }))
            .ok_or_else(|| "expected SEED:ITERATION, e.g. 7:1234".into())
    }
}

/// `--max-latency STEP:PERCENTILE=DURATION` (`total` for the whole flow).
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyLimit(pub Threshold);

impl FromStr for LatencyLimit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || "expected STEP:PERCENTILE=DURATION, e.g. server:p99=500ms".to_string();
        let (step, rest) = s.split_once(':').ok_or_else(bad)?;
        let (pct, dur) = rest.split_once('=').ok_or_else(bad)?;
        if step.is_empty() {
            return Err(bad());
        }
        let percentile: Percentile = pct.parse()?;
        let limit = crate::flow::parse_duration(dur)?;
        let step = (step != "total").then(|| step.to_string());
        Ok(LatencyLimit(Threshold::Latency { step, percentile, limit_ms: limit.as_secs_f64() * 1e3 }))
    }
}

/// A run's `--duration`: more than zero.
fn run_duration(s: &str) -> Result<Duration, String> {
    let d = crate::flow::parse_duration(s)?;
    if d.is_zero() {
        return Err("a run of 0s runs nothing: give a duration above zero".into());
    }
    Ok(d)
}

/// `--rate`: iterations per second, from one every 1,000 s to a million.
fn rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.001..=1_000_000.0).contains(&r) => Ok(r),
        _ => Err("must be iterations per second from 0.001 (one every 1,000 s) to 1000000".into()),
    }
}

fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err("expected a fraction from 0 to 1, e.g. 0.01".into()),
    }
}

/// An http(s) base URL with a host and a valid port, without a trailing `/`.
pub fn base_url(s: &str) -> Result<String, String> {
    // `localhost:9000` parses as a URL of scheme `localhost`: say what was meant.
    if !s.contains("://")
        && s.split_once(':').is_some_and(|(_, port)| port.chars().all(|c| c.is_ascii_digit()) && !port.is_empty())
    {
        return Err(format!("not a URL: `{s}` has no scheme; did you mean http://{s}?"));
    }
    let url = reqwest::Url::parse(s).map_err(|e| format!("not a URL ({e}); expected e.g. http://127.0.0.1:9000"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{}` is not http or https", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("a base URL takes no query or fragment".into());
    }
    Ok(s.trim_end_matches('/').to_string())
}
