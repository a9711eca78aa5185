//! One look for every diagnostic wxflow prints: flow errors, and the
//! findings of `wxflow lint`. rustc's shape: `severity: message`, then
//! `--> file:line:col`, the source line with a caret under the fault and
//! its label, then related places (`::: file:line:col`) and a hint. Colour
//! is decided in one place ([`color_for`]).

use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }

    fn color(self) -> &'static str {
        match self {
            Severity::Error => "\x1b[1;31m",
            Severity::Warning => "\x1b[1;33m",
            Severity::Note => "\x1b[1;36m",
        }
    }
}

/// A place in a file, 1-based, with what to say there.
#[derive(Debug, Clone, PartialEq)]
pub struct Snippet {
    pub file: String,
    pub line: usize,
    pub col: usize,
    /// How many columns the caret underlines.
    pub width: usize,
    /// The line of source at `line`, when it could be read.
    pub source_line: Option<String>,
    /// Said after the caret; empty for none.
    pub label: String,
}

impl Snippet {
    /// `file:line:col`.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file, self.line, self.col)
    }
}

/// What is rendered: the headline, the main place, the related ones, a hint.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic<'a> {
    pub severity: Severity,
    /// A rule id shown as `error[rule]`.
    pub code: Option<&'a str>,
    pub message: &'a str,
    /// The file alone when the place in it is unknown.
    pub file: &'a str,
    pub primary: Option<&'a Snippet>,
    pub related: &'a [Snippet],
    /// Closing notes, each `= label: text`: a hint, a rule's reason, a fix.
    pub notes: &'a [(&'a str, &'a str)],
}

/// `text` in an ANSI style when `color`.
fn paint(color: bool, style: &str, text: &str) -> String {
    if color { format!("{style}{text}\x1b[0m") } else { text.to_string() }
}

/// `text` safe to print to a terminal: control characters (ESC, CR, the C1
/// range; a tab stays) are shown as escapes, so a quoted source line or a
/// file name cannot move the cursor, switch screens or hide it.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let control = |c: char| c.is_control() && c != '\t' && c != '\n';
    if !text.chars().any(control) {
        return std::borrow::Cow::Borrowed(text);
    }
    text.chars().map(|c| if control(c) { c.escape_debug().to_string() } else { c.to_string() }).collect()
}

/// Lines longer than this are shown as a window around the fault.
const WINDOW: usize = 100;

/// Whether output to a stream is coloured: not with `NO_COLOR` set, not in
/// CI, not on a `TERM=dumb` terminal, not when the stream is not a terminal.
pub fn color_for(is_terminal: bool) -> bool {
    is_terminal
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var_os("CI").is_none()
        && !dumb_terminal()
}

/// `TERM=dumb`: a terminal that takes no escape sequences (Emacs shells,
/// some CI log viewers): no colour, no full-screen dashboard.
pub fn dumb_terminal() -> bool {
    std::env::var_os("TERM").is_some_and(|t| t == "dumb")
}

/// The diagnostic as text, with ANSI colour when `color`.
pub fn render(d: &Diagnostic<'_>, color: bool) -> String {
    let paint = |style: &str, text: &str| paint(color, style, text);
    let blue = "\x1b[1;34m";
    let mut out = String::new();
    let head = match d.code {
        Some(code) => format!("{}[{code}]", d.severity.as_str()),
        None => d.severity.as_str().to_string(),
    };
    let _ = write!(out, "{}: {}", paint(d.severity.color(), &head), paint("\x1b[1m", &printable(d.message)));
    let gutter = std::iter::once(d.primary).flatten().chain(d.related).map(|s| s.line.to_string().len()).max();
    let pad = " ".repeat(gutter.unwrap_or(1));
    match d.primary {
        Some(p) => snippet(&mut out, "-->", p, &pad, color, d.severity.color()),
        None => {
            let _ = write!(out, "\n  {} {}", paint(blue, "-->"), printable(d.file));
        }
    }
    for r in d.related {
        snippet(&mut out, ":::", r, &pad, color, blue);
    }
    for (label, text) in d.notes {
        let _ = write!(out, "\n{pad} {} {label}: {}", paint(blue, "="), printable(text));
    }
    out
}

fn snippet(out: &mut String, arrow: &str, s: &Snippet, pad: &str, color: bool, caret_style: &str) {
    let paint = |style: &str, text: &str| paint(color, style, text);
    let blue = "\x1b[1;34m";
    let _ = write!(out, "\n  {} {}", paint(blue, arrow), printable(&s.location()));
    let Some(line) = &s.source_line else { return };
    let line = &printable(line).into_owned();
    let n = format!("{:>w$}", s.line, w = pad.len());
    let (shown, col) = window(line, s.col);
    let indent: String =
        shown.chars().take(col.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
    let carets = "^".repeat(s.width.clamp(1, WINDOW));
    let label = if s.label.is_empty() { String::new() } else { format!(" {}", printable(&s.label)) };
    let bar = paint(blue, "|");
    let _ = write!(
        out,
        "\n{pad} {bar}\n{} {bar} {shown}\n{pad} {bar} {indent}{}",
        paint(blue, &n),
        paint(caret_style, &format!("{carets}{label}"))
    );
}

/// `line` as shown, and the fault's column in it: a long line is cut to
/// [`WINDOW`] characters around `col`, with `…` where it was cut.
fn window(line: &str, col: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= WINDOW {
        return (line.to_string(), col);
    }
    let start = col.saturating_sub(1).saturating_sub(WINDOW / 2).min(chars.len() - WINDOW);
    let end = start + WINDOW;
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push('…');
    }
    (shown, col - start + usize::from(start > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, col: usize, width: usize, text: &str, label: &str) -> Snippet {
        Snippet { file: "a.js".into(), line, col, width, source_line: Some(text.into()), label: label.into() }
    }

    #[test]
    fn renders_rule_related_places_and_hint_without_colour() {
        let p = at(3, 5, 8, "    e.detail.iv", "sealed here");
        let r = [at(12, 3, 8, "  wx.login()", "then a login")];
        let d = Diagnostic {
            severity: Severity::Error,
            code: Some("stale-open-data"),
            message: "stale",
            file: "a.js",
            primary: Some(&p),
            related: &r,
            notes: &[("hint", "log in first")],
        };
        assert_eq!(
            render(&d, false),
            "error[stale-open-data]: stale\n  --> a.js:3:5\n   |\n 3 |     e.detail.iv\n   |     ^^^^^^^^ sealed here\n  ::: a.js:12:3\n   |\n12 |   wx.login()\n   |   ^^^^^^^^ then a login\n   = hint: log in first"
        );
        assert!(render(&d, true).contains("\x1b[1;31merror[stale-open-data]"));
    }
}
