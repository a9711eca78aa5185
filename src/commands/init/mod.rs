//! `wxflow init [DIR]`: a starter `flows/` (every shipped flow: the three
//! orderings, the negative flows and the bug-catching stories) and the flow
//! schema beside it, shaped to the user's backend contract (its paths,
//! and with `--success`/`--error-code` or `--probe` its answer shape), so
//! wxflow works from any folder after `cargo install`.

mod probe;
mod shape;

use crate::cli::InitArgs;
use crate::exit::InvalidInput;
use shape::{Contract, Paths};
use std::path::Path;
use std::process::ExitCode;

macro_rules! shipped {
    ($($name:literal),* $(,)?) => {
        /// The shipped flows, built into the binary.
        pub const FLOWS: &[(&str, &str)] = &[$(($name, include_str!(concat!("../../../flows/", $name)))),*];
    };
}

shipped!(
    "button-then-refresh.yaml",
    "expired-code.yaml",
    "foreign-watermark.yaml",
    "form-plus.yaml",
    "form-unencoded-plus.yaml",
    "login-first.yaml",
    "mixed-payloads.yaml",
    "phone-before-login.yaml",
    "phone-code.yaml",
    "phone-login-first.yaml",
    "returning-user.yaml",
    "reused-code.yaml",
    "slow-jscode2session.yaml",
    "tampered-rawdata.yaml",
    "token-expiry.yaml",
    "userinfo-first.yaml",
);

/// `wxflow init`.
pub async fn init(args: InitArgs) -> Result<ExitCode, InvalidInput> {
    let dir = args.dir.clone();
    let bad = |flag: &str, value: &str, e: String| InvalidInput(format!("{flag} {value}: {e}"));
    // Every flag is checked before the probe goes out.
    let fields = args
        .fields
        .iter()
        .map(|f| shape::parse_field(f).map_err(|e| bad("--field", f, e)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut contract = match &args.success {
        Some(spec) => Some(Contract::parse_success(spec).map_err(|e| bad("--success", spec, e))?),
        None => None,
    };
    for (flag, given) in [("--error-code", &args.error_code), ("--token-path", &args.token_path)] {
        if let Some(p) = given {
            shape::path(p).map_err(|e| bad(flag, p, e))?;
        }
    }
    let form = args.body == crate::cli::Body::Form;
    let probe = args.probe.as_deref().map(split_url);
    let login = probe.as_ref().and_then(|(_, path)| path.clone()).unwrap_or_else(|| args.login_path.clone());
    for (flag, value) in [("--login-path", &login), ("--phone-path", &args.phone_path)] {
        if !value.starts_with('/') || value.contains(char::is_whitespace) {
            return Err(bad(flag, value, "expected a path such as /api/login".into()));
        }
    }
    let probed = match &probe {
        Some((target, _)) => {
            let tls = crate::tls::ClientTls::load(&args.ca_certs, args.insecure).map_err(InvalidInput)?;
            let p = probe::probe(target, &login, &fields, form, &args.mock, args.mock_wait, &tls)
                .await
                .map_err(|e| bad("--probe", args.probe.as_deref().unwrap_or_default(), e))?;
            crate::outln!("probed {target}{login} through the mock at {}:", args.mock);
            crate::outln!("  a correct login: HTTP {}; the same code again: HTTP {}", p.statuses.0, p.statuses.1);
            if p.statuses.1 >= 500 {
                crate::outln!(
                    "  the backend failed on a spent code instead of refusing it: `wxflow run flows/reused-code.yaml` will show it"
                );
            }
            Some(p)
        }
        None => None,
    };
    // What the flags say wins over what the probe learned.
    if contract.is_none() {
        contract = probed.as_ref().map(|p| p.contract.clone());
    }
    if let Some(code) = &args.error_code {
        contract.get_or_insert_with(Contract::default).error_code = Some(code.clone());
    }
    let token = match (&args.token_path, &probed) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(p)) => p.token.clone(),
        (None, None) => Some("$.data.token".into()),
    };
    let paths = Paths { login: &login, phone: &args.phone_path, token: token.as_deref(), fields: &fields, form };
    let mut files: Vec<(std::path::PathBuf, String)> = FLOWS
        .iter()
        .filter(|(_, text)| !(args.no_phone && text.contains("{{ target }}/api/phone")))
        .map(|(name, text)| (dir.join("flows").join(name), shape::shape(text, &paths, contract.as_ref())))
        .collect();
    files.push((dir.join("schemas/flow.schema.json"), crate::commands::FLOW_SCHEMA.to_string()));
    if !args.force
        && let Some((existing, _)) = files.iter().find(|(p, _)| std::fs::symlink_metadata(p).is_ok())
    {
        return Err(InvalidInput(format!(
            "{} exists: nothing was written (--force overwrites the starter files)",
            existing.display()
        )));
    }
    // A link or a device among them stops everything before a file is written.
    if let Some((odd, _)) = files
        .iter()
        .find(|(p, _)| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink() || !m.is_file()))
    {
        return Err(InvalidInput(format!(
            "{}: is a symlink or not a regular file; nothing was written through it, nor anything else",
            odd.display()
        )));
    }
    for (path, text) in &files[..files.len() - 1] {
        if let Err(errors) = crate::flow::check(&path.display().to_string(), text) {
            let first = errors.first().map(ToString::to_string).unwrap_or_default();
            return Err(InvalidInput(format!("the shaped flows do not check: nothing was written\n{first}")));
        }
    }
    for (path, text) in &files {
        write(path, text)?;
    }
    crate::outln!(
        "wrote {} flows to {} and their schema to {}",
        files.len() - 1,
        dir.join("flows").display(),
        dir.join("schemas").display()
    );
    crate::outln!(
        "  login {}   phone {}   token {}",
        login,
        if args.no_phone { "(none)" } else { &args.phone_path },
        token.as_deref().unwrap_or("(none: no flow asserts one)")
    );
    if let Some(c) = &contract {
        crate::outln!("  answers: {}", c.describe());
    }
    if let Some(why) = probed.as_ref().and_then(|p| p.no_code) {
        crate::outln!("  no result code learned ({why}): pass --error-code if your answers carry one");
    }
    if let Some(leak) = probed.as_ref().and_then(|p| p.leak.as_deref()) {
        crate::outln!(
            "  warning: the login's answer carries the session_key; every flow fails as session_key_leaked until it stops: {leak}"
        );
    }
    // Flows in another backend's shape are for that backend, not the
    // embedded reference one.
    let run = match (&probe, &contract) {
        (Some((target, _)), _) => format!("wxflow run --mock {} --target {target}", args.mock),
        (None, Some(_)) => "wxflow run --mock URL --target URL".into(),
        (None, None) => "wxflow run   (or wxflow run --mock URL --target URL)".into(),
    };
    crate::outln!("next: cd {} && wxflow validate && {run}", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// A probe URL as the target's base and, when it names one, the login path.
fn split_url(url: &str) -> (String, Option<String>) {
    match reqwest::Url::parse(url) {
        Ok(u) if u.path() != "/" && !u.path().is_empty() => {
            (url[..url.len() - u.path().len()].to_string(), Some(u.path().to_string()))
        }
        _ => (url.to_string(), None),
    }
}

/// Writes a starter file; after the check above, one there is replaced
/// only under `--force`, and never through a symlink.
fn write(path: &Path, text: &str) -> Result<(), InvalidInput> {
    super::write_new(path, text, true).map(drop).map_err(InvalidInput)
}
