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

/// One rule, declared once. The table [`RULES`] drives the run, SARIF's
/// `rules`, `wxflow lint --explain`, docs/lint.md's rule table (a test
/// keeps them equal) and the check of `wxflow-lint-ignore` comments.
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    /// What it flags, in a line.
    pub summary: &'static str,
    /// Why it matters: the finding's `why` note.
    pub why: &'static str,
    /// Code it flags, and the same code fixed.
    pub bad: &'static str,
    pub good: &'static str,
    pub fix: &'static str,
    /// Fixtures of `tests/lint/` it must flag, and must not (checked by
    /// `tests/lint.rs`).
    pub flags: &'static [&'static str],
    pub passes: &'static [&'static str],
    pub check: fn(&Model) -> Vec<Raw>,
}

fn none(_: &Model) -> Vec<Raw> {
    vec![]
}

/// A file that does not parse: reported by the parser, not the model.
pub const PARSE_ERROR: Rule = Rule {
    id: "parse-error",
    severity: Severity::Warning,
    summary: "a file that does not parse (file:line:col); the rest is still linted",
    why: "a file that does not parse is linted only as far as it parsed",
    bad: "Page({ onLoad() { wx.login( } })",
    good: "Page({ onLoad() { wx.login() } })",
    fix: "fix the syntax error, or exclude the file",
    flags: &["malformed"],
    passes: &["seed-native"],
    check: none,
};

/// A `wxflow-lint-ignore` comment that names no rule of this table.
pub const UNKNOWN_IGNORE: Rule = Rule {
    id: "unknown-ignore",
    severity: Severity::Warning,
    summary: "a `// wxflow-lint-ignore` comment naming a rule that does not exist (it silences nothing)",
    why: "an ignore comment with a mistyped rule silences nothing, and hides that it does not",
    bad: "// wxflow-lint-ignore stale-openn-data: reviewed",
    good: "// wxflow-lint-ignore stale-open-data: reviewed",
    fix: "name a rule of `wxflow lint --explain`, or remove the comment",
    flags: &[],
    passes: &["ignored", "ignores-detail"],
    check: none,
};

/// Every rule.
pub const RULES: &[&Rule] = &[
    &stale_open_data::RULE,
    &cached_login_code::RULE,
    &session_key_on_client::RULE,
    &racing_login::RULE,
    &PARSE_ERROR,
    &UNKNOWN_IGNORE,
];

/// The rule of an id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.id == id)
}

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
    RULES.iter().flat_map(|r| (r.check)(model)).collect()
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
