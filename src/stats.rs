//! A pure fold of iteration results into figures: counts, causes, failure
//! rate with a Wilson interval, latency percentiles (HdrHistogram) per flow
//! and per step, and the first failure of each cause. Memory is constant
//! in the number of iterations.

use crate::engine::{Finished, FlowResult, Outcome};
use crate::flow::Cause;
use crate::flow::model::{Expectation, Percentile};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;

/// Latencies are recorded in microseconds, up to an hour, 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// A histogram as text for reports (HdrHistogram's V2 + deflate encoding, in
/// base64), so shard reports can be merged exactly.
pub fn encode(h: &Histogram<u64>) -> String {
    use base64::Engine as _;
    use hdrhistogram::serialization::{Serializer as _, V2DeflateSerializer};
    let mut bytes = vec![];
    // Serializing to memory fails only on a histogram it cannot encode.
    let _ = V2DeflateSerializer::new().serialize(h, &mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The inverse of [`encode`].
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| format!("histogram: {e}"))?;
    let mut h: Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("histogram: {e:?}"))?;
    h.auto(true);
    Ok(h)
}

fn record(h: &mut Histogram<u64>, ms: f64) {
    h.saturating_record(((ms * 1000.0) as u64).max(1));
}

/// Percentiles of a histogram, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Latency {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let q = |p: f64| h.value_at_quantile(p) as f64 / 1000.0;
        Latency {
            count: h.len(),
            mean: h.mean() / 1000.0,
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: h.max() as f64 / 1000.0,
        }
    }

    /// The figure a threshold names.
    pub fn at(&self, p: Percentile) -> f64 {
        match p {
            Percentile::P50 => self.p50,
            Percentile::P90 => self.p90,
            Percentile::P99 => self.p99,
            Percentile::P999 => self.p999,
            Percentile::Max => self.max,
            Percentile::Mean => self.mean,
        }
    }
}

/// Wilson score interval at 95% for `k` successes in `n` trials.
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n, z) = (k as f64, n as f64, 1.959_963_984_540_054_f64);
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let center = (p + z * z / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((center - half).max(0.0), (center + half).min(1.0))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Flaky,
    /// Some iterations were not judged: the tester's own side (its limits,
    /// its mock) failed them,
    /// so the run says nothing certain about the backend.
    Inconclusive,
    /// No iteration finished.
    None,
}

/// One step's figures across iterations.
#[derive(Debug, Clone)]
pub struct StepStats {
    pub id: String,
    pub kind: String,
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
    pub latency: Histogram<u64>,
}

/// One flow's figures across iterations.
#[derive(Debug, Clone)]
pub struct FlowStats {
    pub flow: String,
    pub name: String,
    pub file: String,
    pub expected: Expectation,
    /// The flow's own thresholds, checked after the run.
    pub thresholds: Vec<crate::flow::model::Threshold>,
    pub iterations: u64,
    /// Judged iterations that passed and failed.
    pub passed: u64,
    pub failed: u64,
    /// Iterations not judged (causes `tester_limit`, `mock_unavailable`): neither passed nor
    /// failed, and left out of the failure rate and latency.
    pub unjudged: u64,
    /// The first and last second of the run (from [`FlowStats::tick`]'s
    /// count) in which an unjudged iteration ended.
    pub unjudged_window: Option<(u64, u64)>,
    /// Seconds this flow has run, as ticked.
    pub seconds: u64,
    /// A given mock answered as another instance after this flow than
    /// before it: it restarted, its users, codes and keys forgotten.
    pub mock_restart: Option<String>,
    /// The backend stopped accepting connections after it had answered.
    pub backend_died: Option<BackendDied>,
    /// The iteration the backend answered last (its seed and cause), for
    /// [`BackendDied`]; not reported.
    pub last_answered: Option<(u64, u64, Option<Cause>)>,
    /// The first iteration since the last answer whose request the backend
    /// cut (iteration, seed, cause, stale), and how many it cut; not reported.
    pub cut: Option<(u64, u64, Option<Cause>, bool)>,
    pub cuts: u64,
    /// Timer wake-ups of the tester's own runtimes later than
    /// [`crate::load::LAG_MS`]: the tester was saturated, and latency
    /// includes its own queueing.
    pub tester_lag: Late,
    /// Iterations that showed what the flow expects.
    pub met: u64,
    pub causes: BTreeMap<Cause, u64>,
    /// Failures whose request carried a stale payload.
    pub stale_failures: u64,
    /// `"1→2"` → count, over stale failures.
    pub stale_generations: BTreeMap<String, u64>,
    pub http_requests: u64,
    pub latency: Histogram<u64>,
    pub steps: Vec<StepStats>,
    /// The first failure of each cause, in full.
    pub first_failures: BTreeMap<Cause, FlowResult>,
    /// The lowest iteration that did not show what the flow expects.
    pub first_unmet: Option<u64>,
    /// The command that replays [`FlowStats::first_unmet`] alone.
    pub reproduce_unmet: Option<String>,
    /// The first iteration, in full.
    pub example: Option<FlowResult>,
    /// Wall time this flow ran, for its throughput.
    pub elapsed: std::time::Duration,
    /// When it began, in ms since the Unix epoch: shards merged count the
    /// wall time their runs cover, whether they ran at once or one by one.
    pub started_ms: Option<u64>,
    /// The command reproducing each first failure (set by the runner).
    pub reproduce: BTreeMap<Cause, String>,
    /// The reproducers re-run the whole load (shared users race), not one
    /// iteration.
    pub reproduce_whole_load: bool,
    /// A signal cut this flow short, or it never started.
    pub interrupted: bool,
    /// Open model: iterations that started more than [`LATE_MS`] after
    /// their due time, and by how long in all and at most.
    pub late: Late,
    /// Iterations and failures per second of the run, for the failure rate
    /// over time (at most [`TIMELINE_POINTS`], halved in resolution past it).
    pub timeline: Vec<(u64, u64)>,
}

/// Points kept in a flow's timeline.
pub const TIMELINE_POINTS: usize = 720;

/// An open-model iteration is late when it starts more than this many ms
/// after its due time: the run did not keep its `--rate`.
pub const LATE_MS: f64 = 1.0;

/// The backend stopped accepting connections: said once, instead of as
/// many connection errors as iterations followed. A connection cut once
/// while others are answered is no death; an answer after it withdraws it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct BackendDied {
    /// The second of the flow's run in which a connection was first refused.
    pub second: u64,
    /// The likely trigger: the iteration whose request the backend cut
    /// (reached, then no answer) just before it refused connections, else
    /// the first iteration it refused.
    pub trigger_iteration: u64,
    pub trigger_seed: u64,
    /// That iteration's cause.
    pub trigger_cause: Option<Cause>,
    /// The trigger's request carried a stale payload (the seed's bug can
    /// crash a backend that does not expect a decrypt to fail).
    pub trigger_stale: bool,
    /// It was in flight when the backend died (not refused).
    pub in_flight: bool,
    /// The backend answered nothing of this flow before (it died earlier,
    /// or never ran).
    pub never_answered: bool,
    /// The command that runs the trigger alone against the same servers.
    #[serde(default)]
    pub reproduce: Option<String>,
    /// Iterations that met no backend since.
    pub refused: u64,
}

/// Late starts of an open-model run, or late timers of the tester.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Late {
    pub count: u64,
    pub total_ms: f64,
    pub max_ms: f64,
}

impl Late {
    /// Counts one event `ms` late.
    pub fn record(&mut self, ms: f64) {
        self.count += 1;
        self.total_ms += ms;
        self.max_ms = self.max_ms.max(ms);
    }

    pub fn add(&mut self, o: &Late) {
        self.count += o.count;
        self.total_ms += o.total_ms;
        self.max_ms = self.max_ms.max(o.max_ms);
    }
}

impl FlowStats {
    pub fn new(flow: &crate::flow::Flow) -> Self {
        FlowStats {
            flow: flow.id.clone(),
            name: flow.name.clone(),
            file: flow.file.clone(),
            expected: flow.expect.clone(),
            thresholds: flow.thresholds.clone(),
            iterations: 0,
            passed: 0,
            failed: 0,
            unjudged: 0,
            unjudged_window: None,
            seconds: 0,
            mock_restart: None,
            backend_died: None,
            last_answered: None,
            cut: None,
            cuts: 0,
            tester_lag: Late::default(),
            met: 0,
            causes: BTreeMap::new(),
            stale_failures: 0,
            stale_generations: BTreeMap::new(),
            http_requests: 0,
            latency: histogram(),
            steps: flow
                .steps
                .iter()
                .map(|s| StepStats {
                    id: s.id.clone(),
                    kind: s.label(),
                    passed: 0,
                    failed: 0,
                    skipped: 0,
                    latency: histogram(),
                })
                .collect(),
            first_failures: BTreeMap::new(),
            first_unmet: None,
            reproduce_unmet: None,
            example: None,
            elapsed: std::time::Duration::ZERO,
            started_ms: None,
            reproduce: BTreeMap::new(),
            reproduce_whole_load: false,
            interrupted: false,
            late: Late::default(),
            timeline: vec![],
        }
    }

    /// Folds one iteration in; the few it keeps are masked.
    pub fn add(&mut self, finished: &Finished) {
        let r = finished.counts();
        self.iterations += 1;
        if r.cause.is_some_and(Cause::unjudged) {
            self.unjudged += 1;
            let (first, _) = self.unjudged_window.unwrap_or((self.seconds, self.seconds));
            self.unjudged_window = Some((first, self.seconds));
        } else {
            if r.passed {
                self.passed += 1;
            } else {
                self.failed += 1;
            }
            self.met += u64::from(r.expectation_met);
            if !r.expectation_met && self.first_unmet.is_none_or(|i| r.iteration < i) {
                self.first_unmet = Some(r.iteration);
            }
            record(&mut self.latency, r.duration_ms);
        }
        if r.late_ms > LATE_MS {
            self.late.record(r.late_ms);
        }
        self.note_backend(r);
        if let Some(c) = r.cause {
            *self.causes.entry(c).or_default() += 1;
            // The lowest iteration, not the first to arrive: at any
            // concurrency the same failure is kept, so its reproducer is stable.
            if self.first_failures.get(&c).is_none_or(|f| r.iteration < f.iteration) {
                self.first_failures.insert(c, finished.masked());
            }
        }
        if let Some((sealed, current)) = r.failed_step().and_then(super::engine::result::StepResult::stale) {
            self.stale_failures += 1;
            *self.stale_generations.entry(format!("{sealed}→{current}")).or_default() += 1;
        }
        for (s, st) in r.steps.iter().zip(self.steps.iter_mut()) {
            self.http_requests += u64::from(s.http_requests);
            match s.outcome {
                Outcome::Pass => st.passed += 1,
                Outcome::Fail => st.failed += 1,
                Outcome::Skipped => st.skipped += 1,
            }
            if s.outcome != Outcome::Skipped {
                record(&mut st.latency, s.duration_ms);
            }
        }
        if self.example.as_ref().is_none_or(|e| r.iteration < e.iteration) {
            self.example = Some(finished.masked());
        }
    }

    /// Adds a second's iterations and failures to the timeline, halving its
    /// resolution when it is full, so a long run keeps bounded memory.
    pub fn tick(&mut self, done: u64, failed: u64) {
        self.seconds += 1;
        if self.timeline.len() >= TIMELINE_POINTS {
            self.timeline =
                self.timeline.chunks(2).map(|c| c.iter().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))).collect();
        }
        self.timeline.push((done, failed));
    }

    /// Merges another fold of the same flow (e.g. from another worker).
    /// Why these counts cannot come from one run, if they cannot (a report
    /// edited or cut): more iterations than a run holds, or parts that add
    /// up to more than the whole.
    pub fn impossible(&self) -> Option<String> {
        const MOST: u64 = 1 << 40;
        let n = self.iterations;
        let causes = self.causes.values().try_fold(0u64, |a, b| a.checked_add(*b));
        let parts = [
            ("passed + failed", self.passed.checked_add(self.failed)),
            ("unjudged", Some(self.unjudged)),
            ("met", Some(self.met)),
            ("the causes' counts", causes),
            ("stale_failures", Some(self.stale_failures)),
        ];
        if n > MOST {
            return Some(format!("{n} iterations, more than one run holds ({MOST})"));
        }
        parts.iter().find_map(|(what, count)| match count {
            Some(c) if *c <= n => None,
            Some(c) => Some(format!("{what} is {c}, more than its {n} iterations")),
            None => Some(format!("{what} overflows")),
        })
    }

    pub fn merge(&mut self, o: &FlowStats) {
        self.iterations += o.iterations;
        self.interrupted |= o.interrupted;
        self.reproduce_whole_load |= o.reproduce_whole_load;
        if self.timeline.len() < o.timeline.len() {
            self.timeline.resize(o.timeline.len(), (0, 0));
        }
        for (mine, theirs) in self.timeline.iter_mut().zip(&o.timeline) {
            *mine = (mine.0 + theirs.0, mine.1 + theirs.1);
        }
        self.late.add(&o.late);
        self.tester_lag.add(&o.tester_lag);
        self.unjudged += o.unjudged;
        self.seconds = self.seconds.max(o.seconds);
        if self.mock_restart.is_none() {
            self.mock_restart.clone_from(&o.mock_restart);
        }
        // The first death is the one that matters; every part's iterations
        // that met no backend count.
        self.backend_died = match (self.backend_died.take(), &o.backend_died) {
            (Some(a), Some(b)) => {
                let refused = a.refused + b.refused;
                Some(BackendDied { refused, ..if b.second < a.second { b.clone() } else { a } })
            }
            (a, b) => a.or_else(|| b.clone()),
        };
        self.unjudged_window = match (self.unjudged_window, o.unjudged_window) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        };
        self.elapsed = self.elapsed.max(o.elapsed);
        self.started_ms = match (self.started_ms, o.started_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.passed += o.passed;
        self.failed += o.failed;
        self.met += o.met;
        self.stale_failures += o.stale_failures;
        self.http_requests += o.http_requests;
        for (k, v) in &o.causes {
            *self.causes.entry(*k).or_default() += v;
        }
        for (k, v) in &o.stale_generations {
            *self.stale_generations.entry(k.clone()).or_default() += v;
        }
        let _ = self.latency.add(&o.latency);
        for (a, b) in self.steps.iter_mut().zip(&o.steps) {
            a.passed += b.passed;
            a.failed += b.failed;
            a.skipped += b.skipped;
            let _ = a.latency.add(&b.latency);
        }
        for (c, r) in &o.first_failures {
            let keep = self.first_failures.get(c).is_none_or(|mine| r.iteration < mine.iteration);
            if keep {
                self.first_failures.insert(*c, r.clone());
                // Its reproducer goes with it.
                match o.reproduce.get(c) {
                    Some(cmd) => self.reproduce.insert(*c, cmd.clone()),
                    None => self.reproduce.remove(c),
                };
            }
        }
        if let Some(i) = o.first_unmet
            && self.first_unmet.is_none_or(|mine| i < mine)
        {
            self.first_unmet = Some(i);
            self.reproduce_unmet.clone_from(&o.reproduce_unmet);
        }
        if self.example.as_ref().is_none_or(|e| o.example.as_ref().is_some_and(|x| x.iteration < e.iteration)) {
            self.example.clone_from(&o.example);
        }
    }

    pub fn verdict(&self) -> Verdict {
        if self.unjudged > 0 {
            return Verdict::Inconclusive;
        }
        match (self.passed, self.failed) {
            (0, 0) => Verdict::None,
            (_, 0) => Verdict::Pass,
            (0, _) => Verdict::Fail,
            _ => Verdict::Flaky,
        }
    }

    /// Every iteration was judged and showed what the flow expects.
    pub fn expectation_met(&self) -> bool {
        self.iterations > 0 && self.unjudged == 0 && self.met == self.iterations
    }

    /// Follows whether the backend still answers: an iteration that got an
    /// HTTP answer, one whose request it cut, one it refused.
    fn note_backend(&mut self, r: &FlowResult) {
        let http = |s: &&crate::engine::StepResult| s.kind.starts_with("http");
        if r.steps.iter().filter(http).any(|s| s.exchange.as_ref().is_some_and(|x| x.status.is_some())) {
            self.last_answered = Some((r.iteration, r.seed, r.cause));
            // It answers: whatever was cut or refused before was no death.
            self.cut = None;
            self.cuts = 0;
            self.backend_died = None;
            return;
        }
        if r.cause != Some(Cause::Connection) {
            return;
        }
        let stale = r
            .steps
            .iter()
            .any(|s| s.payloads.iter().any(|p| matches!(p.freshness, crate::engine::Freshness::Stale { .. })));
        if let Some(died) = &mut self.backend_died {
            died.refused += 1;
            return;
        }
        if !r.steps.iter().any(|s| s.refused) {
            // Reached and cut: a death only once connections are refused.
            self.cut.get_or_insert((r.iteration, r.seed, r.cause, stale));
            self.cuts += 1;
            return;
        }
        let (trigger_iteration, trigger_seed, trigger_cause, trigger_stale) =
            self.cut.unwrap_or((r.iteration, r.seed, r.cause, stale));
        self.backend_died = Some(BackendDied {
            second: self.seconds,
            trigger_iteration,
            trigger_seed,
            trigger_cause,
            trigger_stale,
            in_flight: self.cut.is_some(),
            never_answered: self.last_answered.is_none(),
            reproduce: None,
            // This one, and the cut ones after the trigger.
            refused: 1 + self.cuts.saturating_sub(1),
        });
    }

    /// Why iterations were not judged: their causes with counts
    /// (`tester_limit 3, mock_unavailable 2`) and the first one's diagnosis.
    pub fn unjudged_why(&self) -> (String, &str) {
        let mut causes = self.causes.iter().filter(|(c, _)| c.unjudged());
        let said: Vec<String> = causes.clone().map(|(c, n)| format!("{} {n}", c.as_str())).collect();
        let diagnosis = causes.find_map(|(c, _)| self.first_failures.get(c)?.diagnosis.as_deref()).unwrap_or("");
        (said.join(", "), diagnosis)
    }

    /// Iterations judged: all but the unjudged.
    pub fn judged(&self) -> u64 {
        self.iterations - self.unjudged
    }

    /// Failures over the judged iterations.
    pub fn failure_rate(&self) -> f64 {
        if self.judged() == 0 { 0.0 } else { self.failed as f64 / self.judged() as f64 }
    }

    pub fn failure_rate_ci95(&self) -> (f64, f64) {
        wilson(self.failed, self.judged())
    }

    /// Iterations and HTTP requests per second of this flow's own run.
    pub fn throughput(&self) -> (f64, f64) {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        (self.iterations as f64 / secs, self.http_requests as f64 / secs)
    }

    /// Share of failures that carried a stale payload.
    pub fn stale_share(&self) -> f64 {
        if self.failed == 0 { 0.0 } else { self.stale_failures as f64 / self.failed as f64 }
    }
}

/// Now, in ms since the Unix epoch.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The wall time covered by runs that began at `start` (ms since the Unix
/// epoch) and lasted `elapsed` each: overlaps count once. Without every
/// start, the runs are taken one after the other (a sum, which never
/// overstates a throughput).
pub fn wall_time(runs: &[(Option<u64>, std::time::Duration)]) -> std::time::Duration {
    let Some(mut spans) = runs
        .iter()
        .map(|(start, d)| start.map(|s| (s, s.saturating_add(d.as_millis() as u64))))
        .collect::<Option<Vec<(u64, u64)>>>()
    else {
        return runs.iter().fold(std::time::Duration::ZERO, |sum, (_, d)| sum.saturating_add(*d));
    };
    spans.sort_unstable();
    let (mut total, mut reach) = (0, 0);
    for (a, b) in spans {
        total += b.saturating_sub(a.max(reach));
        reach = reach.max(b);
    }
    std::time::Duration::from_millis(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_time_counts_overlapping_runs_once() {
        let s = std::time::Duration::from_secs;
        assert_eq!(wall_time(&[(Some(0), s(10)), (Some(5_000), s(10)), (Some(30_000), s(1))]), s(16));
        assert_eq!(wall_time(&[(Some(0), s(10)), (Some(2_000), s(1))]), s(10));
        // Without every start, one after the other.
        assert_eq!(wall_time(&[(Some(0), s(10)), (None, s(4))]), s(14));
    }

    #[test]
    fn wilson_matches_published_values() {
        // 30 of 100: the Wilson 95% interval is [0.2189, 0.3958] (Newcombe 1998 method 3).
        let (lo, hi) = wilson(30, 100);
        assert!((lo - 0.2189).abs() < 5e-4 && (hi - 0.3958).abs() < 5e-4, "{lo} {hi}");
        // 0 of 10: [0, 0.2775].
        let (lo, hi) = wilson(0, 10);
        assert!(lo == 0.0 && (hi - 0.2775).abs() < 5e-4, "{hi}");
        assert_eq!(wilson(0, 0), (0.0, 1.0));
    }

    fn result(iteration: u64, passed: bool, cause: Option<Cause>, ms: f64) -> FlowResult {
        FlowResult {
            flow: "f".into(),
            name: "f".into(),
            file: "f.yaml".into(),
            iteration,
            seed: 1,
            user: format!("u{iteration}"),
            passed,
            expected: Expectation::default(),
            expectation_met: passed,
            cause,
            diagnosis: None,
            duration_ms: ms,
            late_ms: 0.0,
            steps: vec![],
        }
    }

    fn empty() -> FlowStats {
        let flow = crate::flow::check("f.yaml", "name: f\nsteps:\n  - id: a\n    wx.login: {}\n").unwrap();
        FlowStats::new(&flow)
    }

    #[test]
    fn merging_two_folds_equals_one_fold_of_everything() {
        let all: Vec<Finished> = (0..100)
            .map(|i| {
                result(
                    i,
                    i % 3 != 0,
                    (i % 3 == 0).then_some(if i % 2 == 0 { Cause::StaleIv } else { Cause::CodeReused }),
                    i as f64,
                )
                .into()
            })
            .collect();
        let mut whole = empty();
        for r in &all {
            whole.add(r);
        }
        let (mut a, mut b) = (empty(), empty());
        // Folded in a different order: the later half first.
        all[50..].iter().for_each(|r| b.add(r));
        all[..50].iter().for_each(|r| a.add(r));
        b.merge(&a);
        assert_eq!(
            (b.iterations, b.passed, b.failed, b.met),
            (whole.iterations, whole.passed, whole.failed, whole.met)
        );
        assert_eq!(b.causes, whole.causes);
        assert_eq!(Latency::of(&b.latency), Latency::of(&whole.latency));
        assert_eq!(b.first_failures[&Cause::StaleIv].iteration, 0, "the earliest failure wins");
        assert_eq!(b.first_failures[&Cause::CodeReused].iteration, 3);
        assert_eq!(b.example.as_ref().map(|e| e.iteration), Some(0));
        assert_eq!(whole.verdict(), Verdict::Flaky);
        assert!((whole.failure_rate() - 0.34).abs() < 1e-9);
    }

    /// An iteration whose http step was answered, cut, or refused.
    fn met_backend(iteration: u64, how: &str) -> Finished {
        let mut step = crate::engine::StepResult::new("server", "http POST".into());
        let cause = match how {
            "answered" => {
                step.exchange = Some(crate::engine::Exchange { status: Some(200), ..Default::default() });
                None
            }
            refused => {
                step.refused = refused == "refused";
                Some(Cause::Connection)
            }
        };
        Finished::from(FlowResult { steps: vec![step], ..result(iteration, cause.is_none(), cause, 1.0) })
    }

    #[test]
    fn a_cut_connection_is_no_death_until_connections_are_refused_and_an_answer_withdraws_it() {
        let mut s = empty();
        for (i, how) in ["answered", "cut", "answered", "refused", "answered"].iter().enumerate() {
            s.add(&met_backend(i as u64, how));
        }
        assert_eq!(s.backend_died, None, "it went on answering");
        let mut s = empty();
        for (i, how) in ["answered", "cut", "refused", "refused"].iter().enumerate() {
            s.add(&met_backend(i as u64, how));
        }
        let d = s.backend_died.clone().unwrap();
        assert_eq!((d.trigger_iteration, d.in_flight, d.refused), (1, true, 2), "{d:?}");
        let mut s = empty();
        for i in 0..3 {
            s.add(&met_backend(i, "refused"));
        }
        let d = s.backend_died.unwrap();
        assert!(d.never_answered && !d.in_flight && d.trigger_iteration == 0, "{d:?}");
    }

    #[test]
    fn merged_parts_keep_the_first_backend_death_and_every_refusal() {
        let died = |second, trigger_iteration, refused| BackendDied {
            second,
            trigger_iteration,
            trigger_seed: 1,
            trigger_cause: None,
            trigger_stale: false,
            in_flight: true,
            never_answered: false,
            reproduce: None,
            refused,
        };
        let (mut a, mut b, c) = (empty(), empty(), empty());
        a.backend_died = Some(died(9, 40, 5));
        b.backend_died = Some(died(3, 12, 7));
        a.merge(&b);
        a.merge(&c);
        let d = a.backend_died.unwrap();
        assert_eq!((d.second, d.trigger_iteration, d.refused), (3, 12, 12));
    }

    #[test]
    fn histograms_survive_encoding_exactly() {
        let mut h = histogram();
        for ms in [0.3, 1.0, 2.5, 900.0] {
            record(&mut h, ms);
        }
        let back = decode(&encode(&h)).unwrap();
        assert_eq!(Latency::of(&back), Latency::of(&h));
        assert_eq!(back.len(), 4);
    }

    #[test]
    fn percentiles_come_from_the_histogram() {
        let mut h = histogram();
        for ms in 1..=1000 {
            record(&mut h, f64::from(ms));
        }
        let l = Latency::of(&h);
        assert!((l.p50 - 500.0).abs() <= 1.0 && (l.p99 - 990.0).abs() <= 1.0, "{l:?}");
        assert!((l.max - 1000.0).abs() <= 1.0 && (l.p999 - 999.0).abs() <= 1.0, "{l:?}");
    }
}

/// One of `count` shards of a run (`--shard INDEX/COUNT`, INDEX from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("expected INDEX/COUNT with INDEX from 0 to COUNT-1, e.g. 0/4; got `{s}`");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// The plan's `n`-th iteration that this shard runs.
    pub fn iteration(self, n: u64) -> u64 {
        self.index.saturating_add(n.saturating_mul(self.count))
    }
}
