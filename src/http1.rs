//! The runner's client for the mock's own API (wx steps, ground truth). To
//! a plain-http mock: hyper's HTTP/1.1 connections, kept alive per engine,
//! so per core. reqwest's per-request work (URL parsing, redirect and retry
//! layers, a pool shared across threads) cost about a tenth of the runner's
//! CPU, and none of it serves a fixed API. An https mock, or a proxy in the
//! environment, goes through reqwest.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use std::sync::Mutex;
use std::time::Duration;

/// The most bytes of an answer read.
const MAX_ANSWER: usize = 1024 * 1024;

/// How the runner reaches the mock.
pub enum MockClient {
    Own(Pool),
    Reqwest { http: reqwest::Client, base: String },
}

impl MockClient {
    /// Own connections to a plain-http mock at `base`, else `http`.
    pub fn new(http: reqwest::Client, base: &str) -> MockClient {
        let base = base.trim_end_matches('/');
        Pool::for_base(base).map_or_else(|| MockClient::Reqwest { http, base: base.into() }, MockClient::Own)
    }

    /// POSTs a JSON `body` to the mock's `path`; the status and body of the
    /// answer, or why none came.
    pub async fn post_json(&self, path: &str, body: String, timeout: Duration) -> Result<(u16, Bytes), String> {
        match self {
            MockClient::Own(pool) => pool.post_json(path, body, timeout).await,
            MockClient::Reqwest { http, base } => {
                let url = format!("{base}{path}");
                let request = http.post(&url).header("content-type", "application/json").body(body).timeout(timeout);
                let failed = |e: reqwest::Error| {
                    let detail = crate::error_chain(&e);
                    match crate::tls::certificate_problem(&detail, &crate::tls::host_of(&url)) {
                        Some(problem) => format!("{problem} ({detail})"),
                        None => detail,
                    }
                };
                let resp = request.send().await.map_err(failed)?;
                let status = resp.status().as_u16();
                Ok((status, resp.bytes().await.map_err(failed)?))
            }
        }
    }
}

/// Keep-alive connections to one `http://host:port`.
pub struct Pool {
    authority: String,
    /// The base URL's path, before every request's.
    prefix: String,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

impl Pool {
    /// A pool for `base` (a URL without path), if it is plain http and no
    /// proxy is set for it in the environment.
    fn for_base(base: &str) -> Option<Pool> {
        let url = reqwest::Url::parse(base).ok()?;
        let proxied = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
            .iter()
            .any(|v| std::env::var(v).is_ok_and(|p| !p.is_empty()));
        if url.scheme() != "http" || proxied {
            return None;
        }
        let authority = format!("{}:{}", url.host_str()?, url.port_or_known_default()?);
        let prefix = url.path().trim_end_matches('/').to_string();
        Some(Pool { authority, prefix, idle: Mutex::default() })
    }

    /// POSTs a JSON `body` to `path`; the status and body of the answer.
    async fn post_json(&self, path: &str, body: String, timeout: Duration) -> Result<(u16, Bytes), String> {
        match tokio::time::timeout(timeout, self.exchange(path, body)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {}s", timeout.as_secs())),
        }
    }

    async fn exchange(&self, path: &str, body: String) -> Result<(u16, Bytes), String> {
        let body = Bytes::from(body);
        let (mut sender, reused) = self.connection().await?;
        let mut answer = sender.send_request(self.request(path, body.clone())?).await;
        // A kept-alive connection the mock closed as the request went out
        // (its idle timeout): the request never arrived; once more, anew.
        if reused && answer.as_ref().is_err_and(|e| e.is_canceled() || e.is_closed() || e.is_incomplete_message()) {
            sender = self.connect().await?;
            answer = sender.send_request(self.request(path, body)?).await;
        }
        let resp = answer.map_err(|e| crate::error_chain(&e))?;
        let status = resp.status().as_u16();
        let bytes = Limited::new(resp.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| format!("the answer broke off: {e}"))?
            .to_bytes();
        if !sender.is_closed() {
            self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(sender);
        }
        Ok((status, bytes))
    }

    fn request(&self, path: &str, body: Bytes) -> Result<hyper::Request<Full<Bytes>>, String> {
        hyper::Request::post(format!("{}{path}", self.prefix))
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .map_err(|e| e.to_string())
    }

    /// An idle connection that is ready (and `true`), or a new one.
    async fn connection(&self) -> Result<(SendRequest<Full<Bytes>>, bool), String> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
            let Some(mut sender) = idle else { break };
            if sender.ready().await.is_ok() {
                return Ok((sender, true));
            }
        }
        Ok((self.connect().await?, false))
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let tcp = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", self.authority))?;
        let _ = tcp.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(tcp)).await.map_err(|e| crate::error_chain(&e))?;
        tokio::spawn(conn);
        Ok(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;

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
        let client = MockClient::new(reqwest::Client::new(), &format!("{url}/wx/mock/"));
        let MockClient::Own(pool) = &client else { panic!("plain http gets its own connections") };
        for i in 0..3 {
            let (status, body) =
                client.post_json("/echo", format!("{{\"n\":{i}}}"), Duration::from_secs(5)).await.unwrap();
            assert_eq!((status, body.as_ref()), (200, format!("{{\"n\":{i}}}").as_bytes()));
        }
        assert_eq!(pool.idle.lock().unwrap().len(), 1, "one connection, kept alive");
        stop.cancel();
    }

    #[tokio::test]
    async fn https_and_dead_mocks() {
        let https = MockClient::new(reqwest::Client::new(), "https://127.0.0.1:9");
        assert!(matches!(https, MockClient::Reqwest { .. }), "https goes through reqwest");
        let dead = MockClient::new(reqwest::Client::new(), "http://127.0.0.1:9");
        let err = dead.post_json("/x", String::new(), Duration::from_secs(5)).await.unwrap_err();
        assert!(err.contains("cannot connect to 127.0.0.1:9"), "{err}");
    }
}
