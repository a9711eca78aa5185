//! Findings printed: rustc style through [`crate::diagnostic`], JSON
//! (schema: `wxflow schema lint`), and SARIF 2.1.0 for code scanning.

use super::{Finding, Report, rules::RULES};
use crate::diagnostic::{Diagnostic, Severity, render};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The human view: every finding, then a summary line.
pub fn human(report: &Report, color: bool) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let proof = f.proof.as_ref().map(|p| format!("{}: {}", proof_status(p), p.detail));
        let mut notes = vec![("why", why(f.rule)), ("fix", f.fix.as_str())];
        if let Some(p) = &proof {
            notes.push(("proof", p));
        }
        let d = Diagnostic {
            severity: f.severity,
            code: Some(f.rule),
            message: &f.message,
            file: &f.file,
            primary: f.snippets.first(),
            related: f.snippets.get(1..).unwrap_or(&[]),
            notes: &notes,
        };
        out.push_str(&render(&d, color));
        out.push_str("\n\n");
    }
    for s in &report.skipped {
        let _ = writeln!(
            out,
            "note: skipped {}: {}",
            crate::diagnostic::printable(&s.rel),
            crate::diagnostic::printable(&s.why)
        );
    }
    out.push_str(&summary(report));
    out.push('\n');
    out
}

fn why(rule: &str) -> &'static str {
    super::rules::rule(rule).map_or("the file could not be read whole", |r| r.why)
}

/// `wxflow lint --explain RULE`: the rule's declaration in words.
pub fn explain(r: &super::rules::Rule) -> String {
    let indent = |code: &str| {
        code.lines().fold(String::new(), |mut out, l| {
            let _ = writeln!(out, "    {l}");
            out
        })
    };
    format!(
        "{} ({})\n\nFlags: {}\n\nWhy: {}\n\nFlagged:\n{}\nFixed:\n{}\nFix: {}\n",
        r.id,
        r.severity.as_str(),
        r.summary,
        r.why,
        indent(r.bad),
        indent(r.good),
        r.fix
    )
}

/// `lint: 3 files (1.2 KB), 1 error, 0 warnings, 1 ignored`.
pub fn summary(r: &Report) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let mut s = format!(
        "lint: {} ({} bytes), {}, {}, {} ignored",
        plural(r.files, "file"),
        r.bytes,
        plural(r.count(Severity::Error), "error"),
        plural(r.count(Severity::Warning), "warning"),
        r.ignored
    );
    if !r.skipped.is_empty() {
        let _ = write!(s, ", {} skipped", r.skipped.len());
    }
    if !r.not_read.is_empty() {
        let kinds: Vec<String> = r.not_read.iter().map(|(ext, n)| format!("{n} .{ext}")).collect();
        let _ = write!(s, ", not read: {} (a type lint does not read)", kinds.join(", "));
    }
    if r.cut_short > 0 {
        let _ = write!(s, ", {} entry points cut short (too large to follow whole)", r.cut_short);
    }
    s
}

fn proof_status(p: &super::prove::Proof) -> &'static str {
    if p.confirmed { "confirmed" } else { "not confirmed" }
}

fn proof_json(f: &Finding) -> Option<Value> {
    f.proof.as_ref().map(|p| json!({ "status": proof_status(p).replace(' ', "_"), "detail": p.detail }))
}

fn finding_json(f: &Finding) -> Value {
    let mut v = json!({
        "rule": f.rule,
        "severity": f.severity.as_str(),
        "file": f.file,
        "line": f.line,
        "column": f.column,
        "message": f.message,
        "related": f.related,
        "fix": f.fix,
    });
    if let Some(p) = proof_json(f) {
        v["proof"] = p;
    }
    v
}

pub fn json(r: &Report) -> Value {
    json!({
        "tool": "wxflow lint",
        "version": env!("CARGO_PKG_VERSION"),
        "summary": {
            "files": r.files,
            "bytes": r.bytes,
            "errors": r.count(Severity::Error),
            "warnings": r.count(Severity::Warning),
            "ignored": r.ignored,
            "skipped": r.skipped.iter().map(|s| json!({"file": s.rel, "why": s.why})).collect::<Vec<_>>(),
            "not_read": r.not_read,
        },
        "findings": r.findings.iter().map(finding_json).collect::<Vec<_>>(),
    })
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// A relative path as a URI reference: every byte but the unreserved ones
/// and `/` percent-encoded, so `#`, `?`, `%` or a space in a folder name
/// stays part of the path.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Where SARIF's paths are from: `%SRCROOT%` is the repository root (the
/// git root above the working directory, or the working directory), so
/// code scanning places every alert whatever folder lint ran from.
struct Roots {
    cwd: PathBuf,
    root: PathBuf,
}

impl Roots {
    fn here() -> Roots {
        let cwd = std::env::current_dir().unwrap_or_default();
        let root = cwd.ancestors().find(|d| d.join(".git").exists()).unwrap_or(&cwd).to_path_buf();
        Roots { cwd, root }
    }

    /// A shown path (relative to the working directory, or absolute) as
    /// an artifact location: relative to `%SRCROOT%` when inside it.
    fn artifact(&self, file: &str) -> Value {
        let whole = super::source::normalize(&self.cwd.join(file));
        match whole.strip_prefix(&self.root) {
            Ok(r) => json!({"uri": uri(&slashed(r)), "uriBaseId": "%SRCROOT%"}),
            Err(_) => json!({"uri": format!("file://{}", uri(&slashed(&whole)))}),
        }
    }

    fn base_ids(&self) -> Value {
        json!({"%SRCROOT%": {"uri": format!("file://{}/", uri(&slashed(&self.root)).trim_end_matches('/'))}})
    }
}

fn slashed(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

fn sarif_location(roots: &Roots, file: &str, line: usize, column: usize) -> Value {
    json!({"physicalLocation": {
        "artifactLocation": roots.artifact(file),
        "region": {"startLine": line, "startColumn": column},
    }})
}

/// SARIF 2.1.0: one run, the rules in its driver, a result per finding
/// with its related locations.
pub fn sarif(r: &Report) -> Value {
    let roots = Roots::here();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let related: Vec<Value> = f
                .related
                .iter()
                .enumerate()
                .map(|(i, rel)| {
                    let mut l = sarif_location(&roots, &rel.file, rel.line, rel.column);
                    l["id"] = json!(i + 1);
                    l["message"] = json!({"text": rel.message});
                    l
                })
                .collect();
            let mut result = json!({
                "ruleId": f.rule,
                "ruleIndex": RULES.iter().position(|r| r.id == f.rule).unwrap_or(0),
                "level": sarif_level(f.severity),
                "message": {"text": format!("{} Fix: {}", f.message, f.fix)},
                "locations": [sarif_location(&roots, &f.file, f.line, f.column)],
                "relatedLocations": related,
            });
            if let Some(p) = proof_json(f) {
                result["properties"] = json!({ "proof": p });
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "wxflow",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": RULES.iter().map(|r| json!({
                    "id": r.id,
                    "shortDescription": {"text": r.summary},
                    "fullDescription": {"text": r.why},
                    "help": {"text": format!("{} Flagged: {} Fixed: {}", r.fix, r.bad, r.good)},
                    "defaultConfiguration": {"level": sarif_level(r.severity)},
                })).collect::<Vec<_>>(),
            }},
            "originalUriBaseIds": roots.base_ids(),
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn sarif_uris_are_percent_encoded() {
        assert_eq!(super::uri("a #1/页 b?.js"), "a%20%231/%E9%A1%B5%20b%3F.js");
    }
}
