use clap::Parser;
use std::process::ExitCode;
use wxflow::cli::{Cli, Command, RunArgs, TuiArgs};
use wxflow::commands::{self, EXIT_INVALID};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Run(a)) => wxflow::run::run(a).await,
        Some(Command::Tui(a)) if wxflow::tui::interactive() => wxflow::tui::run(a).await,
        Some(Command::Tui(a)) => wxflow::run::run(headless(a)).await,
        Some(Command::Validate(a)) => commands::validate(a),
        Some(Command::Schema(a)) => commands::schema(a),
        Some(Command::Decrypt(a)) => commands::decrypt(a),
        Some(Command::Mock(a)) => commands::mock(a).await,
        Some(Command::Backend(a)) => commands::backend(a).await,
        // No command: the dashboard in a terminal, else a headless run.
        None if wxflow::tui::interactive() => wxflow::tui::run(TuiArgs::default()).await,
        None => wxflow::run::run(headless(TuiArgs::default())).await,
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_INVALID)
    })
}

/// The headless equivalent of a dashboard invocation.
fn headless(a: TuiArgs) -> RunArgs {
    RunArgs {
        paths: a.paths,
        mock: a.mock,
        target: a.target,
        seed: a.seed,
        rotation: None,
        reports: vec![],
        reveal_secrets: false,
        repeat: None,
        concurrency: None,
        duration: None,
        rate: None,
        users: None,
        replay: None,
        until_fail: false,
        max_failure_rate: None,
        max_latency: vec![],
    }
}
