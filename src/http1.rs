//! A client for a fixed HTTP API at one base URL: the runner's for the mock
//! (wx steps, ground truth) and the reference backend's for WeChat's API.
//! To a plain-http base: hyper's HTTP/1.1 connections, kept alive per
//! client (one client per core). reqwest's per-request work (URL parsing,
//! redirect and retry layers, a pool shared across threads) cost about a
//! tenth of the runner's CPU and a sixth of the backend's, and none of it
//! serves a fixed API. An https base, or a proxy in the environment, goes
//! through reqwest. [`Pool`] also carries http steps to plain-http targets
//! (`engine/send.rs`).

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, header::HeaderValue};
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The most bytes of an answer read.
const MAX_ANSWER: usize = 1024 * 1024;

/// A connection idle longer is not used again: shorter than servers' own
/// keep-alive timeouts (Node's 5 s, wxflow's 10 s), so a request never goes
/// out on a connection the server is closing.
const MAX_IDLE: Duration = Duration::from_secs(4);

/// At most this many idle connections are kept per pool (after a burst,
/// the rest are closed), as reqwest was set to keep.
const IDLE_CONNECTIONS: usize = 256;

/// Why a call got no answer.
#[derive(Debug)]
pub enum CallError {
    /// None within the call's timeout.
    Timeout(Duration),
    /// No connection: refused, unreachable, or the name does not resolve.
    Connect(String),
    /// The transport's words, and the certificate problem if that was it.
    /// Never the URL: its query may hold a secret.
    Failed { detail: String, certificate: Option<String> },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Timeout(t) => write!(f, "no answer within {}s", t.as_secs_f64()),
            CallError::Failed { detail, certificate: Some(problem) } => write!(f, "{problem} ({detail})"),
            CallError::Connect(detail) | CallError::Failed { detail, certificate: None } => f.write_str(detail),
        }
    }
}

fn failed(detail: String) -> CallError {
    CallError::Failed { detail, certificate: None }
}

/// A client for the API at one base URL.
pub struct ApiClient {
    way: Way,
    /// Calls in flight at most, when pooled: so many connections at most.
    slots: Option<tokio::sync::Semaphore>,
}

/// How calls reach the API.
enum Way {
    Own(Pool),
    Reqwest { http: reqwest::Client, base: String },
}

impl ApiClient {
    /// Own connections to a plain-http API at `base`, else `http`.
    pub fn new(http: reqwest::Client, base: &str) -> ApiClient {
        let base = base.trim_end_matches('/');
        let way = Pool::for_base(base).map_or_else(|| Way::Reqwest { http, base: base.into() }, Way::Own);
        ApiClient { way, slots: None }
    }

    /// At most `calls` in flight (and so connections open); more wait
    /// their turn. For the legs that are the tester's own, which must not
    /// grow with the load.
    #[must_use]
    pub fn pooled(self, calls: usize) -> ApiClient {
        ApiClient { slots: Some(tokio::sync::Semaphore::new(calls)), ..self }
    }

    /// Sends `method` to `path` (with its query), with a JSON `body` if
    /// any; the status and body of the answer.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
        timeout: Duration,
    ) -> Result<(u16, Bytes), CallError> {
        // The semaphore is never closed: a permit always comes.
        let _slot = match &self.slots {
            Some(slots) => slots.acquire().await.ok(),
            None => None,
        };
        match &self.way {
            Way::Own(pool) => match tokio::time::timeout(timeout, pool.exchange(method, path, body)).await {
                Ok(answer) => answer,
                Err(_) => Err(CallError::Timeout(timeout)),
            },
            Way::Reqwest { http, base } => {
                let url = format!("{base}{path}");
                let mut request = http.request(method, &url).timeout(timeout);
                if let Some(body) = body {
                    request = request.header("content-type", "application/json").body(body);
                }
                let failed = |e: reqwest::Error| {
                    if e.is_timeout() {
                        return CallError::Timeout(timeout);
                    }
                    let connect = e.is_connect();
                    let detail = crate::error_chain(&e.without_url());
                    let certificate = crate::tls::certificate_problem(&detail, &crate::tls::host_of(&url));
                    if connect && certificate.is_none() {
                        return CallError::Connect(detail);
                    }
                    CallError::Failed { detail, certificate }
                };
                let resp = request.send().await.map_err(failed)?;
                let status = resp.status().as_u16();
                Ok((status, resp.bytes().await.map_err(failed)?))
            }
        }
    }

    /// POSTs a JSON `body` to `path`; the status and body of the answer, or
    /// why none came.
    pub async fn post_json(&self, path: &str, body: String, timeout: Duration) -> Result<(u16, Bytes), String> {
        self.call(Method::POST, path, Some(body), timeout).await.map_err(|e| e.to_string())
    }
}

/// A kept-alive HTTP/1.1 connection.
pub type Conn = SendRequest<Full<Bytes>>;

/// Keep-alive connections to one `http://host:port`.
pub struct Pool {
    /// Where connections go: `host:port`.
    authority: String,
    /// The Host header, as hyper's client writes it: the port only if not 80.
    pub host: HeaderValue,
    /// The base URL's path, before every request's.
    prefix: String,
    /// Idle connections and since when, oldest first.
    idle: Mutex<VecDeque<(Conn, Instant)>>,
}

/// Whether the environment names a proxy for plain http (reqwest's
/// variables): requests then go through reqwest, which uses it.
fn proxied() -> bool {
    static PROXIED: OnceLock<bool> = OnceLock::new();
    *PROXIED.get_or_init(|| {
        ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
            .iter()
            .any(|v| std::env::var(v).is_ok_and(|p| !p.is_empty()))
    })
}

impl Pool {
    /// A pool for `url`'s origin (its path is the prefix of every request),
    /// if it is plain http and no proxy is set for it in the environment.
    pub fn for_url(url: &reqwest::Url) -> Option<Pool> {
        if url.scheme() != "http" || proxied() {
            return None;
        }
        let host = url.host_str()?;
        let authority = format!("{host}:{}", url.port_or_known_default()?);
        let host = match url.port() {
            Some(port) => HeaderValue::from_str(&format!("{host}:{port}")),
            None => HeaderValue::from_str(host),
        };
        let prefix = url.path().trim_end_matches('/').to_string();
        Some(Pool { authority, host: host.ok()?, prefix, idle: Mutex::default() })
    }

    fn for_base(base: &str) -> Option<Pool> {
        Pool::for_url(&reqwest::Url::parse(base).ok()?)
    }

    /// Sends `request` on a kept-alive connection, or once more on a new
    /// one if the server closed that one before the request went out (its
    /// idle timeout), as hyper's pooling client does. The answer's head, and
    /// the connection to [`keep`](Pool::keep) once its body is read.
    pub async fn send(
        &self,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<(hyper::Response<Incoming>, Conn), CallError> {
        let (mut conn, reused) = self.connection().await?;
        let answer = match conn.try_send_request(request).await {
            Err(mut e) if reused => match e.take_message() {
                Some(request) => {
                    conn = self.connect().await?;
                    conn.send_request(request).await
                }
                None => Err(e.into_error()),
            },
            answer => answer.map_err(hyper::client::conn::TrySendError::into_error),
        };
        Ok((answer.map_err(|e| failed(crate::error_chain(&e)))?, conn))
    }

    /// Gives a connection back for the next request, unless it closed;
    /// closes those idle past `MAX_IDLE`, or past `IDLE_CONNECTIONS` of them.
    pub fn keep(&self, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while idle.front().is_some_and(|(_, since)| since.elapsed() > MAX_IDLE) {
            idle.pop_front();
        }
        if !conn.is_closed() && idle.len() < IDLE_CONNECTIONS {
            idle.push_back((conn, Instant::now()));
        }
    }

    async fn exchange(&self, method: Method, path: &str, body: Option<String>) -> Result<(u16, Bytes), CallError> {
        let json = body.is_some();
        let body = Bytes::from(body.unwrap_or_default());
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.prefix))
            .header(hyper::header::HOST, &self.host);
        if json {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let (resp, conn) = self.send(request.body(Full::new(body)).map_err(|e| failed(e.to_string()))?).await?;
        let status = resp.status().as_u16();
        let bytes = Limited::new(resp.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| failed(format!("the answer broke off: {e}")))?
            .to_bytes();
        self.keep(conn);
        Ok((status, bytes))
    }

    /// An idle connection that is ready (and `true`), or a new one.
    async fn connection(&self) -> Result<(Conn, bool), CallError> {
        loop {
            let Some(mut conn) = self.newest_idle() else { break };
            if conn.ready().await.is_ok() {
                return Ok((conn, true));
            }
        }
        Ok((self.connect().await?, false))
    }

    /// The connection idle the shortest time, unless it is past [`MAX_IDLE`]
    /// (then so are the rest: all are closed).
    fn newest_idle(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (conn, since) = idle.pop_back()?;
        if since.elapsed() > MAX_IDLE {
            idle.clear();
            return None;
        }
        Some(conn)
    }

    async fn connect(&self) -> Result<Conn, CallError> {
        let tcp = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| CallError::Connect(format!("cannot connect to {}: {e}", self.authority)))?;
        let _ = tcp.set_nodelay(true);
        let (conn, task) = http1::handshake(TokioIo::new(tcp)).await.map_err(|e| failed(crate::error_chain(&e)))?;
        tokio::spawn(task);
        Ok(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A server answering `POST {prefix}/echo` with the body it got.
    async fn echo(prefix: &str) -> (String, tokio_util::sync::CancellationToken) {
        let stop = tokio_util::sync::CancellationToken::new();
        let router = axum::Router::new().route(&format!("{prefix}/echo"), post(|body: String| async move { body }));
        let running = crate::serve::spawn(router, "127.0.0.1:0", stop.clone()).await.unwrap();
        (running.url(), stop)
    }

    #[tokio::test]
    async fn a_plain_http_mock_behind_a_path_is_reached_on_kept_alive_connections() {
        let (url, stop) = echo("/wx/mock").await;
        let client = ApiClient::new(reqwest::Client::new(), &format!("{url}/wx/mock/"));
        let Way::Own(pool) = &client.way else { panic!("plain http gets its own connections") };
        for i in 0..3 {
            let (status, body) =
                client.post_json("/echo", format!("{{\"n\":{i}}}"), Duration::from_secs(5)).await.unwrap();
            assert_eq!((status, body.as_ref()), (200, format!("{{\"n\":{i}}}").as_bytes()));
        }
        assert_eq!(pool.idle.lock().unwrap().len(), 1, "one connection, kept alive");
        stop.cancel();
    }

    /// A keep-alive server answering `ok`, and how many connections it took.
    async fn counting() -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::Relaxed);
                let ok = hyper::service::service_fn(|_| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from("ok"))))
                });
                tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), ok));
            }
        });
        (url, accepted)
    }

    #[tokio::test]
    async fn a_connection_idle_too_long_is_not_used_again() {
        let (url, accepted) = counting().await;
        let client = ApiClient::new(reqwest::Client::new(), &url);
        let Way::Own(pool) = &client.way else { panic!("plain http gets its own connections") };
        let call = || client.call(Method::GET, "/", None, Duration::from_secs(5));
        call().await.unwrap();
        call().await.unwrap();
        assert_eq!(accepted.load(Ordering::Relaxed), 1, "kept alive");
        pool.idle.lock().unwrap()[0].1 -= MAX_IDLE + Duration::from_millis(1);
        assert_eq!(call().await.unwrap(), (200, Bytes::from("ok")));
        assert_eq!(accepted.load(Ordering::Relaxed), 2, "a new one after MAX_IDLE");
        assert_eq!(pool.idle.lock().unwrap().len(), 1, "the old one closed");
    }

    #[tokio::test]
    async fn after_a_burst_at_most_idle_connections_are_kept() {
        let (url, accepted) = counting().await;
        let client = ApiClient::new(reqwest::Client::new(), &url);
        let Way::Own(pool) = &client.way else { panic!("plain http gets its own connections") };
        let burst = (0..IDLE_CONNECTIONS + 20).map(|_| client.call(Method::GET, "/", None, Duration::from_secs(5)));
        for answer in futures::future::join_all(burst).await {
            assert_eq!(answer.unwrap().0, 200);
        }
        assert!(accepted.load(Ordering::Relaxed) > IDLE_CONNECTIONS, "the burst opened more");
        assert_eq!(pool.idle.lock().unwrap().len(), IDLE_CONNECTIONS);
    }

    #[tokio::test]
    async fn a_pooled_client_opens_no_more_connections_than_its_slots() {
        let (url, accepted) = counting().await;
        let client = ApiClient::new(reqwest::Client::new(), &url).pooled(8);
        let burst = (0..200).map(|_| client.call(Method::GET, "/", None, Duration::from_secs(5)));
        for answer in futures::future::join_all(burst).await {
            assert_eq!(answer.unwrap().0, 200);
        }
        assert!(accepted.load(Ordering::Relaxed) <= 8, "{} connections", accepted.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn https_and_dead_mocks() {
        let https = ApiClient::new(reqwest::Client::new(), "https://127.0.0.1:9");
        assert!(matches!(https.way, Way::Reqwest { .. }), "https goes through reqwest");
        let dead = ApiClient::new(reqwest::Client::new(), "http://127.0.0.1:9");
        let err = dead.post_json("/x", String::new(), Duration::from_secs(5)).await.unwrap_err();
        assert!(err.contains("cannot connect to 127.0.0.1:9"), "{err}");
    }
}
