//! The JSON report. Its schema is `schemas/report.schema.json`
//! (`wxflow schema report`); field names are a contract.

use super::RunReport;
use crate::stats::{FlowStats, Latency};
use serde_json::{Value, json};

/// Version of the report's shape; bumped on incompatible change.
pub const REPORT_VERSION: u32 = 1;

fn flow(f: &FlowStats) -> Value {
    let (lo, hi) = f.failure_rate_ci95();
    let (flows_per_sec, http_per_sec) = f.throughput();
    json!({
        "flow": f.flow,
        "name": f.name,
        "file": f.file,
        "expected": f.expected,
        "expectation_met": f.expectation_met(),
        "verdict": f.verdict(),
        "iterations": f.iterations,
        "passed": f.passed,
        "failed": f.failed,
        "failure_rate": f.failure_rate(),
        "failure_rate_ci95": [lo, hi],
        "causes": f.causes.iter().map(|(c, n)| (c.as_str().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "stale_share": f.stale_share(),
        "stale_generations": f.stale_generations,
        "latency_ms": Latency::of(&f.latency),
        "steps": f.steps.iter().map(|s| json!({
            "id": s.id,
            "kind": s.kind,
            "passed": s.passed,
            "failed": s.failed,
            "skipped": s.skipped,
            "latency_ms": Latency::of(&s.latency),
        })).collect::<Vec<_>>(),
        "throughput": {
            "flows_per_sec": flows_per_sec,
            "http_requests_per_sec": http_per_sec,
        },
        "http_requests": f.http_requests,
        "late_starts": {
            "count": f.late.count,
            "mean_ms": if f.late.count == 0 { 0.0 } else { f.late.total_ms / f.late.count as f64 },
            "max_ms": f.late.max_ms,
        },
        "reproduce": f.reproduce.iter().map(|(c, cmd)| (c.as_str().to_string(), json!(cmd))).collect::<serde_json::Map<_, _>>(),
        "first_unmet": f.first_unmet,
        "interrupted": f.interrupted,
        "first_failures": f.first_failures.iter().map(|(c, r)| (c.as_str().to_string(), json!(r))).collect::<serde_json::Map<_, _>>(),
        "example": f.example,
    })
}

/// The report as a JSON value.
pub fn to_value(r: &RunReport) -> Value {
    let (met, not_met, not_run) = r.met_counts();
    json!({
        "report_version": REPORT_VERSION,
        "wxflow_version": env!("CARGO_PKG_VERSION"),
        "seed": r.seed,
        "mock": r.mock,
        "target": r.target,
        "rotation_override": r.rotation_override,
        "duration_ms": r.elapsed.as_secs_f64() * 1e3,
        "interrupted": r.interrupted,
        "summary": {
            "flows": r.flows.len(),
            "expectations_met": met,
            "expectations_not_met": not_met,
            "not_run": not_run,
            "iterations": r.iterations(),
            "passed": r.flows.iter().map(|f| f.passed).sum::<u64>(),
            "failed": r.flows.iter().map(|f| f.failed).sum::<u64>(),
            "http_requests": r.http_requests(),
            "flows_per_sec": r.rate(r.iterations()),
            "http_requests_per_sec": r.rate(r.http_requests()),
            "success": r.success(),
        },
        "thresholds": r.thresholds,
        "flows": r.flows.iter().map(flow).collect::<Vec<_>>(),
    })
}
