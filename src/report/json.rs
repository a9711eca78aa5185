//! The JSON report. Its schema is `schemas/report.schema.json`
//! (`wxflow schema report`); field names are a contract.

use super::RunReport;
use crate::flow::model::Threshold;
use crate::stats::{FlowStats, Late, Latency};
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
        "unjudged": f.unjudged,
        "unjudged_window_s": f.unjudged_window.map(|(a, b)| [a, b]),
        "seconds": f.seconds,
        "mock_restart": f.mock_restart,
        "backend_died": f.backend_died,
        "met": f.met,
        "stale_failures": f.stale_failures,
        "elapsed_ms": f.elapsed.as_secs_f64() * 1e3,
        "started_at_ms": f.started_ms,
        "limits": f.thresholds.iter().map(threshold_spec).collect::<Vec<_>>(),
        "hdr": {
            "total": crate::stats::encode(&f.latency),
            "steps": f.steps.iter().map(|s| (s.id.clone(), json!(crate::stats::encode(&s.latency)))).collect::<serde_json::Map<_, _>>(),
        },
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
        "late_starts": late(&f.late),
        "tester_lag": late(&f.tester_lag),
        "reproduce": f.reproduce.iter().map(|(c, cmd)| (c.as_str().to_string(), json!(cmd))).collect::<serde_json::Map<_, _>>(),
        "first_unmet": f.first_unmet,
        "reproduce_unmet": f.reproduce_unmet,
        "interrupted": f.interrupted,
        "first_failures": f.first_failures.iter().map(|(c, r)| (c.as_str().to_string(), json!(r))).collect::<serde_json::Map<_, _>>(),
        "example": f.example,
    })
}

fn late(l: &Late) -> Value {
    json!({
        "count": l.count,
        "total_ms": l.total_ms,
        "mean_ms": if l.count == 0 { 0.0 } else { l.total_ms / l.count as f64 },
        "max_ms": l.max_ms,
    })
}

fn read_late(v: &Value) -> Late {
    Late {
        count: v["count"].as_u64().unwrap_or(0),
        total_ms: v["total_ms"].as_f64().unwrap_or(0.0),
        max_ms: v["max_ms"].as_f64().unwrap_or(0.0),
    }
}

/// A flow's own threshold, as the report states it.
fn threshold_spec(t: &Threshold) -> Value {
    match t {
        Threshold::FailureRate(limit) => json!({ "failure_rate": limit }),
        Threshold::Latency { step, percentile, limit_ms } => {
            json!({ "step": step, "percentile": percentile.name(), "limit_ms": limit_ms })
        }
    }
}

/// The report as a JSON value.
pub fn to_value(r: &RunReport) -> Value {
    let t = r.tally();
    json!({
        "report_version": REPORT_VERSION,
        "wxflow_version": env!("CARGO_PKG_VERSION"),
        "seed": r.seed,
        "plan": r.plan,
        "mock": r.mock,
        "target": r.target,
        "rotation_override": r.rotation_override,
        "duration_ms": r.elapsed.as_secs_f64() * 1e3,
        "started_at_ms": r.started_ms,
        "interrupted": r.interrupted.is_some(),
        "summary": {
            "flows": r.flows.len(),
            "expectations_met": t.met,
            "expectations_not_met": t.not_met,
            "inconclusive": t.inconclusive,
            "not_run": t.not_run,
            "iterations": r.iterations(),
            "passed": r.flows.iter().map(|f| f.passed).sum::<u64>(),
            "failed": r.flows.iter().map(|f| f.failed).sum::<u64>(),
            "unjudged": r.flows.iter().map(|f| f.unjudged).sum::<u64>(),
            "http_requests": r.http_requests(),
            "flows_per_sec": r.rate(r.iterations()),
            "http_requests_per_sec": r.rate(r.http_requests()),
            "success": r.success(),
            "exit_code": r.exit_code(),
        },
        "thresholds": r.thresholds,
        "variables": r.variables,
        "flows": r.flows.iter().map(flow).collect::<Vec<_>>(),
    })
}

fn parse<T: serde::de::DeserializeOwned>(x: &Value) -> Result<T, String> {
    serde_json::from_value(x.clone()).map_err(|e| e.to_string())
}

fn cause(name: &str) -> Result<crate::flow::Cause, String> {
    parse(&Value::String(name.to_string()))
}

/// A flow's figures read back from a report (the inverse of [`to_value`]'s
/// flow object), for `wxflow merge`.
pub fn flow_stats(v: &Value) -> Result<FlowStats, String> {
    use crate::flow::model::{Expectation, Percentile};
    use crate::stats::{StepStats, decode};
    let field = |name: &str| v.get(name).ok_or_else(|| format!("flow without `{name}`"));
    let num = |name: &str| field(name).and_then(|x| x.as_u64().ok_or_else(|| format!("`{name}` is not a count")));
    let text = |x: &Value| x.as_str().map(String::from).ok_or_else(|| "expected a string".to_string());
    let hdr = field("hdr")?;
    let mut steps = vec![];
    for s in field("steps")?.as_array().ok_or("`steps` is not a list")? {
        let id = text(&s["id"])?;
        steps.push(StepStats {
            latency: decode(hdr["steps"][&id].as_str().ok_or_else(|| format!("no histogram for step `{id}`"))?)?,
            id,
            kind: text(&s["kind"])?,
            passed: s["passed"].as_u64().unwrap_or(0),
            failed: s["failed"].as_u64().unwrap_or(0),
            skipped: s["skipped"].as_u64().unwrap_or(0),
        });
    }
    let mut thresholds = vec![];
    for l in field("limits")?.as_array().ok_or("`limits` is not a list")? {
        thresholds.push(match l.get("failure_rate").and_then(Value::as_f64) {
            Some(limit) => Threshold::FailureRate(limit),
            None => Threshold::Latency {
                step: l["step"].as_str().map(String::from),
                percentile: l["percentile"].as_str().unwrap_or("").parse::<Percentile>()?,
                limit_ms: l["limit_ms"].as_f64().ok_or("a latency limit without `limit_ms`")?,
            },
        });
    }
    let map = |name: &str| field(name).and_then(|x| x.as_object().ok_or_else(|| format!("`{name}` is not an object")));
    Ok(FlowStats {
        flow: text(field("flow")?)?,
        name: text(field("name")?)?,
        file: text(field("file")?)?,
        expected: parse::<Expectation>(field("expected")?)?,
        thresholds,
        iterations: num("iterations")?,
        passed: num("passed")?,
        failed: num("failed")?,
        // Reports of earlier builds have no unjudged iterations.
        unjudged: v["unjudged"].as_u64().unwrap_or(0),
        unjudged_window: v["unjudged_window_s"]
            .as_array()
            .and_then(|w| Some((w.first()?.as_u64()?, w.get(1)?.as_u64()?))),
        seconds: v["seconds"].as_u64().unwrap_or(0),
        mock_restart: v["mock_restart"].as_str().map(String::from),
        backend_died: serde_json::from_value(v["backend_died"].clone()).ok().flatten(),
        last_answered: None,
        cut: None,
        cuts: 0,
        tester_lag: read_late(&v["tester_lag"]),
        met: num("met")?,
        causes: map("causes")?
            .iter()
            .map(|(k, n)| Ok((cause(k)?, n.as_u64().unwrap_or(0))))
            .collect::<Result<_, String>>()?,
        stale_failures: num("stale_failures")?,
        stale_generations: map("stale_generations")?
            .iter()
            .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
            .collect(),
        http_requests: num("http_requests")?,
        latency: decode(hdr["total"].as_str().ok_or("no total histogram")?)?,
        steps,
        first_failures: map("first_failures")?
            .iter()
            .map(|(k, r)| Ok((cause(k)?, parse(r)?)))
            .collect::<Result<_, String>>()?,
        first_unmet: field("first_unmet")?.as_u64(),
        reproduce_unmet: v["reproduce_unmet"].as_str().map(String::from),
        example: parse(field("example")?)?,
        elapsed: std::time::Duration::try_from_secs_f64(field("elapsed_ms")?.as_f64().unwrap_or(0.0) / 1e3)
            .map_err(|_| "elapsed_ms is not a duration")?,
        started_ms: v["started_at_ms"].as_u64(),
        reproduce: map("reproduce")?.iter().map(|(k, c)| Ok((cause(k)?, text(c)?))).collect::<Result<_, String>>()?,
        reproduce_whole_load: false,
        interrupted: field("interrupted")?.as_bool().unwrap_or(false),
        late: read_late(field("late_starts")?),
        timeline: vec![],
    })
}
