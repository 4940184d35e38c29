//! `--output junit`: JUnit XML for CI systems that show test reports, written with quick-junit (the model and
//! serializer cargo-nextest writes its own reports with).
//!
//! One test suite per job (and one for resources outside any job), one test case per check. A case fails
//! when the check has findings at or above the fail level; findings below it are written to the case's
//! `system-out`; checks switched off with `--disable` are skipped. So a clean job shows every check passing.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{Finding, LintInput, LintSettings, CHECKS};

pub fn format_junit(all: &[Finding], input: &LintInput, settings: &LintSettings) -> String {
    // Findings switched off by an annotation are not test failures; the other reports list them.
    let active: Vec<Finding> = all
        .iter()
        .filter(|f| f.suppressed.is_none())
        .cloned()
        .collect();
    let findings = active.as_slice();
    let level = settings.effective_fail_level();
    let mut suites: Vec<(String, Vec<&Finding>)> = input
        .jobs
        .iter()
        .map(|j| {
            (
                format!("job {}", j.name),
                findings
                    .iter()
                    .filter(|f| f.job.as_deref() == Some(&j.name))
                    .collect(),
            )
        })
        .collect();
    suites.push((
        "other resources".to_owned(),
        super::unowned(findings, input),
    ));

    let detail = |fs: &[&&Finding]| {
        fs.iter()
            .map(|f| {
                let at = super::describe_resource(input, f.doc).unwrap_or_default();
                format!(
                    "{}: {} [{at}{}]",
                    f.severity,
                    f.message,
                    f.field.as_ref().map_or(String::new(), |x| format!(" {x}"))
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut report = Report::new("helm-samza lint");
    report.set_time(Duration::ZERO);
    for (suite_name, of_suite) in &suites {
        let mut suite = TestSuite::new(suite_name.as_str());
        suite.set_time(Duration::ZERO);
        for check in CHECKS {
            let hits: Vec<&&Finding> = of_suite.iter().filter(|f| f.check == check.id).collect();
            let (failing, quiet): (Vec<&&Finding>, Vec<&&Finding>) =
                hits.iter().partition(|f| f.severity >= level);
            let status = if settings.disables(check) {
                let mut status = TestCaseStatus::skipped();
                status.set_message("disabled");
                status
            } else if let Some(first) = failing.first() {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status
                    .set_message(first.message.as_str())
                    .set_type(first.severity.as_str())
                    .set_description(detail(&failing));
                status
            } else {
                TestCaseStatus::success()
            };
            let disabled = matches!(status, TestCaseStatus::Skipped { .. });
            let mut case = TestCase::new(format!("{} {}", check.id, check.slug), status);
            case.set_classname(format!("helm-samza.lint.{suite_name}"))
                .set_time(Duration::ZERO);
            if !disabled && !quiet.is_empty() {
                case.set_system_out(detail(&quiet));
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.to_string().expect("JUnit XML of strings serializes")
}
