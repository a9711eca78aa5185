//! `wxflow merge`: the reports of the shards of one run (`--shard
//! INDEX/COUNT`) folded into one result: counts, causes, first failures
//! (the lowest iteration) and latency histograms merged exactly, then the
//! verdicts, thresholds, reports and exit code as one unsharded run has them.

use crate::cli::MergeArgs;
use crate::exit::{EXIT_INVALID, InvalidInput};
use crate::flow::model::Threshold;
use crate::load::Shard;
use crate::report::text;
use crate::report::{PlanInfo, RunReport};
use crate::stats::FlowStats;
use serde_json::Value;
use std::path::Path;
use std::process::ExitCode;

/// The most shards one run is split into.
const MAX_SHARDS: u64 = 100_000;

/// One shard's report, read.
struct ShardReport {
    path: String,
    value: Value,
    plan: PlanInfo,
    shard: Shard,
}

fn read(path: &Path) -> Result<ShardReport, InvalidInput> {
    let shown = path.display().to_string();
    let bad = |why: String| InvalidInput(format!("{shown}: {why}"));
    let bytes = crate::limits::read_bounded(path, crate::limits::MAX_SHARD_BYTES).map_err(bad)?;
    let text = String::from_utf8(bytes).map_err(|e| bad(format!("not UTF-8 text: {e}")))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| bad(format!("not a JSON report: {e}")))?;
    if value["report_version"] != crate::report::json::REPORT_VERSION {
        return Err(bad(format!(
            "report_version {} is not {}",
            value["report_version"],
            crate::report::json::REPORT_VERSION
        )));
    }
    let plan: PlanInfo = serde_json::from_value(value["plan"].clone()).map_err(|e| bad(format!("its `plan`: {e}")))?;
    let shard = plan.shard.ok_or_else(|| bad("not a shard report (run with --shard INDEX/COUNT)".into()))?;
    // Read from a file anyone may have edited: the same rules as --shard.
    if shard.count == 0 || shard.index >= shard.count || shard.count > MAX_SHARDS {
        return Err(bad(format!("shard {shard} is not INDEX/COUNT with INDEX below COUNT (at most {MAX_SHARDS})")));
    }
    Ok(ShardReport { path: shown, value, plan, shard })
}

/// What must be the same in every shard of one run.
fn identity(r: &ShardReport) -> Value {
    let flows: Vec<&Value> =
        r.value["flows"].as_array().map(|f| f.iter().map(|f| &f["flow"]).collect()).unwrap_or_default();
    serde_json::json!({
        "seed": r.value["seed"],
        "rotation_override": r.value["rotation_override"],
        "plan": PlanInfo { shard: None, ..r.plan.clone() },
        "flows": flows,
    })
}

/// Checks that the reports are the shards of one run, each once and all present.
fn check(reports: &[ShardReport]) -> Result<u64, InvalidInput> {
    let first = reports.first().ok_or_else(|| InvalidInput("no reports to merge".into()))?;
    let want = identity(first);
    for r in reports {
        let got = identity(r);
        if got != want {
            let what: Vec<&str> =
                ["seed", "rotation_override", "plan", "flows"].into_iter().filter(|k| got[k] != want[k]).collect();
            return Err(InvalidInput(format!(
                "{} is not a shard of the same run as {}: its {} differ",
                r.path,
                first.path,
                what.join(", ")
            )));
        }
    }
    let count = first.shard.count;
    if let Some(r) = reports.iter().find(|r| r.shard.count != count) {
        return Err(InvalidInput(format!(
            "{} is shard {} but {} is shard {}",
            r.path, r.shard, first.path, first.shard
        )));
    }
    let mut seen = vec![vec![]; count as usize];
    for r in reports {
        seen[r.shard.index as usize].push(r.path.as_str());
    }
    let missing: Vec<String> =
        (0..count).filter(|i| seen[*i as usize].is_empty()).map(|i| format!("{i}/{count}")).collect();
    // A long list is cut: the first few say enough.
    let shown = |list: &[String]| match list.len() {
        n if n > 10 => format!("{} and {} more", list[..10].join(", "), n - 10),
        _ => list.join(", "),
    };
    let twice: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, paths)| paths.len() > 1)
        .map(|(i, paths)| format!("{i}/{count} ({})", paths.join(", ")))
        .collect();
    if !missing.is_empty() || !twice.is_empty() {
        let mut why = vec![];
        if !missing.is_empty() {
            why.push(format!("missing shards: {}", shown(&missing)));
        }
        if !twice.is_empty() {
            why.push(format!("shards given twice: {}", shown(&twice)));
        }
        return Err(InvalidInput(why.join("; ")));
    }
    Ok(count)
}

/// `wxflow merge`.
pub fn merge(args: MergeArgs) -> Result<ExitCode, InvalidInput> {
    let reports = args.inputs.iter().map(|p| read(p)).collect::<Result<Vec<_>, _>>()?;
    let count = check(&reports)?;
    crate::report::write::check_report_paths(&args.reports, &args.inputs)?;
    let opened = crate::report::write::open_reports(&args.reports)?;
    let first = &reports[0];
    let ids: Vec<String> = first.value["flows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["flow"].as_str().map(String::from))
        .collect();
    let mut flows: Vec<FlowStats> = vec![];
    for id in &ids {
        let mut merged: Option<FlowStats> = None;
        let mut runs = vec![];
        for r in &reports {
            let v = r.value["flows"].as_array().into_iter().flatten().find(|f| f["flow"] == id.as_str());
            let stats = crate::report::json::flow_stats(v.unwrap_or(&Value::Null))
                .map_err(|e| InvalidInput(format!("{}: flow {id}: {e}", r.path)))?;
            if let Some(why) = stats.impossible() {
                return Err(InvalidInput(format!("{}: flow {id}: not a report of a run: {why}", r.path)));
            }
            runs.push((stats.started_ms, stats.elapsed));
            match &mut merged {
                Some(m) => m.merge(&stats),
                None => merged = Some(stats),
            }
        }
        // The shards may have run at once or one by one: the wall time they
        // cover, not the longest one's, makes the merged throughput.
        let elapsed = crate::stats::wall_time(&runs);
        // With shared users the reproducers are whole loads, as the run said.
        flows.extend(merged.map(|m| FlowStats { reproduce_whole_load: first.plan.users.is_some(), elapsed, ..m }));
    }
    let runs: Vec<_> = reports
        .iter()
        .map(|r| {
            let ms = r.value["duration_ms"].as_f64().unwrap_or(0.0);
            let took = std::time::Duration::try_from_secs_f64(ms / 1e3)
                .map_err(|_| InvalidInput(format!("{}: duration_ms {ms} is not a duration", r.path)))?;
            Ok((r.value["started_at_ms"].as_u64(), took))
        })
        .collect::<Result<_, _>>()?;
    let cli: Vec<Threshold> = args
        .max_failure_rate
        .map(Threshold::FailureRate)
        .into_iter()
        .chain(args.max_latency.iter().map(|l| l.0.clone()))
        .collect();
    let mut report = RunReport {
        seed: first.value["seed"].as_u64().unwrap_or(0),
        plan: PlanInfo { shard: None, ..first.plan.clone() },
        mock: first.value["mock"].as_str().unwrap_or_default().to_string(),
        target: first.value["target"].as_str().unwrap_or_default().to_string(),
        rotation_override: first.value["rotation_override"].as_str().map(String::from),
        elapsed: crate::stats::wall_time(&runs),
        started_ms: runs.iter().filter_map(|r| r.0).min(),
        // A shard cut short leaves the whole cut short, with its signal's
        // exit code (reports from before it was kept: 1, never a pass).
        interrupted: reports.iter().find(|r| r.value["interrupted"] == true).map(|r| {
            let code = r.value["summary"]["exit_code"].as_u64().filter(|c| *c > 128);
            code.and_then(|c| u8::try_from(c).ok()).unwrap_or(super::EXIT_FAILED)
        }),
        flows,
        thresholds: vec![],
        // Every shard got the same variables: the first says them.
        variables: first.value.get("variables").cloned().unwrap_or_else(|| serde_json::json!([])),
    };
    report.thresholds = super::run::thresholds(&report.flows, &cli);
    let st = super::run::style();
    crate::outln!("wxflow merge · {count} shards · {} flows · seed {}", report.flows.len(), report.seed);
    for f in &report.flows {
        crate::outln!("\n{} {}", st.bold(&f.flow), st.dim("summary"));
        crate::out!("{}", text::flow_summary(f, st));
    }
    crate::outln!();
    crate::out!("{}", text::closing(&report, st));
    let written = crate::report::write::write_reports(&report, opened);
    let code = if written { report.exit_code() } else { EXIT_INVALID };
    Ok(ExitCode::from(code))
}
