//! The ground truth the mock keeps: which session_key generation sealed an
//! iv, and which one the exchange of a code returned.

use super::{MockState, code_key, iv_key};
use crate::contract::{CodeTruth, IvTruth, PayloadTruth};

impl MockState {
    /// What the mock knows about an iv it sealed (`None`: not its own, or forgotten).
    pub fn iv_truth(&self, iv: &str) -> Option<IvTruth> {
        let p = self.payloads.get(&iv_key(iv)?)?;
        let u = self.users.get(&p.user)?;
        let (appid, user) = p.user.split_once('/').unwrap_or(("", &p.user));
        Some(IvTruth {
            payload: PayloadTruth {
                appid: appid.into(),
                user: user.into(),
                api: p.api.into(),
                sealed_generation: p.generation,
                sealed_ms: p.sealed_ms,
            },
            current_generation: u.generation,
            age_ms: self.user_now_ms(&p.user) - p.sealed_ms,
        })
    }

    /// What the mock knows about a login code it issued.
    pub fn code_truth(&self, code: &str) -> Option<CodeTruth> {
        let c = self.codes.get(&code_key(code)?)?;
        let u = self.users.get(&c.user)?;
        Some(CodeTruth {
            user: c.user.split_once('/').map_or("", |(_, u)| u).to_string(),
            issued_generation: c.generation,
            exchanged_generation: c.exchanged,
            asked: c.asked,
            answered: c.answered,
            current_generation: u.generation,
            age_ms: self.user_now_ms(&c.user) - c.issued_ms,
        })
    }
}
