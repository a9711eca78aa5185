//! `session-key-on-client`: a session_key received from the backend (or
//! any outside answer) and kept or sent by the client.
//!
//! Flags: a `session_key`/`sessionKey` field of an answer that reaches
//! storage, page data, `globalData`, a module variable or a request.
//! Must not flag: a field read and dropped.
//! Why: the session_key decrypts every piece of the user's open data and
//! signs it; it must never leave the backend.

use super::Raw;
use crate::diagnostic::Severity;
use crate::lint::graph::Model;
use crate::lint::graph::value::Tag;
use std::collections::HashSet;

pub const ID: &str = "session-key-on-client";
pub const RULE: super::Rule = super::Rule {
    id: ID,
    severity: Severity::Error,
    summary: "a `session_key` from the backend's answer kept or sent by the client",
    why: "a session_key on the client: it decrypts and signs all the user's open data and must stay on the backend",
    bad: "wx.request({ url, data: { code }, success: (res) => wx.setStorageSync('session_key', res.data.session_key) })",
    good: "wx.request({ url, data: { code }, success: (res) => wx.setStorageSync('token', res.data.token) })",
    fix: "keep it on the backend; hand the client a token of your own",
    flags: &["session-key"],
    passes: &["seed-native", "login-first"],
    check,
};

pub fn check(model: &Model) -> Vec<Raw> {
    let mut out = vec![];
    let mut seen = HashSet::new();
    let stores = model.stores.iter().map(|s| (s.loc, s.tags.clone(), format!("kept here, in {}", s.what)));
    let sends = model
        .sends
        .iter()
        .filter(|s| s.client)
        .map(|s| (s.loc, s.tags.iter().map(|(_, t)| t.clone()).collect(), "and sent back out here".to_string()));
    for (loc, tags, what) in stores.chain(sends).collect::<Vec<(_, Vec<Tag>, _)>>() {
        for t in &tags {
            let Tag::SessionKey(from) = t else { continue };
            if !seen.insert(*from) {
                continue;
            }
            out.push(Raw {
                rule: ID,
                severity: Severity::Error,
                loc: *from,
                message: "a session_key received from the backend is kept on the client".into(),
                related: vec![(loc, what.clone())],
                fix: "keep the session_key on the backend; give the client an opaque login token of your own instead"
                    .into(),
                replay: None,
            });
        }
    }
    out
}
