//! `wxflow run`: loads and checks flows, starts the embedded servers when
//! needed, runs each flow by its plan, prints as it goes, and writes the
//! reports, including after Ctrl-C.

use super::load_flows;
use crate::cli::{ReportSpec, RunArgs};
use crate::contract::Rotation;
use crate::engine::{Engine, RunEvent};
use crate::exit::{EXIT_INVALID, InvalidInput};
use crate::flow::Flow;
use crate::flow::model::Threshold;
use crate::limits::Setup;
use crate::load::{self, Lane, Plan};
use crate::report::text::{self, Style};
use crate::report::{RunReport, ThresholdResult};
use crate::signals::Signals;
use crate::stats::{FlowStats, Latency};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long running iterations may take to finish after Ctrl-C.
const GRACE: Duration = Duration::from_secs(10);
/// Results are read up to this many at a time, ...
const EVENT_BATCH: usize = 256;
/// ... with this pause after a batch that did not fill.
const EVENT_PAUSE: Duration = Duration::from_millis(1);

/// Everything `run` needs, checked.
pub struct Settings {
    pub paths: Vec<PathBuf>,
    pub mock: Option<String>,
    /// How long a given mock may take to answer its identity.
    pub mock_wait: std::time::Duration,
    pub target: Option<String>,
    /// `--app`: the Mini Program of page steps in flows without `app:`.
    pub app: Option<PathBuf>,
    pub seed: u64,
    pub rotation: Option<Rotation>,
    pub reveal_secrets: bool,
    pub reports: Vec<ReportSpec>,
    pub plan: Plan,
    /// One iteration per flow: print each in full instead of a summary.
    pub detail: bool,
    pub thresholds: Vec<Threshold>,
    /// Variables from outside the flows.
    pub outside: crate::flow::vars::Outside,
    /// The flags a reproducer must carry to reach the same servers with the
    /// same values: `--ca-cert`, `--insecure`, `--vars-file`, `--var`, and
    /// `--secret NAME=…` (its value is not printed).
    pub carried_flags: String,
}

fn invalid(msg: impl Into<String>) -> InvalidInput {
    InvalidInput(msg.into())
}

impl Settings {
    /// The flags, parsed by clap, and the rules that span several of them.
    pub fn from_args(a: &RunArgs) -> Result<Settings, InvalidInput> {
        if a.until_fail && a.repeat.is_none() && a.duration.is_none() {
            return Err(invalid("--until-fail needs --repeat N or --duration D to bound it"));
        }
        let mut plan = Plan {
            repeat: a.repeat.unwrap_or(if a.duration.is_some() { u64::MAX } else { 1 }),
            concurrency: a.concurrency.map_or(if a.rate.is_some() { 256 } else { 1 }, |c| c as usize),
            duration: a.duration,
            rate: a.rate,
            users: a.users,
            until_fail: a.until_fail,
            first_iteration: 0,
            // The headless runner prints whole iterations; step events are for the dashboard.
            step_events: false,
            shard: a.shard,
        };
        let mut seed = a.targets.seed;
        if let Some(r) = a.replay {
            seed = r.seed;
            plan = Plan { first_iteration: r.iteration, users: a.users, ..Plan::default() };
        }
        let detail = plan.repeat == 1 && plan.duration.is_none() && plan.shard.is_none();
        let mut thresholds: Vec<Threshold> = a.max_failure_rate.map(Threshold::FailureRate).into_iter().collect();
        thresholds.extend(a.max_latency.iter().map(|l| l.0.clone()));
        Ok(Settings {
            paths: crate::cli::flow_paths(&a.targets.paths),
            mock: a.targets.mock.clone(),
            mock_wait: a.targets.mock_wait,
            target: a.targets.target.clone(),
            app: a.targets.app.clone(),
            seed,
            rotation: a.rotation.map(Rotation::policy),
            reveal_secrets: a.reveal_secrets,
            reports: a.reports.clone(),
            plan,
            detail,
            thresholds,
            outside: a.targets.vars.gather()?,
            carried_flags: carried_flags(&a.targets),
        })
    }
}

impl Settings {
    /// The command that reproduces iteration `i` of `file`, with every
    /// setting that shapes its outcome: `--replay` alone, or with shared
    /// users (`--users`, where a failure can come from two iterations racing)
    /// the whole load that showed it, since one iteration alone cannot race.
    pub fn reproduce(&self, file: &str, seed: u64, i: u64) -> String {
        use std::fmt::Write as _;
        let mut cmd = format!("wxflow run {file}");
        match self.plan.users {
            Some(users) => {
                let _ = write!(cmd, " --seed {seed} --users {users}");
                let _ = match self.plan.duration {
                    Some(d) => write!(cmd, " --duration {}ms", d.as_millis()),
                    None => write!(cmd, " --repeat {}", self.plan.repeat),
                };
                let _ = write!(cmd, " --concurrency {}", self.plan.concurrency);
                if let Some(rate) = self.plan.rate {
                    let _ = write!(cmd, " --rate {rate}");
                }
            }
            None => {
                let _ = write!(cmd, " --replay {seed}:{i}");
            }
        }
        if let Some(r) = self.rotation {
            let _ = write!(cmd, " --rotation {}", r.policy);
        }
        // A password in a URL is withheld, as a --secret's value is.
        if let Some(m) = &self.mock {
            let _ = write!(cmd, " --mock {}", crate::redact::shown_url(m));
        }
        if let Some(t) = self.target.as_ref().filter(|_| self.mock.is_some()) {
            let _ = write!(cmd, " --target {}", crate::redact::shown_url(t));
        }
        cmd + &self.carried_flags
    }
}

/// See [`Settings::carried_flags`].
fn carried_flags(t: &crate::cli::Targets) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for ca in &t.ca_certs {
        let _ = write!(out, " --ca-cert {}", ca.display());
    }
    if t.insecure {
        out.push_str(" --insecure");
    }
    for f in &t.vars.files {
        let _ = write!(out, " --vars-file {}", f.display());
    }
    for v in &t.vars.vars {
        let _ = write!(out, " --var {v}");
    }
    for s in &t.vars.secrets {
        let _ = write!(out, " --secret {}=…", s.split('=').next().unwrap_or(""));
    }
    out
}

/// Colour only on a terminal, never with NO_COLOR or in CI.
pub fn style() -> Style {
    Style { color: crate::diagnostic::color_for(std::io::stdout().is_terminal()) }
}

/// `wxflow run`.
pub async fn run(args: RunArgs) -> Result<std::process::ExitCode, InvalidInput> {
    let s = Settings::from_args(&args)?;
    let flows = load_flows(&s.paths, &s.outside)?;
    check_latency_steps(&s.thresholds, &flows)?;
    crate::report::write::check_report_paths(&s.reports, &crate::report::write::flow_files(&flows))?;
    let tls = crate::tls::ClientTls::load(&args.targets.ca_certs, args.targets.insecure).map_err(invalid)?;
    let threads = args
        .threads
        .map_or_else(|| crate::cores::runner_threads(&[s.mock.as_deref(), s.target.as_deref()]), usize::from);
    let setup = match (&s.mock, &s.target) {
        (Some(_), Some(_)) => Setup::Given,
        (Some(_), None) => Setup::Backend,
        _ => Setup::Embedded,
    };
    let concurrency = s.plan.peak_concurrency();
    if let Some(b) = crate::limits::budget(concurrency, threads as u64, setup, s.reports.len() as u64) {
        return Err(invalid(b.refusal(setup, concurrency)));
    }
    // Report files opened now, so a run that runs out of descriptors
    // still writes every report.
    let reports = crate::report::write::open_reports(&s.reports)?;
    let signals = Signals::listen();
    let servers = CancellationToken::new();
    let limits = crate::serve::Limits::for_run(s.plan.concurrency);
    let t = crate::serve::targets(
        s.mock.as_deref(),
        s.target.as_deref(),
        s.seed,
        &tls,
        servers.clone(),
        limits,
        s.mock_wait,
    )
    .await
    .map_err(invalid)?;
    let st = style();
    let cores = crate::cores::Cores::start(threads).map_err(|e| invalid(format!("cannot start the runtimes: {e}")))?;
    let lanes = lanes(&t, &tls, &s, &cores, &servers, limits).await?;
    // A password in a URL's user info is never printed.
    let (mock_url, target_url) =
        (crate::redact::shown_url(&lanes[0].engine.mock_url), crate::redact::shown_url(&lanes[0].engine.target));
    crate::outln!(
        "{}",
        st.dim(&format!(
            "wxflow run · {} flow{} · seed {} · mock {mock_url} · target {target_url} ({}{}){}",
            flows.len(),
            if flows.len() == 1 { "" } else { "s" },
            s.seed,
            t.label,
            if t.embedded.is_some() && lanes.len() > 1 {
                format!(", one pair per core of {}", lanes.len())
            } else {
                String::new()
            },
            s.rotation.map(|r| format!(" · rotation {r} (override)")).unwrap_or_default()
        ))
    );
    if tls.insecure {
        crate::outln!(
            "{}",
            st.red("WARNING: --insecure: TLS certificates are NOT verified; anyone on the path can read and change this run's traffic")
        );
    }
    let (started, started_ms) = (Instant::now(), crate::stats::unix_ms());
    let mut all = vec![];
    let mut instance = t.identity.as_ref().map(|i| i.instance.clone());
    for flow in flows {
        if signals.graceful.is_cancelled() {
            // Never started: still in every report, as not run.
            all.push(FlowStats { interrupted: true, ..FlowStats::new(&flow) });
            continue;
        }
        crate::outln!("\n{}", text::flow_header(&flow, st));
        let mut stats = run_one(lanes.clone(), Arc::new(flow), &s, &signals, st).await;
        stats.reproduce =
            stats.first_failures.iter().map(|(c, r)| (*c, s.reproduce(&stats.file, r.seed, r.iteration))).collect();
        stats.reproduce_whole_load = s.plan.users.is_some();
        stats.reproduce_unmet = stats.first_unmet.map(|i| s.reproduce(&stats.file, s.seed, i));
        if let Some(d) = &mut stats.backend_died {
            d.reproduce = Some(s.reproduce(&stats.file, d.trigger_seed, d.trigger_iteration));
        }
        if let Some(before) = &instance
            && let Ok(now) = crate::serve::check_mock(&mock_url, &tls, Duration::ZERO).await
            && now.instance != *before
        {
            stats.mock_restart = Some(format!("instance {before} before it, {} after", now.instance));
            instance = Some(now.instance);
        }
        all.push(stats);
    }
    let mut report = RunReport {
        seed: s.seed,
        plan: crate::report::PlanInfo {
            repeat: (s.plan.repeat != u64::MAX).then_some(s.plan.repeat),
            duration_ms: s.plan.duration.map(|d| d.as_millis() as u64),
            rate: s.plan.rate,
            concurrency: s.plan.concurrency,
            users: s.plan.users,
            shard: s.plan.shard,
        },
        mock: mock_url,
        target: target_url,
        rotation_override: s.rotation.map(|r| r.to_string()),
        elapsed: started.elapsed(),
        started_ms: Some(started_ms),
        interrupted: signals.exit_code(),
        flows: all,
        thresholds: vec![],
        variables: s.outside.report(s.reveal_secrets),
    };
    report.thresholds = thresholds(&report.flows, &s.thresholds);
    if !s.detail {
        for f in report.flows.iter().filter(|f| f.iterations > 0) {
            crate::outln!("\n{} {}", st.bold(&f.flow), st.dim("summary"));
            crate::out!("{}", text::flow_summary(f, st));
        }
    }
    crate::outln!();
    crate::out!("{}", text::closing(&report, st));
    let written = crate::report::write::write_reports(&report, reports);
    servers.cancel();
    let code = match (report.interrupted, written) {
        (Some(code), _) => code,
        (None, false) => EXIT_INVALID,
        (None, true) => report.exit_code(),
    };
    Ok(std::process::ExitCode::from(code))
}

/// Runs one flow by the plan, printing detail or progress; returns its figures.
async fn run_one(lanes: Vec<Lane>, flow: Arc<Flow>, s: &Settings, signals: &Signals, st: Style) -> FlowStats {
    let plan = &s.plan;
    let mut stats = FlowStats { started_ms: Some(crate::stats::unix_ms()), ..FlowStats::new(&flow) };
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let stop = signals.graceful.clone();
    let watched = CancellationToken::new();
    let runtimes: Vec<_> = lanes.iter().map(|l| l.runtime.clone()).collect();
    let lag = crate::load::watch_lag(&runtimes, &watched);
    let task = tokio::spawn(load::run_flow(lanes, flow.clone(), plan.clone(), stop.clone(), tx));
    let progress = Progress::new(plan, s.detail, st);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + progress.every(), progress.every());
    let mut grace_deadline = None;
    let mut second =
        tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(1), Duration::from_secs(1));
    let mut mark = (0, 0);
    let mut events = Vec::with_capacity(EVENT_BATCH);
    loop {
        tokio::select! {
            _ = second.tick() => {
                stats.tick(stats.iterations - mark.0, stats.failed - mark.1);
                mark = (stats.iterations, stats.failed);
            }
            n = rx.recv_many(&mut events, EVENT_BATCH) => {
                if n == 0 {
                    break;
                }
                for ev in events.drain(..) {
                    if let RunEvent::Flow(r) = ev {
                        if s.detail {
                            crate::out!("{}", text::iteration(&r.masked(), st));
                        }
                        stats.add(&r);
                    }
                }
                // Read results in batches: a wake-up per result cost the
                // lanes a cross-thread wake each.
                if n < EVENT_BATCH {
                    tokio::time::sleep(EVENT_PAUSE).await;
                }
            }
            _ = tick.tick() => progress.show(&stats),
            () = stop.cancelled(), if grace_deadline.is_none() => {
                grace_deadline = Some(tokio::time::Instant::now() + GRACE);
            }
            () = signals.hard.cancelled() => {
                task.abort();
                break;
            }
            () = tokio::time::sleep_until(grace_deadline.unwrap_or_else(tokio::time::Instant::now)), if grace_deadline.is_some() => {
                eprintln!("  {}: iterations still running after {}s were abandoned", flow.id, GRACE.as_secs());
                task.abort();
                break;
            }
        }
    }
    progress.finish(&stats);
    watched.cancel();
    let lag = *lag.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if lag.count >= crate::load::LAG_SAID {
        stats.tester_lag = lag;
    }
    stats.elapsed = started.elapsed();
    stats.interrupted = stop.is_cancelled();
    // Iterations in flight when the first unmet expectation stopped the run
    // may break it too: name the lowest, which is what the reproducer shows.
    if plan.until_fail
        && let Some(i) = stats.first_unmet
    {
        crate::outln!(
            "  first iteration that broke the expectation ({}): {i} · reproduce: {}",
            flow.expect,
            s.reproduce(&flow.file, s.seed, i)
        );
    }
    stats
}

/// One lane per core: each with its own engine (its own connections), and,
/// embedded, its own mock and backend servers over the one mock state,
/// serving as many connections as `limits` says.
async fn lanes(
    t: &crate::serve::Targets,
    tls: &crate::tls::ClientTls,
    s: &Settings,
    cores: &crate::cores::Cores,
    servers: &CancellationToken,
    limits: crate::serve::Limits,
) -> Result<Vec<Lane>, InvalidInput> {
    let mut lanes = vec![];
    for runtime in cores.handles() {
        let (mock_url, target_url) = match &t.embedded {
            Some(mock) => runtime
                .spawn(crate::serve::pair(mock.clone(), servers.clone(), limits))
                .await
                .map_err(|e| invalid(e.to_string()))?
                .map_err(|e| invalid(e.to_string()))?,
            None => (t.mock_url.clone(), t.target_url.clone()),
        };
        let engine = Engine::new(&mock_url, &target_url, s.seed, s.rotation, s.reveal_secrets)
            .with_truth(t.local.clone())
            .with_client_tls(tls)
            .with_appid(t.appid.clone())
            .with_own_servers(s.target.is_none())
            .with_app(s.app.clone())
            .with_known_secrets(
                t.secrets
                    .iter()
                    .cloned()
                    .chain([&mock_url, &target_url].iter().filter_map(|u| crate::redact::url_password(u)))
                    .collect(),
            )
            .with_variables(&s.outside);
        lanes.push(Lane { engine: Arc::new(engine), runtime: runtime.clone() });
    }
    Ok(lanes)
}

/// Live progress of a repeated run: a bar on a terminal, plain lines
/// every few seconds otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    plain: bool,
    started: Instant,
}

impl Progress {
    fn new(plan: &Plan, detail: bool, st: Style) -> Progress {
        let repeated = !detail;
        let tty = st.color && std::io::stderr().is_terminal();
        let bar = (repeated && tty).then(|| {
            let bar = if plan.repeat == u64::MAX {
                indicatif::ProgressBar::new_spinner()
            } else {
                indicatif::ProgressBar::new(plan.repeat)
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template("  {bar:30} {pos}/{len} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        Progress { bar, plain: repeated && !tty, started: Instant::now() }
    }

    fn every(&self) -> Duration {
        if self.bar.is_some() { Duration::from_millis(100) } else { Duration::from_secs(5) }
    }

    fn line(&self, s: &FlowStats) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        format!("{:.0} flows/s · {} failed", s.iterations as f64 / secs, s.failed)
    }

    fn show(&self, s: &FlowStats) {
        if let Some(bar) = &self.bar {
            bar.set_position(s.iterations);
            bar.set_message(self.line(s));
        } else if self.plain && s.iterations > 0 {
            crate::outln!("  … {} iterations · {}", s.iterations, self.line(s));
        }
    }

    fn finish(&self, s: &FlowStats) {
        if let Some(bar) = &self.bar {
            bar.set_position(s.iterations);
            bar.finish_and_clear();
        }
    }
}

/// Checks the flows' own thresholds and the command line's.
pub fn thresholds(flows: &[FlowStats], cli: &[Threshold]) -> Vec<ThresholdResult> {
    let mut out = vec![];
    for f in flows {
        for t in f.thresholds.iter().chain(cli) {
            match t {
                Threshold::FailureRate(limit) => out.push(ThresholdResult {
                    flow: f.flow.clone(),
                    metric: "failure_rate".into(),
                    limit: *limit,
                    actual: f.failure_rate(),
                    breached: f.failure_rate() > *limit,
                }),
                Threshold::Latency { step, percentile, limit_ms } => {
                    let hist = match step {
                        None => Some(&f.latency),
                        Some(id) => f.steps.iter().find(|s| &s.id == id).map(|s| &s.latency),
                    };
                    // A step this flow does not have is not this flow's limit.
                    let Some(hist) = hist else { continue };
                    let actual = Latency::of(hist).at(*percentile);
                    out.push(ThresholdResult {
                        flow: f.flow.clone(),
                        metric: format!("latency {} {percentile} (ms)", step.as_deref().unwrap_or("total")),
                        limit: *limit_ms,
                        actual,
                        breached: actual > *limit_ms,
                    });
                }
            }
        }
    }
    out
}

/// Refuses a `--max-latency` limit on a step that no flow being run has.
fn check_latency_steps(thresholds: &[Threshold], flows: &[Flow]) -> Result<(), InvalidInput> {
    let ids: Vec<&str> = flows.iter().flat_map(|f| f.steps.iter().map(|s| s.id.as_str())).collect();
    for t in thresholds {
        if let Threshold::Latency { step: Some(step), percentile, .. } = t
            && !ids.contains(&step.as_str())
        {
            let hint = crate::flow::error::did_you_mean(step, ids.iter().copied().chain(["total"]))
                .unwrap_or_else(|| "name a step id of the flows being run, or `total`".into());
            return Err(invalid(format!(
                "--max-latency {step}:{percentile}=…: no flow being run has a step `{step}`; {hint}"
            )));
        }
    }
    Ok(())
}
