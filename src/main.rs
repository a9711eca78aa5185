use clap::Parser;
use std::process::ExitCode;
use wxflow::cli::{Cli, Command, RunArgs, Targets};
use wxflow::commands;
use wxflow::exit::EXIT_INVALID;

/// Allocation is a quarter of a load run's CPU under glibc's malloc
/// (measured with perf); with mimalloc a load run does 1.6× the flows/s.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's options `arena_eager_commit` and `purge_delay`, which
/// libmimalloc-sys does not name; values from its mimalloc.h (v2).
const MI_OPTION_ARENA_EAGER_COMMIT: i32 = 4;
const MI_OPTION_PURGE_DELAY: i32 = 15;

fn main() -> ExitCode {
    // Commit arena memory as it is used and return freed memory at once:
    // with them (and mimalloc's `no_thp`) a long run peaks at 73-80 MB RSS,
    // without them near 91 MB (benches/memory.sh), at the same speed.
    // SAFETY: plain option setters, called before any other thread exists.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
    // rustls' crypto (aws-lc-rs), for every client and server, once.
    wxflow::tls::install_provider();
    match tokio::runtime::Runtime::new() {
        Ok(rt) => rt.block_on(run()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Run(a)) => wxflow::run::run(a).await,
        Some(Command::Tui(a)) if wxflow::tui::interactive() => dashboard(&a.targets).await,
        Some(Command::Tui(a)) => wxflow::run::run(headless(a.targets)).await,
        Some(Command::Validate(a)) => commands::validate(a),
        Some(Command::Schema(a)) => commands::schema(a),
        Some(Command::Decrypt(a)) => commands::decrypt(a),
        Some(Command::Mock(a)) => commands::mock(a).await,
        Some(Command::Backend(a)) => commands::backend(a).await,
        Some(Command::Mutate(a)) => wxflow::mutate::mutate(a).await,
        Some(Command::Merge(a)) => wxflow::merge::merge(a),
        Some(Command::Init(a)) => wxflow::init::init(a),
        Some(Command::Completions(a)) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(a.shell, &mut cmd, "wxflow", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Man) => {
            let page = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
            let mut out = Vec::new();
            match page.render(&mut out) {
                Ok(()) => {
                    wxflow::out!("{}", String::from_utf8_lossy(&out));
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Err(commands::InvalidInput(format!("man page: {e}"))),
            }
        }
        // No command: the dashboard in a terminal, else a headless run, on the paths given.
        None => {
            let targets = Targets { paths: cli.paths, ..Targets::default() };
            if wxflow::tui::interactive() {
                dashboard(&targets).await
            } else {
                wxflow::run::run(headless(targets)).await
            }
        }
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_INVALID)
    })
}

async fn dashboard(t: &Targets) -> Result<ExitCode, commands::InvalidInput> {
    let paths = wxflow::cli::flow_paths(&t.paths);
    let tls = wxflow::tls::ClientTls::load(&t.ca_certs, t.insecure).map_err(commands::InvalidInput)?;
    wxflow::tui::run(&paths, t.mock.as_deref(), t.target.as_deref(), t.seed, &tls).await
}

/// The headless equivalent of a dashboard invocation.
fn headless(targets: Targets) -> RunArgs {
    RunArgs { targets, ..RunArgs::default() }
}
