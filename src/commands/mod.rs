//! The `wxflow` subcommands, one file each, between the clap types in
//! [`crate::cli`] and the library. [`dispatch`] is the binary's whole body.

pub mod decrypt;
pub mod init;
pub mod lint;
pub mod merge;
pub mod mutate;
pub mod run;
pub mod serve;
pub mod tui;
pub mod validate;

pub use crate::exit::{EXIT_FAILED, EXIT_INVALID, InvalidInput};
pub use validate::{FLOW_SCHEMA, LINT_SCHEMA, MUTATE_SCHEMA, REPORT_SCHEMA, load_flows};

use crate::cli::{Cli, Command};
use std::process::ExitCode;

/// Runs the command a parsed command line names.
pub async fn dispatch(cli: Cli) -> Result<ExitCode, InvalidInput> {
    match cli.command {
        Some(Command::Run(a)) => run::run(a).await,
        Some(Command::Tui(a)) => tui::tui(a.targets).await,
        Some(Command::Validate(a)) => validate::validate(a),
        Some(Command::Schema(a)) => validate::schema(a),
        Some(Command::Decrypt(a)) => decrypt::decrypt(a),
        Some(Command::Mock(a)) => serve::mock(a).await,
        Some(Command::Backend(a)) => serve::backend(a).await,
        Some(Command::Mutate(a)) => mutate::mutate(a).await,
        Some(Command::Merge(a)) => merge::merge(a),
        Some(Command::Init(a)) => init::init(a).await,
        Some(Command::Lint(a)) => lint::lint(a),
        Some(Command::Completions(a)) => tui::completions(a),
        Some(Command::Man) => tui::man(),
        // No command: the dashboard in a terminal, else a headless run, on the paths given.
        None => tui::tui(cli.targets).await,
    }
}

/// Writes a file the user may already have: a regular file there is kept
/// (`Ok(false)`) unless `force`, and a symlink or anything not a regular
/// file is never written through (an error naming it). Parents are made.
pub(crate) fn write_new(path: &std::path::Path, text: &str, force: bool) -> Result<bool, String> {
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if m.file_type().is_symlink() || !m.is_file() {
            return Err(fail(&"is a symlink or not a regular file; nothing was written through it"));
        }
        if !force {
            return Ok(false);
        }
        std::fs::remove_file(path).map_err(|e| fail(&e))?;
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| fail(&e))?;
    }
    // `create_new` refuses what appeared since, links included.
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| fail(&e))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| fail(&e))?;
    Ok(true)
}
