//! `wxflow lint`: the Mini Program's source read for its login bugs.
//! Exit 0 without an error-level finding, 1 with one (`--deny warnings`:
//! warnings too), 2 on bad input.

use crate::cli::{LintArgs, LintDeny, LintFormat};
use crate::diagnostic::{Severity, color_for};
use crate::exit::{EXIT_FAILED, InvalidInput};
use crate::lint::{flows, output};
use std::io::IsTerminal;
use std::process::ExitCode;

pub fn lint(args: LintArgs) -> Result<ExitCode, InvalidInput> {
    let paths = if args.paths.is_empty() { vec![".".into()] } else { args.paths.clone() };
    let report = crate::lint::lint(&paths).map_err(|e| InvalidInput(format!("lint: {e}")))?;
    match args.format {
        LintFormat::Human => crate::out!("{}", output::human(&report, color_for(std::io::stdout().is_terminal()))),
        LintFormat::Json => {
            crate::outln!("{}", serde_json::to_string_pretty(&output::json(&report)).unwrap_or_default());
        }
        LintFormat::Sarif => {
            crate::outln!("{}", serde_json::to_string_pretty(&output::sarif(&report)).unwrap_or_default());
        }
    }
    if let Some(dir) = &args.emit_flows {
        std::fs::create_dir_all(dir).map_err(|e| InvalidInput(format!("--emit-flows {}: {e}", dir.display())))?;
        let mut n = 0;
        for f in &report.findings {
            if let Some(text) = flows::flow_for(f) {
                let path = dir.join(flows::file_name(f));
                std::fs::write(&path, text)
                    .map_err(|e| InvalidInput(format!("--emit-flows {}: {e}", path.display())))?;
                n += 1;
            }
        }
        eprintln!("wrote {n} flow{} to {}", if n == 1 { "" } else { "s" }, dir.display());
    }
    let failing = report.count(Severity::Error)
        + if args.deny == Some(LintDeny::Warnings) { report.count(Severity::Warning) } else { 0 };
    Ok(if failing > 0 { ExitCode::from(EXIT_FAILED) } else { ExitCode::SUCCESS })
}
