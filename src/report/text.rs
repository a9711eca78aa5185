//! Console output: a block per iteration shown in full, a summary per flow
//! for repeated runs, and the closing `N passed, N failed` line.

use super::RunReport;
use crate::engine::{FlowResult, Freshness, Outcome, StepNote, StepResult};
use crate::stats::{FlowStats, Latency, Verdict};
use std::fmt::Write;

/// Colour on or off (off with NO_COLOR, in CI, or when not a terminal).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, s: &str) -> String {
        if self.color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }
    pub fn red(self, s: &str) -> String {
        self.paint("31", s)
    }
    pub fn green(self, s: &str) -> String {
        self.paint("32", s)
    }
    pub fn yellow(self, s: &str) -> String {
        self.paint("33", s)
    }
    pub fn dim(self, s: &str) -> String {
        self.paint("2", s)
    }
    pub fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }
}

/// `fresh` / `STALE gen 1→2` for the payloads a step sent or made.
pub fn freshness(s: &StepResult) -> String {
    let Some(p) = s.verdict_payload() else {
        return String::new();
    };
    let made_here = p.from_step == s.id;
    if p.basis == crate::engine::Basis::NotExchanged {
        return StepResult::NEVER_EXCHANGED.into();
    }
    match p.freshness {
        Freshness::Fresh if made_here => format!("iv sealed gen {}", p.sealed_generation.unwrap_or(0)),
        Freshness::Fresh => format!("fresh gen {} ({:.0} ms old)", p.sealed_generation.unwrap_or(0), p.age_ms),
        Freshness::Stale { sealed, against } => format!("STALE gen {sealed}→{against} ({:.0} ms old)", p.age_ms),
        Freshness::Unknown => "freshness unknown".into(),
    }
}

fn step_note(s: &StepResult) -> String {
    let mut note = match s.note {
        Some(StepNote::Rotated { generation }) => format!("session_key rotated → gen {generation}"),
        Some(StepNote::MockClockAdvanced { secs }) => format!("mock clock +{secs:.0} s for this user"),
        None => freshness(s),
    };
    if let Some(reason) = &s.reason {
        if !note.is_empty() {
            note.push_str("  ");
        }
        note.push_str(reason);
    }
    note
}

/// The header line of a flow.
pub fn flow_header(flow: &crate::flow::Flow, st: Style) -> String {
    format!("{} {}", st.bold(&flow.id), st.dim(&format!("· {} · {}", flow.name, flow.file)))
}

/// One iteration in full: a row per step, the diagnosis, the verdict.
pub fn iteration(r: &FlowResult, st: Style) -> String {
    let mut out = String::new();
    let width = r.steps.iter().map(|s| s.id.chars().count()).max().unwrap_or(4);
    for s in &r.steps {
        let tag = match s.outcome {
            Outcome::Pass => st.green("PASS"),
            Outcome::Fail => st.red("FAIL"),
            Outcome::Skipped => st.dim("SKIP"),
        };
        let dur = if s.outcome == Outcome::Skipped { String::new() } else { format!("{:.1} ms", s.duration_ms) };
        let mut note = step_note(s);
        if s.stale().is_some() {
            note = st.yellow(&note);
        }
        let row = format!("  {tag}  {:width$}  {:17} {:>9}  {note}", s.id, s.kind, dur);
        let _ = writeln!(out, "{}", row.trim_end());
        // Where the flow file wrote each failed check, when the failure
        // was not what the flow expects (an expected one is said above).
        for f in s.failures.iter().filter(|f| f.location.is_some() && !r.expectation_met) {
            for line in f.render(st.color).lines() {
                let _ = writeln!(out, "        {line}");
            }
        }
        if s.outcome == Outcome::Fail
            && let Some(d) = &s.diagnosis
            && Some(d) != s.reason.as_ref()
        {
            let _ = writeln!(out, "        {} {d}", st.yellow("diagnosis:"));
        }
    }
    let verdict = match (r.expectation_met, r.passed) {
        (true, true) => st.green("✓ passed, as expected"),
        (true, false) => st.green(&format!("✓ failed as expected ({})", r.cause.map_or("", |c| c.as_str()))),
        (false, _) => st.red(&format!(
            "✗ expected {}, got {}",
            r.expected,
            if r.passed { "pass".to_string() } else { format!("fail ({})", r.cause.map_or("", |c| c.as_str())) }
        )),
    };
    let _ = writeln!(out, "  {verdict}  {}", st.dim(&format!("{:.1} ms, user {}", r.duration_ms, r.user)));
    out
}

fn lat(l: &Latency) -> String {
    format!("p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1} ms", l.p50, l.p90, l.p99, l.p999, l.max)
}

/// The stale generation pairs (`gen 1→2 ×95`): the most frequent few, in
/// numeric order, and how many more there were.
fn generations(f: &FlowStats) -> Vec<String> {
    const SHOWN: usize = 5;
    let numbers = |g: &str| -> Vec<u64> { g.split('→').map(|n| n.parse().unwrap_or(0)).collect() };
    let mut by_count: Vec<(&String, &u64)> = f.stale_generations.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then_with(|| numbers(a.0).cmp(&numbers(b.0))));
    let mut top: Vec<(&String, &u64)> = by_count.iter().take(SHOWN).copied().collect();
    top.sort_by_key(|(g, _)| numbers(g));
    let mut out: Vec<String> = top.iter().map(|(g, n)| format!("gen {g} ×{n}")).collect();
    if by_count.len() > SHOWN {
        out.push(format!("{} more", by_count.len() - SHOWN));
    }
    out
}

/// A repeated flow's figures.
pub fn flow_summary(f: &FlowStats, st: Style) -> String {
    let mut out = String::new();
    let (lo, hi) = f.failure_rate_ci95();
    let verdict = match f.verdict() {
        Verdict::Pass => st.green("pass"),
        Verdict::Fail => st.red("fail"),
        Verdict::Flaky => st.yellow("flaky"),
        Verdict::Inconclusive => st.yellow("inconclusive"),
        Verdict::None => st.dim("no iterations"),
    };
    let _ = writeln!(
        out,
        "  {} iterations: {} passed, {} failed{} · failure rate {:.2}% (95% CI {:.2}–{:.2}%){} · {verdict}",
        f.iterations,
        f.passed,
        f.failed,
        if f.unjudged > 0 { format!(", {} not judged", f.unjudged) } else { String::new() },
        f.failure_rate() * 100.0,
        lo * 100.0,
        hi * 100.0,
        if f.unjudged > 0 { format!(" of the {} judged", f.judged()) } else { String::new() },
    );
    if f.unjudged > 0 {
        let window = f.unjudged_window.map(|(a, b)| format!(" in seconds {a}–{b} of the run")).unwrap_or_default();
        let (causes, diagnosis) = f.unjudged_why();
        let touched = if f.causes.contains_key(&crate::flow::Cause::TesterLimit) {
            " · the tester was short of its own resources then: latencies measured in those seconds may include its waits"
        } else {
            ""
        };
        let line = format!(
            "inconclusive: {} iterations not judged{window} ({causes}): the tester's own side failed them, not the backend · {diagnosis}{touched}",
            f.unjudged
        );
        let _ = writeln!(out, "  {}", st.yellow(&line));
    }
    if let Some(d) = &f.backend_died {
        let line = if d.never_answered && !d.in_flight {
            format!(
                "the backend refused every connection of this flow from its first request ({} iterations): it is down, or died in an earlier flow",
                d.refused
            )
        } else {
            let how = if d.in_flight {
                "its request was cut, in flight when the backend died"
            } else {
                "the first it refused"
            };
            let stale = if d.trigger_stale { ", and it carried a stale payload" } else { "" };
            let replay = d.reproduce.clone().unwrap_or_else(|| {
                format!("wxflow run {} --replay {}:{}", f.file, d.trigger_seed, d.trigger_iteration)
            });
            format!(
                "the backend stopped accepting connections in second {} of the run: {} iterations met no backend since. The likely trigger is iteration {} ({how}{stale}): {replay}",
                d.second, d.refused, d.trigger_iteration
            )
        };
        let _ = writeln!(out, "  {}", st.red(&line));
    }
    if let Some(restart) = &f.mock_restart {
        let line = format!(
            "the mock restarted during this flow ({restart}): users it knew are new to it, and iterations that straddled the restart were not judged"
        );
        let _ = writeln!(out, "  {}", st.yellow(&line));
    }
    if !f.causes.is_empty() {
        let causes: Vec<String> = f.causes.iter().map(|(c, n)| format!("{} {n}", c.as_str())).collect();
        let gens = generations(f);
        let _ = writeln!(
            out,
            "  causes: {} · {:.0}% of failures carried a stale iv{}",
            causes.join(", "),
            f.stale_share() * 100.0,
            if gens.is_empty() { String::new() } else { format!(" ({})", gens.join(", ")) }
        );
    }
    let width = f.steps.iter().map(|s| s.id.chars().count()).max().unwrap_or(0).max(5);
    let _ = writeln!(out, "  {:width$}  {}", "total", lat(&Latency::of(&f.latency)));
    for s in &f.steps {
        let _ = writeln!(out, "  {:width$}  {}  {}", s.id, lat(&Latency::of(&s.latency)), st.dim(&s.kind));
    }
    if f.late.count > 0 {
        let line = format!(
            "rate not kept: {} of {} iterations started late (mean {:.1} ms, max {:.1} ms): every in-flight slot was taken; raise --concurrency or lower --rate",
            f.late.count,
            f.iterations,
            f.late.total_ms / f.late.count as f64,
            f.late.max_ms
        );
        let _ = writeln!(out, "  {}", st.yellow(&line));
    }
    if f.tester_lag.count > 0 {
        let line = format!(
            "the tester was saturated: its timers fired late {} times (max {:.1} ms): latency figures include wxflow's own queueing; lower --concurrency, or give the runner cores of its own (the mock and backend as their own processes, or on another machine)",
            f.tester_lag.count, f.tester_lag.max_ms
        );
        let _ = writeln!(out, "  {}", st.yellow(&line));
    }
    let (flows, http) = f.throughput();
    let _ = writeln!(out, "  throughput {flows:.1} flows/s, {http:.1} HTTP requests/s");
    let met = format!("expected {}: met in {} of {} iterations", f.expected, f.met, f.iterations);
    let _ = writeln!(
        out,
        "  {}",
        if f.expectation_met() { st.green(&format!("✓ {met}")) } else { st.red(&format!("✗ {met}")) }
    );
    let how = if f.reproduce_whole_load {
        "reproduce (shared users race: the whole load, not one iteration)"
    } else {
        "reproduce"
    };
    // What broke the expectation comes first: in a flaky flow that expects a
    // failure, that is an iteration that passed.
    if let (false, Some(i)) = (f.expectation_met(), f.first_unmet) {
        let repro = f.reproduce_unmet.as_ref().map(|c| format!(" · {how}: {c}")).unwrap_or_default();
        let _ = writeln!(out, "  first iteration that broke the expectation: {i}{repro}");
    }
    for (cause, r) in &f.first_failures {
        let repro = f.reproduce.get(cause).map(|c| format!(" · {how}: {c}")).unwrap_or_default();
        let _ = writeln!(out, "  first {}: iteration {}{repro}", cause.as_str(), r.iteration);
    }
    out
}

/// Threshold lines and the closing `N passed, N failed` line.
pub fn closing(r: &RunReport, st: Style) -> String {
    let mut out = String::new();
    for t in &r.thresholds {
        let mark = if t.breached { st.red("✗ breached") } else { st.green("✓") };
        let _ = writeln!(out, "threshold {} {}: {:.4} (limit {:.4}) {mark}", t.flow, t.metric, t.actual, t.limit);
    }
    if r.interrupted.is_some() {
        let _ = writeln!(out, "{}", st.yellow("interrupted: the figures cover the iterations that finished"));
    }
    // Every flow's request met the same missing route: the backend's
    // contract is not the one the flows speak.
    let status_of = |f: &crate::stats::FlowStats| {
        let x = f.first_failures.get(&crate::flow::Cause::HttpStatus)?.failed_step()?.exchange.as_ref()?.status?;
        matches!(x, 404 | 405).then_some(x)
    };
    let statuses: Vec<Option<u16>> = r.flows.iter().filter(|f| f.iterations > 0).map(status_of).collect();
    if statuses.len() > 1 && statuses.iter().all(|s| s.is_some() && *s == statuses[0]) {
        let _ = writeln!(
            out,
            "{}",
            st.yellow(&format!(
                "every flow's request got HTTP {}: the backend has no such route. `wxflow init DIR --probe URL` learns its login path and answer shape and writes flows that speak it",
                statuses[0].unwrap_or_default()
            ))
        );
    }
    let t = r.tally();
    let mut line = format!("{} passed, {} failed", t.met, t.not_met);
    if t.inconclusive > 0 {
        let _ = write!(line, ", {} inconclusive", t.inconclusive);
    }
    if t.not_run > 0 {
        let _ = write!(line, ", {} not run", t.not_run);
    }
    let line = if t.not_met + t.not_run > 0 {
        st.red(&line)
    } else if t.inconclusive > 0 {
        st.yellow(&line)
    } else {
        st.green(&line)
    };
    let _ = writeln!(out, "{line}");
    if t.inconclusive > 0 {
        let _ = writeln!(
            out,
            "{}",
            st.yellow("inconclusive: some iterations could not be judged, for the tester's own limits or its mock (exit 3); the figures above say which and why")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_stale_generations_are_summarised_in_numeric_order() {
        let flow = crate::flow::check("f.yaml", "name: f\nsteps:\n  - id: a\n    wx.login: {}\n").unwrap();
        let mut f = FlowStats::new(&flow);
        for (g, n) in [("1→2", 5), ("2→3", 1), ("9→10", 7), ("10→11", 9), ("3→4", 2), ("4→5", 3), ("5→6", 4)]
        {
            f.stale_generations.insert(g.to_string(), n);
        }
        assert_eq!(
            generations(&f),
            ["gen 1→2 ×5", "gen 4→5 ×3", "gen 5→6 ×4", "gen 9→10 ×7", "gen 10→11 ×9", "2 more"]
        );
    }
}
