//! The dashboard's state as plain data, changed only by [`App::update`],
//! which returns what the event loop must do. No terminal, no clock, no
//! I/O: unit-tested directly.

use crate::contract::{Fault, Faults, Rotation, RotationPolicy};
use crate::engine::{FlowResult, RunEvent, StepResult};
use crate::flow::Flow;
use crate::stats::{FlowStats, Verdict};
use super::keys::{self, Action};
use crossterm::event::{KeyCode, KeyEvent};
use std::collections::VecDeque;
use std::sync::Arc;

/// One flow file: checked, or its error.
pub struct FlowEntry {
    pub id: String,
    pub file: String,
    pub flow: Option<Arc<Flow>>,
    /// `file:line:col: message` when the file is invalid.
    pub error: Option<String>,
    pub stats: Option<FlowStats>,
    /// The last iteration that finished, in full.
    pub last: Option<FlowResult>,
    /// Steps of the iteration in progress (single runs).
    pub live: Vec<StepResult>,
    pub running: bool,
    /// Next iteration number for single runs, so each is a fresh user.
    pub next_iteration: u64,
}

impl FlowEntry {
    /// A flow file before any run: checked (`flow`) or not (`error`).
    pub fn new(id: String, file: String, flow: Option<Arc<Flow>>, error: Option<String>) -> Self {
        FlowEntry { id, file, flow, error, stats: None, last: None, live: vec![], running: false, next_iteration: 0 }
    }

    pub fn status(&self) -> FlowStatus {
        if self.error.is_some() {
            return FlowStatus::Invalid;
        }
        if self.running {
            return FlowStatus::Running;
        }
        match self.stats.as_ref().map(FlowStats::verdict) {
            None | Some(Verdict::None) => FlowStatus::Idle,
            Some(Verdict::Pass) => FlowStatus::Passed,
            Some(Verdict::Fail) => FlowStatus::Failed,
            Some(Verdict::Flaky) => FlowStatus::Flaky,
        }
    }
}

/// Where a flow stands in the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowStatus {
    Invalid,
    Running,
    Idle,
    Passed,
    Failed,
    Flaky,
}

impl FlowStatus {
    pub fn name(self) -> &'static str {
        match self {
            FlowStatus::Invalid => "invalid",
            FlowStatus::Running => "running",
            FlowStatus::Idle => "idle",
            FlowStatus::Passed => "passed",
            FlowStatus::Failed => "failed",
            FlowStatus::Flaky => "flaky",
        }
    }

    /// The one-character form for narrow screens.
    pub fn symbol(self) -> &'static str {
        match self {
            FlowStatus::Passed => "✓",
            FlowStatus::Failed => "✗",
            FlowStatus::Flaky => "~",
            FlowStatus::Running => "…",
            FlowStatus::Invalid => "!",
            FlowStatus::Idle => "·",
        }
    }
}

impl std::fmt::Display for FlowStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

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
            RunEvent::Flow(r) => r.flow.clone(),
        };
        let Some(f) = self.flows.iter_mut().find(|f| f.id == flow_id) else { return };
        match ev {
            RunEvent::Step { step, .. } => f.live.push(*step),
            RunEvent::Flow(r) => {
                if let Some(flow) = &f.flow {
                    f.stats.get_or_insert_with(|| FlowStats::new(flow)).add(&r);
                }
                f.live.clear();
                f.last = Some(*r);
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

    fn set_policy(&mut self, policy: RotationPolicy) -> Option<Command> {
        let rotation = Rotation { policy, ..self.policy().unwrap_or(Rotation::policy(RotationPolicy::Never)) };
        self.rotation = Some(rotation);
        self.status = format!("rotation now {policy} for every login of every flow");
        Some(Command::SetRotation(rotation))
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
                return self.set_policy(RotationPolicy::Probability(p));
            }
            Action::RotationAlways => return self.set_policy(RotationPolicy::Always),
            Action::RotationNever => return self.set_policy(RotationPolicy::Never),
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
        let f = self.flows.get_mut(flow)?;
        let Some(first) = f.stats.as_ref().and_then(|s| s.first_failures.values().next()) else {
            self.status = format!("{} has no failure to replay yet", f.id);
            return None;
        };
        let (seed, iteration) = (first.seed, first.iteration);
        f.running = true;
        f.live.clear();
        self.running = Some(Running { flow, load: false, total: 1 });
        self.status = format!("replaying {} iteration {iteration} of seed {seed} on a fresh mock", f.id);
        Some(Command::Replay { flow, seed, iteration })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;
    use crossterm::event::KeyEvent;
    use std::time::Duration;

    fn key(c: char) -> Message {
        Message::Key(KeyEvent::from(KeyCode::Char(c)))
    }

    fn code(k: KeyCode) -> Message {
        Message::Key(KeyEvent::from(k))
    }

    fn entry(src: &str, id: &str) -> FlowEntry {
        let flow = crate::flow::check(&format!("flows/{id}.yaml"), src).ok().map(Arc::new);
        let error = flow.is_none().then(|| "flows/bad.yaml:3:5: error".to_string());
        FlowEntry::new(id.into(), format!("flows/{id}.yaml"), flow, error)
    }

    const SRC: &str = "name: t\nmock: { rotation: always }\nsteps:\n  - id: login\n    wx.login: {}\n";

    fn app() -> App {
        App::new(vec![entry(SRC, "a"), entry(SRC, "b"), entry("name: [", "bad")], 7, "http://m", "http://t")
    }

    fn result(id: &str, iteration: u64, passed: bool) -> RunEvent {
        let flow = crate::flow::check("flows/a.yaml", SRC).unwrap();
        let r = FlowResult {
            flow: id.to_string(),
            name: flow.name.clone(),
            file: flow.file.clone(),
            iteration,
            seed: 7,
            user: Engine::user_for(&flow, 7, iteration),
            passed,
            expected: flow.expect.clone(),
            expectation_met: passed,
            cause: (!passed).then_some(crate::flow::Cause::StaleIv),
            diagnosis: None,
            duration_ms: 1.0,
            steps: vec![],
        };
        RunEvent::Flow(Box::new(r))
    }

    #[test]
    fn arrows_move_the_selection_within_bounds() {
        let mut a = app();
        a.update(code(KeyCode::Up));
        assert_eq!(a.selected, 0);
        for _ in 0..5 {
            a.update(key('j'));
        }
        assert_eq!(a.selected, 2);
        a.update(key('k'));
        assert_eq!(a.selected, 1);
    }

    #[test]
    fn enter_runs_once_as_a_fresh_user_and_refuses_while_running() {
        let mut a = app();
        assert_eq!(a.update(code(KeyCode::Enter)), Some(Command::RunOnce { flow: 0, iteration: 0 }));
        assert_eq!(a.flows[0].status(), FlowStatus::Running);
        assert_eq!(a.update(code(KeyCode::Enter)), None, "one run at a time");
        assert!(a.status.contains("in progress"));
        a.update(Message::RunEnded(Duration::from_millis(5)));
        assert_eq!(a.update(code(KeyCode::Enter)), Some(Command::RunOnce { flow: 0, iteration: 1 }));
    }

    #[test]
    fn load_runs_take_the_panel_settings_and_their_own_iterations() {
        let mut a = app();
        a.update(key(']'));
        a.update(key('C'));
        let expected = LoadSettings { repeat: 10_000, concurrency: 16, rate: None, seed: 7 };
        assert_eq!(
            a.update(key('l')),
            Some(Command::StartLoad { flow: 0, settings: expected.clone(), first_iteration: 0 })
        );
        a.update(Message::RunEnded(Duration::from_secs(1)));
        assert_eq!(
            a.update(key('l')),
            Some(Command::StartLoad { flow: 0, settings: expected, first_iteration: 10_000 })
        );
        assert_eq!(a.update(key('s')), Some(Command::Stop));
    }

    #[test]
    fn results_fold_into_stats_and_the_chart_follows_each_second() {
        let mut a = app();
        a.update(key('l'));
        for i in 0..10 {
            a.update(Message::Run(result("a", i, i % 2 == 0)));
        }
        a.update(Message::Second);
        for i in 10..14 {
            a.update(Message::Run(result("a", i, false)));
        }
        a.update(Message::Second);
        let st = a.flows[0].stats.as_ref().unwrap();
        assert_eq!((st.iterations, st.failed), (14, 9));
        assert_eq!(a.flows[0].status(), FlowStatus::Running);
        assert_eq!(a.chart.iter().copied().collect::<Vec<_>>(), vec![(1.0, 0.5), (2.0, 1.0)]);
        a.update(Message::RunEnded(Duration::from_secs(2)));
        assert_eq!(a.flows[0].status(), FlowStatus::Flaky);
        assert_eq!(a.flows_per_sec, 7.0, "14 iterations in 2 s");
    }

    #[test]
    fn rotation_keys_start_from_the_flows_policy_and_change_it_live() {
        let mut a = app();
        assert_eq!(a.policy().map(|r| r.policy), Some(RotationPolicy::Always));
        let Some(Command::SetRotation(r)) = a.update(key('-')) else { panic!("a rotation command") };
        assert_eq!(r.policy, RotationPolicy::Probability(0.9));
        a.update(key('-'));
        let Some(Command::SetRotation(r)) = a.update(key('+')) else { panic!() };
        assert_eq!(r.policy, RotationPolicy::Probability(0.9));
        assert_eq!(a.update(key('n')), Some(Command::SetRotation(Rotation::policy(RotationPolicy::Never))));
    }

    #[test]
    fn f_cycles_the_fault_presets_and_back_to_none() {
        let mut a = app();
        let n = fault_presets().len();
        let Some(Command::SetFaults(f)) = a.update(key('f')) else { panic!() };
        assert_eq!(f["jscode2session"].errcode, Some(-1));
        for _ in 1..n {
            a.update(key('f'));
        }
        assert!(a.faults.is_empty());
    }

    #[test]
    fn replay_needs_a_failure_and_then_names_its_seed_and_iteration() {
        let mut a = app();
        assert_eq!(a.update(key('r')), None);
        assert!(a.status.contains("no failure to replay"));
        a.update(key('l'));
        a.update(Message::Run(result("a", 3, true)));
        a.update(Message::Run(result("a", 4, false)));
        a.update(Message::RunEnded(Duration::from_secs(1)));
        assert_eq!(a.update(key('r')), Some(Command::Replay { flow: 0, seed: 7, iteration: 4 }));
    }

    #[test]
    fn invalid_flows_are_listed_but_not_run() {
        let mut a = app();
        a.selected = 2;
        assert_eq!(a.flows[2].status(), FlowStatus::Invalid);
        assert_eq!(a.update(code(KeyCode::Enter)), None);
        assert!(a.status.contains("invalid"));
    }

    #[test]
    fn help_opens_and_any_key_closes_it_and_q_or_ctrl_c_quit() {
        let mut a = app();
        a.update(key('?'));
        assert!(a.show_help);
        assert_eq!(a.update(key('q')), None, "the first key only closes the help");
        assert!(!a.show_help);
        assert_eq!(a.update(key('q')), Some(Command::Quit));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), crossterm::event::KeyModifiers::CONTROL);
        assert_eq!(a.update(Message::Key(ctrl_c)), Some(Command::Quit));
    }

    #[test]
    fn d_toggles_the_detail_and_page_keys_scroll_it() {
        let mut a = app();
        a.update(key('d'));
        assert_eq!(a.lower, Lower::Detail);
        a.update(code(KeyCode::PageDown));
        a.update(code(KeyCode::PageDown));
        a.update(code(KeyCode::PageUp));
        assert_eq!(a.detail_scroll, 10);
        a.update(key('d'));
        assert_eq!((a.lower, a.detail_scroll), (Lower::Load, 0));
    }
}
