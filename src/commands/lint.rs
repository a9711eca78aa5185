//! `wxflow lint`: the Mini Program's source read for its login bugs.
//! Exit 0 without an error-level finding, 1 with one (`--deny warnings`:
//! warnings too), 2 on bad input.

use crate::cli::{LintArgs, LintDeny, LintFormat};
use crate::diagnostic::{Severity, color_for};
use crate::exit::{EXIT_FAILED, InvalidInput};
use crate::lint::{flows, output};
use std::io::IsTerminal;
use std::process::ExitCode;

pub fn lint(args: LintArgs) -> Result<ExitCode, InvalidInput> {
    std::thread::Builder::new()
        .name("lint".into())
        .stack_size(crate::lint::STACK_BYTES)
        .spawn(move || lint_on_this_thread(args))
        .map_err(|e| InvalidInput(format!("lint: cannot start: {e}")))?
        .join()
        .map_err(|_| InvalidInput("lint: the analysis failed; please report it with the files linted".into()))?
}

fn lint_on_this_thread(args: LintArgs) -> Result<ExitCode, InvalidInput> {
    if let Some(id) = &args.explain {
        let rules = crate::lint::rules::RULES;
        let Some(rule) = crate::lint::rules::rule(id) else {
            let ids: Vec<&str> = rules.iter().map(|r| r.id).collect();
            return Err(InvalidInput(format!("lint --explain: no rule `{id}`; the rules: {}", ids.join(", "))));
        };
        crate::out!("{}", output::explain(rule));
        return Ok(ExitCode::SUCCESS);
    }
    let paths = if args.paths.is_empty() { vec![".".into()] } else { args.paths.clone() };
    let mut report = crate::lint::lint(&paths).map_err(|e| InvalidInput(format!("lint: {e}")))?;
    if args.prove {
        crate::lint::prove::prove(&mut report.findings).map_err(|e| InvalidInput(format!("lint --prove: {e}")))?;
    }
    match args.format {
        LintFormat::Human => crate::out!("{}", output::human(&report, color_for(std::io::stdout().is_terminal()))),
        LintFormat::Json => {
            crate::outln!("{}", serde_json::to_string_pretty(&output::json(&report)).unwrap_or_default());
        }
        LintFormat::Sarif => {
            crate::outln!("{}", serde_json::to_string_pretty(&output::sarif(&report)).unwrap_or_default());
        }
    }
    if let Some(dir) = &args.emit_flows {
        emit_flows(&report, dir, args.force)?;
    }
    let failing = report.count(Severity::Error)
        + if args.deny == Some(LintDeny::Warnings) { report.count(Severity::Warning) } else { 0 };
    Ok(if failing > 0 { ExitCode::from(EXIT_FAILED) } else { ExitCode::SUCCESS })
}

/// Writes a flow per finding that has one into `dir`. Names that collide
/// (`pages/a-b.js` and `pages/a/b.js` both give `…-pages-a-b-js-…`) get a
/// number; a file already there is left alone unless `force`, and a
/// symlink is never written through.
fn emit_flows(report: &crate::lint::Report, dir: &std::path::Path, force: bool) -> Result<(), InvalidInput> {
    let failed = |path: &std::path::Path, e: &dyn std::fmt::Display| {
        InvalidInput(format!("--emit-flows {}: {e}", path.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| failed(dir, &e))?;
    let (mut written, mut kept, mut names) = (0, vec![], std::collections::HashSet::new());
    let texts = report.findings.iter().flat_map(|f| {
        let modelled = flows::flow_for(f).map(|t| (t, flows::file_name(f)));
        let page = flows::page_flow_for(f, dir).map(|t| (t, flows::file_name(f).replace(".yaml", "-page.yaml")));
        modelled.into_iter().chain(page)
    });
    for (text, name) in texts {
        let stem = name.trim_end_matches(".yaml");
        let mut name = name.clone();
        for n in 2.. {
            if names.insert(name.clone()) {
                break;
            }
            name = format!("{stem}-{n}.yaml");
        }
        match super::write_new(&dir.join(&name), &text, force) {
            Ok(true) => written += 1,
            Ok(false) => kept.push(name),
            Err(e) => return Err(InvalidInput(format!("--emit-flows {e}"))),
        }
    }
    eprintln!("wrote {written} flow{} to {}", if written == 1 { "" } else { "s" }, dir.display());
    if !kept.is_empty() {
        eprintln!(
            "kept {} existing file{} (--force overwrites): {}",
            kept.len(),
            if kept.len() == 1 { "" } else { "s" },
            kept.join(", ")
        );
    }
    Ok(())
}
