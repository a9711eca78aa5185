use clap::Parser;
use std::process::ExitCode;
use wxflow::cli::{Cli, Command};
use wxflow::commands::{self, EXIT_INVALID};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Run(a)) => wxflow::run::run(a).await,
        Some(Command::Validate(a)) => commands::validate(a),
        Some(Command::Schema(a)) => commands::schema(a),
        Some(Command::Decrypt(a)) => commands::decrypt(a),
        Some(Command::Mock(a)) => commands::mock(a).await,
        Some(Command::Backend(a)) => commands::backend(a).await,
        None => {
            eprintln!("wxflow: no command given; see `wxflow --help`");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_INVALID)
    })
}
