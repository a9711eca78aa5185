//! Snapshots of every dashboard view through ratatui's TestBackend, at
//! 80×24 (the smallest supported size) and 120×40. Data is fixed, so the
//! screens are too.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::PathBuf;
use wxflow::engine::{Exchange, FlowResult, Freshness, Outcome, PayloadUse, StepResult};
use wxflow::flow::Cause;
use wxflow::stats::FlowStats;
use wxflow::tui::app::{App, FlowEntry, Lower};
use wxflow::tui::view;

fn step(id: &str, kind: &str, start: f64, dur: f64, outcome: Outcome) -> StepResult {
    let mut s = StepResult::new(id, kind.into());
    (s.start_ms, s.duration_ms, s.outcome) = (start, dur, outcome);
    s
}

fn payload(from: &str, freshness: Freshness, age: f64) -> PayloadUse {
    PayloadUse {
        from_step: from.into(),
        iv: "r7BXXKkLb8qrSNn05n0qiA==".into(),
        sealed_generation: Some(1),
        against_generation: Some(if freshness == Freshness::Fresh { 1 } else { 2 }),
        basis: wxflow::engine::Basis::CodeExchange,
        age_ms: age,
        freshness,
        has_plus: false,
        plus_unencoded: false,
    }
}

/// A userinfo-first iteration that failed on a stale iv, timings scaled.
fn stale_iteration(iteration: u64, scale: f64) -> FlowResult {
    let mut profile = step("profile", "wx.getUserInfo", 0.0, 1.2 * scale, Outcome::Pass);
    profile.payloads.push(payload("profile", Freshness::Fresh, 0.0));
    let login = step("login", "wx.login", 1.3 * scale, 0.8 * scale, Outcome::Pass);
    let mut server = step("server", "http POST", 2.2 * scale, 2.5 * scale, Outcome::Fail);
    server.payloads.push(payload("profile", Freshness::Stale { sealed: 1, against: 2 }, 3.0));
    server.reason = Some("status 401 ≠ 200; $.code: expected 0, got -40001".into());
    server.cause = Some(Cause::StaleIv);
    server.diagnosis = Some("encryptedData was sealed before wx.login rotated the session_key (sealed with session_key gen 1, the code exchange returned gen 2); call wx.login before getUserInfo (or call getUserInfo again after login)".into());
    server.exchange = Some(Exchange {
        method: "POST".into(),
        url: "http://127.0.0.1:9100/api/login".into(),
        request_headers: [("content-type".to_string(), "application/json".to_string())].into(),
        request_body: r#"{"code":"0yYc2fRcdwe0pAnzD10oxj4FLrbktEWL","iv":"r7BXXKkLb8qrSNn05n0qiA=="}"#.into(),
        status: Some(401),
        response_headers: [("content-type".to_string(), "application/json".to_string())].into(),
        response_body: r#"{"code":-40001,"msg":"signature mismatch"}"#.into(),
    });
    FlowResult {
        flow: "userinfo-first".into(),
        name: "The seed's original order".into(),
        file: "flows/userinfo-first.yaml".into(),
        iteration,
        seed: 7,
        user: format!("userinfo-first-s7-i{iteration}"),
        passed: false,
        expected: wxflow::flow::model::Expectation::default(),
        expectation_met: true,
        cause: Some(Cause::StaleIv),
        diagnosis: server.diagnosis.clone(),
        duration_ms: 4.7 * scale,
        late_ms: 0.0,
        steps: vec![profile, login, server],
    }
}

fn passed_iteration(iteration: u64, scale: f64) -> FlowResult {
    let mut r = stale_iteration(iteration, scale);
    r.passed = true;
    r.cause = None;
    r.diagnosis = None;
    let server = &mut r.steps[2];
    server.outcome = Outcome::Pass;
    server.payloads = vec![payload("profile", Freshness::Fresh, 3.0)];
    (server.reason, server.cause, server.diagnosis) = (None, None, None);
    r
}

/// The shipped flows, one invalid flow, and userinfo-first after a load run.
fn app() -> App {
    let mut flows = wxflow::tui::flow_entries(&[PathBuf::from("flows")], &[]).unwrap();
    let broken = "name: broken\nsteps:\n  - id: login\n    wx.logn: {}\n";
    let error = wxflow::flow::check("flows/broken.yaml", broken).unwrap_err();
    flows.insert(
        1,
        FlowEntry::new(
            "broken".into(),
            "flows/broken.yaml".into(),
            None,
            Some(error.iter().map(std::string::ToString::to_string).collect::<Vec<_>>().join("\n")),
        ),
    );
    let mut app = App::new(flows, 7, "http://127.0.0.1:9000", "http://127.0.0.1:9100");
    let i = app.flows.iter().position(|f| f.id == "userinfo-first").unwrap();
    let entry = &mut app.flows[i];
    let mut stats = FlowStats::new(entry.flow.as_ref().unwrap());
    for n in 0..200u64 {
        let scale = 1.0 + (n % 17) as f64 / 4.0;
        let r = if n % 10 < 3 { stale_iteration(n, scale) } else { passed_iteration(n, scale) };
        stats.add(&r.into());
    }
    entry.stats = Some(stats);
    entry.last = Some(stale_iteration(42, 1.0));
    app.selected = i;
    app.chart = (1..=20).map(|s| (f64::from(s), 0.3 + (f64::from(s % 5) - 2.0) / 20.0)).collect();
    app.flows_per_sec = 1980.0;
    app.status = "userinfo-first finished: flaky".into();
    app
}

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::draw(f, app)).unwrap();
    t.backend().to_string()
}

#[test]
fn dashboard_at_80x24() {
    insta::assert_snapshot!(screen(&app(), 80, 24));
}

#[test]
fn dashboard_at_120x40() {
    insta::assert_snapshot!(screen(&app(), 120, 40));
}

#[test]
fn detail_at_80x24() {
    let mut a = app();
    a.lower = Lower::Detail;
    a.selected_step = 2;
    insta::assert_snapshot!(screen(&a, 80, 24));
}

#[test]
fn help_at_80x24() {
    let mut a = app();
    a.show_help = true;
    insta::assert_snapshot!(screen(&a, 80, 24));
}

#[test]
fn invalid_flow_at_120x40() {
    let mut a = app();
    a.selected = 1;
    insta::assert_snapshot!(screen(&a, 120, 40));
}

#[test]
fn idle_at_80x24() {
    let flows = wxflow::tui::flow_entries(&[PathBuf::from("flows")], &[]).unwrap();
    insta::assert_snapshot!(screen(&App::new(flows, 0, "http://127.0.0.1:9000", "http://127.0.0.1:9100"), 80, 24));
}

#[test]
fn tiny_terminals_do_not_panic() {
    let a = app();
    for (w, h) in [(1, 1), (10, 5), (40, 12), (80, 10), (300, 100)] {
        screen(&a, w, h);
    }
}

#[test]
fn the_step_detail_shows_each_failed_check_at_its_place_in_the_flow_file() {
    let mut a = app();
    let i = a.selected;
    let last = a.flows[i].last.as_mut().unwrap();
    last.steps[2].failures = vec![wxflow::engine::Failure {
        message: "$.code: expected 0, got -40001".into(),
        location: Some(wxflow::engine::Location {
            file: "flows/userinfo-first.yaml".into(),
            line: 28,
            col: 9,
            source_line: "        $.code: 0".into(),
        }),
        at: None,
    }];
    a.lower = Lower::Detail;
    a.selected_step = 2;
    let shown = screen(&a, 120, 40);
    for said in [
        "error: $.code: expected 0, got -40001",
        "--> flows/userinfo-first.yaml:28:9",
        "28 |         $.code: 0",
        "^^^^^^",
    ] {
        assert!(shown.contains(said), "`{said}` in:\n{shown}");
    }
}

/// A colour as SVG paints it, on a dark terminal; `None` for the default.
fn paint(c: ratatui::style::Color, default: &'static str) -> &'static str {
    use ratatui::style::Color;
    match c {
        Color::Red | Color::LightRed => "#f2777a",
        Color::Green | Color::LightGreen => "#99cc99",
        Color::Yellow | Color::LightYellow => "#ffcc66",
        Color::Blue | Color::LightBlue => "#6699cc",
        Color::Magenta | Color::LightMagenta => "#cc99cc",
        Color::Cyan | Color::LightCyan => "#66cccc",
        Color::Gray | Color::DarkGray => "#999999",
        Color::White => "#ffffff",
        Color::Black => "#1d1f21",
        _ => default,
    }
}

/// The screen as an SVG picture: a text run per stretch of cells of one
/// style, on a dark background, in a monospace font.
fn svg(buffer: &ratatui::buffer::Buffer) -> String {
    use ratatui::style::Modifier;
    use std::fmt::Write as _;
    let (w, h) = (buffer.area.width, buffer.area.height);
    let (cw, ch) = (8.4, 18.0);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" height=\"{:.0}\" font-family=\"ui-monospace,Menlo,Consolas,monospace\" font-size=\"14\">\n<rect width=\"100%\" height=\"100%\" fill=\"#1d1f21\"/>\n",
        f64::from(w) * cw + 16.0,
        f64::from(h) * ch + 16.0
    );
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    for y in 0..h {
        let mut x = 0;
        while x < w {
            let first = &buffer[(x, y)];
            let style = (first.fg, first.bg, first.modifier);
            let mut text = String::new();
            let start = x;
            while x < w && (buffer[(x, y)].fg, buffer[(x, y)].bg, buffer[(x, y)].modifier) == style {
                text.push_str(buffer[(x, y)].symbol());
                x += 1;
            }
            let (fg, bg, m) = style;
            let left = 8.0 + f64::from(start) * cw;
            let top = 8.0 + f64::from(y) * ch;
            let bg = paint(bg, "");
            if !bg.is_empty() {
                let width = f64::from(x - start) * cw;
                let _ = writeln!(
                    out,
                    "<rect x=\"{left:.1}\" y=\"{top:.1}\" width=\"{width:.1}\" height=\"{ch}\" fill=\"{bg}\"/>"
                );
            }
            if text.trim().is_empty() {
                continue;
            }
            let weight = if m.contains(Modifier::BOLD) { " font-weight=\"bold\"" } else { "" };
            let dim = if m.contains(Modifier::DIM) { " opacity=\"0.6\"" } else { "" };
            let _ = writeln!(
                out,
                "<text x=\"{left:.1}\" y=\"{:.1}\" fill=\"{}\"{weight}{dim} xml:space=\"preserve\">{}</text>",
                top + 13.0,
                paint(fg, "#c5c8c6"),
                esc(&text)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// The README's picture is the dashboard as its views draw it now:
/// `WXFLOW_UPDATE_PICTURES=1 cargo test --test tui_views` remakes it after a
/// view changes.
#[test]
fn the_readme_picture_is_the_dashboard_as_it_draws_now() {
    let mut t = Terminal::new(TestBackend::new(120, 34)).unwrap();
    t.draw(|f| view::draw(f, &app())).unwrap();
    let picture = svg(t.backend().buffer());
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/img/dashboard.svg");
    if std::env::var_os("WXFLOW_UPDATE_PICTURES").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &picture).unwrap();
    }
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        kept == picture,
        "docs/img/dashboard.svg is not what the views draw now: WXFLOW_UPDATE_PICTURES=1 cargo test --test tui_views"
    );
}
