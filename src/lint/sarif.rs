//! `--output sarif`: SARIF 2.1.0 for code-scanning services.
//!
//! Every check is a rule of the driver (id, slug as `name`, reason, fix as help, default level), so a viewer
//! can explain a result without helm-samza. Rendered manifests have no line numbers of their own; a result
//! points at the chart template named by `# Source:` (line 1, as the template's lines differ from the rendered
//! ones), prefixed with `LintSettings::source_root`, and carries the Kubernetes resource as a logical
//! location and the field and job as properties.

// Not serde-sarif: its builders for the whole 2.1.0 schema spell out the same dozen fields at greater length, and
// what we write is validated against the official SARIF schema in tests (tests/cli/lint.rs, src/lint/tests.rs).
use serde_json::{json, Value};

use super::{Finding, LintInput, LintSettings, Severity, CHECKS};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

pub fn format_sarif(findings: &[Finding], input: &LintInput, settings: &LintSettings) -> String {
    let rules: Vec<Value> = CHECKS
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.slug,
                "shortDescription": {"text": c.reason},
                "fullDescription": {"text": format!("{} {}", c.reason, c.fix)},
                "help": {"text": c.fix},
                "defaultConfiguration": {"level": level(c.severity)},
                "properties": {"tags": [c.id[..3].to_owned() + "xx"]},
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let rule_index = CHECKS
                .iter()
                .position(|c| c.id == f.check)
                .expect("findings come from the catalogue");
            let mut location = serde_json::Map::new();
            if let Some(d) = f.doc.and_then(|i| input.documents.get(i)) {
                if let Some(source) = &d.source {
                    let uri = match settings
                        .source_root
                        .as_deref()
                        .map(|r| r.trim_end_matches('/'))
                    {
                        Some(root) if !root.is_empty() && root != "." => format!("{root}/{source}"),
                        _ => source.clone(),
                    };
                    location.insert(
                        "physicalLocation".into(),
                        json!({"artifactLocation": {"uri": uri}, "region": {"startLine": 1}}),
                    );
                }
                let qualified = match &d.namespace {
                    Some(ns) => format!("{}/{ns}/{}", d.kind, d.name),
                    None => format!("{}/{}", d.kind, d.name),
                };
                location.insert(
                    "logicalLocations".into(),
                    json!([{"name": d.name, "fullyQualifiedName": qualified, "kind": "resource"}]),
                );
            }
            let mut result = json!({
                "ruleId": f.check,
                "ruleIndex": rule_index,
                "level": level(f.severity),
                "message": {"text": f.message},
                "properties": {"job": f.job, "field": f.field, "slug": f.name},
            });
            if !location.is_empty() {
                result["locations"] = json!([Value::Object(location)]);
            }
            result
        })
        .collect();
    let failed = super::exit_code(findings, settings) != 0;
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "helm-samza",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": rules,
            }},
            "invocations": [{"executionSuccessful": true, "exitCode": i32::from(failed)}],
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).expect("a JSON value always serializes");
    text.push('\n');
    text
}
