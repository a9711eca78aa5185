//! The dashboard's keys, in one table: the key handler, the legend and the
//! help screen all read [`BINDINGS`].

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything a key can ask of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    FlowUp,
    FlowDown,
    StepLeft,
    StepRight,
    StepCycle,
    RunOnce,
    Load,
    Stop,
    Replay,
    ConcurrencyHalf,
    ConcurrencyDouble,
    RepeatTenth,
    RepeatTenfold,
    OpenModel,
    RotationUp,
    RotationDown,
    RotationAlways,
    RotationNever,
    CycleFaults,
    ToggleDetail,
    ScrollUp,
    ScrollDown,
    Help,
    Quit,
}

/// One row of the help screen: the keys as shown, what they do, which key
/// does which action, and the legend's short form if it has one.
pub struct Binding {
    pub keys: &'static str,
    /// `None`: not on the help screen (the help key itself).
    pub help: Option<&'static str>,
    pub map: &'static [(KeyCode, Action)],
    pub legend: Option<(&'static str, &'static str)>,
}

use Action as A;
use KeyCode::Char as C;

/// Every key, in help-screen order.
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "↑/↓ j/k",
        help: Some("select a flow"),
        map: &[(KeyCode::Up, A::FlowUp), (C('k'), A::FlowUp), (KeyCode::Down, A::FlowDown), (C('j'), A::FlowDown)],
        legend: None,
    },
    Binding {
        keys: "←/→ Tab",
        help: Some("select a step (histogram, detail)"),
        map: &[
            (KeyCode::Left, A::StepLeft),
            (C('h'), A::StepLeft),
            (KeyCode::Right, A::StepRight),
            (KeyCode::Tab, A::StepCycle),
        ],
        legend: None,
    },
    Binding {
        keys: "Enter",
        help: Some("run the selected flow once"),
        map: &[(KeyCode::Enter, A::RunOnce)],
        legend: Some(("⏎", "run")),
    },
    Binding {
        keys: "l",
        help: Some("start a load run with the settings shown"),
        map: &[(C('l'), A::Load)],
        legend: Some(("l", "load")),
    },
    Binding {
        keys: "s",
        help: Some("stop the run (running iterations finish)"),
        map: &[(C('s'), A::Stop)],
        legend: Some(("s", "stop")),
    },
    Binding {
        keys: "r",
        help: Some("replay the first failure alone on a fresh mock"),
        map: &[(C('r'), A::Replay)],
        legend: Some(("r", "replay")),
    },
    Binding {
        keys: "c / C",
        help: Some("concurrency ÷2 / ×2"),
        map: &[(C('c'), A::ConcurrencyHalf), (C('C'), A::ConcurrencyDouble)],
        legend: None,
    },
    Binding {
        keys: "[ / ]",
        help: Some("repeat ÷10 / ×10"),
        map: &[(C('['), A::RepeatTenth), (C(']'), A::RepeatTenfold)],
        legend: None,
    },
    Binding { keys: "o", help: Some("open model (500/s) on / off"), map: &[(C('o'), A::OpenModel)], legend: None },
    Binding {
        keys: "+ / -",
        help: Some("rotation probability ±0.1 (live)"),
        map: &[(C('+'), A::RotationUp), (C('='), A::RotationUp), (C('-'), A::RotationDown)],
        legend: Some(("+/-", "rotation")),
    },
    Binding {
        keys: "a / n",
        help: Some("rotation always / never (live)"),
        map: &[(C('a'), A::RotationAlways), (C('n'), A::RotationNever)],
        legend: None,
    },
    Binding {
        keys: "f",
        help: Some("cycle faults on jscode2session (live)"),
        map: &[(C('f'), A::CycleFaults)],
        legend: Some(("f", "faults")),
    },
    Binding {
        keys: "d",
        help: Some("detail: requests and responses"),
        map: &[(C('d'), A::ToggleDetail)],
        legend: Some(("d", "detail")),
    },
    Binding {
        keys: "PgUp/PgDn",
        help: Some("scroll the detail"),
        map: &[(KeyCode::PageUp, A::ScrollUp), (KeyCode::PageDown, A::ScrollDown)],
        legend: None,
    },
    Binding { keys: "?", help: None, map: &[(C('?'), A::Help)], legend: Some(("?", "help")) },
    Binding { keys: "q, Ctrl-C", help: Some("quit"), map: &[(C('q'), A::Quit)], legend: Some(("q", "quit")) },
];

/// The action a key press asks for, if any.
pub fn action(k: KeyEvent) -> Option<Action> {
    if k.code == C('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
        return Some(A::Quit);
    }
    BINDINGS.iter().flat_map(|b| b.map).find(|(code, _)| *code == k.code).map(|(_, a)| *a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_key_and_no_key_means_two_things() {
        let all: Vec<(KeyCode, Action)> = BINDINGS.iter().flat_map(|b| b.map.iter().copied()).collect();
        for (i, (code, _)) in all.iter().enumerate() {
            assert!(!all[i + 1..].iter().any(|(c, _)| c == code), "{code:?} bound twice");
        }
        for a in [A::FlowUp, A::Stop, A::Replay, A::CycleFaults, A::Quit, A::Help, A::ScrollDown] {
            assert!(all.iter().any(|(_, x)| *x == a), "{a:?} has no key");
        }
    }
}
