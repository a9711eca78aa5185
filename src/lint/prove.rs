//! `wxflow lint --prove`: each finding that starts in a page's handler is
//! run, the app's own code under a session_key that rotates at every
//! login, and marked `confirmed` (with the request that carried stale data
//! and its line) or `not confirmed` (and why).

use super::{Finding, flows};
use crate::engine::{Engine, Outcome};
use crate::flow::model::Cause;
use serde::Serialize;
use std::sync::Arc;

/// What running a finding showed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proof {
    pub confirmed: bool,
    /// The stale request and its line, or why it was not confirmed.
    pub detail: String,
}

impl Proof {
    fn not(detail: impl Into<String>) -> Proof {
        Proof { confirmed: false, detail: detail.into() }
    }
}

/// Runs every finding that has a page entry; marks the others as not
/// runnable. Starts its own mock and reference backend on loopback.
pub fn prove(findings: &mut [Finding]) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runner: {e}"))?;
    runtime.block_on(async {
        let stop = tokio_util::sync::CancellationToken::new();
        let servers = crate::serve::embedded(crate::mock::MockConfig::default(), stop.clone())
            .await
            .map_err(|e| format!("cannot start the mock: {e}"))?;
        let engine = Engine::new(&servers.mock_url, &servers.backend_url, 0, None, false)
            .with_truth(Some(Arc::new(servers.mock.clone())))
            .with_own_servers(true);
        let dir = tempfile_dir()?;
        for f in findings.iter_mut() {
            f.proof = Some(match (&f.replay, &f.page) {
                (None, _) => Proof::not(format!("--prove runs stale-open-data findings; this one is {}", f.rule)),
                (Some(_), None) => Proof::not("its handler is not a page's in a native Mini Program (no app.json above the page, or not a button's handler), so it cannot be run"),
                (Some(_), Some(_)) => run_one(&engine, f, &dir).await,
            });
        }
        let _ = std::fs::remove_dir_all(&dir);
        stop.cancel();
        Ok(())
    })
}

fn tempfile_dir() -> Result<std::path::PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("wxflow-prove-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

async fn run_one(engine: &Engine, f: &Finding, dir: &std::path::Path) -> Proof {
    let Some(text) = flows::page_flow_for(f, dir) else { return Proof::not("no flow could be written for it") };
    let file = dir.join("prove.yaml");
    let flow = match crate::flow::check(&file.display().to_string(), &text) {
        Ok(flow) => flow,
        Err(e) => return Proof::not(format!("its flow does not check: {}", e[0])),
    };
    let user = Engine::user_for(&flow, 0, 0);
    let result = engine.run(&flow, 0, &user, None).await.into_masked();
    let Some(page) = &f.page else { return Proof::not("no page") };
    let stale_tap =
        result.steps.iter().find(|s| s.id == "tap" && s.outcome == Outcome::Fail && s.cause == Some(Cause::StaleIv));
    if let Some(step) = stale_tap {
        let call = step.requests.iter().find(|c| c.stale);
        let at = call.and_then(|c| c.at.clone()).map_or_else(String::new, |a| format!(" from {a}"));
        let url = call.map_or_else(String::new, |c| format!(" {} {}", c.method, c.url));
        return Proof {
            confirmed: true,
            detail: format!(
                "tapping {} on {}, the request{url}{at} carried data sealed with a key the login replaced",
                page.handler, page.route
            ),
        };
    }
    let why = result
        .failed_step()
        .and_then(|s| s.diagnosis.clone().or_else(|| s.reason.clone()))
        .unwrap_or_else(|| "the page sent nothing stale".into());
    Proof::not(format!("tapping {} on {}: {why}", page.handler, page.route))
}
