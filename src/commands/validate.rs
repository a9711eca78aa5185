//! `wxflow validate` and `wxflow schema`: flows checked without running them, and the published schemas.

use crate::exit::InvalidInput;
use crate::flow::vars::Outside;
use std::process::ExitCode;

/// Loads and checks flows, knowing the variables given from `outside`;
/// prints every error, and a warning for a variable no flow uses (one set
/// of values serves many flows). `Err` means exit 2.
pub fn load_flows(paths: &[std::path::PathBuf], outside: &Outside) -> Result<Vec<crate::flow::Flow>, InvalidInput> {
    if let Some(name) = outside.0.keys().find(|n| crate::flow::check::BUILTINS.contains(&n.as_str())) {
        return Err(InvalidInput(format!(
            "variable `{name}` ({}): `{name}` is a builtin every flow gets ({}); give your variable another name",
            outside.0[name].source,
            crate::flow::check::BUILTINS.join(", ")
        )));
    }
    let (files, notes) = crate::flow::discover(paths).map_err(InvalidInput)?;
    for n in notes {
        eprintln!("{n}");
    }
    let (flows, errors) = crate::flow::load_all(&files, &outside.names());
    if !errors.is_empty() {
        for e in &errors {
            eprintln!(
                "{}\n",
                e.render(crate::diagnostic::color_for(std::io::IsTerminal::is_terminal(&std::io::stderr())))
            );
        }
        let n = errors.len();
        return Err(InvalidInput(format!("{n} error{} in flow files; nothing was run", if n == 1 { "" } else { "s" })));
    }
    for (name, v) in &outside.0 {
        if !flows.iter().any(|f| f.uses.contains(name)) {
            eprintln!("warning: variable `{name}` ({}) is used by no flow", v.source);
        }
    }
    Ok(flows)
}

/// `wxflow validate`: checks flows; exit 0 when all are valid, else 2.
pub fn validate(args: crate::cli::ValidateArgs) -> Result<ExitCode, InvalidInput> {
    let flows = load_flows(&crate::cli::flow_paths(&args.paths), &args.vars.gather()?)?;
    for f in &flows {
        crate::outln!("ok  {}  {} steps  {}", f.file, f.steps.len(), f.name);
    }
    crate::outln!("{} flow{} valid", flows.len(), if flows.len() == 1 { "" } else { "s" });
    Ok(ExitCode::SUCCESS)
}

/// The published JSON Schemas.
pub const FLOW_SCHEMA: &str = include_str!("../../schemas/flow.schema.json");
pub const REPORT_SCHEMA: &str = include_str!("../../schemas/report.schema.json");
pub const MUTATE_SCHEMA: &str = include_str!("../../schemas/mutate.schema.json");
pub const LINT_SCHEMA: &str = include_str!("../../schemas/lint.schema.json");

/// `wxflow schema [flow|report]`.
pub fn schema(args: crate::cli::SchemaArgs) -> Result<ExitCode, InvalidInput> {
    crate::out!(
        "{}",
        match args.kind {
            crate::cli::SchemaKind::Flow => FLOW_SCHEMA,
            crate::cli::SchemaKind::Report => REPORT_SCHEMA,
            crate::cli::SchemaKind::Mutate => MUTATE_SCHEMA,
            crate::cli::SchemaKind::Lint => LINT_SCHEMA,
        }
    );
    Ok(ExitCode::SUCCESS)
}
