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
