//! `stale-open-data`: sealed open data (encryptedData/iv of getUserInfo,
//! getUserProfile, getShareInfo, getWeRunData, the encrypted
//! getPhoneNumber) obtained before a login whose code is sent with it.
//!
//! Flags: a request that carries both, where the data was obtained
//! before the login was called (a button's `e.detail`, then `wx.login`);
//! the login's key is carried by its code or by anything the backend
//! answered a request that carried the code (a token, an openid).
//! Must not flag: login first, then the data; the seed's fix (the data
//! fetched again after the login); a request with only one of the two;
//! the phone button's `e.detail.code` (no ciphertext).
//! Why: `wx.login` may refresh the session_key; the backend then decrypts
//! with the new key what was sealed with the old one: -41003 or a
//! signature mismatch, now and then, and a retry works.

use super::{Raw, Replay, carried, send_related};
use crate::diagnostic::Severity;
use crate::lint::graph::Model;
use crate::lint::graph::value::Tag;
use std::collections::HashSet;

pub const ID: &str = "stale-open-data";
pub const RULE: super::Rule = super::Rule {
    id: ID,
    severity: Severity::Error,
    summary: "encryptedData/iv (getUserInfo, getUserProfile, getShareInfo, getWeRunData, the encrypted getPhoneNumber) obtained before a `wx.login`/`uni.login`/`Taro.login` whose key is sent with them: its code, or anything the backend answered a request that carried the code (a token, session_key or openid; kept in storage or page data or not)",
    why: "sealed data from before a wx.login is sent with that login's code: when the login refreshes the session_key, the backend cannot decrypt it (-41003) or the signature mismatches, now and then",
    bad: "onGotUserInfo(e) {\n  const { encryptedData, iv } = e.detail\n  wx.login({ success: (r) => wx.request({ url, data: { code: r.code, encryptedData, iv } }) })\n}",
    good: "onGotUserInfo() {\n  wx.login({ success: (r) => wx.getUserInfo({ success: (u) =>\n    wx.request({ url, data: { code: r.code, encryptedData: u.encryptedData, iv: u.iv } }) }) })\n}",
    fix: "log in first and get the data after it answers, or get it again after the login (the seed's fix); for the phone number send `e.detail.code`",
    flags: &[
        "seed-native",
        "assign",
        "callbacks",
        "check-session",
        "mpvue",
        "phone",
        "promisify",
        "setup",
        "taro",
        "uni-store",
        "uniapp",
    ],
    passes: &["login-first", "seed-fix", "plain", "ignored", "ignores-detail"],
    check,
};

pub fn check(model: &Model) -> Vec<Raw> {
    let mut out = vec![];
    let mut seen = HashSet::new();
    // One handler reached twice (as its own entry and from the handler that
    // calls it) is one finding: the same login and request for data of one file.
    let mut pairs = HashSet::new();
    for send in &model.sends {
        let (open, codes) = carried(send);
        for d in &open {
            let Some(login) = codes.iter().find(|l| d.time < l.time) else { continue };
            if !seen.insert(d.loc) || !pairs.insert((send.loc, login.loc, d.loc.file)) {
                continue;
            }
            let source = if d.from_event { "the button's event" } else { "the API call" };
            let by_code = send.tags.iter().any(|(_, t)| matches!(t, Tag::Code(l) if l.id == login.id));
            let key = if by_code {
                "whose code is sent with them"
            } else {
                "and are sent with what the backend answered for that login's code (a token, a session_key or an openid), which carries its key"
            };
            let mut related = vec![(login.loc, format!("then `{}` here may refresh the session_key", login.api))];
            related.extend(send_related(send, "and both are sent here: the data was sealed with the old key"));
            if let Some(b) = d.button {
                related.push((b, "the button that hands over the sealed data".into()));
            }
            out.push(Raw {
                rule: ID,
                severity: Severity::Error,
                loc: d.loc,
                message: format!(
                    "encryptedData/iv from {} ({source}) are obtained before `{}`, {key}",
                    d.api, login.api
                ),
                related,
                fix: format!(
                    "call {} first and obtain the data after it answers, or call {} again after the login (no popup the second time){}",
                    login.api,
                    if d.api == "getPhoneNumber" { "wx.getUserInfo" } else { d.api },
                    if d.api == "getPhoneNumber" { "; for the phone number, send e.detail.code instead of the ciphertext" } else { "" }
                ),
                replay: Some(Replay {
                    open: (*d).clone(),
                    login: (*login).clone(),
                    url: send.url.clone(),
                    method: send.method.clone(),
                    fields: send.tags.clone(),
                }),
            });
        }
    }
    out
}
