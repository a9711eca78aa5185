//! The real dashboard in a real terminal: tmux runs the binary, send-keys
//! types, capture-pane reads the screen. `.ci/run` installs tmux.

use std::process::Command;
use std::time::{Duration, Instant};

struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.0]).status();
    }
}

impl Session {
    fn keys(&self, keys: &[&str]) {
        for k in keys {
            assert!(Command::new("tmux").args(["send-keys", "-t", &self.0, k]).status().unwrap().success());
        }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux").args(["capture-pane", "-p", "-t", &self.0]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn alternate_screen(&self) -> bool {
        let out =
            Command::new("tmux").args(["display-message", "-p", "-t", &self.0, "#{alternate_on}"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    /// Waits (10 s at most) until the screen satisfies `ok`.
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "timed out waiting for {what}; screen:\n{s}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Starts the dashboard over `flows` in a 100×30 tmux session; `None`
/// when tmux is missing outside CI (CI installs it and must run this).
fn dashboard(tag: &str, flows: &str) -> Option<Session> {
    let s = terminal(tag, flows, "")?;
    s.wait_for("the dashboard", |t| t.contains("Flows") && t.contains("? help"));
    Some(s)
}

/// `wxflow tui FLOWS` in a 100×30 tmux session, with `env` (`TERM=dumb`).
fn terminal(tag: &str, flows: &str, env: &str) -> Option<Session> {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "CI must have tmux: .ci/run installs it");
        eprintln!("SKIPPED: tmux is not installed");
        return None;
    }
    let name = format!("wxflow-{tag}-{}", std::process::id());
    let bin = env!("CARGO_BIN_EXE_wxflow");
    let cmd = format!(
        "cd {} && env -u CI {env} {bin} tui {flows}; echo WXFLOW_EXIT=$?; sleep 30",
        env!("CARGO_MANIFEST_DIR")
    );
    let ok =
        Command::new("tmux").args(["new-session", "-d", "-s", &name, "-x", "100", "-y", "30", &cmd]).status().unwrap();
    assert!(ok.success());
    Some(Session(name))
}

#[test]
fn the_dashboard_runs_flows_shows_stale_and_pass_quits_and_restores_the_terminal() {
    let Some(s) = dashboard("run", "flows/userinfo-first.yaml flows/login-first.yaml") else { return };
    assert!(s.alternate_screen(), "the dashboard draws on the alternate screen");

    // userinfo-first (selected first) under its rotate-always mock: stale.
    s.keys(&["Enter"]);
    let screen = s.wait_for("a stale verdict", |t| t.contains("STALE gen 1→2"));
    assert!(screen.contains("diagnosis: encryptedData was sealed before wx.login"), "{screen}");
    assert!(screen.contains("FAIL"), "{screen}");

    // login-first: passes, with fresh data.
    s.keys(&["j", "Enter"]);
    let screen = s.wait_for("login-first to pass", |t| t.contains("login-first passed") || t.contains("✓ login-first"));
    assert!(screen.contains("fresh") && !screen.contains("FAIL"), "{screen}");

    // The help overlay opens and closes.
    s.keys(&["?"]);
    s.wait_for("the help", |t| t.contains("any key closes this help"));
    s.keys(&["x"]);
    s.wait_for("the help to close", |t| !t.contains("any key closes this help"));

    s.keys(&["q"]);
    let screen = s.wait_for("the exit", |t| t.contains("WXFLOW_EXIT="));
    assert!(screen.contains("WXFLOW_EXIT=0"), "{screen}");
    assert!(!s.alternate_screen(), "the alternate screen is left");
    assert!(!screen.contains("┌ Flows"), "the main screen is clean:\n{screen}");
}

#[test]
fn ctrl_c_during_a_load_run_stops_it_and_restores_the_terminal() {
    let Some(s) = dashboard("load", "flows/login-first.yaml") else { return };
    // 100,000 iterations at concurrency 16: still running when Ctrl-C comes.
    s.keys(&["]", "]", "C", "l"]);
    s.wait_for("the load run", |t| t.contains("running") || t.contains("… login-first"));
    s.wait_for("progress", |t| t.contains(" passed ·") && !t.contains(" 0 passed"));
    s.keys(&["C-c"]);
    let screen = s.wait_for("the exit", |t| t.contains("WXFLOW_EXIT="));
    assert!(screen.contains("WXFLOW_EXIT=0"), "{screen}");
    assert!(!s.alternate_screen(), "the alternate screen is left");
}

#[test]
fn a_dumb_terminal_gets_the_headless_run_without_colour() {
    let Some(s) = terminal("dumb", "flows/login-first.yaml", "TERM=dumb") else { return };
    let screen = s.wait_for("the headless run to end", |t| t.contains("WXFLOW_EXIT="));
    assert!(screen.contains("1 passed, 0 failed") && screen.contains("WXFLOW_EXIT=0"), "{screen}");
    assert!(!s.alternate_screen(), "no full-screen dashboard on a dumb terminal");
    let out = Command::new("tmux").args(["capture-pane", "-p", "-e", "-t", &s.0]).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\x1b[3"), "no colour");
}
