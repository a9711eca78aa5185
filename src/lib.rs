//! wxflow: finds login bugs in WeChat Mini Programs.
//!
//! The pieces: [`wechat`] (protocol crypto and wire types), [`mock`] (a mock
//! WeChat service, server API and client side), [`backend`] (a correct
//! reference login server), [`serve`] (binding them), [`flow`] and
//! [`engine`] (flows and running them), [`lint`] (reading a Mini Program's
//! own source), [`diagnostic`] (the one look of errors and findings),
//! [`cli`] and [`commands`] (the `wxflow` binary's surface, one file per
//! subcommand).

pub mod backend;
pub mod cli;
pub mod commands;
pub mod contract;
pub mod cores;
pub mod diagnostic;
pub mod engine;
pub mod exit;
pub mod flow;
pub mod http1;
pub mod lint;
pub mod load;
pub mod mock;
pub mod redact;
pub mod report;
pub mod serve;
pub mod signals;
pub mod stats;
pub mod tls;
pub mod tui;
pub mod wechat;

/// `print!` to stdout that never panics: with stdout closed (`wxflow run |
/// head -1`) the text is lost, never the run or its reports.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

/// `println!` that never panics; see [`out!`].
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// The full chain of an error as one line, for messages like "error
/// sending request: connection refused".
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    s
}
