//! Drawing: one function per panel, each a function of `&App` only.
//! Rendering never changes state.

use super::app::{App, FlowStatus, Lower};
use super::keys::BINDINGS;
use crate::engine::{Freshness, Outcome, StepResult};
use crate::stats::{Latency, Verdict};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{
    Axis, Bar, BarChart, BarGroup, Block, Cell, Chart, Clear, Dataset, Gauge, GraphType, List, ListItem, ListState,
    Paragraph, Row, Table, Wrap,
};

const GREEN: Style = Style::new().fg(Color::Green);
const RED: Style = Style::new().fg(Color::Red);
const YELLOW: Style = Style::new().fg(Color::Yellow);
const DIM: Style = Style::new().fg(Color::DarkGray);
const BOLD: Style = Style::new().add_modifier(Modifier::BOLD);

/// The whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let [top, lower, status, keys] = Layout::vertical([
        Constraint::Percentage(45),
        Constraint::Min(8),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let list_width = if frame.area().width >= 120 { 34 } else { 28 };
    let [left, right] = Layout::horizontal([Constraint::Length(list_width), Constraint::Min(30)]).areas(top);
    flows(frame, left, app);
    steps(frame, right, app);
    match app.lower {
        Lower::Load => {
            let [l, m] = Layout::horizontal([Constraint::Min(40), Constraint::Length(30)]).areas(lower);
            load(frame, l, app);
            mock(frame, m, app);
        }
        Lower::Detail => detail(frame, lower, app),
    }
    frame.render_widget(Paragraph::new(Line::styled(app.status.as_str(), DIM)), status);
    legend(frame, keys);
    if app.show_help {
        help(frame, frame.area());
    }
}

/// A one-character status, for narrow lists.
fn status_style(status: FlowStatus) -> Style {
    match status {
        FlowStatus::Passed | FlowStatus::AsExpected => GREEN,
        FlowStatus::Failed | FlowStatus::Invalid => RED,
        FlowStatus::Flaky | FlowStatus::Inconclusive | FlowStatus::Running => YELLOW,
        FlowStatus::Idle => DIM,
    }
}

/// Flow files with their status and failure rate (a symbol when narrow:
/// ✓ passed, ✗ failed, ~ flaky, ? inconclusive, … running, · idle, ! invalid).
pub fn flows(frame: &mut Frame, area: Rect, app: &App) {
    let wide = area.width >= 34;
    let items: Vec<ListItem> = app
        .flows
        .iter()
        .map(|f| {
            let status = f.status();
            let rate = f
                .stats
                .as_ref()
                .filter(|s| s.iterations > 1 && status != FlowStatus::AsExpected)
                .map(|s| format!(" {:.0}%", s.failure_rate() * 100.0))
                .unwrap_or_default();
            let line = if wide {
                vec![Span::raw(format!("{} ", f.id)), Span::styled(format!("{status}{rate}"), status_style(status))]
            } else {
                vec![
                    Span::styled(format!("{} ", status.symbol()), status_style(status)),
                    Span::raw(f.id.clone()),
                    Span::styled(rate, status_style(status)),
                ]
            };
            ListItem::new(Line::from(line))
        })
        .collect();
    let mut state = ListState::default().with_selected(Some(app.selected));
    let list = List::new(items)
        .block(Block::bordered().title(" Flows "))
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .highlight_symbol("▶ ");
    frame.render_stateful_widget(list, area, &mut state);
}

/// `fresh 2ms` / `STALE gen 1→2 3ms` / `sealed gen 1`.
pub fn freshness(s: &StepResult) -> Span<'static> {
    let Some(p) = s.verdict_payload() else {
        return Span::raw("");
    };
    if p.basis == crate::engine::Basis::NotExchanged {
        return Span::styled("code never exchanged", DIM);
    }
    match p.freshness {
        Freshness::Fresh if p.from_step == s.id => {
            Span::styled(format!("sealed gen {}", p.sealed_generation.unwrap_or(0)), DIM)
        }
        Freshness::Fresh => Span::styled(format!("fresh {:.0}ms", p.age_ms), GREEN),
        Freshness::Stale { sealed, against } => {
            Span::styled(format!("STALE gen {sealed}→{against} {:.0}ms", p.age_ms), RED.add_modifier(Modifier::BOLD))
        }
        Freshness::Unknown => Span::styled("unknown", DIM),
    }
}

/// A waterfall bar: where the step sat in the iteration.
fn waterfall(s: &StepResult, total_ms: f64, width: usize) -> String {
    if s.outcome == Outcome::Skipped || total_ms <= 0.0 {
        return " ".repeat(width);
    }
    let start = ((s.start_ms / total_ms) * width as f64).floor() as usize;
    let len = (((s.duration_ms / total_ms) * width as f64).round() as usize).max(1);
    let start = start.min(width - 1);
    let len = len.min(width - start);
    format!("{}{}{}", " ".repeat(start), "█".repeat(len), " ".repeat(width - start - len))
}

/// Steps of the selected flow: timing, waterfall, freshness, outcome; the
/// diagnosis under a failure.
pub fn steps(frame: &mut Frame, area: Rect, app: &App) {
    let Some(f) = app.selected_flow() else {
        frame.render_widget(Block::bordered().title(" Steps "), area);
        return;
    };
    let block = Block::bordered().title(format!(" Steps · {} ", f.id));
    if let Some(err) = &f.error {
        frame.render_widget(
            Paragraph::new(Text::styled(err.as_str(), RED)).wrap(Wrap { trim: false }).block(block),
            area,
        );
        return;
    }
    let Some(flow) = &f.flow else { return };
    let shown = app.shown_steps();
    let total = shown.iter().map(|s| s.start_ms + s.duration_ms).fold(0.0, f64::max);
    let wide = area.width >= 84;
    let bars = area.width >= 64;
    let bar_width = if wide { 8 } else { 10 };
    let repeated = f.stats.as_ref().is_some_and(|s| s.iterations > 1);
    let rows: Vec<Row> = flow
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let r = shown.get(i);
            let last = r
                .filter(|r| r.outcome != Outcome::Skipped)
                .map(|r| format!("{:.1}", r.duration_ms))
                .unwrap_or_default();
            let pct = f
                .stats
                .as_ref()
                .filter(|_| repeated)
                .and_then(|s| s.steps.get(i))
                .map(|s| {
                    let l = Latency::of(&s.latency);
                    format!("{:.1}/{:.1}", l.p50, l.p99)
                })
                .unwrap_or_default();
            let (tag, style, reason) = match r.map(|r| r.outcome) {
                Some(Outcome::Pass) => ("PASS", GREEN, String::new()),
                Some(Outcome::Fail) => ("FAIL", RED, r.and_then(|r| r.reason.clone()).unwrap_or_default()),
                Some(Outcome::Skipped) => ("SKIP", DIM, String::new()),
                None => ("", DIM, String::new()),
            };
            let mut cells = vec![Cell::from(step.id.clone())];
            if wide {
                cells.push(Cell::from(step.label()));
                cells.push(Cell::from(pct));
            }
            cells.push(Cell::from(last));
            if bars {
                cells.push(Cell::from(Span::styled(
                    r.map(|r| waterfall(r, total, bar_width as usize)).unwrap_or_default(),
                    Style::new().fg(Color::Cyan),
                )));
            }
            cells.extend([
                Cell::from(r.map(freshness).unwrap_or_default()),
                Cell::from(Line::from(vec![Span::styled(tag, style), Span::raw(" "), Span::raw(reason)])),
            ]);
            let row = Row::new(cells);
            if i == app.selected_step { row.style(Style::new().add_modifier(Modifier::BOLD)) } else { row }
        })
        .collect();
    let id_width = flow.steps.iter().map(|s| s.id.chars().count()).max().unwrap_or(4).clamp(4, 12) as u16;
    let mut widths = vec![Constraint::Length(id_width)];
    let mut header = vec!["step"];
    if wide {
        widths.extend([Constraint::Length(17), Constraint::Length(11)]);
        header.extend(["kind", "p50/p99 ms"]);
    }
    widths.push(Constraint::Length(5));
    header.push("ms");
    if bars {
        widths.push(Constraint::Length(bar_width));
        header.push("timing");
    }
    widths.extend([Constraint::Length(19), Constraint::Min(8)]);
    header.extend(["iv", "result"]);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let diagnosis = shown.iter().find(|s| s.outcome == Outcome::Fail).and_then(|s| s.diagnosis.clone());
    let diag_height = if diagnosis.is_some() { 3.min(inner.height.saturating_sub(2)) } else { 0 };
    let [table_area, diag_area] = Layout::vertical([Constraint::Min(1), Constraint::Length(diag_height)]).areas(inner);
    frame.render_widget(Table::new(rows, widths).header(Row::new(header).style(DIM)).column_spacing(1), table_area);
    if let Some(d) = diagnosis {
        let text = Line::from(vec![Span::styled("diagnosis: ", YELLOW), Span::raw(d)]);
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), diag_area);
    }
}

/// Load run: settings, progress, rate, counts, the failure rate over time,
/// the latency histogram of the selected step, failures by cause.
pub fn load(frame: &mut Frame, area: Rect, app: &App) {
    let block = Block::bordered().title(" Load ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let s = &app.load;
    let model = match s.rate {
        Some(r) => format!("open {r:.0}/s"),
        None => "closed".into(),
    };
    let settings = format!("repeat {} · concurrency {} · {model} · seed {}", s.repeat, s.concurrency, s.seed);
    let stats = app.selected_flow().and_then(|f| f.stats.as_ref());
    let [head, gauge, counts, rate, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(Line::styled(settings, DIM)), head);
    let done = stats.map_or(0, |s| s.iterations);
    let total = app.running.as_ref().filter(|r| r.load && r.flow == app.selected).map_or(s.repeat, |r| r.total);
    let ratio = if total == 0 { 0.0 } else { (done as f64 / total as f64).min(1.0) };
    frame.render_widget(
        Gauge::default().ratio(ratio).label(format!("{done}/{total}")).gauge_style(Style::new().fg(Color::Blue)),
        gauge,
    );
    let Some(st) = stats else {
        frame.render_widget(
            Paragraph::new(Line::styled("no run yet: Enter runs once, l starts a load run", DIM)),
            counts,
        );
        return;
    };
    let (lo, hi) = st.failure_rate_ci95();
    let verdict = match st.verdict() {
        Verdict::Pass => Span::styled("pass", GREEN),
        Verdict::Fail if st.expectation_met() => Span::styled("failed as expected", GREEN),
        Verdict::Fail => Span::styled("fail", RED),
        Verdict::Flaky => Span::styled("flaky", YELLOW),
        Verdict::Inconclusive => Span::styled("inconclusive", YELLOW),
        Verdict::None => Span::styled("-", DIM),
    };
    let unjudged = if st.unjudged > 0 {
        Span::styled(format!(" · {} not judged ({})", st.unjudged, st.unjudged_why().0), YELLOW)
    } else {
        Span::raw("")
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::raw(format!("{:.0} flows/s · ", app.flows_per_sec)),
            Span::styled(format!("{} passed", st.passed), GREEN),
            Span::raw(" · "),
            Span::styled(format!("{} failed", st.failed), RED),
            unjudged,
            Span::raw(" · "),
            verdict,
        ])),
        counts,
    );
    let rate_text =
        format!("failure rate {:.1}% (95% CI {:.1}–{:.1}%)", st.failure_rate() * 100.0, lo * 100.0, hi * 100.0);
    frame.render_widget(Paragraph::new(Line::raw(rate_text)), rate);
    let [chart_area, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
    failure_chart(frame, chart_area, app);
    let [hist_area, cause_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(st.causes.len().min(3) as u16)]).areas(right);
    histogram(frame, hist_area, app);
    let causes: Vec<Line> = st
        .causes
        .iter()
        .map(|(c, n)| Line::from(vec![Span::styled(format!("{n:>6} "), RED), Span::raw(c.as_str())]))
        .collect();
    frame.render_widget(Paragraph::new(causes), cause_area);
}

fn failure_chart(frame: &mut Frame, area: Rect, app: &App) {
    let points: Vec<(f64, f64)> = app.chart.iter().copied().collect();
    let x0 = points.first().map_or(0.0, |p| p.0);
    let x1 = points.last().map_or(1.0, |p| p.0).max(x0 + 1.0);
    let data = [Dataset::default().marker(Marker::Braille).graph_type(GraphType::Line).style(RED).data(&points)];
    let chart = Chart::new(data.to_vec())
        .block(Block::new().title(Line::styled("failure rate / s", DIM)))
        .x_axis(Axis::default().bounds([x0, x1]))
        .y_axis(Axis::default().bounds([0.0, 1.0]).labels(["0", "50%", "100%"]));
    frame.render_widget(chart, area);
}

/// Latency histogram of the selected step: log-spaced buckets.
fn histogram(frame: &mut Frame, area: Rect, app: &App) {
    let Some((id, h)) = app
        .selected_flow()
        .and_then(|f| f.stats.as_ref())
        .and_then(|s| s.steps.get(app.selected_step))
        .map(|s| (s.id.clone(), &s.latency))
    else {
        return;
    };
    let title = Line::styled(format!("{id} latency (ms)"), DIM);
    if h.is_empty() {
        frame.render_widget(Block::new().title(title), area);
        return;
    }
    let bars = (area.width / 5).clamp(2, 8) as usize;
    let (lo, hi) = ((h.min().max(1)) as f64, (h.max().max(2)) as f64);
    let edges: Vec<f64> = (0..=bars).map(|i| lo * (hi / lo).powf(i as f64 / bars as f64)).collect();
    let data: Vec<(String, u64)> = edges
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let upper = if i + 1 == bars { w[1] + 1.0 } else { w[1] };
            let n = h
                .iter_recorded()
                .filter(|v| (v.value_iterated_to() as f64) >= w[0] && (v.value_iterated_to() as f64) < upper)
                .map(|v| v.count_at_value())
                .sum();
            let ms = w[1] / 1000.0;
            (if ms >= 10.0 { format!("{ms:.0}") } else { format!("{ms:.1}") }, n)
        })
        .collect();
    // A count is written on its bar only when the bar's bottom row is a
    // full block: on a shorter bar the digits would cover the bar itself.
    let rows = u64::from(area.height.saturating_sub(2));
    let top = data.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let bars: Vec<Bar> = data
        .iter()
        .map(|(label, n)| {
            let bar = Bar::default().value(*n).label(Line::from(label.clone()));
            if n * rows >= top { bar } else { bar.text_value(String::new()) }
        })
        .collect();
    frame.render_widget(
        BarChart::default()
            .block(Block::new().title(title))
            .data(BarGroup::default().bars(&bars))
            .bar_width(4)
            .bar_gap(1)
            .bar_style(Style::new().fg(Color::Cyan)),
        area,
    );
}

/// The mock's rotation policy and faults in force.
pub fn mock(frame: &mut Frame, area: Rect, app: &App) {
    let faults = if app.faults.is_empty() {
        vec![Line::styled("faults: none", DIM)]
    } else {
        app.faults
            .iter()
            .map(|(e, f)| {
                let err = f.errcode.map(|c| format!(" err {c} @{:.0}%", f.rate * 100.0)).unwrap_or_default();
                let lat =
                    if f.latency_ms > 0 { format!(" +{}±{}ms", f.latency_ms, f.jitter_ms) } else { String::new() };
                Line::styled(format!("{e}{err}{lat}"), YELLOW)
            })
            .collect()
    };
    let policy = match (app.rotation, app.policy()) {
        (Some(r), _) => r.to_string(),
        (None, Some(r)) => format!("{r} (the flow's)"),
        (None, None) => "the mock's default".into(),
    };
    let mut lines = vec![
        Line::from(vec![Span::raw("rotation "), Span::styled(policy, BOLD)]),
        Line::styled("+/- probability · a always · n never", DIM),
    ];
    lines.extend(faults);
    lines.push(Line::styled("f cycles faults", DIM));
    lines.push(Line::styled(format!("mock {}", app.mock_url), DIM));
    lines.push(Line::styled(format!("target {}", app.target_url), DIM));
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(" Mock ")).wrap(Wrap { trim: true }), area);
}

/// The selected step's request and response (secrets masked), scrollable.
pub fn detail(frame: &mut Frame, area: Rect, app: &App) {
    let step = app.shown_steps().get(app.selected_step);
    let title = format!(" Detail · {} · PgUp/PgDn scroll · d back ", step.map_or("-", |s| s.id.as_str()));
    let mut lines: Vec<Line> = vec![];
    // The variables from outside that this flow uses, secrets masked.
    let uses = app.selected_flow().and_then(|f| f.flow.as_ref()).map(|f| &f.uses);
    for (name, shown) in app.variables.iter().filter(|(name, _)| uses.is_some_and(|u| u.contains(name))) {
        lines.push(Line::styled(format!("var {name} = {shown}"), DIM));
    }
    match step.and_then(|s| s.exchange.as_ref().map(|e| (s, e))) {
        None => lines.push(Line::styled("no request recorded for this step yet", DIM)),
        Some((s, e)) => {
            lines.push(Line::styled(format!("{} {}", e.method, e.url), BOLD));
            lines.extend(e.request_headers.iter().map(|(k, v)| Line::raw(format!("{k}: {v}"))));
            lines.push(Line::raw(e.request_body.clone()));
            lines.push(Line::raw(""));
            let status = e.status.map_or("no answer".to_string(), |s| format!("HTTP {s}"));
            lines.push(Line::styled(format!("← {status} in {:.1} ms", s.duration_ms), BOLD));
            lines.extend(e.response_headers.iter().map(|(k, v)| Line::styled(format!("{k}: {v}"), DIM)));
            lines.push(Line::raw(e.response_body.clone()));
            for f in s.failures.iter().filter(|f| f.location.is_some()) {
                lines.push(Line::raw(""));
                lines.extend(f.render(false).lines().map(|l| Line::styled(l.to_string(), RED)));
            }
            // A page step's requests, made by the app's own code.
            if !s.requests.is_empty() {
                lines.push(Line::raw(""));
                lines.push(Line::styled("requests the page made", BOLD));
            }
            for c in &s.requests {
                let status = c.status.map_or("no answer".to_string(), |s| s.to_string());
                let at = c.at.as_deref().unwrap_or("?");
                let text =
                    format!("{} {}  {status}  from {at}{}", c.method, c.url, if c.stale { "  STALE" } else { "" });
                lines.push(Line::styled(text, if c.stale { RED } else { DIM }));
            }
            if let Some(d) = &s.diagnosis {
                lines.push(Line::raw(""));
                lines.push(Line::styled(format!("diagnosis: {d}"), YELLOW));
            }
        }
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(title))
            .wrap(Wrap { trim: false })
            .scroll((app.detail_scroll, 0)),
        area,
    );
}

/// The one-line key legend.
pub fn legend(frame: &mut Frame, area: Rect) {
    let gap = if area.width >= 90 { "  " } else { " " };
    let spans: Vec<Span> = BINDINGS
        .iter()
        .filter_map(|b| b.legend)
        .flat_map(|(k, v)| [Span::styled(k, BOLD.fg(Color::Cyan)), Span::raw(format!(" {v}{gap}"))])
        .collect();
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Every key, over the screen.
pub fn help(frame: &mut Frame, area: Rect) {
    let mut text: Vec<String> = BINDINGS.iter().filter_map(|b| b.help.map(|h| format!("{:10} {h}", b.keys))).collect();
    text.extend([
        String::new(),
        "flows: · idle  … running  ✓ passed  ✗ failed  ~ flaky  ! invalid".into(),
        "any key closes this help".into(),
    ]);
    let w = 68.min(area.width);
    let h = (text.len() as u16 + 2).min(area.height);
    let rect = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(text.into_iter().map(Line::raw).collect::<Vec<_>>()).block(Block::bordered().title(" Keys ")),
        rect,
    );
}
