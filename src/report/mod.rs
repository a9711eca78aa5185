//! Reports of a run: console text, JSON (with a published schema) and
//! JUnit. They read only [`RunReport`] and the engine's result types.

pub mod html;
pub mod json;
pub mod junit;
pub mod text;
pub mod write;

use crate::stats::FlowStats;
use serde::Serialize;
use std::time::Duration;

/// A threshold checked after the run.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdResult {
    pub flow: String,
    /// `failure_rate`, or `latency <step|total> <percentile>`.
    pub metric: String,
    pub limit: f64,
    pub actual: f64,
    pub breached: bool,
}

/// The plan a run followed, so shard reports of one run can be told from
/// others (`wxflow merge` refuses to mix plans).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct PlanInfo {
    /// Iterations per flow (`None`: bounded by a duration).
    pub repeat: Option<u64>,
    pub duration_ms: Option<u64>,
    pub rate: Option<f64>,
    pub concurrency: usize,
    pub users: Option<u64>,
    /// The shard this report covers (`--shard INDEX/COUNT`).
    pub shard: Option<crate::load::Shard>,
}

/// Everything a report needs.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub seed: u64,
    pub plan: PlanInfo,
    pub mock: String,
    pub target: String,
    pub rotation_override: Option<String>,
    pub elapsed: Duration,
    /// Stopped early (Ctrl-C): the figures cover what finished.
    pub interrupted: bool,
    pub flows: Vec<FlowStats>,
    pub thresholds: Vec<ThresholdResult>,
}

impl RunReport {
    /// Whether a flow met its expectation and broke none of its thresholds.
    pub fn flow_ok(&self, f: &FlowStats) -> bool {
        f.expectation_met() && !self.thresholds.iter().any(|t| t.breached && t.flow == f.flow)
    }

    /// Flows that passed (see [`RunReport::flow_ok`]), those that did
    /// not, and those a signal kept from starting.
    pub fn met_counts(&self) -> (usize, usize, usize) {
        let ok = self.flows.iter().filter(|f| self.flow_ok(f)).count();
        let not_run = self.flows.iter().filter(|f| f.iterations == 0 && f.interrupted).count();
        (ok, self.flows.len() - ok - not_run, not_run)
    }

    /// Exit 0 when every flow passed.
    pub fn success(&self) -> bool {
        self.met_counts() == (self.flows.len(), 0, 0) && !self.flows.is_empty()
    }

    pub fn iterations(&self) -> u64 {
        self.flows.iter().map(|f| f.iterations).sum()
    }

    pub fn http_requests(&self) -> u64 {
        self.flows.iter().map(|f| f.http_requests).sum()
    }

    /// Per second over the whole run.
    pub fn rate(&self, n: u64) -> f64 {
        n as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}
