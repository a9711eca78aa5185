//! How an http step's request reaches the backend under test: to a
//! plain-http target on this engine's own kept-alive connections
//! ([`Pool`]), anything else (https, a proxy in the environment, a URL with
//! credentials) through reqwest. Both read the answer the same way: time to
//! first byte, headers, the body up to [`MAX_BODY`]; both follow redirects
//! as reqwest does.

use super::Engine;
use crate::error_chain;
use crate::http1::{CallError, Pool};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

/// How a step's request failed before a whole answer came; each holds the
/// transport's own words.
#[derive(Debug, Clone, PartialEq)]
pub enum Transport {
    /// No answer within the step's timeout.
    Timeout(String),
    /// No connection: refused, unreachable, or the name does not resolve.
    Connect(String),
    /// Reached, but what came back was not an HTTP answer, or the
    /// connection was reset or closed before one.
    Broken(String),
    /// The answer's body stopped before its end.
    BodyCut(String),
    /// Redirected too many times.
    Redirect(String),
    /// The TLS handshake refused the server's certificate; the second
    /// field says why, naming the host.
    Certificate(String, String),
}

impl Transport {
    /// The transport's own words.
    pub fn detail(&self) -> &str {
        match self {
            Transport::Timeout(d)
            | Transport::Connect(d)
            | Transport::Broken(d)
            | Transport::BodyCut(d)
            | Transport::Redirect(d)
            | Transport::Certificate(d, _) => d,
        }
    }
}

/// Answers are read up to this many bytes.
pub const MAX_BODY: usize = 1024 * 1024;

/// At most this many URLs' routes are kept (then the table starts over).
const ROUTES: usize = 256;

/// A request rendered for one iteration.
pub(super) struct Rendered {
    pub url: String,
    pub method: Method,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body's type, when the step's headers do not name one.
    pub content_type: Option<&'static str>,
    pub timeout: Duration,
}

/// An answer as read: status, time to first byte, headers, body text, and
/// whether the body was cut at [`MAX_BODY`].
pub(super) struct Answer {
    pub status: u16,
    pub ttfb: Duration,
    pub headers: BTreeMap<String, String>,
    pub text: String,
    pub truncated: bool,
}

/// Where a URL's requests go.
#[derive(Clone)]
enum Route {
    /// This engine's own connections, and the URL's path with its query.
    Own(Arc<Pool>, Arc<str>),
    /// reqwest, with the URL parsed (or as it is, if it does not parse:
    /// reqwest fails the send with its own error).
    Reqwest(Option<Url>),
}

/// Routes worked out once per URL (parsing one, host checks included, cost
/// more than the rest of a request's setup), and one pool per origin.
#[derive(Default)]
pub(super) struct Routes {
    by_url: HashMap<String, Route>,
    pools: HashMap<String, Arc<Pool>>,
}

impl Engine {
    fn route(&self, url: &str) -> Route {
        let mut routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(route) = routes.by_url.get(url) {
            return route.clone();
        }
        if routes.by_url.len() >= ROUTES {
            *routes = Routes::default();
        }
        let route = match Url::parse(url) {
            // reqwest sends a URL's credentials as basic auth: it keeps those.
            Ok(parsed) if parsed.username().is_empty() && parsed.password().is_none() => {
                let origin = parsed.origin().ascii_serialization();
                let pool = match routes.pools.get(&origin) {
                    Some(pool) => Some(pool.clone()),
                    None => Url::parse(&origin).ok().and_then(|o| Pool::for_url(&o)).map(Arc::new),
                };
                match pool {
                    Some(pool) => {
                        routes.pools.insert(origin, pool.clone());
                        let path = match parsed.query() {
                            Some(query) => format!("{}?{query}", parsed.path()),
                            None => parsed.path().to_string(),
                        };
                        Route::Own(pool, path.into())
                    }
                    None => Route::Reqwest(Some(parsed)),
                }
            }
            parsed => Route::Reqwest(parsed.ok()),
        };
        routes.by_url.insert(url.to_string(), route.clone());
        route
    }

    /// Sends `req` and reads its answer; `t0` is when the step started.
    pub(super) async fn send(&self, req: &Rendered, t0: Instant) -> Result<Answer, Transport> {
        self.send_on(self.route(&req.url), req, t0).await
    }

    async fn send_on(&self, route: Route, req: &Rendered, t0: Instant) -> Result<Answer, Transport> {
        match route {
            Route::Own(pool, path) => self.send_own(&pool, &path, req, t0).await,
            Route::Reqwest(parsed) => {
                let builder = match parsed {
                    Some(url) => self.http.request(req.method.clone(), url),
                    None => self.http.request(req.method.clone(), &req.url),
                };
                let builder = with_headers(builder, &req.headers, req.content_type).body(req.body.clone());
                read_reqwest(builder.timeout(req.timeout), &req.url, t0).await
            }
        }
    }

    async fn send_own(&self, pool: &Pool, path: &str, req: &Rendered, t0: Instant) -> Result<Answer, Transport> {
        let deadline = tokio::time::Instant::from_std(t0 + req.timeout);
        let timed_out = || Transport::Timeout(format!("no answer within {}s", req.timeout.as_secs_f64()));
        let mut headers = HeaderMap::new();
        if let Some(ct) = req.content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        for (k, v) in &req.headers {
            match HeaderName::try_from(k.as_str()).ok().zip(HeaderValue::try_from(v.as_str()).ok()) {
                Some((name, value)) => headers.append(name, value),
                None => return Err(Transport::Broken(format!("builder error: invalid header `{k}`"))),
            };
        }
        // What reqwest and hyper's client add, unless the step set them.
        headers.entry(header::HOST).or_insert_with(|| pool.host.clone());
        headers.entry(header::ACCEPT).or_insert(HeaderValue::from_static("*/*"));
        let mut request = hyper::Request::new(Full::new(Bytes::from(req.body.clone())));
        *request.method_mut() = req.method.clone();
        *request.uri_mut() = path.parse().map_err(|e| Transport::Broken(format!("builder error: {e}")))?;
        *request.headers_mut() = headers;
        let (resp, conn) = match tokio::time::timeout_at(deadline, pool.send(request)).await {
            Err(_) => return Err(timed_out()),
            Ok(Err(CallError::Connect(detail))) => return Err(Transport::Connect(detail)),
            Ok(Err(e)) => return Err(Transport::Broken(e.to_string())),
            Ok(Ok(answer)) => answer,
        };
        let ttfb = t0.elapsed();
        if let Some(hop) = redirect(&resp, req) {
            let next = hop?;
            let builder = self
                .http
                .request(next.method, next.url.clone())
                .timeout(deadline.into_std().saturating_duration_since(Instant::now()));
            let builder = with_headers(builder, &next.headers, None);
            let builder = if next.body { builder.body(req.body.clone()) } else { builder };
            return read_reqwest(builder, next.url.as_str(), t0).await;
        }
        let status = resp.status().as_u16();
        let headers = header_texts(resp.headers());
        let mut body = resp.into_body();
        let mut read = Read::default();
        while !read.truncated {
            match tokio::time::timeout_at(deadline, body.frame()).await {
                Err(_) => return Err(timed_out()),
                Ok(None) => break,
                Ok(Some(Err(e))) => return Err(Transport::BodyCut(error_chain(&e))),
                Ok(Some(Ok(frame))) => {
                    if let Some(chunk) = frame.data_ref() {
                        read.push(chunk);
                    }
                }
            }
        }
        if !read.truncated {
            pool.keep(conn);
        }
        Ok(read.answer(status, ttfb, headers))
    }
}

/// The next request of a redirect.
struct Hop {
    method: Method,
    url: Url,
    headers: Vec<(String, String)>,
    /// Whether the body goes again (307, 308, and 301/302 but for POST).
    body: bool,
}

/// The request reqwest sends after `resp` to `req` if it is a redirect to
/// follow (tower-http's rules, reqwest's policy): `None` if it is not one.
/// Like reqwest, it is refused if it leaves http(s). The hops after it go
/// through reqwest, so a loop is cut after 11 redirects instead of 10.
fn redirect(resp: &hyper::Response<hyper::body::Incoming>, req: &Rendered) -> Option<Result<Hop, Transport>> {
    let (method, body) = match resp.status() {
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND if req.method == Method::POST => (Method::GET, false),
        StatusCode::MOVED_PERMANENTLY
        | StatusCode::FOUND
        | StatusCode::TEMPORARY_REDIRECT
        | StatusCode::PERMANENT_REDIRECT => (req.method.clone(), true),
        StatusCode::SEE_OTHER if req.method == Method::HEAD => (Method::HEAD, false),
        StatusCode::SEE_OTHER => (Method::GET, false),
        _ => return None,
    };
    let previous = Url::parse(&req.url).ok()?;
    let url = previous.join(resp.headers().get(header::LOCATION)?.to_str().ok()?).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return Some(Err(Transport::Broken(format!("redirected to {url}: URL scheme is not allowed"))));
    }
    let cross_origin = url.host_str() != previous.host_str()
        || url.port_or_known_default() != previous.port_or_known_default()
        || url.scheme() != previous.scheme();
    let dropped = |name: &str| {
        let payload = ["content-type", "content-length", "content-encoding", "transfer-encoding"];
        let sensitive = ["authorization", "cookie", "cookie2", "proxy-authorization", "www-authenticate"];
        (!body && payload.iter().any(|h| name.eq_ignore_ascii_case(h)))
            || (cross_origin && sensitive.iter().any(|h| name.eq_ignore_ascii_case(h)))
            || name.eq_ignore_ascii_case("referer")
    };
    let mut headers: Vec<(String, String)> = req.headers.iter().filter(|(k, _)| !dropped(k)).cloned().collect();
    if let (true, Some(ct)) = (body, req.content_type) {
        headers.push(("content-type".into(), ct.into()));
    }
    let mut referer = previous;
    referer.set_fragment(None);
    headers.push(("referer".into(), referer.into()));
    Some(Ok(Hop { method, url, headers, body }))
}

fn with_headers(
    mut builder: reqwest::RequestBuilder,
    headers: &[(String, String)],
    content_type: Option<&str>,
) -> reqwest::RequestBuilder {
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    builder
}

fn header_texts(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers.iter().map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect()
}

/// A body read so far, cut at [`MAX_BODY`].
#[derive(Default)]
struct Read {
    bytes: Vec<u8>,
    truncated: bool,
}

impl Read {
    fn push(&mut self, chunk: &[u8]) {
        let room = MAX_BODY - self.bytes.len();
        self.truncated = chunk.len() > room;
        self.bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    fn answer(self, status: u16, ttfb: Duration, headers: BTreeMap<String, String>) -> Answer {
        Answer {
            status,
            ttfb,
            headers,
            text: String::from_utf8_lossy(&self.bytes).into_owned(),
            truncated: self.truncated,
        }
    }
}

async fn read_reqwest(req: reqwest::RequestBuilder, url: &str, t0: Instant) -> Result<Answer, Transport> {
    let mut resp = req.send().await.map_err(|e| Transport::from_send(&e, url))?;
    let ttfb = t0.elapsed();
    let status = resp.status().as_u16();
    let headers = header_texts(resp.headers());
    let mut read = Read::default();
    while !read.truncated
        && let Some(chunk) = resp.chunk().await.map_err(|e| Transport::from_body(&e))?
    {
        read.push(&chunk);
    }
    Ok(read.answer(status, ttfb, headers))
}

impl Transport {
    /// A send to `url` that failed: no answer came.
    fn from_send(e: &reqwest::Error, url: &str) -> Transport {
        let detail = error_chain(e);
        if let Some(problem) = crate::tls::certificate_problem(&detail, &crate::tls::host_of(url)) {
            Transport::Certificate(detail, problem)
        } else if e.is_timeout() {
            Transport::Timeout(detail)
        } else if e.is_redirect() {
            Transport::Redirect(detail)
        } else if e.is_connect() {
            Transport::Connect(detail)
        } else {
            Transport::Broken(detail)
        }
    }

    /// An answer whose body stopped early.
    fn from_body(e: &reqwest::Error) -> Transport {
        if e.is_timeout() { Transport::Timeout(error_chain(e)) } else { Transport::BodyCut(error_chain(e)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::Request;
    use axum::response::{IntoResponse, Redirect, Response};
    use axum::routing::{any, get};
    use serde_json::{Value, json};

    /// What `/echo` saw, as JSON; `/to/{status}?{location}` redirects there
    /// (without a query: no location).
    async fn server() -> (String, tokio_util::sync::CancellationToken) {
        async fn echo(req: Request) -> axum::Json<Value> {
            let (parts, body) = req.into_parts();
            let headers: BTreeMap<String, String> = parts
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
                .collect();
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
            axum::Json(json!({
                "method": parts.method.as_str(),
                "uri": parts.uri.to_string(),
                "headers": headers,
                "body": String::from_utf8_lossy(&body),
            }))
        }
        async fn to(axum::extract::Path(status): axum::extract::Path<u16>, req: Request) -> Response {
            let status = StatusCode::from_u16(status).unwrap();
            match req.uri().query() {
                Some(location) => (status, [(header::LOCATION, location.to_string())]).into_response(),
                None => status.into_response(),
            }
        }
        let stop = tokio_util::sync::CancellationToken::new();
        let router = axum::Router::new()
            .route("/echo", any(echo))
            .route("/to/{status}", any(to))
            .route("/loop", any(|| async { Redirect::temporary("/loop") }))
            .route("/big", get(|| async { "x".repeat(MAX_BODY + 10) }))
            .route("/slow", get(|| async { tokio::time::sleep(Duration::from_secs(5)).await }));
        let running = crate::serve::spawn(router, "127.0.0.1:0", stop.clone()).await.unwrap();
        (running.url(), stop)
    }

    fn rendered(method: Method, url: String, headers: &[(&str, &str)], body: &str) -> Rendered {
        Rendered {
            url,
            method,
            headers: headers.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect(),
            body: body.into(),
            content_type: (!body.is_empty()).then_some("application/json"),
            timeout: Duration::from_secs(1),
        }
    }

    /// The answer through this engine's own connections, and through reqwest.
    async fn both(engine: &Engine, req: &Rendered) -> [Result<Answer, Transport>; 2] {
        let own = engine.route(&req.url);
        assert!(matches!(own, Route::Own(..)), "{} goes on own connections", req.url);
        let reqwest = Route::Reqwest(Url::parse(&req.url).ok());
        [engine.send_on(own, req, Instant::now()).await, engine.send_on(reqwest, req, Instant::now()).await]
    }

    #[tokio::test]
    async fn own_connections_send_and_follow_redirects_as_reqwest_does() {
        let (url, stop) = server().await;
        let engine = Engine::new(&url, &url, 0, None, false);
        let other_origin = url.replace("127.0.0.1", "localhost");
        let auth = [("authorization", "Bearer t"), ("x-step", "1")];
        let cases = [
            rendered(Method::POST, format!("{url}/echo?a=1&b=%20"), &auth, r#"{"code":"c"}"#),
            rendered(Method::GET, format!("{url}/echo"), &[("host", "backend.test"), ("accept", "text/plain")], ""),
            rendered(Method::POST, format!("{url}/to/302?/echo"), &auth, r#"{"code":"c"}"#),
            rendered(Method::PUT, format!("{url}/to/301?/echo"), &auth, r#"{"code":"c"}"#),
            rendered(Method::POST, format!("{url}/to/303?/echo"), &[("content-type", "text/plain")], "x"),
            rendered(Method::POST, format!("{url}/to/307?/echo%3Fq"), &auth, r#"{"code":"c"}"#),
            rendered(Method::POST, format!("{url}/to/308?{other_origin}/echo"), &auth, r#"{"code":"c"}"#),
            rendered(Method::GET, format!("{url}/to/302"), &[], ""),
        ];
        for req in &cases {
            let [own, reqwest] = both(&engine, req).await;
            let (own, reqwest) = (own.unwrap(), reqwest.unwrap());
            assert_eq!((own.status, &own.text), (reqwest.status, &reqwest.text), "{}", req.url);
            assert_eq!(own.headers.get("content-type"), reqwest.headers.get("content-type"), "{}", req.url);
        }
        // What those checks compare is what a careful client sends.
        let [own, _] = both(&engine, &cases[6]).await;
        let seen: Value = serde_json::from_str(&own.unwrap().text).unwrap();
        assert_eq!((seen["method"].as_str(), seen["body"].as_str()), (Some("POST"), Some(r#"{"code":"c"}"#)));
        assert!(seen["headers"].get("authorization").is_none(), "dropped for another origin: {seen}");
        assert_eq!(seen["headers"]["referer"], format!("{url}/to/308?{other_origin}/echo"));
        let [own, _] = both(&engine, &cases[2]).await;
        let seen: Value = serde_json::from_str(&own.unwrap().text).unwrap();
        assert_eq!((seen["method"].as_str(), seen["body"].as_str()), (Some("GET"), Some("")));
        assert_eq!(seen["headers"]["authorization"], "Bearer t", "kept on the same origin: {seen}");
        stop.cancel();
    }

    #[tokio::test]
    async fn own_connections_fail_as_reqwest_does() {
        let (url, stop) = server().await;
        let engine = Engine::new(&url, &url, 0, None, false);
        let [own, reqwest] = both(&engine, &rendered(Method::GET, format!("{url}/loop"), &[], "")).await;
        for t in [own, reqwest] {
            let Err(Transport::Redirect(detail)) = t else { panic!("a redirect loop") };
            assert!(detail.contains("too many redirects"), "{detail}");
        }
        let [own, reqwest] = both(&engine, &rendered(Method::GET, format!("{url}/big"), &[], "")).await;
        for a in [own.unwrap(), reqwest.unwrap()] {
            assert!(a.truncated && a.text.len() == MAX_BODY, "cut at MAX_BODY");
        }
        let [own, reqwest] = both(&engine, &rendered(Method::GET, format!("{url}/slow"), &[], "")).await;
        assert!(matches!((own, reqwest), (Err(Transport::Timeout(_)), Err(Transport::Timeout(_)))));
        stop.cancel();
        let dead = "http://127.0.0.1:9/api/login".to_string();
        let [own, reqwest] = both(&engine, &rendered(Method::POST, dead, &[], "{}")).await;
        for t in [own, reqwest] {
            let Err(Transport::Connect(detail)) = t else { panic!("nothing listens on port 9") };
            assert!(detail.to_lowercase().contains("connection refused"), "{detail}");
        }
    }

    #[test]
    fn https_and_urls_with_credentials_go_through_reqwest() {
        let engine = Engine::new("http://127.0.0.1:9", "http://127.0.0.1:9", 0, None, false);
        for url in ["https://127.0.0.1:9/api/login", "http://user:pw@127.0.0.1:9/api", "not a url"] {
            assert!(matches!(engine.route(url), Route::Reqwest(_)), "{url}");
        }
        let (Route::Own(a, path), Route::Own(b, _)) =
            (engine.route("http://127.0.0.1:9/api/login?x=%20y#f"), engine.route("http://127.0.0.1:9/other"))
        else {
            panic!("plain http goes on own connections");
        };
        assert!(Arc::ptr_eq(&a, &b), "one pool per origin");
        assert_eq!((&*path, a.host.to_str().unwrap()), ("/api/login?x=%20y", "127.0.0.1:9"));
    }
}
