use clap::Parser;
use std::process::ExitCode;
use wxflow::cli::Cli;
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
    commands::dispatch(Cli::parse()).await.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_INVALID)
    })
}
