//! `--output json`: one object with a summary and every finding, each naming its resource in full, for
//! scripts and dashboards. The shape is documented in docs/lint.md and only grows.

use serde_json::{json, Value};

use super::{exit_code, Finding, LintInput, LintSettings, Severity};

pub fn format_json(all: &[Finding], input: &LintInput, settings: &LintSettings) -> String {
    let (suppressed, findings): (Vec<&Finding>, Vec<&Finding>) =
        all.iter().partition(|f| f.suppressed.is_some());
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let item = |f: &Finding| {
        let resource = f.doc.and_then(|i| input.documents.get(i)).map(|d| {
            json!({
                "kind": d.kind,
                "name": d.name,
                "namespace": d.namespace,
                "source": d.source,
                "document": d.index,
            })
        });
        json!({
            "check": f.check,
            "name": f.name,
            "severity": f.severity,
            "job": f.job,
            "resource": resource,
            "field": f.field,
            "message": f.message,
            "reason": f.reason(),
        })
    };
    let items: Vec<Value> = findings.iter().map(|f| item(f)).collect();
    let suppressed: Vec<Value> = suppressed
        .iter()
        .map(|f| {
            let mut value = item(f);
            value["suppressed_because"] = json!(f.suppressed);
            value
        })
        .collect();
    let report = json!({
        "summary": {
            "errors": count(Severity::Error),
            "warnings": count(Severity::Warning),
            "info": count(Severity::Info),
            "fail_level": settings.effective_fail_level(),
            "failed": exit_code(all, settings) != 0,
            "jobs": input.jobs.iter().map(|j| j.name.as_str()).collect::<Vec<_>>(),
        },
        "findings": items,
        "suppressed": suppressed,
    });
    let mut text = serde_json::to_string_pretty(&report).expect("a JSON value always serializes");
    text.push('\n');
    text
}
