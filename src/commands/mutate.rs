//! `wxflow mutate`: runs the flows against the reference backend once as it
//! is, then once per known bug (the catalogue in [`crate::backend::bugs`]),
//! and tells which flows caught each bug and which bugs survived. A suite
//! that lets a bug survive is missing a story.

use crate::backend::Bug;
use crate::cli::{MutateArgs, ReportKind};
use crate::contract::{GroundTruth, Rotation, RotationPolicy};
use crate::engine::Engine;
use crate::exit::{EXIT_FAILED, EXIT_INVALID, EXIT_OK, InvalidInput};
use crate::flow::Flow;
use crate::flow::vars::Outside;
use crate::mock::MockConfig;
use crate::signals::Signals;
use clap::ValueEnum;
use serde::Serialize;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Version of the mutate report's shape.
pub const MUTATE_REPORT_VERSION: u32 = 1;

/// One backend (correct, or with one bug) against every flow.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    /// `None`: the correct reference backend.
    pub bug: Option<String>,
    pub story: String,
    /// Flows that did not meet their expectation: for a bug, the flows
    /// that caught it.
    pub caught_by: Vec<String>,
}

/// The whole mutation run.
#[derive(Debug, Clone, Serialize)]
pub struct MutateReport {
    pub report_version: u32,
    pub wxflow_version: &'static str,
    pub seed: u64,
    pub flows: Vec<String>,
    /// The correct backend: every flow should meet its expectation.
    pub baseline: Trial,
    pub bugs: Vec<Trial>,
    /// Bugs no flow caught.
    pub survivors: Vec<String>,
    pub interrupted: bool,
    /// The correct backend passed and every bug was caught.
    pub success: bool,
}

/// Runs every flow once against a fresh mock and reference backend (with
/// `bug`, if given); returns the flows whose expectation was not met.
async fn trial(
    flows: &[Arc<Flow>],
    outside: &Outside,
    seed: u64,
    bug: Option<Bug>,
) -> Result<Vec<String>, InvalidInput> {
    let stop = CancellationToken::new();
    let config = MockConfig { seed, rotation: Rotation::policy(RotationPolicy::Never), ..MockConfig::default() };
    let secrets = config.apps.iter().map(|a| a.secret.clone()).collect();
    let servers =
        crate::serve::embedded_with_bug(config, bug, stop.clone()).await.map_err(|e| InvalidInput(e.to_string()))?;
    let truth: Arc<dyn GroundTruth> = Arc::new(servers.mock.clone());
    let engine = Engine::new(&servers.mock_url, &servers.backend_url, seed, None, false)
        .with_truth(Some(truth))
        .with_known_secrets(secrets)
        .with_variables(outside);
    // One flow after another: flows share the app's token clock, so
    // running them at once would make the table depend on timing.
    let mut not_met = vec![];
    for f in flows {
        let user = Engine::user_for(f, seed, 0);
        if !engine.run(f, 0, &user, None).await.counts().expectation_met {
            not_met.push(f.id.clone());
        }
    }
    stop.cancel();
    Ok(not_met)
}

/// `wxflow mutate`.
pub async fn mutate(args: MutateArgs) -> Result<ExitCode, InvalidInput> {
    if let Some(r) = args.reports.iter().find(|r| r.kind != ReportKind::Json) {
        return Err(InvalidInput(format!("--report {}: mutate writes json=PATH reports", r.path.display())));
    }
    let outside = args.vars.gather()?;
    let flows = crate::commands::load_flows(&crate::cli::flow_paths(&args.paths), &outside)?;
    crate::report::write::check_report_paths(&args.reports, &crate::report::write::flow_files(&flows))?;
    let opened = crate::report::write::open_reports(&args.reports)?;
    let flows: Vec<Arc<Flow>> = flows.into_iter().map(Arc::new).collect();
    let signals = Signals::listen();
    let all_bugs = Bug::value_variants();
    crate::outln!("wxflow mutate · {} flows · {} bugs · seed {}", flows.len(), all_bugs.len(), args.seed);
    let baseline = Trial {
        bug: None,
        story: "the correct reference backend".into(),
        caught_by: trial(&flows, &outside, args.seed, None).await?,
    };
    // A flow the correct backend does not meet was written for another
    // contract: any bug "caught" by it would say nothing.
    if !baseline.caught_by.is_empty() {
        return Err(InvalidInput(format!(
            "the correct reference backend does not meet {} of {} flows ({}): they do not fit its contract (POST /api/login with code, encryptedData, iv, rawData, signature; {{\"code\":0,\"data\":{{\"token\",\"user_id\"}}}}), so the bugs they would catch say nothing; mutate flows written for that contract (`wxflow init` writes them), and run yours against your backend with `wxflow run`",
            baseline.caught_by.len(),
            flows.len(),
            baseline.caught_by.join(", ")
        )));
    }
    crate::outln!("correct backend: {} of {} flows met their expectation", flows.len(), flows.len());
    crate::outln!("\n{:<28} {}", "bug", "caught by");
    // Each bug gets its own mock and backend, so all run at once; a signal
    // ends the run with the baseline alone (marked interrupted).
    let trials = futures::future::join_all(all_bugs.iter().map(|bug| trial(&flows, &outside, args.seed, Some(*bug))));
    let results = tokio::select! {
        r = trials => r,
        () = signals.graceful.cancelled() => vec![],
    };
    let mut bugs = vec![];
    for (bug, caught_by) in all_bugs.iter().zip(results) {
        let caught_by = caught_by?;
        let shown = if caught_by.is_empty() { "SURVIVED: no flow caught it".to_string() } else { caught_by.join(", ") };
        crate::outln!("{:<28} {shown}", bug.name());
        bugs.push(Trial { bug: Some(bug.name()), story: bug.story().into(), caught_by });
    }
    let survivors: Vec<String> = bugs.iter().filter(|t| t.caught_by.is_empty()).filter_map(|t| t.bug.clone()).collect();
    let interrupted = signals.exit_code().is_some();
    let success = baseline.caught_by.is_empty() && survivors.is_empty() && !interrupted;
    crate::outln!(
        "\n{} of {} bugs caught{}",
        bugs.len() - survivors.len(),
        all_bugs.len(),
        if survivors.is_empty() { String::new() } else { format!("; survivors: {}", survivors.join(", ")) }
    );
    let report = MutateReport {
        report_version: MUTATE_REPORT_VERSION,
        wxflow_version: env!("CARGO_PKG_VERSION"),
        seed: args.seed,
        flows: flows.iter().map(|f| f.id.clone()).collect(),
        baseline,
        bugs,
        survivors,
        interrupted,
        success,
    };
    let mut written = true;
    for opened in opened {
        written &= opened.write(Ok(serde_json::to_string_pretty(&report).unwrap_or_default()));
    }
    let code = match (signals.exit_code(), written, success) {
        (Some(code), _, _) => code,
        (None, false, _) => EXIT_INVALID,
        (None, true, true) => EXIT_OK,
        (None, true, false) => EXIT_FAILED,
    };
    Ok(ExitCode::from(code))
}
