//! `cached-login-code`: a login code kept (page data, a module variable,
//! `globalData`, storage) by one entry point and sent by another.
//!
//! Flags: a request whose code came from a login run by another
//! lifecycle or handler (onLoad logs in, the button's handler sends).
//! Must not flag: a code obtained and sent in one handler.
//! Why: a code is single-use and lives five minutes; a page left open, or
//! a second tap, sends a spent or expired code (40029/40163).

use super::{Raw, send_related};
use crate::diagnostic::Severity;
use crate::lint::graph::Model;
use crate::lint::graph::value::Tag;
use std::collections::HashSet;

pub const ID: &str = "cached-login-code";
pub const WHY: &str = "a login code kept and sent later: codes are single-use and expire after five minutes";

pub fn check(model: &Model) -> Vec<Raw> {
    let mut out = vec![];
    let mut seen = HashSet::new();
    for send in &model.sends {
        for (_, t) in &send.tags {
            let Tag::Code(login) = t else { continue };
            if login.entry == send.entry || !seen.insert(login.id) {
                continue;
            }
            let (loc, what) = model.kept.get(&login.id).cloned().unwrap_or((login.loc, "a variable".into()));
            let mut related = vec![(login.loc, format!("the code comes from this `{}`", login.api))];
            related.extend(send_related(send, "and is sent here, by another handler, later"));
            out.push(Raw {
                rule: ID,
                severity: Severity::Warning,
                loc,
                message: format!("the login code is kept in {what} and sent later"),
                related,
                fix: format!("call {} where the request is made and send its fresh code; never keep a code", login.api),
                replay: None,
            });
        }
    }
    out
}
