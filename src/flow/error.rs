//! Flow errors as good compilers print them: `file:line:col`, the source
//! line, a caret under the fault, and a hint.

use super::locate::Pos;
use crate::diagnostic::{Diagnostic, Severity, Snippet, render};
use std::fmt;

/// One problem in one flow file.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowError {
    pub file: String,
    pub pos: Option<Pos>,
    /// How many columns the caret underlines.
    pub width: usize,
    pub message: String,
    pub hint: Option<String>,
    /// The offending line of source, for display.
    pub source_line: Option<String>,
}

impl std::error::Error for FlowError {}

impl FlowError {
    pub fn new(file: &str, source: &str, pos: Option<Pos>, width: usize, message: impl Into<String>) -> Self {
        let source_line = pos.and_then(|p| source.lines().nth(p.line.saturating_sub(1))).map(str::to_string);
        FlowError { file: file.into(), pos, width: width.max(1), message: message.into(), hint: None, source_line }
    }

    pub fn hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// `file:line:col`.
    pub fn location(&self) -> String {
        match self.pos {
            Some(p) => format!("{}:{}:{}", self.file, p.line, p.col),
            None => self.file.clone(),
        }
    }
}

impl FlowError {
    /// As printed, through the one renderer ([`crate::diagnostic`]).
    pub fn render(&self, color: bool) -> String {
        let primary = match (self.pos, &self.source_line) {
            (Some(p), Some(line)) => Some(Snippet {
                file: self.file.clone(),
                line: p.line,
                col: p.col,
                width: self.width,
                source_line: Some(line.clone()),
                label: String::new(),
            }),
            _ => None,
        };
        let location = self.location();
        let notes: Vec<(&str, &str)> = self.hint.as_deref().map(|h| ("hint", h)).into_iter().collect();
        let d = Diagnostic {
            severity: Severity::Error,
            code: None,
            message: &self.message,
            file: &location,
            primary: primary.as_ref(),
            related: &[],
            notes: &notes,
        };
        render(&d, color)
    }
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// The closest candidate to `word`, if one is close enough to be a typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.chars().count() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_source_caret_and_hint() {
        let src = "steps:\n  - id: a\n    wx.logn: {}\n";
        let e = FlowError::new("f.yaml", src, Some(Pos { line: 3, col: 5 }), 7, "unknown step kind `wx.logn`")
            .hint(did_you_mean("wx.logn", ["wx.login", "http"]));
        assert_eq!(
            e.to_string(),
            "error: unknown step kind `wx.logn`\n  --> f.yaml:3:5\n  |\n3 |     wx.logn: {}\n  |     ^^^^^^^\n  = hint: did you mean `wx.login`?"
        );
    }

    #[test]
    fn a_long_line_is_shown_as_a_window_around_the_column() {
        let line = format!("    url: \"{}{{{{ nope }}}}{}\"", "a".repeat(5000), "b".repeat(5000));
        let src = format!("steps:\n{line}\n");
        let col = line.find("nope").unwrap() + 1;
        let e = FlowError::new("f.yaml", &src, Some(Pos { line: 2, col }), 4, "undefined name `nope`");
        let text = e.to_string();
        let shown = text.lines().find(|l| l.starts_with("2 | ")).unwrap();
        assert!(shown.chars().count() < 120 && shown.contains("nope") && shown.contains('…'), "{shown}");
        let caret = text.lines().find(|l| l.contains('^')).unwrap();
        // Columns in characters: the window's `…` is one character of three bytes.
        let column = |s: &str, pat: &str| s.find(pat).map(|i| s[..i].chars().count());
        assert_eq!(column(caret, "^"), column(shown, "nope"), "{text}");
    }

    #[test]
    fn suggests_only_near_misses() {
        assert_eq!(did_you_mean("logn", ["login", "profile"]).as_deref(), Some("did you mean `login`?"));
        assert_eq!(did_you_mean("zzzzzz", ["login", "profile"]), None);
    }
}
