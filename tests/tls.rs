//! HTTPS: the mock and the backend serve TLS, the runner and the backend
//! trust a private CA given with --ca-cert, and certificate problems are
//! diagnosed as such. Certificates are made here with rcgen; nothing leaves
//! 127.0.0.1.

mod common;

use common::{tempdir, wxflow};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use wxflow::mock::{Mock, MockConfig};
use wxflow::serve::{Limits, Running, spawn_with};

/// A private CA and the PEM files of certificates it signs.
struct Pki {
    dir: tempfile::TempDir,
    ca_params: CertificateParams,
    ca_key: KeyPair,
}

impl Pki {
    fn new() -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "wxflow test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let dir = tempdir();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        Pki { dir, ca_params, ca_key }
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A leaf certificate for `names`, optionally expired; returns (cert, key) paths.
    fn leaf(&self, tag: &str, names: &[&str], expired: bool) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names.iter().map(ToString::to_string).collect::<Vec<_>>()).unwrap();
        if expired {
            params.not_before = rcgen::date_time_ymd(2019, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        }
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        let (c, k) = (self.dir.path().join(format!("{tag}.pem")), self.dir.path().join(format!("{tag}.key")));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        (c, k)
    }
}

fn tls(cert: &Path, key: &Path) -> Arc<rustls::ServerConfig> {
    wxflow::tls::server_config(cert, key).unwrap()
}

/// The mock over TLS, and a reference backend over TLS that trusts `ca`
/// for its calls to the mock.
async fn https_pair(pki: &Pki, stop: &CancellationToken) -> (Running, Running) {
    let (cert, key) = pki.leaf("local", &["localhost", "127.0.0.1"], false);
    let mock = Mock::new(MockConfig::default());
    let m = spawn_with(wxflow::mock::app(mock), "127.0.0.1:0", stop.clone(), Limits::default(), Some(tls(&cert, &key)))
        .await
        .unwrap();
    let trust = wxflow::tls::ClientTls::load(&[pki.ca()], false).unwrap();
    let b = https_backend(&m.url(), trust, &cert, &key, stop).await;
    (m, b)
}

/// The reference backend of the demo app over TLS with `cert`, calling
/// WeChat at `wechat_api` and trusting as `trust` says.
async fn https_backend(
    wechat_api: &str,
    trust: wxflow::tls::ClientTls,
    cert: &Path,
    key: &Path,
    stop: &CancellationToken,
) -> Running {
    let demo = wxflow::mock::demo_app();
    let config = wxflow::backend::BackendConfig {
        wechat_api: wechat_api.into(),
        appid: demo.appid,
        secret: demo.secret,
        tls: trust,
        bug: None,
    };
    spawn_with(wxflow::backend::app(config), "127.0.0.1:0", stop.clone(), Limits::default(), Some(tls(cert, key)))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn flows_run_against_an_https_mock_and_target_trusting_a_private_ca() {
    let pki = Pki::new();
    let stop = CancellationToken::new();
    let (m, b) = https_pair(&pki, &stop).await;
    assert!(m.url().starts_with("https://") && b.url().starts_with("https://"));
    let ca = pki.ca().display().to_string();
    let (code, out, err) = wxflow(&[
        "run",
        "flows/login-first.yaml",
        "flows/userinfo-first.yaml",
        "--mock",
        &m.url(),
        "--target",
        &b.url(),
        "--ca-cert",
        &ca,
    ])
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 passed, 0 failed"), "{out}");
    assert!(!out.contains("WARNING"), "{out}");
    // A load run's reproducer carries what it needs to reach them again.
    let (code, out, err) = wxflow(&[
        "run",
        "flows/userinfo-first.yaml",
        "--repeat",
        "2",
        "--mock",
        &m.url(),
        "--target",
        &b.url(),
        "--ca-cert",
        &ca,
    ])
    .await;
    assert_eq!(code, 0, "{out}{err}");
    let reproduce = out.lines().find(|l| l.contains("reproduce: wxflow run")).unwrap_or_else(|| panic!("{out}"));
    assert!(reproduce.ends_with(&format!("--target {} --ca-cert {ca}", b.url())), "{reproduce}");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_certificate_is_diagnosed_as_one_naming_the_host() {
    let pki = Pki::new();
    let stop = CancellationToken::new();
    let (m, b) = https_pair(&pki, &stop).await;
    // No --ca-cert: the mock's certificate is not trusted, said before the
    // run (its identity is asked first), at once rather than after --mock-wait.
    let t = std::time::Instant::now();
    let (code, out, err) = wxflow(&["run", "flows/login-first.yaml", "--mock", &m.url(), "--target", &b.url()]).await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("the TLS certificate of 127.0.0.1 is not trusted"), "{err}");
    assert!(err.contains("--ca-cert"), "{err}");
    assert!(!err.contains("is it running") && out.is_empty(), "{out}{err}");
    assert!(t.elapsed() < std::time::Duration::from_secs(4), "{:?}", t.elapsed());

    // An http mock and an https target: the target's step says it.
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 1).await;
    let (code, out, _) =
        wxflow(&["run", "flows/login-first.yaml", "--mock", &s.embedded.mock_url, "--target", &b.url()]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  server") && out.contains("the TLS certificate of 127.0.0.1 is not trusted"), "{out}");

    // --insecure gets through, and says so loudly.
    let (code, out, _) =
        wxflow(&["run", "flows/login-first.yaml", "--mock", &m.url(), "--target", &b.url(), "--insecure"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("WARNING: --insecure: TLS certificates are NOT verified"), "{out}");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_for_another_name_or_an_expired_one_is_named_for_what_it_is() {
    let pki = Pki::new();
    let stop = CancellationToken::new();
    let s = common::stack(wxflow::contract::RotationPolicy::Never, 1).await;
    let ca = pki.ca().display().to_string();
    for (tag, names, expired, needle) in [
        ("other", &["api.example.test"][..], false, "is not valid for this name"),
        ("old", &["127.0.0.1"][..], true, "has expired"),
    ] {
        let (cert, key) = pki.leaf(tag, names, expired);
        let b = https_backend(&s.embedded.mock_url, wxflow::tls::ClientTls::default(), &cert, &key, &stop).await;
        let (code, out, _) = wxflow(&[
            "run",
            "flows/login-first.yaml",
            "--mock",
            &s.embedded.mock_url,
            "--target",
            &b.url(),
            "--ca-cert",
            &ca,
        ])
        .await;
        assert_eq!(code, 1, "{tag}: {out}");
        assert!(out.contains(&format!("the TLS certificate of 127.0.0.1 {needle}")), "{tag}: {out}");
    }
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_serves_tls_and_refuses_bad_pem_files() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("cli", &["127.0.0.1"], false);
    let not_pem = pki.dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let (c, k, n) = (cert.display().to_string(), key.display().to_string(), not_pem.display().to_string());
    for (args, needle) in [
        (vec!["mock", "--addr", "127.0.0.1:0", "--tls-cert", &c], "--tls-key"),
        (vec!["mock", "--addr", "127.0.0.1:0", "--tls-cert", &n, "--tls-key", &k], "no certificate"),
        (vec!["backend", "--addr", "127.0.0.1:0", "--tls-cert", &c, "--tls-key", &n], "--tls-key"),
        (vec!["backend", "--addr", "127.0.0.1:0", "--ca-cert", &n], "--ca-cert"),
        (vec!["run", "--ca-cert", &n], "--ca-cert"),
    ] {
        let (code, _, err) = wxflow(&args).await;
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // A good pair: the mock starts on https and answers over TLS.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wxflow"))
        .args(["mock", "--addr", "127.0.0.1:0", "--tls-cert", &c, "--tls-key", &k])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.as_mut().unwrap()), &mut first).unwrap();
    let url = first.split_whitespace().last().unwrap().to_string();
    assert!(url.starts_with("https://127.0.0.1:"), "{first}");
    let client =
        wxflow::tls::ClientTls::load(&[pki.ca()], false).unwrap().apply(reqwest::Client::builder()).build().unwrap();
    let answer = client.get(format!("{url}/__wxflow/config")).send().await.unwrap();
    assert!(answer.status().is_success());
    let _ = child.kill();
    let _ = child.wait();
}

/// A backend with `https://api.weixin.qq.com` hard-coded reaches the mock
/// through `HTTPS_PROXY` alone: the mock's port answers CONNECT for that
/// host with its TLS face, and refuses any other host.
#[tokio::test(flavor = "multi_thread")]
async fn the_mock_answers_connect_for_wechats_host_as_an_https_proxy() {
    let pki = Pki::new();
    let stop = CancellationToken::new();
    let (cert, key) = pki.leaf("wechat", &["api.weixin.qq.com"], false);
    let limits = Limits { connect_proxy: true, ..Limits::default() };
    let m = spawn_with(
        wxflow::mock::app(Mock::new(MockConfig::default())),
        "127.0.0.1:0",
        stop.clone(),
        limits,
        Some(tls(&cert, &key)),
    )
    .await
    .unwrap();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(pki.ca()).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .proxy(reqwest::Proxy::https(format!("http://{}", m.addr)).unwrap())
        .build()
        .unwrap();
    let demo = wxflow::mock::demo_app();
    let url = format!(
        "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
        demo.appid, demo.secret
    );
    let answer: serde_json::Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    assert!(answer["access_token"].is_string(), "{answer}");
    // Any other host is refused: the mock is no open proxy.
    let other = client.get("https://example.com/").send().await;
    assert!(other.is_err(), "{other:?}");
    stop.cancel();
}
