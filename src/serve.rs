//! Binding and running the mock and the reference backend, for the CLI, the
//! embedded default target and the tests alike.

use crate::backend::{self, BackendConfig};
use crate::contract::GroundTruth;
use crate::mock::{self, Mock, MockConfig};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}")]
pub struct BindError {
    pub addr: String,
    #[source]
    pub source: std::io::Error,
}

/// A running server: its address; it stops when `stop` is cancelled.
#[derive(Debug, Clone)]
pub struct Running {
    pub addr: SocketAddr,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Binds `addr` and serves `router` until `stop` is cancelled.
pub async fn spawn(router: axum::Router, addr: &str, stop: CancellationToken) -> Result<Running, BindError> {
    let bind_err = |source| BindError { addr: addr.to_string(), source };
    let listener = TcpListener::bind(addr).await.map_err(bind_err)?;
    let local = listener.local_addr().map_err(bind_err)?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).with_graceful_shutdown(stop.cancelled_owned()).await;
    });
    Ok(Running { addr: local })
}

/// The mock and the reference backend together, as `wxflow run` embeds them.
pub struct Embedded {
    pub mock: Mock,
    pub mock_url: String,
    pub backend_url: String,
}

/// Starts the mock and a reference backend pointed at it, both on ephemeral
/// loopback ports.
pub async fn embedded(config: MockConfig, stop: CancellationToken) -> Result<Embedded, BindError> {
    let app = config.apps.first().cloned().unwrap_or_else(mock::demo_app);
    let mock = Mock::new(config);
    let m = spawn(mock::app(mock.clone()), "127.0.0.1:0", stop.clone()).await?;
    let backend_config = BackendConfig { wechat_api: m.url(), appid: app.appid, secret: app.secret };
    let b = spawn(backend::app(backend_config), "127.0.0.1:0", stop).await?;
    Ok(Embedded { mock, mock_url: m.url(), backend_url: b.url() })
}

/// The mock and the target a run talks to, started here when not given.
pub struct Targets {
    pub mock_url: String,
    pub target_url: String,
    /// The mock, when it runs in this process: ground truth is read from it
    /// directly, and it can be replaced by a fresh one for replays.
    pub local: Option<Arc<dyn GroundTruth>>,
    /// How they were set up, for the header line.
    pub label: &'static str,
    /// The app the flows log in to, when it must be named (the mock's first
    /// app otherwise).
    pub appid: Option<String>,
    /// Secrets the runner knows, masked by value in everything it prints.
    pub secrets: Vec<String>,
}

/// `--mock`/`--target` as given: both as is; a mock alone gets a reference
/// backend pointed at it; neither, the embedded pair seeded with `seed`.
/// Servers started here stop when `stop` is cancelled.
pub async fn targets(
    mock: Option<&str>,
    target: Option<&str>,
    seed: u64,
    stop: CancellationToken,
) -> Result<Targets, String> {
    let demo = mock::demo_app();
    match (mock, target) {
        (Some(m), Some(t)) => Ok(Targets {
            mock_url: m.into(),
            target_url: t.into(),
            local: None,
            label: "given",
            appid: None,
            secrets: vec![demo.secret],
        }),
        (None, Some(_)) => Err(
            "--target needs --mock: your backend must call a mock it knows; start `wxflow mock` and pass --mock http://127.0.0.1:9000".into(),
        ),
        (Some(m), None) => {
            // The reference backend knows the demo app's secret, not the
            // secrets the mock was started with: the flows log in to the demo
            // app (every wxflow mock serves it) so both sides use one app.
            if let Some(apps) = mock_apps(m).await
                && !apps.contains(&demo.appid)
            {
                return Err(format!(
                    "the mock at {m} does not serve the demo app {} (it serves {}): the built-in reference backend can only log in to it; pass --target with your backend for those apps",
                    demo.appid,
                    apps.join(", ")
                ));
            }
            let config = BackendConfig { wechat_api: m.into(), appid: demo.appid.clone(), secret: demo.secret.clone() };
            let b = spawn(backend::app(config), "127.0.0.1:0", stop).await.map_err(|e| e.to_string())?;
            Ok(Targets {
                mock_url: m.into(),
                target_url: b.url(),
                local: None,
                label: "reference backend",
                appid: Some(demo.appid),
                secrets: vec![demo.secret],
            })
        }
        (None, None) => {
            let config = MockConfig { seed, ..MockConfig::default() };
            let secrets = config.apps.iter().map(|a| a.secret.clone()).collect();
            let e = embedded(config, stop).await.map_err(|e| e.to_string())?;
            Ok(Targets {
                mock_url: e.mock_url,
                target_url: e.backend_url,
                local: Some(Arc::new(e.mock)),
                label: "embedded mock + reference backend",
                appid: None,
                secrets,
            })
        }
    }
}

/// The appids a running mock serves, if it answers.
async fn mock_apps(mock_url: &str) -> Option<Vec<String>> {
    let url = format!("{}{}/config", mock_url.trim_end_matches('/'), crate::contract::CLIENT_PREFIX);
    let resp = reqwest::Client::new().get(url).timeout(std::time::Duration::from_secs(5)).send().await.ok()?;
    let config: serde_json::Value = resp.json().await.ok()?;
    config["apps"].as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
}
