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
        Some(Pool { authority, idle: Mutex::default() })
    }

    /// POSTs a JSON `body` to `path`; the status and body of the answer.
    async fn post_json(&self, path: &str, body: String, timeout: Duration) -> Result<(u16, Bytes), String> {
        match tokio::time::timeout(timeout, self.exchange(path, body)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {}s", timeout.as_secs())),
        }
    }

    async fn exchange(&self, path: &str, body: String) -> Result<(u16, Bytes), String> {
        let mut sender = self.connection().await?;
        let request = hyper::Request::post(path)
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let resp = sender.send_request(request).await.map_err(|e| crate::error_chain(&e))?;
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

    /// An idle connection that is ready, or a new one.
    async fn connection(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
            let Some(mut sender) = idle else { break };
            if sender.ready().await.is_ok() {
                return Ok(sender);
            }
        }
        let tcp = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", self.authority))?;
        let _ = tcp.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(tcp)).await.map_err(|e| crate::error_chain(&e))?;
        tokio::spawn(conn);
        Ok(sender)
    }
}
