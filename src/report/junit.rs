//! The JUnit report: one test case per flow (its expectation), flaky flows
//! marked with flaky runs as cargo-nextest does, inconclusive ones as an
//! `error` (not a `failure`: the backend is not blamed), and one per
//! threshold.

use super::RunReport;
use crate::stats::Verdict;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};
use std::time::Duration;

pub fn to_string(r: &RunReport) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new("wxflow");
    let mut suite = TestSuite::new("wxflow run");
    suite.set_time(r.elapsed);
    for f in &r.flows {
        let summary = format!(
            "{} of {} iterations failed{}",
            f.failed,
            f.iterations,
            if f.causes.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    f.causes.iter().map(|(c, n)| format!("{} {n}", c.as_str())).collect::<Vec<_>>().join(", ")
                )
            }
        );
        let diagnosis = f.first_failures.values().next().and_then(|x| x.diagnosis.clone()).unwrap_or_default();
        let mut status = if f.iterations == 0 && f.interrupted {
            let mut s = TestCaseStatus::skipped();
            s.set_message("not run: the run was interrupted before this flow started");
            s
        } else if f.unjudged > 0 {
            // Not a failure of the backend: the tester could not judge.
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            let (causes, diagnosis) = f.unjudged_why();
            s.set_message(format!(
                "inconclusive: {} of {} iterations not judged, the tester's own side failed them ({causes}); {summary}",
                f.unjudged, f.iterations
            ));
            s.set_description(diagnosis);
            s
        } else if f.expectation_met() {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let first = f.first_failures.values().next();
            let at = first.and_then(|x| x.failure_location()).map(|l| format!("{l}: ")).unwrap_or_default();
            // The iteration that broke the expectation, and how to replay it.
            let unmet = match (f.first_unmet, &f.reproduce_unmet) {
                (Some(i), Some(cmd)) => format!("; first iteration that broke it: {i} (reproduce: {cmd})"),
                (Some(i), None) => format!("; first iteration that broke it: {i}"),
                _ => String::new(),
            };
            s.set_message(format!("{at}expected {}: {summary}{unmet}", f.expected));
            let checks = first
                .and_then(|x| x.failed_step())
                .map(|step| step.failures.iter().map(crate::engine::Failure::headline).collect::<Vec<_>>().join("\n"));
            s.set_description(match checks.filter(|c| !c.is_empty()) {
                Some(checks) => format!("{checks}\n{diagnosis}"),
                None => diagnosis.clone(),
            });
            s
        };
        if f.verdict() == Verdict::Flaky {
            let mut rerun = TestRerun::new(NonSuccessKind::Failure);
            rerun.set_message(format!("flaky: {summary}"));
            rerun.set_description(diagnosis);
            status.add_rerun(rerun);
        }
        let mut case = TestCase::new(f.flow.clone(), status);
        case.set_classname(f.file.clone());
        case.set_time(Duration::from_secs_f64(crate::stats::Latency::of(&f.latency).mean / 1e3));
        suite.add_test_case(case);
    }
    for t in &r.thresholds {
        let status = if t.breached {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!("{} is {:.4}, limit {:.4}", t.metric, t.actual, t.limit));
            s
        } else {
            TestCaseStatus::success()
        };
        let mut case = TestCase::new(format!("threshold {}", t.metric), status);
        case.set_classname(t.flow.clone());
        suite.add_test_case(case);
    }
    report.add_test_suite(suite);
    report.to_string().map(|xml| xml_safe(&xml))
}

/// `xml` with every character XML 1.0 forbids (control characters other
/// than tab and line ends, U+FFFE, U+FFFF), which a backend's answer may
/// carry into a diagnosis, replaced by U+FFFD: a JUnit reader refuses the
/// whole file otherwise.
fn xml_safe(xml: &str) -> String {
    let allowed =
        |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    if xml.chars().all(allowed) {
        return xml.to_string();
    }
    xml.chars().map(|c| if allowed(c) { c } else { '\u{FFFD}' }).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn characters_xml_forbids_are_replaced() {
        assert_eq!(super::xml_safe("a\u{FFFE}b\u{1}c\td"), "a\u{FFFD}b\u{FFFD}c\td");
    }
}
