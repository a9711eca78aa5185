//! Binding and running the mock and the reference backend, for the CLI, the
//! embedded default target and the tests alike.

use crate::backend::{self, BackendConfig};
use crate::contract::{GroundTruth, Identity};
use crate::mock::{self, Mock, MockConfig};
use crate::tls::ClientTls;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
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
    /// Served over TLS.
    pub tls: bool,
}

impl Running {
    pub fn url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }
}

/// How much a server gives its clients.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A client must send a request's headers within this long, also on an
    /// idle keep-alive connection: idle connections are closed after it.
    pub header_read_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// A request's body must arrive whole within this long after its
    /// headers; a client that sends half a body and stops gets 408.
    pub body_read_timeout: Duration,
    /// Also answer `CONNECT api.weixin.qq.com:443` (an HTTPS proxy's
    /// request) and serve the TLS face through the tunnel.
    pub connect_proxy: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 4096,
            body_read_timeout: Duration::from_secs(10),
            connect_proxy: false,
        }
    }
}

/// The most of a body read in advance: past it the handler's own limit
/// (64 KiB on the mock and the backend) answers.
const BODY_READ_AHEAD: usize = 4 * 1024 * 1024;

/// Reads a request's body whole within `timeout` before the handler runs,
/// so no handler waits forever on a client that stopped sending.
async fn body_in_time(
    timeout: Duration,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, BODY_READ_AHEAD)).await {
        Ok(Ok(bytes)) => next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await,
        Ok(Err(_)) => (axum::http::StatusCode::PAYLOAD_TOO_LARGE, "the request body is too large").into_response(),
        Err(_) => (
            axum::http::StatusCode::REQUEST_TIMEOUT,
            format!("the request body did not arrive within {} s", timeout.as_secs_f64()),
        )
            .into_response(),
    }
}

impl Limits {
    /// For servers of this process in a run of `concurrency` virtual
    /// users: every user's kept-alive connection is served at once, so none
    /// waits in the listen backlog for a slot that never frees.
    pub fn for_run(concurrency: usize) -> Limits {
        let default = Limits::default();
        Limits { max_connections: default.max_connections.max(concurrency + crate::limits::POOLED_LEG), ..default }
    }
}

/// Binds `addr` and serves `router` over plain HTTP until `stop` is
/// cancelled, with the default [`Limits`].
pub async fn spawn(router: axum::Router, addr: &str, stop: CancellationToken) -> Result<Running, BindError> {
    spawn_with(router, addr, stop, Limits::default(), None).await
}

/// [`spawn`] with other limits, and over TLS when `tls` is given.
pub async fn spawn_with(
    router: axum::Router,
    addr: &str,
    stop: CancellationToken,
    limits: Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<Running, BindError> {
    let bind_err = |source| BindError { addr: addr.to_string(), source };
    let listener = TcpListener::bind(addr).await.map_err(bind_err)?;
    let local = listener.local_addr().map_err(bind_err)?;
    let running = Running { addr: local, tls: tls.is_some() };
    tokio::spawn(serve(listener, router, stop, limits, tls.map(tokio_rustls::TlsAcceptor::from)));
    Ok(running)
}

/// [`spawn_with`] on every core runtime: one listening socket, an accept
/// loop per core, each connection served on the core that accepted it.
pub fn spawn_on_cores(
    router: axum::Router,
    addr: &str,
    stop: CancellationToken,
    limits: Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
    cores: &crate::cores::Cores,
) -> Result<Running, BindError> {
    let bind_err = |source| BindError { addr: addr.to_string(), source };
    let listener = std::net::TcpListener::bind(addr).map_err(bind_err)?;
    listener.set_nonblocking(true).map_err(bind_err)?;
    let local = listener.local_addr().map_err(bind_err)?;
    let n = cores.handles().len().max(1);
    let per_core = Limits { max_connections: (limits.max_connections / n).max(1), ..limits };
    for runtime in cores.handles() {
        let (listener, router, stop) = (listener.try_clone().map_err(bind_err)?, router.clone(), stop.clone());
        let acceptor = tls.clone().map(tokio_rustls::TlsAcceptor::from);
        runtime.spawn(async move {
            if let Ok(listener) = TcpListener::from_std(listener) {
                serve(listener, router, stop, per_core, acceptor).await;
            }
        });
    }
    Ok(Running { addr: local, tls: tls.is_some() })
}

/// The connections open, each with the moment it began to wait for its
/// current request (its opening or its last answer), in ms since `base`.
struct Open {
    base: std::time::Instant,
    next: u64,
    conns: std::collections::HashMap<u64, (Arc<AtomicU64>, CancellationToken)>,
}

/// A connection waits this long for its request before a full house may
/// close it for a newcomer: a real client's request arrives in
/// milliseconds, so only stalled or dripping ones are old enough.
const EVICTABLE_AFTER: Duration = Duration::from_secs(1);

impl Open {
    fn now(&self) -> u64 {
        self.base.elapsed().as_millis() as u64
    }

    /// Closes the connection that has waited longest for its request, if
    /// it waited at least [`EVICTABLE_AFTER`].
    fn evict_longest_waiter(&self) {
        let now = self.now();
        let oldest = self.conns.values().min_by_key(|(since, _)| since.load(Ordering::Relaxed));
        if let Some((since, cancel)) = oldest
            && now.saturating_sub(since.load(Ordering::Relaxed)) >= EVICTABLE_AFTER.as_millis() as u64
        {
            cancel.cancel();
        }
    }
}

/// The accept loop: at most `max_connections` at once, each with the
/// header-read timeout; an accept error (out of file descriptors) waits and
/// retries rather than ending the server. When every slot is taken, the
/// connection that has waited longest for a request gives up its slot, so
/// clients that drip bytes cannot keep others out. On `stop`, running
/// connections finish their request and close.
async fn serve(
    listener: TcpListener,
    router: axum::Router,
    stop: CancellationToken,
    limits: Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let open = Arc::new(Mutex::new(Open {
        base: std::time::Instant::now(),
        next: 0,
        conns: std::collections::HashMap::default(),
    }));
    let timeout = limits.body_read_timeout;
    let router = router.layer(axum::middleware::from_fn(move |req, next| body_in_time(timeout, req, next)));
    // HTTP/1 only: version sniffing would wait for a first byte with no timeout.
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    loop {
        // A stopped server accepts nothing more, even a connection that
        // is already waiting in the backlog.
        let accepted = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // Out of descriptors: back off until some free up (idle
                // connections close after the header-read timeout).
                crate::limits::note_accept_error(&e);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            // Full: make room, as soon as someone has waited long enough.
            Err(_) => loop {
                lock(&open).evict_longest_waiter();
                tokio::select! {
                    biased;
                    () = stop.cancelled() => return,
                    slot = slots.clone().acquire_owned() => match slot { Ok(s) => break s, Err(_) => return },
                    () = tokio::time::sleep(EVICTABLE_AFTER / 4) => {}
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let (builder, stop, tls) = (builder.clone(), stop.clone(), tls.clone());
        let (id, since, evicted) = {
            let mut o = lock(&open);
            let (id, since, evicted) = (o.next, Arc::new(AtomicU64::new(o.now())), CancellationToken::new());
            o.next += 1;
            o.conns.insert(id, (since.clone(), evicted.clone()));
            (id, since, evicted)
        };
        let (router, open, base) = (router.clone(), open.clone(), lock(&open).base);
        let service = hyper::service::service_fn(move |req: axum::http::Request<hyper::body::Incoming>| {
            let (router, since) = (router.clone(), since.clone());
            async move {
                let answer = tower::ServiceExt::oneshot(router, req).await;
                since.store(base.elapsed().as_millis() as u64, Ordering::Relaxed);
                answer
            }
        });
        tokio::spawn(async move {
            // Leaves the table however the connection ends (a handler's panic too).
            let _listed = Listed { open, id, _slot: slot };
            tokio::select! {
                () = connection(tcp, builder, service, stop, tls, limits) => {}
                () = evicted.cancelled() => {}
            }
        });
    }
}

/// A connection's place in [`Open`] and its slot, given back when dropped.
struct Listed {
    open: Arc<Mutex<Open>>,
    id: u64,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for Listed {
    fn drop(&mut self) {
        lock(&self.open).conns.remove(&self.id);
    }
}

fn lock(open: &Mutex<Open>) -> std::sync::MutexGuard<'_, Open> {
    open.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Serves one accepted connection: a proxy's CONNECT, TLS, then HTTP.
async fn connection<S>(
    mut tcp: tokio::net::TcpStream,
    builder: auto::Builder<TokioExecutor>,
    service: S,
    stop: CancellationToken,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: Limits,
) where
    S: hyper::service::Service<
            axum::http::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Send
        + 'static,
    S::Future: Send + 'static,
{
    // hyper's header timeout starts with the first byte; a client that
    // connects and says nothing (or never finishes a TLS handshake) is
    // closed here.
    let mut first = [0u8; 1];
    if !matches!(tokio::time::timeout(limits.header_read_timeout, tcp.peek(&mut first)).await, Ok(Ok(1..))) {
        return;
    }
    // An HTTPS proxy's CONNECT, in clear: the tunnel then carries TLS.
    if limits.connect_proxy && first[0] == b'C' && tls.is_some() {
        let opened = tokio::time::timeout(limits.header_read_timeout, open_tunnel(&mut tcp)).await;
        if !matches!(opened, Ok(Ok(()))) {
            return;
        }
    }
    match tls {
        None => serve_connection(&builder, TokioIo::new(tcp), service, &stop).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(limits.header_read_timeout, acceptor.accept(tcp)).await;
            if let Ok(Ok(stream)) = handshake {
                serve_connection(&builder, TokioIo::new(stream), service, &stop).await;
            }
        }
    }
}

/// The hosts an HTTPS proxy's CONNECT may name: WeChat's API.
const CONNECT_HOSTS: &[&str] = &["api.weixin.qq.com:443"];

/// Reads a `CONNECT host:port` request (at most 8 KiB of head) and answers
/// 200 for WeChat's API host, 403 for any other (an error then).
async fn open_tunnel(tcp: &mut tokio::net::TcpStream) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = Vec::with_capacity(512);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= 8192 || tcp.read(&mut byte).await? == 0 {
            return Err(std::io::Error::other("no CONNECT request"));
        }
        head.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&head);
    let target = line.split_whitespace().nth(1).unwrap_or("").to_ascii_lowercase();
    if line.starts_with("CONNECT ") && CONNECT_HOSTS.contains(&target.as_str()) {
        tcp.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await
    } else {
        let body = format!("wxflow mock: CONNECT only to {}", CONNECT_HOSTS.join(", "));
        let answer =
            format!("HTTP/1.1 403 Forbidden\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
        tcp.write_all(answer.as_bytes()).await?;
        Err(std::io::Error::other("CONNECT to another host"))
    }
}

/// Serves one connection until it ends, or gracefully closes it on `stop`.
async fn serve_connection<I, S>(
    builder: &auto::Builder<TokioExecutor>,
    io: TokioIo<I>,
    service: S,
    stop: &CancellationToken,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<
            axum::http::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Send
        + 'static,
    S::Future: Send + 'static,
{
    let conn = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
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
    embedded_with_bug(config, None, stop).await
}

/// [`embedded`], the backend running with one known bug (`wxflow mutate`).
pub async fn embedded_with_bug(
    config: MockConfig,
    bug: Option<crate::backend::Bug>,
    stop: CancellationToken,
) -> Result<Embedded, BindError> {
    let app = config.apps.first().cloned().unwrap_or_else(mock::demo_app);
    let mock = Mock::new(config);
    let m = spawn(mock::app(mock.clone()), "127.0.0.1:0", stop.clone()).await?;
    let backend_config =
        BackendConfig { wechat_api: m.url(), appid: app.appid, secret: app.secret, tls: ClientTls::default(), bug };
    let b = spawn(backend::app(backend_config), "127.0.0.1:0", stop).await?;
    Ok(Embedded { mock, mock_url: m.url(), backend_url: b.url() })
}

/// Another mock server over `mock`'s state and a reference backend pointed
/// at it, on the current runtime: one pair per core in `wxflow run`, each
/// serving as many connections as `limits` says (the run's concurrency).
pub async fn pair(mock: Mock, stop: CancellationToken, limits: Limits) -> Result<(String, String), BindError> {
    let app = mock.state().apps.first().cloned().unwrap_or_else(mock::demo_app);
    let m = spawn_with(mock::app(mock), "127.0.0.1:0", stop.clone(), limits, None).await?;
    let config = BackendConfig {
        wechat_api: m.url(),
        appid: app.appid,
        secret: app.secret,
        tls: ClientTls::default(),
        bug: None,
    };
    let b = spawn_with(backend::app(config), "127.0.0.1:0", stop, limits, None).await?;
    Ok((m.url(), b.url()))
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
    /// The embedded mock, when neither a mock nor a target was given: more
    /// server pairs can share it ([`pair`]).
    pub embedded: Option<Mock>,
    /// What a given mock said it is before the run ([`check_mock`]).
    pub identity: Option<Identity>,
}

/// `--mock`/`--target` as given: both as is; a mock alone gets a reference
/// backend pointed at it; neither, the embedded pair seeded with `seed`.
/// A given mock must say it is one within `mock_wait` ([`check_mock`]).
/// Servers started here stop when `stop` is cancelled; the backend serves
/// as many connections as `limits` says.
pub async fn targets(
    mock: Option<&str>,
    target: Option<&str>,
    seed: u64,
    tls: &ClientTls,
    stop: CancellationToken,
    limits: Limits,
    mock_wait: Duration,
) -> Result<Targets, String> {
    let demo = mock::demo_app();
    let identity = match mock {
        Some(m) => Some(check_mock(m, tls, mock_wait).await?),
        None => None,
    };
    match (mock, target) {
        (Some(m), Some(t)) => Ok(Targets {
            mock_url: m.into(),
            target_url: t.into(),
            local: None,
            label: "given",
            appid: None,
            secrets: vec![demo.secret],
            embedded: None,
            identity,
        }),
        (None, Some(_)) => Err(
            "--target needs --mock: your backend must call a mock it knows; start `wxflow mock` and pass --mock http://127.0.0.1:9000".into(),
        ),
        (Some(m), None) => {
            // The reference backend knows the demo app's secret, not the
            // secrets the mock was started with: the flows log in to the demo
            // app (every wxflow mock serves it) so both sides use one app.
            if let Some(id) = &identity
                && !id.apps.contains(&demo.appid)
            {
                return Err(format!(
                    "the mock at {m} does not serve the demo app {} (it serves {}): the built-in reference backend can only log in to it; pass --target with your backend for those apps",
                    demo.appid,
                    id.apps.join(", ")
                ));
            }
            let config = BackendConfig {
                wechat_api: m.into(),
                appid: demo.appid.clone(),
                secret: demo.secret.clone(),
                tls: tls.clone(),
                bug: None,
            };
            let b = spawn_with(backend::app(config), "127.0.0.1:0", stop, limits, None)
                .await
                .map_err(|e| e.to_string())?;
            Ok(Targets {
                mock_url: m.into(),
                target_url: b.url(),
                local: None,
                label: "reference backend",
                appid: Some(demo.appid),
                secrets: vec![demo.secret],
                embedded: None,
                identity,
            })
        }
        (None, None) => {
            let config = MockConfig { seed, ..MockConfig::default() };
            let secrets = config.apps.iter().map(|a| a.secret.clone()).collect();
            let e = embedded(config, stop).await.map_err(|e| e.to_string())?;
            Ok(Targets {
                mock_url: e.mock_url,
                target_url: e.backend_url,
                local: Some(Arc::new(e.mock.clone())),
                label: "embedded mock + reference backend",
                appid: None,
                secrets,
                embedded: Some(e.mock),
                identity: None,
            })
        }
    }
}

/// Asks the mock at `mock_url` who it is before a run, waiting up to
/// `wait` for one that is still starting (nothing listening yet, or a 5xx
/// from a proxy in front of it). Nothing there, or something that is not a
/// wxflow mock: an error naming the URL and the way out.
pub async fn check_mock(mock_url: &str, tls: &ClientTls, wait: Duration) -> Result<Identity, String> {
    let ask = format!("{}{}/identity", mock_url.trim_end_matches('/'), crate::contract::CLIENT_PREFIX);
    let client = tls.apply(reqwest::Client::builder()).build().map_err(|e| crate::error_chain(&e))?;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let why = match client.get(&ask).timeout(Duration::from_secs(2)).send().await {
            Ok(resp) => {
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                match serde_json::from_str::<Identity>(&text) {
                    Ok(id) if status.is_success() && id.service == Identity::SERVICE => return Ok(id),
                    _ if status.is_server_error() => format!("GET {ask} answered HTTP {status}"),
                    _ => {
                        let line: String = text.lines().next().unwrap_or("").chars().take(120).collect();
                        return Err(format!(
                            "--mock {mock_url} is not a wxflow mock: GET {ask} answered HTTP {status}: {line:?}; point --mock at a running `wxflow mock` (is this the backend's address?)"
                        ));
                    }
                }
            }
            Err(e) => {
                let detail = crate::error_chain(&e);
                // Waiting does not mend a certificate.
                if let Some(problem) = crate::tls::certificate_problem(&detail, &crate::tls::host_of(mock_url)) {
                    return Err(format!("--mock {mock_url}: {problem}"));
                }
                detail
            }
        };
        if tokio::time::Instant::now() >= deadline {
            let addr = mock_url.split("://").nth(1).unwrap_or(mock_url).trim_end_matches('/');
            return Err(format!(
                "no wxflow mock answers at --mock {mock_url} (waited {wait:?}): {why}; start one with `wxflow mock --addr {addr}`, or wait longer for one that is starting with --mock-wait"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
