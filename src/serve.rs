//! Binding and running the mock and the reference backend, for the CLI, the
//! embedded default target and the tests alike.

use crate::backend::{self, BackendConfig};
use crate::mock::{self, Mock, MockConfig};
use std::net::SocketAddr;
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
    /// The mock, when it runs in this process (ground truth is read directly).
    pub local: Option<Mock>,
    /// How they were set up, for the header line.
    pub label: &'static str,
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
    match (mock, target) {
        (Some(m), Some(t)) => Ok(Targets { mock_url: m.into(), target_url: t.into(), local: None, label: "given" }),
        (None, Some(_)) => Err(
            "--target needs --mock: your backend must call a mock it knows; start `wxflow mock` and pass --mock http://127.0.0.1:9000".into(),
        ),
        (Some(m), None) => {
            let app = mock::demo_app();
            let config = BackendConfig { wechat_api: m.into(), appid: app.appid, secret: app.secret };
            let b = spawn(backend::app(config), "127.0.0.1:0", stop).await.map_err(|e| e.to_string())?;
            Ok(Targets { mock_url: m.into(), target_url: b.url(), local: None, label: "reference backend" })
        }
        (None, None) => {
            let e = embedded(MockConfig { seed, ..MockConfig::default() }, stop).await.map_err(|e| e.to_string())?;
            Ok(Targets {
                mock_url: e.mock_url,
                target_url: e.backend_url,
                local: Some(e.mock),
                label: "embedded mock + reference backend",
            })
        }
    }
}
