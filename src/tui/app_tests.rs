//! `App::update` without a terminal.
use super::*;
use crate::engine::Engine;
use crate::engine::FlowResult;
use crossterm::event::KeyEvent;
use std::sync::Arc;
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
        late_ms: 0.0,
        steps: vec![],
    };
    RunEvent::Flow(Box::new(r.into()))
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
    assert_eq!(a.update(key('l')), Some(Command::StartLoad { flow: 0, settings: expected, first_iteration: 10_000 }));
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
    // From `always`, + stays `always` (not a probability of 1); from 0.1, - is `never`.
    a.update(key('a'));
    let Some(Command::SetRotation(r)) = a.update(key('+')) else { panic!() };
    assert_eq!(r.policy, RotationPolicy::Always);
    a.update(key('n'));
    a.update(key('+'));
    let Some(Command::SetRotation(r)) = a.update(key('-')) else { panic!() };
    assert_eq!(r.policy, RotationPolicy::Never);
}

#[test]
fn a_single_run_after_a_load_run_leaves_the_load_figures_alone() {
    let mut a = app();
    a.update(key('l'));
    for i in 0..3 {
        a.update(Message::Run(result("a", i, true)));
    }
    a.update(Message::RunEnded(Duration::from_secs(1)));
    a.update(code(KeyCode::Enter));
    a.update(Message::Run(result("a", 10_000, false)));
    a.update(Message::RunEnded(Duration::from_millis(5)));
    let stats = a.flows[0].stats.as_ref().unwrap();
    assert_eq!((stats.iterations, stats.failed), (3, 0), "3 of 3, not 4 of 3");
    assert!(a.flows[0].last.as_ref().is_some_and(|l| !l.passed), "the single run is still shown");
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

#[test]
fn a_flow_that_expects_failure_and_always_fails_shows_as_expected_not_failed() {
    let src = "name: seed\nexpect: { outcome: fail, cause: stale_iv }\nsteps:\n  - id: login\n    wx.login: {}\n";
    let mut a = App::new(vec![entry(src, "a")], 7, "http://m", "http://t");
    a.update(key('l'));
    for i in 0..5 {
        let RunEvent::Flow(mut r) = result("a", i, false) else { unreachable!() };
        let mut counted = r.masked();
        counted.expected = a.flows[0].flow.as_ref().unwrap().expect.clone();
        counted.expectation_met = true;
        *r = counted.into();
        a.update(Message::Run(RunEvent::Flow(r)));
    }
    a.update(Message::RunEnded(Duration::from_secs(1)));
    assert_eq!(a.flows[0].status(), FlowStatus::AsExpected);
    assert_eq!(a.flows[0].status().name(), "failed as expected");
}
