//! wxflow: finds login bugs in WeChat Mini Programs.
//!
//! The modules, by group:
//! - protocol: [`wechat`] (crypto, errcodes, wire types), [`contract`] (the
//!   mock's own API: client requests, ground truth, rotation, faults).
//! - servers: [`mock`] (the mock WeChat service), [`backend`] (the reference
//!   login server), [`serve`] (binding them), [`cores`] (a runtime per core),
//!   [`tls`], [`http1`] (own HTTP/1.1 connections for plain-http peers).
//! - flows and runs: [`flow`] (YAML model, checking, templates), [`engine`]
//!   (one flow as one virtual user), [`load`] (repeat, concurrency, rate),
//!   [`stats`] (pure fold of results), [`report`] (text, JSON, JUnit, HTML),
//!   [`redact`] (secrets masked), [`signals`], [`limits`] (the tester's own
//!   resources: descriptor budget, `tester_limit`).
//! - the client's source: [`lint`] (`wxflow lint`), read; [`client`] (a
//!   Mini Program's own code run headless for page steps), run.
//! - the surface: [`cli`] (clap types), [`commands`] (one file per
//!   subcommand), [`tui`] (the dashboard), [`diagnostic`] (the one look of
//!   errors and findings), [`exit`] (exit codes).

pub mod backend;
pub mod cli;
pub mod client;
pub mod commands;
pub mod contract;
pub mod cores;
pub mod diagnostic;
pub mod engine;
pub mod exit;
pub mod flow;
pub mod http1;
pub mod limits;
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
