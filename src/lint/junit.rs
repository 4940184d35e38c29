//! `--output junit`: JUnit XML for CI systems that show test reports.
//!
//! One test suite per job (and one for resources outside any job), one test case per check. A case fails
//! when the check has findings at or above the fail level; findings below it are written to the case's
//! `system-out`; checks switched off with `--disable` are skipped. So a clean job shows every check passing.

use std::fmt::Write;

use super::{Finding, LintInput, LintSettings, CHECKS};

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry other control characters at all.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

pub fn format_junit(findings: &[Finding], input: &LintInput, settings: &LintSettings) -> String {
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
    let others: Vec<&Finding> = super::unowned(findings, input);
    suites.push(("other resources".to_owned(), others));

    let mut body = String::new();
    let (mut total_tests, mut total_failures, mut total_skipped) = (0, 0, 0);
    for (suite, of_suite) in &suites {
        let mut cases = String::new();
        let (mut failures, mut skipped) = (0, 0);
        for check in CHECKS {
            let hits: Vec<&&Finding> = of_suite.iter().filter(|f| f.check == check.id).collect();
            let name = escape(&format!("{} {}", check.id, check.slug));
            let classname = escape(&format!("helm-samza.lint.{suite}"));
            let _ = write!(
                cases,
                "    <testcase classname=\"{classname}\" name=\"{name}\" time=\"0\">"
            );
            if settings.disables(check) {
                skipped += 1;
                let _ = write!(cases, "<skipped message=\"disabled\"/>");
            } else {
                let (failing, quiet): (Vec<&&Finding>, Vec<&&Finding>) =
                    hits.iter().partition(|f| f.severity >= level);
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
                if !failing.is_empty() {
                    failures += 1;
                    let _ = write!(
                        cases,
                        "<failure message=\"{}\" type=\"{}\">{}</failure>",
                        escape(&failing[0].message),
                        failing[0].severity,
                        escape(&detail(&failing))
                    );
                }
                if !quiet.is_empty() {
                    let _ = write!(
                        cases,
                        "<system-out>{}</system-out>",
                        escape(&detail(&quiet))
                    );
                }
            }
            cases.push_str("</testcase>\n");
        }
        let _ = writeln!(
            body,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"0\">\n{cases}  </testsuite>",
            escape(suite),
            CHECKS.len()
        );
        total_tests += CHECKS.len();
        total_failures += failures;
        total_skipped += skipped;
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"helm-samza lint\" tests=\"{total_tests}\" \
         failures=\"{total_failures}\" errors=\"0\" skipped=\"{total_skipped}\" time=\"0\">\n{body}</testsuites>\n"
    )
}
