//! The HTML report (`--report html=PATH`): one self-contained file for CI
//! artifacts (inline CSS and SVG, no script, nothing fetched): a verdict per
//! flow, the failure rate with its interval and over time, causes, latency
//! percentiles and histogram, the example iteration as a timing waterfall
//! with its iv freshness, and the first failures with their reproducers.

use super::{RunReport, Tally};
use crate::engine::{Freshness, Outcome, StepResult};
use crate::stats::{FlowStats, Latency, Verdict};
use std::fmt::Write;

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2733;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px}.dim{color:#66727f}
.flow{border:1px solid #d6dce2;border-radius:6px;padding:12px 16px;margin:14px 0}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600;margin-right:8px}
.ok{background:#1f8a3b}.bad{background:#c62f2f}.warn{background:#b7791f}.none{background:#66727f}.warn-text{color:#b7791f;font-weight:600}
table{border-collapse:collapse;margin:6px 0}td,th{padding:2px 10px;border-bottom:1px solid #eef1f4;text-align:left}
code,pre{font:12px ui-monospace,monospace;background:#f4f6f8;padding:1px 4px;border-radius:3px}
pre{padding:8px;white-space:pre-wrap;word-break:break-all}.stale{color:#c62f2f;font-weight:600}.fresh{color:#1f8a3b}";

/// The report as an HTML page.
pub fn to_string(r: &RunReport) -> String {
    let t = r.tally();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>wxflow report</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        out,
        "<h1>wxflow report</h1><p class=\"dim\">wxflow {} · seed {} · mock {} · target {} · {:.1} s{}</p>",
        env!("CARGO_PKG_VERSION"),
        r.seed,
        esc(&r.mock),
        esc(&r.target),
        r.elapsed.as_secs_f64(),
        if r.interrupted.is_some() {
            " · <b>interrupted</b>: the figures cover the iterations that finished"
        } else {
            ""
        }
    );
    let class = match t {
        Tally { not_met: 0, not_run: 0, inconclusive: 0, .. } => "ok",
        Tally { not_met: 0, not_run: 0, .. } => "warn",
        _ => "bad",
    };
    let _ = write!(
        out,
        "<p><span class=\"badge {class}\" id=\"summary\">{} passed, {} failed{}{}</span></p>",
        t.met,
        t.not_met,
        if t.inconclusive > 0 { format!(", {} inconclusive", t.inconclusive) } else { String::new() },
        if t.not_run > 0 { format!(", {} not run", t.not_run) } else { String::new() }
    );
    if t.inconclusive > 0 {
        out.push_str("<p class=\"warn-text\">inconclusive: some iterations could not be judged, for the tester's own limits or its mock (exit 3)</p>");
    }
    for t in r.thresholds.iter().filter(|t| t.breached) {
        let _ = write!(
            out,
            "<p class=\"stale\">threshold {} {}: {:.4} (limit {:.4}) breached</p>",
            esc(&t.flow),
            esc(&t.metric),
            t.actual,
            t.limit
        );
    }
    for f in &r.flows {
        flow(&mut out, r, f);
    }
    out.push_str("</body></html>\n");
    out
}

fn flow(out: &mut String, r: &RunReport, f: &FlowStats) {
    let ok = r.flow_ok(f);
    let (label, class) = match (f.iterations, ok) {
        (0, _) => ("not run", "none"),
        _ if f.unjudged > 0 => ("inconclusive", "warn"),
        (_, true) => ("met", "ok"),
        (_, false) => ("not met", "bad"),
    };
    let verdict_class = match f.verdict() {
        Verdict::Pass => "ok",
        Verdict::Fail => "bad",
        Verdict::Flaky | Verdict::Inconclusive => "warn",
        Verdict::None => "none",
    };
    let (lo, hi) = f.failure_rate_ci95();
    let _ = write!(
        out,
        "<section class=\"flow\" id=\"flow-{id}\"><h2><span class=\"badge {class}\">{label}</span>{id}</h2>\
         <p class=\"dim\">{name} · {file} · expected {exp}</p>\
         <p><span class=\"badge {verdict_class}\">{verdict:?}</span>{n} iterations: {p} passed, {fl} failed{unjudged} · failure rate {rate:.2}% (95% CI {lo:.2}–{hi:.2}%)</p>",
        id = esc(&f.flow),
        name = esc(&f.name),
        file = esc(&f.file),
        exp = esc(&f.expected.to_string()),
        verdict = f.verdict(),
        n = f.iterations,
        p = f.passed,
        fl = f.failed,
        unjudged = if f.unjudged > 0 {
            format!(", {} not judged ({})", f.unjudged, esc(&f.unjudged_why().0))
        } else {
            String::new()
        },
        rate = f.failure_rate() * 100.0,
        lo = lo * 100.0,
        hi = hi * 100.0,
    );
    if !f.causes.is_empty() {
        out.push_str("<table><tr><th>cause</th><th>iterations</th><th>first</th><th>reproduce</th></tr>");
        for (cause, n) in &f.causes {
            let first = f.first_failures.get(cause);
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{n}</td><td>{}</td><td><code>{}</code></td></tr>",
                cause.as_str(),
                first.map_or(String::new(), |x| x.iteration.to_string()),
                esc(f.reproduce.get(cause).map_or("", String::as_str))
            );
        }
        out.push_str("</table>");
        for first in f.first_failures.values() {
            if let Some(d) = &first.diagnosis {
                let _ = write!(out, "<p><b>diagnosis</b> (iteration {}): {}</p>", first.iteration, esc(d));
            }
        }
    }
    if !f.timeline.is_empty() {
        timeline(out, f);
    }
    latency(out, f);
    if let Some(example) = f.first_failures.values().next().or(f.example.as_ref()) {
        let _ = write!(out, "<h3>iteration {} ({})</h3>", example.iteration, esc(&example.user));
        waterfall(out, &example.steps);
    }
    out.push_str("</section>");
}

fn latency(out: &mut String, f: &FlowStats) {
    let l = Latency::of(&f.latency);
    if l.count == 0 {
        return;
    }
    out.push_str("<table><tr><th></th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>");
    let row = |out: &mut String, name: &str, l: &Latency| {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1} ms</td></tr>",
            esc(name),
            l.p50,
            l.p90,
            l.p99,
            l.p999,
            l.max
        );
    };
    row(out, "total", &l);
    for s in &f.steps {
        row(out, &s.id, &Latency::of(&s.latency));
    }
    out.push_str("</table>");
    // The histogram: iterations per latency bucket, 24 buckets from 0 to max.
    let max = f.latency.max().max(1);
    let buckets = 24u64;
    let width = max.div_ceil(buckets);
    let mut counts = vec![0u64; buckets as usize];
    for v in f.latency.iter_recorded() {
        let b = ((v.value_iterated_to() / width) as usize).min(counts.len() - 1);
        counts[b] += v.count_at_value();
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1);
    out.push_str(
        "<svg role=\"img\" aria-label=\"latency histogram\" width=\"480\" height=\"110\" viewBox=\"0 0 480 110\">",
    );
    for (i, c) in counts.iter().enumerate() {
        let h = (*c as f64 / top as f64 * 90.0).round();
        let _ = write!(out, "<rect x=\"{}\" y=\"{}\" width=\"18\" height=\"{h}\" fill=\"#3b6ea5\"/>", i * 20, 90.0 - h);
    }
    let _ = write!(
        out,
        "<text x=\"0\" y=\"106\" font-size=\"11\">0</text><text x=\"400\" y=\"106\" font-size=\"11\">{:.1} ms</text></svg>",
        max as f64 / 1000.0
    );
}

fn timeline(out: &mut String, f: &FlowStats) {
    out.push_str("<p class=\"dim\">failure rate per second</p><svg role=\"img\" aria-label=\"failure rate over time\" width=\"480\" height=\"60\" viewBox=\"0 0 480 60\">");
    let n = f.timeline.len().max(1);
    let points: Vec<String> = f
        .timeline
        .iter()
        .enumerate()
        .map(|(i, (done, failed))| {
            let rate = if *done == 0 { 0.0 } else { *failed as f64 / *done as f64 };
            format!("{:.1},{:.1}", i as f64 * 480.0 / n as f64, 55.0 - rate * 50.0)
        })
        .collect();
    let _ = write!(
        out,
        "<polyline fill=\"none\" stroke=\"#c62f2f\" stroke-width=\"2\" points=\"{}\"/></svg>",
        points.join(" ")
    );
}

fn waterfall(out: &mut String, steps: &[StepResult]) {
    let total = steps.iter().map(|s| s.start_ms + s.duration_ms).fold(0.0, f64::max).max(1e-9);
    out.push_str("<table><tr><th>step</th><th>kind</th><th>timing</th><th>ms</th><th>iv</th><th>result</th></tr>");
    for s in steps {
        let (x, w) = (s.start_ms / total * 200.0, (s.duration_ms / total * 200.0).max(2.0));
        let color = match s.outcome {
            Outcome::Pass => "#1f8a3b",
            Outcome::Fail => "#c62f2f",
            Outcome::Skipped => "#b8c1ca",
        };
        let iv = match s.verdict_payload() {
            Some(p) if p.basis == crate::engine::Basis::NotExchanged => StepResult::NEVER_EXCHANGED.into(),
            Some(p) => match p.freshness {
                Freshness::Stale { sealed, against } => {
                    format!("<span class=\"stale\">STALE gen {sealed}→{against}</span>")
                }
                Freshness::Fresh => "<span class=\"fresh\">fresh</span>".into(),
                Freshness::Unknown => "unknown".into(),
            },
            None => String::new(),
        };
        let result = match s.outcome {
            Outcome::Pass => "PASS".to_string(),
            Outcome::Skipped => "SKIP".to_string(),
            Outcome::Fail if s.failures.iter().any(|f| f.location.is_some()) => format!(
                "FAIL<pre>{}</pre>",
                s.failures.iter().map(|f| esc(&f.render(false))).collect::<Vec<_>>().join("\n")
            ),
            Outcome::Fail => format!("FAIL {}", esc(s.reason.as_deref().unwrap_or(""))),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td><svg width=\"204\" height=\"12\"><rect x=\"{x:.1}\" y=\"1\" width=\"{w:.1}\" height=\"10\" fill=\"{color}\"/></svg></td><td>{:.1}</td><td>{iv}</td><td>{result}</td></tr>",
            esc(&s.id),
            esc(&s.kind),
            s.duration_ms
        );
    }
    out.push_str("</table>");
}
