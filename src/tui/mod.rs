//! The terminal dashboard: [`app`] (state, update), [`view`] (drawing),
//! and here the event loop and the terminal guard.

pub mod app;
mod entry;
pub mod keys;
pub mod view;

use crate::engine::{Engine, RunEvent};
use crate::exit::InvalidInput;
use crate::load::{self, Plan};
use crate::mock::MockConfig;
use app::{App, Command, FlowEntry, LoadSettings, Message};
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{Receiver, Sender, channel};
use tokio_util::sync::CancellationToken;

/// At most this many run events are folded between two looks at the keys.
const EVENTS_PER_TURN: usize = 2_000;
/// A frame every 33 ms at most (about 30 fps).
const FRAME: Duration = Duration::from_millis(33);

/// Restores the terminal when dropped: on quit, on error, and while a
/// panic unwinds (ratatui's panic hook restores it first, too).
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Whether the dashboard can run here: a terminal, and not CI.
pub fn interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("CI").is_none() && !crate::diagnostic::dumb_terminal()
}

/// Loads every flow file; an invalid one is listed with its error.
pub fn flow_entries(paths: &[std::path::PathBuf], outside: &[String]) -> Result<Vec<FlowEntry>, InvalidInput> {
    let (files, _) = crate::flow::discover(paths).map_err(InvalidInput)?;
    Ok(files
        .iter()
        .map(|file| {
            let id = file.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            let (flow, error) = match crate::flow::load_with(Path::new(file), outside) {
                Ok(f) => (Some(Arc::new(f)), None),
                Err(errors) => {
                    (None, Some(errors.iter().map(std::string::ToString::to_string).collect::<Vec<_>>().join("\n\n")))
                }
            };
            FlowEntry::new(id, file.display().to_string(), flow, error)
        })
        .collect())
}

/// A run in progress: how to stop it and where its events arrive.
struct Current {
    started: std::time::Instant,
    stop: CancellationToken,
    events: Receiver<RunEvent>,
    /// Servers started for this run alone (replays), stopped with it.
    servers: Option<CancellationToken>,
}

async fn next_event(current: &mut Option<Current>) -> Option<RunEvent> {
    match current {
        Some(c) => c.events.recv().await,
        None => std::future::pending().await,
    }
}

/// `wxflow tui`: the flows `targets` names, against its mock and target
/// (or the embedded pair), with its seed and `--app`.
pub async fn run(
    targets: &crate::cli::Targets,
    tls: &crate::tls::ClientTls,
    outside: &crate::flow::vars::Outside,
) -> Result<ExitCode, InvalidInput> {
    let paths = &crate::cli::flow_paths(&targets.paths);
    let (mock, target, seed, mock_wait) =
        (targets.mock.as_deref(), targets.target.as_deref(), targets.seed, targets.mock_wait);
    let entries = flow_entries(paths, &outside.names())?;
    let servers = CancellationToken::new();
    let limits = crate::serve::Limits::default();
    let t = crate::serve::targets(mock, target, seed, tls, servers.clone(), limits, mock_wait)
        .await
        .map_err(InvalidInput)?;
    let embedded = t.local.is_some();
    let (mock_url, target_url) = (t.mock_url, t.target_url);
    let engine = Arc::new(
        Engine::new(&mock_url, &target_url, seed, None, false)
            .with_truth(t.local)
            .with_client_tls(tls)
            .with_appid(t.appid)
            .with_known_secrets(t.secrets)
            .with_variables(outside)
            .with_own_servers(embedded)
            .with_app(targets.app.clone()),
    );
    let mut app = App::new(entries, seed, &mock_url, &target_url);
    app.variables = outside.shown();
    if let Some(faults) = mock_faults(&mock_url).await {
        app.update(Message::MockSettings { faults });
    }
    let result = event_loop(&mut app, engine, embedded).await;
    servers.cancel();
    match result {
        Ok(None) => Ok(ExitCode::SUCCESS),
        Ok(Some(signo)) => Ok(ExitCode::from((128 + signo) as u8)),
        Err(e) => Err(InvalidInput(format!("terminal: {e}"))),
    }
}

/// Runs the dashboard until quit; `Some(signal)` when a signal ended it.
async fn event_loop(app: &mut App, engine: Arc<Engine>, embedded: bool) -> std::io::Result<Option<i32>> {
    let mut terminal = ratatui::try_init()?;
    let _guard = TerminalGuard;
    let mut signals = crate::signals::Listeners::new();
    let mut signalled = None;
    let mut keys = EventStream::new();
    let mut frame = tokio::time::interval(FRAME);
    let mut second = tokio::time::interval(Duration::from_secs(1));
    let mut current: Option<Current> = None;
    let mut dirty = true;
    loop {
        tokio::select! {
            biased;
            key = keys.next() => match key {
                Some(Ok(Event::Key(k))) if k.kind == KeyEventKind::Press => {
                    if let Some(cmd) = app.update(Message::Key(k)) {
                        if cmd == Command::Quit {
                            break;
                        }
                        execute(cmd, app, &engine, embedded, &mut current).await;
                    }
                    // Answer a key at once rather than at the next frame:
                    // keys are few, so this cannot flood the terminal.
                    terminal.draw(|f| view::draw(f, app))?;
                    dirty = false;
                }
                Some(Ok(Event::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            (signo, _) = async {
                match signals.as_mut() {
                    Some(l) => l.next().await,
                    None => std::future::pending().await,
                }
            } => {
                signalled = Some(signo);
                break;
            }
            ev = next_event(&mut current) => {
                dirty = true;
                if let Some(ev) = ev {
                    app.update(Message::Run(ev));
                    // Fold what is queued, bounded, so keys stay quick.
                    for _ in 0..EVENTS_PER_TURN {
                        match current.as_mut().map(|c| c.events.try_recv()) {
                            Some(Ok(ev)) => { app.update(Message::Run(ev)); }
                            _ => break,
                        }
                    }
                } else {
                    let mut elapsed = Duration::ZERO;
                    if let Some(c) = current.take() {
                        elapsed = c.started.elapsed();
                        if let Some(s) = c.servers {
                            s.cancel();
                        }
                    }
                    app.update(Message::RunEnded(elapsed));
                }
            },
            _ = second.tick() => { app.update(Message::Second); dirty = true; }
            _ = frame.tick() => {
                if dirty {
                    terminal.draw(|f| view::draw(f, app))?;
                    dirty = false;
                }
            }
        }
    }
    if let Some(c) = current {
        c.stop.cancel();
        if let Some(s) = c.servers {
            s.cancel();
        }
    }
    Ok(signalled)
}

fn spawn_run(engine: Arc<Engine>, flow: Arc<crate::flow::Flow>, plan: Plan) -> (CancellationToken, Receiver<RunEvent>) {
    let stop = CancellationToken::new();
    let (tx, rx): (Sender<RunEvent>, _) = channel(8_192);
    tokio::spawn(load::run_flow(load::Lane::here(engine), flow, plan, stop.clone(), tx));
    (stop, rx)
}

async fn execute(cmd: Command, app: &mut App, engine: &Arc<Engine>, embedded: bool, current: &mut Option<Current>) {
    let flow_of = |i: usize| app.flows.get(i).and_then(|f| f.flow.clone());
    match cmd {
        Command::RunOnce { flow, iteration } => {
            let Some(f) = flow_of(flow) else { return };
            let plan = Plan { first_iteration: iteration, step_events: true, ..Plan::default() };
            let (stop, events) = spawn_run(engine.clone(), f, plan);
            *current = Some(Current { started: std::time::Instant::now(), stop, events, servers: None });
        }
        Command::StartLoad { flow, settings, first_iteration } => {
            let Some(f) = flow_of(flow) else { return };
            let (stop, events) = spawn_run(engine.clone(), f, plan_for(&settings, first_iteration));
            *current = Some(Current { started: std::time::Instant::now(), stop, events, servers: None });
        }
        Command::Stop => {
            if let Some(c) = current {
                c.stop.cancel();
            }
        }
        Command::Replay { flow, seed, iteration } => {
            // The app marked the replay as running: a refusal ends it again.
            let refuse = |app: &mut App, why: &str| {
                app.update(Message::RunEnded(Duration::ZERO));
                app.update(Message::Status(why.into()));
            };
            if !embedded {
                return refuse(app, "replay needs the embedded mock (a running mock cannot be reset)");
            }
            let Some(f) = flow_of(flow) else { return refuse(app, "no such flow") };
            let servers = CancellationToken::new();
            let Ok(fresh) = crate::serve::embedded(MockConfig { seed, ..MockConfig::default() }, servers.clone()).await
            else {
                return refuse(app, "could not start a fresh mock for the replay");
            };
            let replay = Arc::new(
                Engine::new(&fresh.mock_url, &fresh.backend_url, seed, engine.rotation(), false)
                    .with_truth(Some(Arc::new(fresh.mock)))
                    .with_known_secrets(vec![crate::mock::demo_app().secret])
                    .with_variables_of(engine)
                    .with_own_servers(true)
                    .with_app_of(engine),
            );
            let plan = Plan { first_iteration: iteration, step_events: true, ..Plan::default() };
            let (stop, events) = spawn_run(replay, f, plan);
            *current = Some(Current { started: std::time::Instant::now(), stop, events, servers: Some(servers) });
        }
        Command::SetRotation(r) => engine.set_rotation(Some(r)),
        Command::SetFaults(faults) => {
            let url = format!("{}{}/config", app.mock_url, crate::contract::CLIENT_PREFIX);
            let sent = reqwest::Client::new()
                .put(url)
                .json(&serde_json::json!({ "faults": faults }))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if let Err(e) = sent.and_then(reqwest::Response::error_for_status) {
                app.update(Message::Status(format!("could not set faults on the mock: {e}")));
            }
        }
        Command::Quit => {}
    }
}

/// The plan of a load run from the panel's settings.
pub fn plan_for(s: &LoadSettings, first_iteration: u64) -> Plan {
    Plan { repeat: s.repeat, concurrency: s.concurrency, rate: s.rate, first_iteration, ..Plan::default() }
}

async fn mock_faults(mock_url: &str) -> Option<crate::contract::Faults> {
    let url = format!("{mock_url}{}/config", crate::contract::CLIENT_PREFIX);
    let v: serde_json::Value = reqwest::get(url).await.ok()?.json().await.ok()?;
    serde_json::from_value(v.get("faults")?.clone()).ok()
}
