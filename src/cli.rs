//! Command-line types (clap). No logic here.

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "wxflow", version, about = "Finds login bugs in WeChat Mini Programs before users do")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
