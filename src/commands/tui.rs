//! `wxflow tui` (and the bare `wxflow`): the dashboard in a terminal, a
//! headless `run` elsewhere; `completions` and `man`, the command line
//! described for shells and readers.

use crate::cli::{Cli, CompletionsArgs, RunArgs, Targets};
use crate::exit::InvalidInput;
use std::process::ExitCode;

/// The dashboard over `targets` when interactive, else the headless run.
pub async fn tui(targets: Targets) -> Result<ExitCode, InvalidInput> {
    if !crate::tui::interactive() {
        return super::run::run(RunArgs { targets, ..RunArgs::default() }).await;
    }
    // The dashboard's load runs get the process's whole descriptor limit.
    crate::limits::raise_descriptor_limit();
    let tls = crate::tls::ClientTls::load(&targets.ca_certs, targets.insecure).map_err(InvalidInput)?;
    let outside = targets.vars.gather()?;
    crate::tui::run(&targets, &tls, &outside).await
}

/// `wxflow completions SHELL`.
pub fn completions(args: CompletionsArgs) -> Result<ExitCode, InvalidInput> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(args.shell, &mut cmd, "wxflow", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// `wxflow man`.
pub fn man() -> Result<ExitCode, InvalidInput> {
    let page = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
    let mut out = Vec::new();
    page.render(&mut out).map_err(|e| InvalidInput(format!("man page: {e}")))?;
    crate::out!("{}", String::from_utf8_lossy(&out));
    Ok(ExitCode::SUCCESS)
}
