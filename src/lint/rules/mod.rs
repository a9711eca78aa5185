//! The rules: each reads the [`Model`] the evaluator built, never the
//! source text, and says what it flags, what it must not, and why.

mod cached_login_code;
mod racing_login;
mod session_key_on_client;
mod stale_open_data;

use super::graph::value::{Loc, Login, OpenData, Tag};
use super::graph::{Model, Send};
use crate::diagnostic::Severity;
use std::rc::Rc;

/// Every rule id, for `wxflow-lint-ignore` and the docs.
pub const RULES: &[(&str, Severity, &str)] = &[
    (stale_open_data::ID, Severity::Error, stale_open_data::WHY),
    (cached_login_code::ID, Severity::Warning, cached_login_code::WHY),
    (session_key_on_client::ID, Severity::Error, session_key_on_client::WHY),
    (racing_login::ID, Severity::Warning, racing_login::WHY),
];

/// A finding before it is placed in its file.
#[derive(Debug)]
pub struct Raw {
    pub rule: &'static str,
    pub severity: Severity,
    pub loc: Loc,
    pub message: String,
    pub related: Vec<(Loc, String)>,
    pub fix: String,
    /// For `stale-open-data`: what `--emit-flows` replays.
    pub replay: Option<Replay>,
}

/// The order a finding saw: the open data, the login, the request.
#[derive(Debug, Clone)]
pub struct Replay {
    pub open: Rc<OpenData>,
    pub login: Rc<Login>,
    pub url: Option<String>,
    pub method: Option<String>,
    /// Field path → what the client puts there.
    pub fields: Vec<(Vec<String>, Tag)>,
}

pub fn run(model: &Model) -> Vec<Raw> {
    let mut out = vec![];
    out.extend(stale_open_data::check(model));
    out.extend(cached_login_code::check(model));
    out.extend(session_key_on_client::check(model));
    out.extend(racing_login::check(model));
    out
}

/// The sealed fields a request carries, and the logins whose key it
/// carries: by their code, or by what the backend answered for it.
fn carried(send: &Send) -> (Vec<&Rc<OpenData>>, Vec<&Rc<Login>>) {
    let mut open: Vec<&Rc<OpenData>> = vec![];
    let mut codes: Vec<&Rc<Login>> = vec![];
    for (_, t) in &send.tags {
        match t {
            Tag::Open(d, _) if t.is_sealed() && !open.iter().any(|o| Rc::ptr_eq(o, d)) => open.push(d),
            Tag::Code(l) | Tag::Carrier(l) if !codes.iter().any(|c| c.id == l.id) => codes.push(l),
            _ => {}
        }
    }
    (open, codes)
}

/// "sent here", naming the wrapper call that leads to it when the request is elsewhere.
fn send_related(send: &Send, what: &str) -> Vec<(Loc, String)> {
    let mut out = vec![(send.loc, what.to_string())];
    if let Some(first) = send.chain.iter().rev().find(|c| c.end > 0 && c.file != send.loc.file) {
        out.push((*first, "through this call".to_string()));
    }
    out
}
