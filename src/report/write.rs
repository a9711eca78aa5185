//! Writing reports safely: every path checked and its file opened before
//! the run (so a 30-minute run never ends in "cannot write", not even one
//! that ran out of descriptors), each report written whole (a temporary
//! file renamed into place), one failure not stopping the rest.

use super::RunReport;
use super::{ReportKind, ReportSpec};
use crate::exit::InvalidInput;
use crate::flow::Flow;
use std::path::PathBuf;

fn invalid(msg: impl Into<String>) -> InvalidInput {
    InvalidInput(msg.into())
}

/// Refuses, before anything runs, report paths that could not be written
/// at the end: a missing parent, a directory, no write permission, two
/// reports on one path, or a report over one of the flow files.
pub fn check_report_paths(reports: &[ReportSpec], flows: &[Flow]) -> Result<(), InvalidInput> {
    let canon = |p: &std::path::Path| -> Option<PathBuf> {
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.canonicalize().ok()?,
            _ => std::env::current_dir().ok()?,
        };
        Some(parent.join(p.file_name()?))
    };
    let flow_files: Vec<PathBuf> = flows.iter().filter_map(|f| std::fs::canonicalize(&f.file).ok()).collect();
    let mut seen: Vec<PathBuf> = vec![];
    for ReportSpec { path, .. } in reports {
        let shown = path.display();
        if path.is_dir() {
            return Err(invalid(format!("--report {shown}: is a directory; name a file")));
        }
        let Some(full) = canon(path) else {
            return Err(invalid(format!("--report {shown}: its directory does not exist")));
        };
        if seen.contains(&full) {
            return Err(invalid(format!("--report {shown}: two reports on one path; give each its own")));
        }
        if flow_files.contains(&full) {
            return Err(invalid(format!(
                "--report {shown}: is one of the flow files being run; it would be overwritten"
            )));
        }
        let existed = full.exists();
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&full)
            .map_err(|e| invalid(format!("--report {shown}: cannot be written: {e}")))?;
        if !existed {
            let _ = std::fs::remove_file(&full);
        }
        seen.push(full);
    }
    Ok(())
}

/// A report file opened before the run: its temporary file already holds a
/// descriptor, so a run that runs out of descriptors still writes it.
pub struct Opened {
    pub spec: ReportSpec,
    tmp: PathBuf,
    file: std::fs::File,
}

/// Opens every report's temporary file (`PATH.wxflow-tmp`, renamed into
/// place when written).
pub fn open_reports(reports: &[ReportSpec]) -> Result<Vec<Opened>, InvalidInput> {
    reports
        .iter()
        .map(|spec| {
            let mut tmp = spec.path.clone().into_os_string();
            tmp.push(".wxflow-tmp");
            let tmp = PathBuf::from(tmp);
            let file = std::fs::File::create(&tmp)
                .map_err(|e| invalid(format!("--report {}: cannot be written: {e}", spec.path.display())))?;
            Ok(Opened { spec: spec.clone(), tmp, file })
        })
        .collect()
}

impl Opened {
    /// Writes `body` whole and renames it into place; says what happened.
    /// False if it could not.
    pub fn write(mut self, body: Result<String, String>) -> bool {
        use std::io::Write as _;
        let path = &self.spec.path;
        let written = body.and_then(|body| {
            self.file
                .write_all(body.as_bytes())
                .and_then(|()| self.file.sync_all())
                .and_then(|()| std::fs::rename(&self.tmp, path))
                .map_err(|e| format!("cannot write report {}: {e}", path.display()))
        });
        match written {
            Ok(()) => {
                eprintln!("wrote {} report to {}", self.spec.kind.name(), path.display());
                true
            }
            Err(e) => {
                eprintln!("error: {e}");
                false
            }
        }
    }
}

/// A report never written (the run ended in an error first) leaves no
/// temporary file behind.
impl Drop for Opened {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// Writes every report, each whole or not at all. One that fails does not
/// stop the others; false if any failed.
pub fn write_reports(report: &RunReport, reports: Vec<Opened>) -> bool {
    let mut ok = true;
    for opened in reports {
        let body = match opened.spec.kind {
            ReportKind::Json => {
                Ok(serde_json::to_string_pretty(&crate::report::json::to_value(report)).unwrap_or_default())
            }
            ReportKind::Junit => crate::report::junit::to_string(report).map_err(|e| format!("JUnit report: {e}")),
            ReportKind::Html => Ok(crate::report::html::to_string(report)),
        };
        ok &= opened.write(body);
    }
    ok
}
