//! Servers for tests, on 127.0.0.1:0, stopped when the guard drops.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::path::Path;
use tokio_util::sync::CancellationToken;
use wxflow::contract::{Rotation, RotationPolicy};
use wxflow::mock::MockConfig;
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

/// Runs the wxflow binary (off the async runtime, so in-process servers
/// keep answering); returns (exit code, stdout, stderr).
pub async fn wxflow(args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(std::string::ToString::to_string).collect();
    tokio::task::spawn_blocking(move || wxflow_blocking(&args)).await.unwrap()
}

pub fn wxflow_blocking(args: &[String]) -> (i32, String, String) {
    wxflow_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

/// Runs the wxflow binary in `dir`; returns (exit code, stdout, stderr).
pub fn wxflow_in<S: AsRef<std::ffi::OsStr>>(dir: &Path, args: &[S]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wxflow"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Checks a JSON report against the published schema.
pub fn assert_valid_report(report: &Value) {
    let schema: Value = serde_json::from_str(include_str!("../../schemas/report.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(report).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "report does not match its schema: {errors:#?}");
}

pub fn flow<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["flows"].as_array().unwrap().iter().find(|f| f["flow"] == id).unwrap_or_else(|| panic!("no flow {id}"))
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}
