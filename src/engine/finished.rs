//! A finished iteration on its way out: its payloads still to judge
//! against the ground truth ([`Finished::settle`], the only I/O here), and
//! its secrets still to mask ([`Finished::masked`]).

use super::freshness::Carried;
use super::result::{FlowResult, StepResult};
use crate::contract::GroundTruth;
use crate::redact::Redactor;
use std::sync::Arc;

/// A finished iteration whose texts may still hold secrets. Most results
/// of a load run are only counted: masking every one cost about 7% of the
/// runner's CPU (perf, login-first against an external mock at C=16), so a
/// result is masked when it is kept or shown ([`Finished::masked`]).
#[derive(Clone)]
pub struct Finished {
    result: FlowResult,
    /// Payloads of passing steps still to judge against the ground truth
    /// (a load run's last step), by step index: see [`Finished::settle`].
    pending: Vec<(usize, Carried)>,
    /// What masks its texts; `None` once they are masked.
    redactor: Option<Arc<Redactor>>,
    /// Where its unjudged payloads are judged.
    truth: Option<Arc<dyn GroundTruth>>,
}

impl std::fmt::Debug for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finished").field("result", &self.result).finish_non_exhaustive()
    }
}

/// A result whose texts are masked already.
impl From<FlowResult> for Finished {
    fn from(result: FlowResult) -> Self {
        Finished { result, pending: vec![], redactor: None, truth: None }
    }
}

impl Finished {
    pub(super) fn unmasked(
        result: FlowResult,
        pending: Vec<(usize, Carried)>,
        redactor: Arc<Redactor>,
        truth: Arc<dyn GroundTruth>,
    ) -> Self {
        Finished { result, pending, redactor: Some(redactor), truth: Some(truth) }
    }

    /// Whether every payload has been judged against the ground truth.
    pub fn settled(&self) -> bool {
        self.pending.is_empty()
    }

    /// Judges the payloads a passing last step carried, which the
    /// iteration did not wait for (its virtual user went on to the next
    /// one): one lookup, riding a later request to the mock.
    pub async fn settle(mut self) -> Finished {
        let Some(truth) = self.truth.clone() else { return self };
        for (i, carried) in std::mem::take(&mut self.pending) {
            let truths = truth.lookup(&carried.query).await;
            self.result.steps[i].judge(&carried, &truths);
        }
        self
    }

    /// The result, for its outcome and figures. Its texts (exchanges,
    /// captures, reasons) may hold secrets: what leaves the process comes
    /// from [`Finished::masked`].
    pub fn counts(&self) -> &FlowResult {
        &self.result
    }

    /// Adds time the iteration waited to start (open model) to its duration.
    pub fn add_late(&mut self, late_ms: f64) {
        self.result.late_ms = late_ms;
        self.result.duration_ms += late_ms;
    }

    /// The result with its secrets masked: a secret value any step showed
    /// is masked in every step, before and after.
    pub fn masked(&self) -> FlowResult {
        self.clone().into_masked()
    }

    /// [`Finished::masked`], without a copy.
    pub fn into_masked(self) -> FlowResult {
        debug_assert!(self.settled(), "a result is settled before it is kept or shown");
        let mut r = self.result;
        if let Some(red) = self.redactor.filter(|red| !red.reveal()) {
            let mut seen = vec![];
            for s in &mut r.steps {
                s.mask_keys(&red, &mut seen);
            }
            for s in &mut r.steps {
                s.mask_values(&red, &seen);
            }
            if r.diagnosis.is_some() {
                r.diagnosis = r.failed_step().and_then(|s| s.diagnosis.clone().or_else(|| s.reason.clone()));
            }
        }
        r
    }
}

/// What the engine reports while it runs. The run is over when every
/// sender is dropped.
#[derive(Debug, Clone)]
pub enum RunEvent {
    /// A step finished (for live views).
    Step { flow: String, iteration: u64, step: Box<StepResult> },
    /// An iteration finished.
    Flow(Box<Finished>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Exchange;
    use crate::flow::model::Expectation;

    fn step(id: &str, request_body: &str, response_body: &str) -> StepResult {
        let mut s = StepResult::new(id, String::new());
        s.exchange = Some(Exchange {
            request_body: request_body.into(),
            response_body: response_body.into(),
            ..Exchange::default()
        });
        s
    }

    #[test]
    fn a_finished_result_is_masked_when_taken_and_a_secret_any_step_showed_is_masked_in_every_step() {
        let result = FlowResult {
            flow: "f".into(),
            name: "f".into(),
            file: "f.yaml".into(),
            iteration: 0,
            seed: 1,
            user: "u".into(),
            passed: true,
            expected: Expectation::default(),
            expectation_met: true,
            cause: None,
            diagnosis: None,
            duration_ms: 1.0,
            late_ms: 0.0,
            steps: vec![
                step("a", "echo tok-0123456789", "appsecret 9f8e7d6c5b4a3928"),
                step("b", "{}", r#"{"data":{"token":"tok-0123456789"}}"#),
            ],
        };
        let red = Arc::new(Redactor::new(false, vec!["9f8e7d6c5b4a3928".into()]));
        let finished = Finished::unmasked(
            result,
            vec![],
            red,
            Arc::new(crate::mock::Mock::new(crate::mock::MockConfig::default())),
        );
        assert_eq!(finished.counts().steps[0].exchange.as_ref().unwrap().request_body, "echo tok-0123456789");
        let masked = finished.masked();
        let texts: Vec<&str> = masked
            .steps
            .iter()
            .flat_map(|s| s.exchange.iter().flat_map(|x| [x.request_body.as_str(), x.response_body.as_str()]))
            .collect();
        assert_eq!(
            texts,
            ["echo tok-…(masked)", "appsecret 9f8e…(masked)", "{}", r#"{"data":{"token":"tok-…(masked)"}}"#]
        );
        let plain = Finished::from(masked.clone()).into_masked();
        assert_eq!(serde_json::to_string(&plain).unwrap(), serde_json::to_string(&masked).unwrap());
    }
}
