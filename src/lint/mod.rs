//! `wxflow lint`: reads a Mini Program's own source and finds the seed's
//! bug where it lives. The walk ([`source`]) reads files; oxc parses each
//! script; the evaluator ([`graph`]) runs the program abstractly across
//! files and builds a model; the [`rules`] read that model; [`output`]
//! prints findings (rustc style, JSON, SARIF); [`flows`] turns a finding
//! into the flow that reproduces it.
//!
//! # The analysis, stated
//!
//! - **Abstract values** ([`graph::value::Val`]): a value is a small set of
//!   atoms: a string, an object (fields, by identity), a function (code and
//!   its scope), a promise, a platform API path (`wx.login`), a modelled
//!   builtin, "something from outside", or a provenance tag: a field of
//!   sealed open data (which event or call sealed it, when, and which
//!   logins had answered then), a login's code, a login's *carrier* (any
//!   part of what the backend answered a request that carried that login's
//!   code: a token, an openid, a session_key), a session_key. A join keeps
//!   both sides: both arms of a branch run from the same state and are
//!   joined, so a value is what it may be on some path.
//! - **Calls are inlined**, not summarised: a call runs the callee's body
//!   with the arguments' values, up to 12 frames deep (past it, or on
//!   recursion, the result is unknown). A function of unknown code (an
//!   npm client) returns what it was given and runs its callbacks; handed
//!   sealed data with a code or a carrier, it is taken for a request, unless
//!   its name is a known non-sender (`Object.defineProperty`, `console.log`,
//!   array methods, reactive helpers). Across modules: every module runs
//!   once, imports resolved relative to the file, then from the app's own
//!   folder (`/`, `@/`, `~/`, `src/`).
//! - **Entry points**, in the order a user meets them: modules, the app's
//!   lifecycles, the pages' lifecycles, then every handler; the handlers up
//!   to the last one that kept a code, sealed data or a token run again,
//!   seeing what every handler kept, so no result depends on the order of
//!   handlers in the source. Each app of a folder
//!   runs on its own with the shared files.
//! - **Sources** are open-data events only (an `open-type` button's
//!   handler as the template binds it, or a handler bound nowhere that
//!   reads `e.detail` as open data) and the open-data APIs' results.
//!   **Sinks** are the platforms' network calls and what the unknown-call
//!   rule above takes for one.
//! - **Time** is the evaluator's clock; "happened before" is the set of
//!   logins whose answer had arrived. `stale-open-data` is: a request
//!   carrying sealed data and a login's key (code or carrier), where the
//!   data was sealed before that login was called.
//! - **Limits**: 200,000 steps per entry point (then cut short and said);
//!   expressions nested 2,000 deep; a loop body runs once (joined with not
//!   at all), so what a second pass would see is missed; dynamic
//!   property names and `eval` are unknown; a chain needing three handler
//!   taps in order is beyond two rounds; values through `setTimeout` run at
//!   once.

pub mod flows;
pub mod graph;
pub mod output;
pub mod prove;
pub mod rules;
pub mod source;

use crate::diagnostic::{Severity, Snippet};
use graph::value::Loc;
use oxc_allocator::Allocator;
use oxc_span::SourceType;
use source::{SourceFile, Tree};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A place a finding points at, with what it says there.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Related {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// As the user can open it from the working directory.
    pub file: String,
    /// Relative to the folder linted: what emitted flows are named after.
    pub rel: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub related: Vec<Related>,
    pub fix: String,
    /// The source lines, for the human view.
    pub snippets: Vec<Snippet>,
    pub replay: Option<rules::Replay>,
    /// The page handler the finding starts in, when a native app holds it:
    /// what `--emit-flows` taps and `--prove` runs.
    pub page: Option<PageEntry>,
    /// What running it showed (`--prove`).
    pub proof: Option<prove::Proof>,
}

/// A page's handler in a native Mini Program: its root (the folder holding
/// `app.json`), the page's route and the handler's name.
#[derive(Debug, Clone, PartialEq)]
pub struct PageEntry {
    pub app: PathBuf,
    pub route: String,
    pub handler: String,
}

/// The page entry of a button bound at `loc` (the attribute in a `.wxml`).
fn page_entry(file: &SourceFile, loc: Loc) -> Option<PageEntry> {
    let attr = file.text.get(loc.start as usize..)?;
    let value = attr.split_once('=')?.1.trim_start();
    let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let handler = value[1..].split(quote).next()?.trim().to_string();
    if file.ext() != "wxml" || handler.is_empty() || handler.contains("{{") {
        return None;
    }
    let real = std::fs::canonicalize(&file.path).ok()?;
    let app = real.ancestors().skip(1).find(|d| d.join("app.json").is_file())?.to_path_buf();
    let rel = real.with_extension("");
    let route = rel
        .strip_prefix(&app)
        .ok()?
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    Some(PageEntry { app, route, handler })
}

/// What a lint run found and read.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Findings silenced by `// wxflow-lint-ignore RULE: reason`.
    pub ignored: usize,
    pub files: usize,
    pub bytes: u64,
    pub skipped: Vec<source::Skipped>,
    /// Mini Program files of a type lint does not read, by extension.
    pub not_read: std::collections::BTreeMap<String, usize>,
    /// Entry points whose evaluation was cut short (see `graph::MAX_STEPS`).
    pub cut_short: usize,
}

impl Report {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }
}

/// Lints every source file under `paths`.
pub fn lint(paths: &[PathBuf]) -> Result<Report, String> {
    let tree = source::walk(paths)?;
    if tree.files.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let skipped = match tree.skipped.len() {
            0 => String::new(),
            n => format!(
                " ({n} skipped: {})",
                tree.skipped.iter().map(|s| format!("{}: {}", s.rel, s.why)).take(3).collect::<Vec<_>>().join("; ")
            ),
        };
        let not_read: Vec<String> = tree.not_read.iter().map(|(ext, n)| format!("{n} .{ext}")).collect();
        let not_read = if not_read.is_empty() {
            String::new()
        } else {
            format!(" (found {}, a type lint does not read)", not_read.join(", "))
        };
        return Err(format!(
            "no Mini Program source under {}{skipped}{not_read}: looked for .js, .ts, .jsx, .tsx, .mjs, .cjs, .vue, .wpy and .wxml files, outside node_modules, miniprogram_npm, dist and unpackage",
            names.join(", ")
        ));
    }
    Ok(analyze(&tree))
}

/// The stack `wxflow lint` runs on. The parser and the evaluator recurse
/// once per nesting level, bounded by [`source::MAX_NESTING`] and
/// [`graph::MAX_DEPTH`]; this holds both bounds with room to spare (see
/// docs/limits.md). Only touched pages are committed.
pub const STACK_BYTES: usize = 256 * 1024 * 1024;

/// One script to parse: which file, which bytes, as what.
struct Plan {
    file: usize,
    start: usize,
    end: usize,
    source_type: SourceType,
    setup: bool,
}

fn plans(files: &[SourceFile]) -> Vec<Plan> {
    let mut out = vec![];
    for (i, f) in files.iter().enumerate() {
        let whole = |st| Plan { file: i, start: 0, end: f.code.len(), source_type: st, setup: false };
        match f.ext() {
            "wxml" => {}
            "vue" | "wpy" => {
                for b in source::vue_scripts(&f.code) {
                    let st = match b.lang.as_str() {
                        "ts" => SourceType::ts(),
                        "tsx" => SourceType::tsx(),
                        _ => SourceType::jsx(),
                    };
                    out.push(Plan { file: i, start: b.start, end: b.end, source_type: st, setup: b.setup });
                }
            }
            "ts" | "mts" | "cts" => out.push(whole(SourceType::ts())),
            "tsx" => out.push(whole(SourceType::tsx())),
            _ => out.push(whole(SourceType::jsx())),
        }
    }
    out
}

/// Template bindings of each script file: a page's `.wxml` beside its
/// script, a `.vue` file's own template.
fn bindings(files: &[SourceFile]) -> HashMap<usize, Vec<(source::Binding, usize)>> {
    let by_path: HashMap<PathBuf, usize> = files.iter().enumerate().map(|(i, f)| (f.path.clone(), i)).collect();
    let mut out: HashMap<usize, Vec<(source::Binding, usize)>> = HashMap::new();
    for (t, f) in files.iter().enumerate() {
        let script = match f.ext() {
            "vue" | "wpy" => Some(t),
            "wxml" => ["js", "ts"].iter().find_map(|e| by_path.get(&f.path.with_extension(e)).copied()),
            _ => None,
        };
        let text = if f.single_file() { vue_template(&f.code) } else { &f.code };
        if let Some(s) = script {
            let base = text.as_ptr() as usize - f.code.as_ptr() as usize;
            for mut b in source::template_bindings(text) {
                b.offset += base;
                out.entry(s).or_default().push((b, t));
            }
        }
    }
    out
}

/// A `.vue` (or wepy) file's template: from its first `<template` to its
/// last `</template>`, wherever it stands (Vue 3 puts `<script setup>`
/// first); without one, the text before the first `<script`/`<style`.
fn vue_template(text: &str) -> &str {
    if let Some(start) = text.find("<template") {
        let end = text.rfind("</template>").filter(|&e| e > start).map_or(text.len(), |e| e + "</template>".len());
        return &text[start..end];
    }
    let end = ["<script", "<style"].iter().filter_map(|t| text.find(t)).min().unwrap_or(text.len());
    &text[..end]
}

/// The apps to run: for each app root in the tree (the deepest one above a
/// file owns it), which files it runs (its own and those of no app) and
/// its import roots (the app's folder first). One run of everything when
/// the tree holds at most one app.
fn apps(files: &[SourceFile], app_dirs: &[PathBuf], roots: &[PathBuf]) -> Vec<(Vec<bool>, Vec<PathBuf>)> {
    let mut app_dirs = app_dirs.to_vec();
    // A folder holding an app folder (`project.config.json` above
    // `miniprogram/app.json`, a monorepo) is not an app of its own: its
    // other files are shared.
    let nested: Vec<PathBuf> = app_dirs.clone();
    app_dirs.retain(|d| !nested.iter().any(|n| n != d && n.starts_with(d)));
    let owner = |path: &Path| app_dirs.iter().filter(|d| path.starts_with(d)).max_by_key(|d| d.components().count());
    let owned: std::collections::BTreeSet<&PathBuf> = files.iter().filter_map(|f| owner(&f.path)).collect();
    if owned.len() <= 1 {
        return vec![(vec![true; files.len()], roots.to_vec())];
    }
    owned
        .into_iter()
        .map(|app| {
            let members = files.iter().map(|f| owner(&f.path).is_none_or(|o| o == app)).collect();
            (members, std::iter::once(app.clone()).chain(roots.iter().cloned()).collect())
        })
        .collect()
}

fn analyze(tree: &Tree) -> Report {
    let files = &tree.files;
    let plans = plans(files);
    let allocators: Vec<Allocator> = plans.iter().map(|_| Allocator::default()).collect();
    let parsed: Vec<_> = plans
        .iter()
        .zip(&allocators)
        .map(|(p, a)| oxc_parser::Parser::new(a, &files[p.file].code[p.start..p.end], p.source_type).parse())
        .collect();
    let mut raw = vec![];
    for (p, r) in plans.iter().zip(&parsed) {
        if let Some(d) = r.diagnostics.errors().next() {
            let at = d.labels.first().map_or(0, oxc_span::LabeledSpan::offset);
            let start = p.start as u32 + at;
            raw.push(rules::Raw {
                rule: rules::PARSE_ERROR.id,
                severity: rules::PARSE_ERROR.severity,
                loc: Loc { file: p.file, start, end: start + 1 },
                message: format!("this file does not parse ({}); what parsed of it was still linted", d.message),
                related: vec![],
                fix: rules::PARSE_ERROR.fix.into(),
                replay: None,
            });
        }
    }
    // Each app in the tree is run on its own, with the files that belong
    // to no app (shared code), so a folder of several apps gives what each
    // app's own run gives.
    let bound = bindings(files);
    let mut cut_short = 0;
    for (members, roots) in apps(files, &tree.app_dirs, &tree.roots) {
        let mut units: Vec<Vec<graph::Unit>> = files.iter().map(|_| vec![]).collect();
        for (p, r) in plans.iter().zip(&parsed).filter(|(p, _)| members[p.file]) {
            units[p.file].push(graph::Unit { program: &r.program, base: p.start as u32, setup: p.setup });
        }
        let model = graph::Interp::new(files, units, &roots, bound.clone()).run();
        cut_short += model.cut_short;
        raw.extend(rules::run(&model));
    }
    raw.extend(unknown_ignores(files));
    let mut report = Report {
        files: files.len(),
        bytes: files.iter().map(|f| f.text.len() as u64).sum(),
        skipped: tree.skipped.clone(),
        not_read: tree.not_read.clone(),
        cut_short,
        ..Report::default()
    };
    raw.sort_by_key(|r| (r.loc.file, r.loc.start, r.rule));
    raw.dedup_by_key(|r| (r.loc, r.rule));
    for r in raw {
        let file = &files[r.loc.file];
        let (line, column) = file.line_col(r.loc.start as usize);
        if ignored(file, line, r.rule) {
            report.ignored += 1;
            continue;
        }
        let snippet = |loc: Loc, label: &str| {
            let f = &files[loc.file];
            let (line, col) = f.line_col(loc.start as usize);
            let text = f.line(line).map(str::to_string);
            // A call is underlined up to its arguments: `wx.login`, not the whole call.
            let first = f.text.get(loc.start as usize..loc.end as usize).and_then(|s| s.lines().next()).unwrap_or("");
            let width = first.find('(').filter(|&i| i > 0).map_or(first, |i| &first[..i]).chars().count();
            Snippet { file: f.shown.clone(), line, col, width, source_line: text, label: label.to_string() }
        };
        let mut snippets = vec![snippet(r.loc, "")];
        let mut related = vec![];
        for (loc, msg) in &r.related {
            let s = snippet(*loc, msg);
            related.push(Related { file: s.file.clone(), line: s.line, column: s.col, message: msg.clone() });
            snippets.push(s);
        }
        report.findings.push(Finding {
            rule: r.rule,
            severity: r.severity,
            file: file.shown.clone(),
            rel: file.rel.clone(),
            line,
            column,
            message: r.message,
            related,
            fix: r.fix,
            snippets,
            page: r.replay.as_ref().and_then(|p| p.open.button).and_then(|b| page_entry(&files[b.file], b)),
            replay: r.replay,
            proof: None,
        });
    }
    report
}

/// `// wxflow-lint-ignore RULE: reason` on the line before.
/// `// wxflow-lint-ignore RULE: reason` comments naming a rule that does
/// not exist: they silence nothing, so each is a finding of its own.
fn unknown_ignores(files: &[SourceFile]) -> Vec<rules::Raw> {
    let mut out = vec![];
    for (i, f) in files.iter().enumerate() {
        for (at, _) in f.text.match_indices("wxflow-lint-ignore") {
            let start = f.text[..at].rfind(['\n', '\r']).map_or(0, |p| p + 1);
            let end = f.text[at..].find(['\n', '\r']).map_or(f.text.len(), |p| at + p);
            for (offset, id) in ignore_names(&f.text[start..end]).unwrap_or_default() {
                // Only what is written like a rule id (`stale-openn-data`);
                // a reason without its colon (`reviewed by bob`) is not.
                let rule_like = id.contains('-') && id.chars().all(|c| c.is_ascii_lowercase() || c == '-');
                if !rule_like || rules::rule(id).is_some() {
                    continue;
                }
                let known: Vec<&str> = rules::RULES.iter().map(|r| r.id).collect();
                let at = (start + offset) as u32;
                out.push(rules::Raw {
                    rule: rules::UNKNOWN_IGNORE.id,
                    severity: rules::UNKNOWN_IGNORE.severity,
                    loc: Loc { file: i, start: at, end: at + id.len() as u32 },
                    message: format!("`wxflow-lint-ignore` names `{id}`, which is no rule: it silences nothing"),
                    related: vec![],
                    fix: format!("{}; the rules: {}", rules::UNKNOWN_IGNORE.fix, known.join(", ")),
                    replay: None,
                });
            }
        }
    }
    out
}

/// The rules a `// wxflow-lint-ignore RULE[, RULE]: reason` line names,
/// each with its byte offset in the line; `None` for any other line.
fn ignore_names(line: &str) -> Option<Vec<(usize, &str)>> {
    let rest = line.trim().strip_prefix("//").map(str::trim).and_then(|r| r.strip_prefix("wxflow-lint-ignore"))?;
    let named = rest.split(':').next().unwrap_or("");
    let base = line.as_ptr() as usize;
    Some(
        named
            .split([',', ' '])
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| (r.as_ptr() as usize - base, r))
            .collect(),
    )
}

fn ignored(file: &SourceFile, line: usize, rule: &str) -> bool {
    let names = line.checked_sub(1).and_then(|l| file.line(l)).and_then(ignore_names);
    names.is_some_and(|names| names.iter().any(|(_, r)| *r == rule))
}
