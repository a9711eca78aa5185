//! The freshness judgement, in one place: what the wx steps produced
//! ([`Produced`]), what an http step's request carried of it ([`Carried`]),
//! and the judgement of each payload against the mock's ground truth
//! ([`StepResult::judge`]): fresh, or stale with the generations.

use super::send::Rendered;
use super::{Basis, Freshness, PayloadUse, StepError, StepResult, ms};
use crate::contract::{CodeTruth, TruthQuery, Truths};
use std::time::Instant;

/// A payload or code a wx step produced, remembered for later steps.
pub(super) struct Produced {
    pub(super) step: String,
    pub(super) iv: Option<String>,
    pub(super) has_plus: bool,
    pub(super) code: Option<String>,
    /// A `wx.login`'s code (not getPhoneNumber's one-time code).
    pub(super) login: bool,
    pub(super) generation: Option<u32>,
    pub(super) at: Instant,
    /// The mock instance that answered.
    pub(super) instance: Option<String>,
}

/// The codes and ivs an http step's request carried, to judge against the
/// mock's ground truth in one lookup.
#[derive(Debug, Clone)]
pub struct Carried {
    pub(super) query: TruthQuery,
    /// Per iv of the query: where it came from and how old it was when sent.
    ivs: Vec<CarriedIv>,
    /// The mock instance that issued them.
    instance: Option<String>,
    /// The request holds a literal `+` where it decodes to a space (a form
    /// body, a URL query).
    plus_unencoded: bool,
}

impl Carried {
    /// Why the mock's `truths` about what this step carried leave the
    /// iteration unjudged: no mock answered the lookup (it was unreachable
    /// while the backend worked), or another instance did (it restarted:
    /// `true`, which leaves even a passing step unjudged).
    pub(super) fn mock_unavailable(&self, truths: &Truths) -> Option<(bool, String)> {
        match &truths.instance {
            None => Some((
                false,
                format!(
                    "the mock did not answer the ground-truth lookup after this step, so it was unreachable while the backend handled the login: {}",
                    super::UNJUDGED
                ),
            )),
            now => StepError::restart(self.instance.as_deref(), now.as_deref()).map(|e| (true, e.diagnosis())),
        }
    }
}

#[derive(Debug, Clone)]
struct CarriedIv {
    from_step: String,
    /// The generation the wx step's answer named, if the mock forgot the iv.
    generation: Option<u32>,
    age_ms: f64,
    has_plus: bool,
}

/// Whether any of a request's `texts` (its URL, body, header values)
/// carries `v`, as is or percent-encoded. Codes and base64 travel in JSON
/// unescaped, so these two forms are all a request has.
pub(super) fn carries(texts: &[&str], v: &str) -> bool {
    let encoded: String = form_urlencoded::byte_serialize(v.as_bytes()).collect();
    texts.iter().any(|t| t.contains(v) || t.contains(&encoded))
}

/// What of `produced` the request carried (as is or percent-encoded),
/// wherever it travels.
pub(super) fn carried(produced: &[Produced], req: &Rendered) -> Option<Carried> {
    // Anywhere the request carries it: the URL, the body (JSON, form, raw),
    // and the headers (custom ones, cookies).
    let texts: Vec<&str> =
        [req.url.as_str(), req.body.as_str()].into_iter().chain(req.headers.iter().map(|(_, v)| v.as_str())).collect();
    let sent = |v: &str| carries(&texts, v);
    let codes: Vec<String> = produced.iter().filter_map(|p| p.code.clone().filter(|c| sent(c))).collect();
    let ivs: Vec<&Produced> = produced.iter().filter(|p| p.iv.as_deref().is_some_and(sent)).collect();
    if codes.is_empty() && ivs.is_empty() {
        return None;
    }
    // The type sent: the step's own header, else the one its body implies.
    let sent_type = req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type")).map(|(_, v)| v.as_str());
    let form = sent_type.or(req.content_type).is_some_and(|t| t.contains("x-www-form-urlencoded"));
    let plus_unencoded =
        req.url.split_once('?').is_some_and(|(_, q)| q.contains('+')) || (form && req.body.contains('+'));
    Some(Carried {
        query: TruthQuery { codes, ivs: ivs.iter().filter_map(|p| p.iv.clone()).collect() },
        ivs: ivs
            .iter()
            .map(|p| CarriedIv {
                from_step: p.step.clone(),
                generation: p.generation,
                age_ms: ms(p.at.elapsed()),
                has_plus: p.has_plus,
            })
            .collect(),
        instance: produced.iter().find_map(|p| p.instance.clone()),
        plus_unencoded,
    })
}

impl StepResult {
    /// Judges every payload `carried` names against the mock's `truths`;
    /// returns the truth about the login code it carried (its age, and how
    /// the backend misused jscode2session with it).
    pub(super) fn judge<'t>(&mut self, carried: &Carried, truths: &'t Truths) -> Option<&'t CodeTruth> {
        self.http_requests += truths.requests;
        // The last code carried is the one the backend exchanged.
        let code = truths.codes.iter().rev().flatten().next();
        let exchanged = truths.codes.iter().flatten().filter_map(|t| t.exchanged_generation).next_back();
        // A code the mock issued that the backend never took to WeChat.
        let never_asked = code.is_some_and(|t| !t.asked);
        for (i, (p, iv)) in carried.ivs.iter().zip(&carried.query.ivs).enumerate() {
            let truth = truths.ivs.get(i).and_then(Option::as_ref);
            let sealed = truth.map(|t| t.payload.sealed_generation).or(p.generation);
            let (against, basis) = match exchanged {
                Some(g) => (Some(g), Basis::CodeExchange),
                None if never_asked => (truth.map(|t| t.current_generation), Basis::NotExchanged),
                None => (truth.map(|t| t.current_generation), Basis::CurrentKey),
            };
            let freshness = match (sealed, against) {
                (Some(s), Some(a)) if s == a => Freshness::Fresh,
                (Some(sealed), Some(against)) => Freshness::Stale { sealed, against },
                _ => Freshness::Unknown,
            };
            self.payloads.push(PayloadUse {
                from_step: p.from_step.clone(),
                iv: iv.clone(),
                sealed_generation: sealed,
                against_generation: against,
                basis,
                age_ms: p.age_ms,
                freshness,
                has_plus: p.has_plus,
                plus_unencoded: p.has_plus && carried.plus_unencoded,
            });
        }
        code
    }
}
