//! One flow file in the dashboard: checked or not, its figures, and where
//! it stands.

use crate::engine::{FlowResult, StepResult};
use crate::flow::Flow;
use crate::stats::{FlowStats, Verdict};
use std::sync::Arc;

/// One flow file: checked, or its error.
pub struct FlowEntry {
    pub id: String,
    pub file: String,
    pub flow: Option<Arc<Flow>>,
    /// `file:line:col: message` when the file is invalid.
    pub error: Option<String>,
    pub stats: Option<FlowStats>,
    /// The last iteration that finished, in full.
    pub last: Option<FlowResult>,
    /// Steps of the iteration in progress (single runs).
    pub live: Vec<StepResult>,
    pub running: bool,
    /// Next iteration number for single runs, so each is a fresh user.
    pub next_iteration: u64,
    /// `stats` are a load run's: single runs do not add to them.
    pub load_stats: bool,
}

impl FlowEntry {
    /// A flow file before any run: checked (`flow`) or not (`error`).
    pub fn new(id: String, file: String, flow: Option<Arc<Flow>>, error: Option<String>) -> Self {
        FlowEntry {
            id,
            file,
            flow,
            error,
            stats: None,
            last: None,
            live: vec![],
            running: false,
            next_iteration: 0,
            load_stats: false,
        }
    }

    pub fn status(&self) -> FlowStatus {
        if self.error.is_some() {
            return FlowStatus::Invalid;
        }
        if self.running {
            return FlowStatus::Running;
        }
        match self.stats.as_ref().map(FlowStats::verdict) {
            None | Some(Verdict::None) => FlowStatus::Idle,
            Some(Verdict::Pass) => FlowStatus::Passed,
            // A flow that expects failure (the seed's order) and failed
            // every time did what it should.
            Some(Verdict::Fail) if self.stats.as_ref().is_some_and(FlowStats::expectation_met) => {
                FlowStatus::AsExpected
            }
            Some(Verdict::Fail) => FlowStatus::Failed,
            Some(Verdict::Flaky) => FlowStatus::Flaky,
            Some(Verdict::Inconclusive) => FlowStatus::Inconclusive,
        }
    }
}

/// Where a flow stands in the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowStatus {
    Invalid,
    Running,
    Idle,
    Passed,
    /// Failed every time, as the flow expects.
    AsExpected,
    Failed,
    Flaky,
    /// Some iterations were not judged (the tester's own limits or its mock).
    Inconclusive,
}

impl FlowStatus {
    pub fn name(self) -> &'static str {
        match self {
            FlowStatus::Invalid => "invalid",
            FlowStatus::Running => "running",
            FlowStatus::Idle => "idle",
            FlowStatus::Passed => "passed",
            FlowStatus::AsExpected => "failed as expected",
            FlowStatus::Failed => "failed",
            FlowStatus::Flaky => "flaky",
            FlowStatus::Inconclusive => "inconclusive",
        }
    }

    /// The one-character form for narrow screens.
    pub fn symbol(self) -> &'static str {
        match self {
            FlowStatus::Passed | FlowStatus::AsExpected => "✓",
            FlowStatus::Failed => "✗",
            FlowStatus::Flaky => "~",
            FlowStatus::Inconclusive => "?",
            FlowStatus::Running => "…",
            FlowStatus::Invalid => "!",
            FlowStatus::Idle => "·",
        }
    }
}

impl std::fmt::Display for FlowStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
