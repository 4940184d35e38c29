//! The default, human-readable report: findings grouped per job, then "other resources", then a summary line.
//!
//! Each finding names the resource as `Kind namespace/name (template)` and the field, like a compiler
//! diagnostic, so it can be found in the chart without reading the rendered stream.

use std::fmt::Write;

use super::{Finding, LintInput, LintSettings, Severity};

pub fn format_text(all: &[Finding], input: &LintInput, settings: &LintSettings) -> String {
    let (suppressed, active): (Vec<Finding>, Vec<Finding>) =
        all.iter().cloned().partition(|f| f.suppressed.is_some());
    let findings = active.as_slice();
    let mut out = String::new();
    for job in &input.jobs {
        let of_job: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.job.as_deref() == Some(job.name.as_str()))
            .collect();
        if of_job.is_empty() {
            let _ = writeln!(out, "job {}: no findings", job.name);
        } else {
            let _ = writeln!(out, "job {}:", job.name);
            for f in of_job {
                write_finding(&mut out, f, input, settings.color);
            }
        }
    }
    let others: Vec<&Finding> = super::unowned(findings, input);
    if !others.is_empty() {
        let _ = writeln!(out, "other resources:");
        for f in others {
            write_finding(&mut out, f, input, settings.color);
        }
    }
    if !suppressed.is_empty() {
        let _ = writeln!(out, "switched off by samza.apache.org/lint-disable:");
        for f in &suppressed {
            let at = super::describe_resource(input, f.doc).unwrap_or_default();
            let reason = match f.suppressed.as_deref() {
                Some("") | None => "no reason given".to_owned(),
                Some(reason) => format!("because: {reason}"),
            };
            let _ = writeln!(
                out,
                "  {}[{} {}] {at}: {reason}",
                f.severity, f.check, f.name
            );
        }
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let level = settings.effective_fail_level();
    let verdict = if super::exit_code(findings, settings) == 0 {
        "passed"
    } else {
        "failed"
    };
    let _ = writeln!(
        out,
        "{}, {}, {} info; lint {verdict} (fails at {level}{})",
        plural(count(Severity::Error), "error"),
        plural(count(Severity::Warning), "warning"),
        count(Severity::Info),
        if settings.strict { ", --strict" } else { "" }
    );
    out
}

fn write_finding(out: &mut String, f: &Finding, input: &LintInput, color: bool) {
    let severity = match (color, f.severity) {
        (false, severity) => severity.to_string(),
        (true, Severity::Error) => format!("\x1b[31;1m{}\x1b[0m", f.severity),
        (true, Severity::Warning) => format!("\x1b[33m{}\x1b[0m", f.severity),
        (true, Severity::Info) => format!("\x1b[36m{}\x1b[0m", f.severity),
    };
    let _ = writeln!(out, "  {severity}[{} {}] {}", f.check, f.name, f.message);
    let mut at = super::describe_resource(input, f.doc).unwrap_or_default();
    if let Some(field) = &f.field {
        if !at.is_empty() {
            at.push_str(", ");
        }
        at.push_str(field);
    }
    if !at.is_empty() {
        let _ = writeln!(out, "      at {at}");
    }
    let _ = writeln!(out, "      why: {}", f.reason());
}
