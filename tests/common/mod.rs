//! Servers for tests, on 127.0.0.1:0, stopped when the guard drops.
#![allow(dead_code)]

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use wxflow::mock::{MockConfig, Rotation, RotationPolicy};
use wxflow::serve::{self, Embedded};

pub struct Stack {
    pub embedded: Embedded,
    pub http: reqwest::Client,
    stop: CancellationToken,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub async fn stack(rotation: RotationPolicy, seed: u64) -> Stack {
    let stop = CancellationToken::new();
    let config = MockConfig { seed, rotation: Rotation::policy(rotation), ..MockConfig::default() };
    let embedded = serve::embedded(config, stop.clone()).await.expect("servers start on 127.0.0.1:0");
    Stack { embedded, http: reqwest::Client::new(), stop }
}

impl Stack {
    pub async fn client(&self, api: &str, body: Value) -> Value {
        let url = format!("{}/__wxflow/client/{api}", self.embedded.mock_url);
        let resp = self.http.post(url).json(&body).send().await.unwrap();
        assert!(resp.status().is_success(), "client {api} failed: {}", resp.text().await.unwrap());
        resp.json().await.unwrap()
    }

    /// POST /api/login on the reference backend; returns (status, body).
    pub async fn backend_login(&self, code: &str, info: &Value) -> (u16, Value) {
        let body = json!({
            "code": code,
            "encryptedData": info["encryptedData"],
            "iv": info["iv"],
            "rawData": info["rawData"],
            "signature": info["signature"],
        });
        self.post_backend(&body.to_string(), "application/json").await
    }

    pub async fn post_backend(&self, body: &str, content_type: &str) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/api/login", self.embedded.backend_url))
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON answer {status}: {text}")))
    }
}
