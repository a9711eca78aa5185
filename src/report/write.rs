//! Writing reports safely: every path checked and its file opened before
//! the run (so a 30-minute run never ends in "cannot write", not even one
//! that ran out of descriptors), each report written whole (a temporary
//! file renamed into place), one failure not stopping the rest. A path
//! that is a symlink is followed (the link stays; its target is written);
//! one that is not a regular file (`/dev/stdout`, a FIFO) is written
//! through, never replaced; no report is written over an input of the run.

use super::RunReport;
use super::{ReportKind, ReportSpec};
use crate::exit::InvalidInput;
use crate::flow::Flow;
use std::path::PathBuf;

fn invalid(msg: impl Into<String>) -> InvalidInput {
    InvalidInput(msg.into())
}

/// The flow files of a run: the inputs no report may overwrite.
pub fn flow_files(flows: &[Flow]) -> Vec<PathBuf> {
    flows.iter().map(|f| PathBuf::from(&f.file)).collect()
}

/// Where writing `p` lands: its real path (links followed) when it exists,
/// else its real folder joined with its name.
fn landing(p: &std::path::Path) -> Option<PathBuf> {
    if let Ok(real) = p.canonicalize() {
        return Some(real);
    }
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.canonicalize().ok()?,
        _ => std::env::current_dir().ok()?,
    };
    Some(parent.join(p.file_name()?))
}

/// Refuses, before anything runs, report paths that could not be written
/// at the end: a missing parent, a directory, no write permission, two
/// reports on one path, or a report over one of the run's inputs (its
/// flow files, a merge's shards), through links too.
pub fn check_report_paths(reports: &[ReportSpec], inputs: &[PathBuf]) -> Result<(), InvalidInput> {
    let flow_files: Vec<PathBuf> = inputs.iter().filter_map(|f| std::fs::canonicalize(f).ok()).collect();
    let mut seen: Vec<PathBuf> = vec![];
    for ReportSpec { path, .. } in reports {
        let shown = path.display();
        if path.is_dir() {
            return Err(invalid(format!("--report {shown}: is a directory; name a file")));
        }
        let Some(full) = landing(path) else {
            return Err(invalid(format!("--report {shown}: its directory does not exist")));
        };
        if seen.contains(&full) {
            return Err(invalid(format!("--report {shown}: two reports on one path; give each its own")));
        }
        if flow_files.contains(&full) {
            return Err(invalid(format!("--report {shown}: is one of this run's inputs; it would be overwritten")));
        }
        if full.exists() && !full.is_file() {
            // Written through at the end: opened then, not here (a FIFO
            // without a reader is refused by `open_reports`).
            seen.push(full);
            continue;
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
    /// The temporary file and the real path it is renamed to; `None` when
    /// the report is written through (a device, a FIFO).
    tmp: Option<(PathBuf, PathBuf)>,
    file: std::fs::File,
}

/// Opens every report's temporary file (`REAL.wxflow-tmp` beside the
/// real path a link points at, renamed onto it when written), or, for a
/// path that is not a regular file, the path itself.
pub fn open_reports(reports: &[ReportSpec]) -> Result<Vec<Opened>, InvalidInput> {
    reports
        .iter()
        .map(|spec| {
            let cannot =
                |e: std::io::Error| invalid(format!("--report {}: cannot be written: {e}", spec.path.display()));
            let real = landing(&spec.path).unwrap_or_else(|| spec.path.clone());
            if real.exists() && !real.is_file() {
                let mut options = std::fs::OpenOptions::new();
                options.write(true);
                // A FIFO with no reader is refused at once, not waited on.
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
                let file = options.open(&real).map_err(cannot)?;
                return Ok(Opened { spec: spec.clone(), tmp: None, file });
            }
            let mut tmp = real.clone().into_os_string();
            tmp.push(".wxflow-tmp");
            let tmp = PathBuf::from(tmp);
            let file = std::fs::File::create(&tmp).map_err(cannot)?;
            Ok(Opened { spec: spec.clone(), tmp: Some((tmp, real)), file })
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
            let mut done = self.file.write_all(body.as_bytes());
            if let Some((tmp, real)) = &self.tmp {
                done = done.and_then(|()| self.file.sync_all()).and_then(|()| std::fs::rename(tmp, real));
            }
            done.map_err(|e| format!("cannot write report {}: {e}", path.display()))
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
        if let Some((tmp, _)) = &self.tmp {
            let _ = std::fs::remove_file(tmp);
        }
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
