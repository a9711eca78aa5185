//! `racing-login`: two logins in flight at once, or a login racing the
//! open-data call whose data is sent with its code.
//!
//! Flags: a `wx.login` issued while another one on the same path has not
//! answered (an un-awaited login beside an awaited one), when either
//! code is sent; the app's launch login beside a page's load login, both
//! sent; open data requested while the login it is paired with is in
//! flight (`Promise.all([login(), getUserProfile()])`).
//! Must not flag: a login that waits for the other; data requested after
//! the login answered.
//! Why: the later login may refresh the session_key under the earlier
//! one's code, or under data sealed a moment before.

use super::{Raw, carried, send_related};
use crate::diagnostic::Severity;
use crate::lint::graph::value::Tag;
use crate::lint::graph::{EntryKind, Model};
use std::collections::HashSet;

pub const ID: &str = "racing-login";
pub const RULE: super::Rule = super::Rule {
    id: ID,
    severity: Severity::Warning,
    summary: "two logins in flight at once (one not awaited), the app's launch login beside a page's, or open data requested while its login is in flight",
    why: "two logins (or a login and the open data it is paired with) in flight at once: one may refresh the session_key under the other",
    bad: "const [r, u] = await Promise.all([wx.login(), wx.getUserProfile({ desc })])",
    good: "const u = await wx.getUserProfile({ desc })\nconst r = await wx.login()  // then send u's data with a fresh getUserInfo, or log in first",
    fix: "wait for one login before the next login or open-data call",
    flags: &["racing"],
    passes: &["seed-native", "login-first", "seed-fix"],
    check,
};

pub fn check(model: &Model) -> Vec<Raw> {
    let sent: HashSet<u32> = model
        .sends
        .iter()
        .flat_map(|s| s.tags.iter())
        .filter_map(|(_, t)| if let Tag::Code(l) = t { Some(l.id) } else { None })
        .collect();
    let mut out = vec![];
    let mut seen = HashSet::new();
    let fix = "wait for one login (await it, or share one promise) before any other login or open-data call";
    for call in &model.logins {
        let l = &call.login;
        if let Some(other) = call.pending.iter().find(|o| sent.contains(&o.id) || sent.contains(&l.id))
            && seen.insert(l.loc)
        {
            out.push(Raw {
                rule: ID,
                severity: Severity::Warning,
                loc: l.loc,
                message: format!("`{}` is called while another login has not answered", l.api),
                related: vec![(other.loc, "this login is still in flight".into())],
                fix: fix.into(),
                replay: None,
            });
        }
    }
    let app: Vec<_> =
        model.logins.iter().filter(|c| c.entry_kind == EntryKind::AppLifecycle && sent.contains(&c.login.id)).collect();
    for call in model.logins.iter().filter(|c| c.entry_kind == EntryKind::PageLifecycle && sent.contains(&c.login.id)) {
        if let Some(a) = app.first()
            && seen.insert(call.login.loc)
        {
            out.push(Raw {
                rule: ID,
                severity: Severity::Warning,
                loc: call.login.loc,
                message: format!("`{}` at page load races the app's launch login", call.login.api),
                related: vec![(a.login.loc, "the app logs in at launch too, and both codes are sent".into())],
                fix: fix.into(),
                replay: None,
            });
        }
    }
    for send in &model.sends {
        let (open, codes) = carried(send);
        for d in open {
            for l in &codes {
                let this_run = l.entry == send.entry && l.time >= send.run_started;
                if this_run && d.time > l.time && !d.hb.contains(&l.id) && seen.insert(l.loc) {
                    let mut related = vec![(d.loc, format!("{} is called before that login answered", d.api))];
                    related.extend(send_related(send, "and both are sent here"));
                    out.push(Raw {
                        rule: ID,
                        severity: Severity::Warning,
                        loc: l.loc,
                        message: format!("`{}` races the {} call whose data is sent with its code", l.api, d.api),
                        related,
                        fix: fix.into(),
                        replay: None,
                    });
                }
            }
        }
    }
    out
}
