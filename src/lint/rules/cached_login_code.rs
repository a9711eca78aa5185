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
pub const RULE: super::Rule = super::Rule {
    id: ID,
    severity: Severity::Warning,
    summary: "a code kept (page data, a module variable, `globalData`, storage) by one lifecycle or handler and sent by another",
    why: "a login code kept and sent later: codes are single-use and expire after five minutes",
    bad: "onLoad() { wx.login({ success: (r) => this.setData({ code: r.code }) }) },\nonTap() { wx.request({ url, data: { code: this.data.code } }) }",
    good: "onTap() { wx.login({ success: (r) => wx.request({ url, data: { code: r.code } }) }) }",
    fix: "log in where the request is made; never keep a code (single use, five minutes)",
    flags: &["cached", "global-data"],
    passes: &["login-first", "seed-native"],
    check,
};

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
