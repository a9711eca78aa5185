//! TLS everywhere: rustls with the aws-lc-rs crypto provider (no OpenSSL),
//! installed once at start-up. Clients trust the system's roots plus any
//! `--ca-cert` PEMs (or nothing, with `--insecure`); servers serve a
//! `--tls-cert`/`--tls-key` pair. Certificate failures are explained as
//! such, naming the host, not as "cannot reach".

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Installs aws-lc-rs as the process's rustls provider; later calls do
/// nothing. reqwest, the servers and the tests all use it.
pub fn install_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// How a client trusts servers.
#[derive(Debug, Clone, Default)]
pub struct ClientTls {
    /// Extra roots, beside the system's.
    pub ca_certs: Vec<reqwest::Certificate>,
    /// Accept any certificate (said loudly wherever it applies).
    pub insecure: bool,
}

impl ClientTls {
    /// Reads `--ca-cert` PEM files (each may hold several certificates).
    pub fn load(paths: &[PathBuf], insecure: bool) -> Result<ClientTls, String> {
        let mut ca_certs = vec![];
        for p in paths {
            let pem = crate::limits::read_bounded(p, crate::limits::MAX_INPUT_BYTES)
                .map_err(|e| format!("--ca-cert {}: {e}", p.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("--ca-cert {}: not a PEM certificate: {e}", p.display()))?;
            if certs.is_empty() {
                return Err(format!(
                    "--ca-cert {}: no certificate in it (expected -----BEGIN CERTIFICATE-----)",
                    p.display()
                ));
            }
            ca_certs.extend(certs);
        }
        Ok(ClientTls { ca_certs, insecure })
    }

    /// `builder`, trusting what this says.
    pub fn apply(&self, mut builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        install_provider();
        for c in &self.ca_certs {
            builder = builder.add_root_certificate(c.clone());
        }
        builder.tls_danger_accept_invalid_certs(self.insecure)
    }
}

/// A server's TLS settings from a certificate chain and a private key (PEM).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    install_provider();
    let read = |flag: &str, p: &Path| {
        crate::limits::read_bounded(p, crate::limits::MAX_INPUT_BYTES)
            .map_err(|e| format!("{flag} {}: {e}", p.display()))
    };
    let (cert_pem, key_pem) = (read("--tls-cert", cert)?, read("--tls-key", key)?);
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("--tls-cert {}: no certificate in it", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| format!("--tls-key {}: {e}", key.display()))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("--tls-cert/--tls-key: they do not make a pair: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// What a certificate failure means, naming `host`, or `None` when the
/// error is not about a certificate. `detail` is the error chain's text.
pub fn certificate_problem(detail: &str, host: &str) -> Option<String> {
    let d = detail.to_ascii_lowercase();
    if !(d.contains("certificate") || d.contains("invalid peer") || d.contains("unknownissuer")) {
        return None;
    }
    let what = if d.contains("unknownissuer") || d.contains("unknown issuer") || d.contains("not trusted") {
        "is not trusted: its issuer is unknown (a private CA? pass its PEM with --ca-cert)"
    } else if d.contains("notvalidforname") || d.contains("not valid for name") || d.contains("hostname") {
        "is not valid for this name: it was issued for another host name (use the name on the certificate, or issue one for this name)"
    } else if d.contains("expired") {
        "has expired (or the clocks disagree): renew it"
    } else if d.contains("notvalidyet") || d.contains("not valid yet") {
        "is not valid yet: check the clocks"
    } else {
        "was refused"
    };
    Some(format!("the TLS certificate of {host} {what}"))
}

/// The host of a URL, for messages.
pub fn host_of(url: &str) -> String {
    reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(String::from)).unwrap_or_else(|| url.to_string())
}
