//! Reports of a run: console text, JSON (with a published schema), JUnit
//! and an HTML page, written by [`write`](mod@write). They read only [`RunReport`],
//! the engine's result types and their own [`ReportSpec`].

pub mod html;
pub mod json;
pub mod junit;
pub mod text;
pub mod write;

use crate::stats::FlowStats;
use serde::Serialize;
use std::path::PathBuf;
use std::str::FromStr;
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
    pub shard: Option<crate::stats::Shard>,
}

/// Flows by how they ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub met: usize,
    pub not_met: usize,
    pub inconclusive: usize,
    pub not_run: usize,
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
    /// When the run began, in ms since the Unix epoch.
    pub started_ms: Option<u64>,
    /// Stopped early by a signal (Ctrl-C), with the exit code that gives
    /// (128 + the signal): the figures cover what finished.
    pub interrupted: Option<u8>,
    pub flows: Vec<FlowStats>,
    pub thresholds: Vec<ThresholdResult>,
    /// The variables the run got from outside its flows: a list of name,
    /// source, secret and value (a secret's masked).
    pub variables: serde_json::Value,
}

impl RunReport {
    /// Whether a flow met its expectation and broke none of its thresholds.
    pub fn flow_ok(&self, f: &FlowStats) -> bool {
        f.expectation_met() && !self.thresholds.iter().any(|t| t.breached && t.flow == f.flow)
    }

    /// How many flows passed (see [`RunReport::flow_ok`]), did not, were
    /// inconclusive (some iterations not judged), or a signal kept from
    /// starting.
    pub fn tally(&self) -> Tally {
        let mut t = Tally::default();
        for f in &self.flows {
            let n = if f.unjudged > 0 {
                &mut t.inconclusive
            } else if self.flow_ok(f) {
                &mut t.met
            } else if f.iterations == 0 && f.interrupted {
                &mut t.not_run
            } else {
                &mut t.not_met
            };
            *n += 1;
        }
        t
    }

    /// Exit 0 when every flow passed and the run was not cut short.
    pub fn success(&self) -> bool {
        self.tally().met == self.flows.len() && !self.flows.is_empty() && self.interrupted.is_none()
    }

    /// The exit code of a run whose reports were written: the signal's
    /// when one cut it short; 3 when some iterations were not judged (the
    /// verdict is not certain, whatever the judged ones showed), else 0 or 1.
    pub fn exit_code(&self) -> u8 {
        if let Some(code) = self.interrupted {
            code
        } else if self.tally().inconclusive > 0 {
            crate::exit::EXIT_INCONCLUSIVE
        } else if self.success() {
            crate::exit::EXIT_OK
        } else {
            crate::exit::EXIT_FAILED
        }
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

/// `--report KIND=PATH`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSpec {
    pub kind: ReportKind,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Json,
    Junit,
    /// One self-contained page for people.
    Html,
}

impl ReportKind {
    pub fn name(self) -> &'static str {
        match self {
            ReportKind::Json => "JSON",
            ReportKind::Junit => "JUnit",
            ReportKind::Html => "HTML",
        }
    }
}

impl FromStr for ReportSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, path) = s.split_once('=').ok_or("expected json=PATH, junit=PATH or html=PATH")?;
        let kind = match kind {
            "json" => ReportKind::Json,
            "junit" => ReportKind::Junit,
            "html" => ReportKind::Html,
            other => return Err(format!("unknown kind `{other}` (json, junit, html)")),
        };
        if path.is_empty() {
            return Err("the report path is empty".into());
        }
        Ok(ReportSpec { kind, path: PathBuf::from(path) })
    }
}
