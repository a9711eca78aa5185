//! The dashboard's state as plain data, changed only by [`App::update`],
//! which returns what the event loop must do. No terminal, no clock, no
//! I/O: unit-tested directly.

pub use super::entry::{FlowEntry, FlowStatus};
use super::keys::{self, Action};
use crate::contract::{Fault, Faults, Rotation, RotationPolicy};
use crate::engine::{RunEvent, StepResult};
use crate::stats::FlowStats;
use crossterm::event::{KeyCode, KeyEvent};
use std::collections::VecDeque;

/// Settings of the next load run, shown and edited in the Load panel.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadSettings {
    pub repeat: u64,
    pub concurrency: usize,
    /// Open model when set.
    pub rate: Option<f64>,
    pub seed: u64,
}

/// The lower half shows the load and mock panels, or the detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lower {
    Load,
    Detail,
}

/// What is running now.
#[derive(Debug, Clone, PartialEq)]
pub struct Running {
    pub flow: usize,
    pub load: bool,
    /// Iterations planned.
    pub total: u64,
}

/// Everything that can happen to the dashboard.
#[derive(Debug)]
pub enum Message {
    Key(KeyEvent),
    Run(RunEvent),
    /// The current run ended (its event channel closed) after this long.
    RunEnded(std::time::Duration),
    /// A second of wall time passed (for rates and the chart).
    Second,
    /// The mock's settings as it reports them.
    MockSettings {
        faults: Faults,
    },
    Status(String),
}

/// What the event loop must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    RunOnce {
        flow: usize,
        iteration: u64,
    },
    /// Iterations `first_iteration..` by `settings`: every iteration of a
    /// session is a fresh user, so a replay on a fresh mock is faithful.
    StartLoad {
        flow: usize,
        settings: LoadSettings,
        first_iteration: u64,
    },
    Stop,
    /// Re-run iteration `iteration` of `seed` alone on a fresh mock.
    Replay {
        flow: usize,
        seed: u64,
        iteration: u64,
    },
    SetRotation(Rotation),
    SetFaults(Faults),
    Quit,
}

/// Fault presets the `f` key cycles through, on jscode2session.
pub fn fault_presets() -> Vec<(&'static str, Faults)> {
    let one = |f: Fault| Faults::from([("jscode2session".to_string(), f)]);
    vec![
        ("none", Faults::new()),
        ("jscode2session -1 at 10%", one(Fault { errcode: Some(-1), rate: 0.1, ..Fault::default() })),
        ("jscode2session 45011 at 10%", one(Fault { errcode: Some(45011), rate: 0.1, ..Fault::default() })),
        ("jscode2session +200 ms ±100", one(Fault { latency_ms: 200, jitter_ms: 100, ..Fault::default() })),
    ]
}

pub struct App {
    pub flows: Vec<FlowEntry>,
    pub selected: usize,
    pub selected_step: usize,
    pub lower: Lower,
    pub detail_scroll: u16,
    pub show_help: bool,
    pub load: LoadSettings,
    pub running: Option<Running>,
    /// The live override; `None`: each flow's own policy.
    pub rotation: Option<Rotation>,
    pub faults: Faults,
    fault_preset: usize,
    /// Failure rate per second of the current load run: (second, rate).
    pub chart: VecDeque<(f64, f64)>,
    /// Iterations and failures at the last second mark, and seconds elapsed.
    mark: (u64, u64),
    pub seconds: u64,
    /// Iterations per second over the last second.
    pub flows_per_sec: f64,
    pub status: String,
    pub mock_url: String,
    pub target_url: String,
    /// Variables from outside the flows: name, and `value (source)` with
    /// secrets masked.
    pub variables: Vec<(String, String)>,
}

/// Chart points kept: two minutes at one a second.
const CHART_POINTS: usize = 120;

impl App {
    pub fn new(flows: Vec<FlowEntry>, seed: u64, mock_url: &str, target_url: &str) -> App {
        App {
            flows,
            selected: 0,
            selected_step: 0,
            lower: Lower::Load,
            detail_scroll: 0,
            show_help: false,
            load: LoadSettings { repeat: 1000, concurrency: 8, rate: None, seed },
            running: None,
            rotation: None,
            faults: Faults::new(),
            fault_preset: 0,
            chart: VecDeque::new(),
            mark: (0, 0),
            seconds: 0,
            flows_per_sec: 0.0,
            status: "Enter runs the selected flow · l starts a load run · ? help".into(),
            mock_url: mock_url.into(),
            target_url: target_url.into(),
            variables: vec![],
        }
    }

    pub fn selected_flow(&self) -> Option<&FlowEntry> {
        self.flows.get(self.selected)
    }

    /// Steps to show for the selected flow: the live ones while a single
    /// run goes on, else the last finished iteration's.
    pub fn shown_steps(&self) -> &[StepResult] {
        match self.selected_flow() {
            Some(f) if !f.live.is_empty() => &f.live,
            Some(f) => f.last.as_ref().map_or(&[][..], |l| &l.steps),
            None => &[],
        }
    }

    pub fn update(&mut self, msg: Message) -> Option<Command> {
        match msg {
            Message::Key(k) => self.key(k),
            Message::Run(ev) => {
                self.event(ev);
                None
            }
            Message::RunEnded(elapsed) => {
                let r = self.running.take()?;
                if r.load {
                    // The last partial second still counts on the chart.
                    self.sample(r.flow);
                }
                if let Some(f) = self.flows.get_mut(r.flow) {
                    f.running = false;
                    f.live.clear();
                    if let Some(st) = f.stats.as_mut().filter(|_| r.load) {
                        st.elapsed = elapsed;
                        self.flows_per_sec = st.throughput().0;
                    }
                    self.status = format!("{} finished: {}", f.id, f.status());
                }
                None
            }
            Message::Second => {
                if let Some(flow) = self.running.as_ref().filter(|r| r.load).map(|r| r.flow) {
                    self.sample(flow);
                }
                None
            }
            Message::MockSettings { faults } => {
                self.faults = faults;
                None
            }
            Message::Status(s) => {
                self.status = s;
                None
            }
        }
    }

    fn event(&mut self, ev: RunEvent) {
        let flow_id = match &ev {
            RunEvent::Step { flow, .. } => flow.clone(),
            RunEvent::Flow(r) => r.counts().flow.clone(),
        };
        let Some(f) = self.flows.iter_mut().find(|f| f.id == flow_id) else { return };
        match ev {
            RunEvent::Step { step, .. } => f.live.push(*step),
            RunEvent::Flow(r) => {
                // A single run (or a replay) after a load run leaves the
                // load's figures as they were (no 1001 of 1000).
                let load = self.running.as_ref().is_some_and(|r| r.load);
                if let Some(flow) = f.flow.as_ref().filter(|_| load || !f.load_stats) {
                    f.stats.get_or_insert_with(|| FlowStats::new(flow)).add(&r);
                }
                f.live.clear();
                f.last = Some(r.into_masked());
            }
        }
    }

    /// One point of the failure-rate chart: the second since the last.
    fn sample(&mut self, flow: usize) {
        let Some(stats) = self.flows.get(flow).and_then(|f| f.stats.as_ref()) else { return };
        self.seconds += 1;
        let (n, failed) = (stats.iterations - self.mark.0, stats.failed - self.mark.1);
        self.flows_per_sec = n as f64;
        if n > 0 {
            self.chart.push_back((self.seconds as f64, failed as f64 / n as f64));
            while self.chart.len() > CHART_POINTS {
                self.chart.pop_front();
            }
        }
        self.mark = (stats.iterations, stats.failed);
    }

    fn start(&mut self, load: bool) -> Option<Command> {
        if self.running.is_some() {
            self.status = "a run is in progress: s stops it".into();
            return None;
        }
        let flow = self.selected;
        let f = self.flows.get_mut(flow)?;
        if f.flow.is_none() {
            self.status = format!("{} is invalid: fix it and restart", f.id);
            return None;
        }
        f.running = true;
        f.live.clear();
        if load {
            f.stats = None;
            f.load_stats = true;
            self.chart.clear();
            self.mark = (0, 0);
            self.seconds = 0;
            self.flows_per_sec = 0.0;
            let first_iteration = f.next_iteration;
            f.next_iteration += self.load.repeat;
            self.running = Some(Running { flow, load: true, total: self.load.repeat });
            self.status = format!("load run of {} started", f.id);
            Some(Command::StartLoad { flow, settings: self.load.clone(), first_iteration })
        } else {
            let iteration = f.next_iteration;
            f.next_iteration += 1;
            self.running = Some(Running { flow, load: false, total: 1 });
            self.status = format!("running {} once", f.id);
            Some(Command::RunOnce { flow, iteration })
        }
    }

    /// The policy in force for the selected flow.
    pub fn policy(&self) -> Option<Rotation> {
        self.rotation.or_else(|| self.selected_flow()?.flow.as_ref()?.mock.rotation)
    }

    fn set_policy(&mut self, policy: RotationPolicy) -> Command {
        // The ends of the probability scale are the named policies.
        let policy = match policy {
            RotationPolicy::Probability(p) if p >= 1.0 => RotationPolicy::Always,
            RotationPolicy::Probability(p) if p <= 0.0 => RotationPolicy::Never,
            other => other,
        };
        let rotation = Rotation { policy, ..self.policy().unwrap_or(Rotation::policy(RotationPolicy::Never)) };
        self.rotation = Some(rotation);
        self.status = format!("rotation now {policy} for every login of every flow");
        Command::SetRotation(rotation)
    }

    fn key(&mut self, k: KeyEvent) -> Option<Command> {
        let action = keys::action(k);
        if self.show_help {
            self.show_help = false;
            return (action == Some(Action::Quit) && k.code != KeyCode::Char('q')).then_some(Command::Quit);
        }
        self.act(action?)
    }

    fn act(&mut self, action: Action) -> Option<Command> {
        let steps = self.shown_steps().len();
        match action {
            Action::Quit => return Some(Command::Quit),
            Action::Help => self.show_help = true,
            Action::FlowUp => {
                self.selected = self.selected.saturating_sub(1);
                self.selected_step = 0;
            }
            Action::FlowDown => {
                self.selected = (self.selected + 1).min(self.flows.len().saturating_sub(1));
                self.selected_step = 0;
            }
            Action::StepLeft => self.selected_step = self.selected_step.saturating_sub(1),
            Action::StepRight => self.selected_step = (self.selected_step + 1).min(steps.saturating_sub(1)),
            Action::StepCycle => self.selected_step = if steps == 0 { 0 } else { (self.selected_step + 1) % steps },
            Action::RunOnce => return self.start(false),
            Action::Load => return self.start(true),
            Action::Stop if self.running.is_some() => {
                self.status = "stopping: running iterations finish".into();
                return Some(Command::Stop);
            }
            Action::Stop => {}
            Action::Replay => return self.replay(),
            Action::ToggleDetail => {
                self.lower = if self.lower == Lower::Load { Lower::Detail } else { Lower::Load };
                self.detail_scroll = 0;
            }
            Action::ScrollDown => self.detail_scroll = self.detail_scroll.saturating_add(10),
            Action::ScrollUp => self.detail_scroll = self.detail_scroll.saturating_sub(10),
            Action::RotationUp | Action::RotationDown => {
                // From `always` a step down is 0.9, from `never` a step up 0.1.
                let p = match self.policy().map(|r| r.policy) {
                    Some(RotationPolicy::Probability(p)) => p,
                    Some(RotationPolicy::Always) => 1.0,
                    _ => 0.0,
                };
                let step = if action == Action::RotationDown { -0.1 } else { 0.1 };
                let p = ((p + step) * 10.0).round().clamp(0.0, 10.0) / 10.0;
                return Some(self.set_policy(RotationPolicy::Probability(p)));
            }
            Action::RotationAlways => return Some(self.set_policy(RotationPolicy::Always)),
            Action::RotationNever => return Some(self.set_policy(RotationPolicy::Never)),
            Action::CycleFaults => {
                let presets = fault_presets();
                self.fault_preset = (self.fault_preset + 1) % presets.len();
                let (name, faults) = presets[self.fault_preset].clone();
                self.faults = faults.clone();
                self.status = format!("faults now: {name}");
                return Some(Command::SetFaults(faults));
            }
            Action::ConcurrencyHalf => self.load.concurrency = (self.load.concurrency / 2).max(1),
            Action::ConcurrencyDouble => self.load.concurrency = (self.load.concurrency * 2).min(1024),
            Action::RepeatTenth => self.load.repeat = (self.load.repeat / 10).max(10),
            Action::RepeatTenfold => self.load.repeat = (self.load.repeat * 10).min(10_000_000),
            Action::OpenModel => self.load.rate = if self.load.rate.is_some() { None } else { Some(500.0) },
        }
        None
    }

    /// Replays the selected flow's first failure; the run counts as a
    /// single run (the event loop reports with `RunEnded` if it cannot).
    fn replay(&mut self) -> Option<Command> {
        if self.running.is_some() {
            self.status = "a run is in progress: s stops it".into();
            return None;
        }
        let flow = self.selected;
        let run_seed = self.load.seed;
        let f = self.flows.get_mut(flow)?;
        // The first iteration that broke the expectation (in a flaky flow
        // expecting a failure, one that passed), else the first failure.
        let stats = f.stats.as_ref();
        let unmet = stats.filter(|s| !s.expectation_met()).and_then(|s| s.first_unmet).map(|i| (run_seed, i));
        let first = stats.and_then(|s| s.first_failures.values().next()).map(|r| (r.seed, r.iteration));
        let Some((seed, iteration)) = unmet.or(first) else {
            self.status = format!("{} has no failure to replay yet", f.id);
            return None;
        };
        f.running = true;
        f.live.clear();
        self.running = Some(Running { flow, load: false, total: 1 });
        self.status = format!("replaying {} iteration {iteration} of seed {seed} on a fresh mock", f.id);
        Some(Command::Replay { flow, seed, iteration })
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
