//! `wxflow init [DIR]`: a starter `flows/` (every shipped flow: the three
//! orderings, the negative flows and the bug-catching stories) and the flow
//! schema beside it, shaped to the user's backend contract, so wxflow works
//! from any folder after `cargo install`.

use crate::cli::InitArgs;
use crate::exit::InvalidInput;
use std::path::Path;
use std::process::ExitCode;

macro_rules! shipped {
    ($($name:literal),* $(,)?) => {
        /// The shipped flows, built into the binary.
        pub const FLOWS: &[(&str, &str)] = &[$(($name, include_str!(concat!("../../flows/", $name)))),*];
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

/// A shipped flow, shaped to the backend's contract.
fn shape(text: &str, args: &InitArgs) -> String {
    text.replace("{{ target }}/api/login", &format!("{{{{ target }}}}{}", args.login_path))
        .replace("{{ target }}/api/phone", &format!("{{{{ target }}}}{}", args.phone_path))
        .replace("$.data.token", &args.token_path)
}

/// `wxflow init`.
pub fn init(args: InitArgs) -> Result<ExitCode, InvalidInput> {
    let dir = args.dir.clone();
    for (flag, value) in [("--login-path", &args.login_path), ("--phone-path", &args.phone_path)] {
        if !value.starts_with('/') || value.contains(char::is_whitespace) {
            return Err(InvalidInput(format!("{flag} {value}: expected a path such as /api/login")));
        }
    }
    serde_json_path::JsonPath::parse(&args.token_path)
        .map_err(|e| InvalidInput(format!("--token-path {}: not a JSONPath: {e}", args.token_path)))?;
    let mut files: Vec<(std::path::PathBuf, String)> =
        FLOWS.iter().map(|(name, text)| (dir.join("flows").join(name), shape(text, &args))).collect();
    files.push((dir.join("schemas/flow.schema.json"), crate::commands::FLOW_SCHEMA.to_string()));
    if !args.force
        && let Some((existing, _)) = files.iter().find(|(p, _)| p.exists())
    {
        return Err(InvalidInput(format!(
            "{} exists: nothing was written (--force overwrites the starter files)",
            existing.display()
        )));
    }
    for (path, text) in &files {
        write(path, text)?;
    }
    for (path, text) in &files[..files.len() - 1] {
        if let Err(errors) = crate::flow::check(&path.display().to_string(), text) {
            let first = errors.first().map(ToString::to_string).unwrap_or_default();
            return Err(InvalidInput(format!("the shaped flows do not check:\n{first}")));
        }
    }
    crate::outln!(
        "wrote {} flows to {} and their schema to {}",
        FLOWS.len(),
        dir.join("flows").display(),
        dir.join("schemas").display()
    );
    crate::outln!("  login {}   phone {}   token {}", args.login_path, args.phone_path, args.token_path);
    crate::outln!(
        "next: cd {} && wxflow validate && wxflow run   (or wxflow run --mock URL --target URL)",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, text: &str) -> Result<(), InvalidInput> {
    let fail = |e: std::io::Error| InvalidInput(format!("{}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    std::fs::write(path, text).map_err(fail)
}
