//! `--output sarif`: SARIF 2.1.0 for code-scanning services.
//!
//! Every check is a rule of the driver (id, slug as `name`, reason, fix as help, default level), so a viewer
//! can explain a result without helm-samza. A result points at the chart template named by `# Source:`, prefixed
//! with `LintSettings::source_root`, at the line of the finding's field in the rendered document (which follows
//! the template's lines wherever no template logic adds or removes lines above it; line 1 when the field is not
//! found), and carries the Kubernetes resource as a logical location, the field and job as properties, and a
//! `partialFingerprints` entry made of what identifies the finding (check, resource, field, job) and not of its
//! line or message, so code scanning recognizes the same finding across runs and edits.

// Not serde-sarif: its builders for the whole 2.1.0 schema spell out the same dozen fields at greater length, and
// what we write is validated against the official SARIF schema in tests (tests/cli/lint.rs, src/lint/tests.rs).
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{Finding, LintDoc, LintInput, LintSettings, Severity, CHECKS};

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
                    let line = f.field.as_deref().map_or(1, |field| field_line(d, field));
                    location.insert(
                        "physicalLocation".into(),
                        json!({"artifactLocation": {"uri": uri}, "region": {"startLine": line}}),
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
            result["partialFingerprints"] = json!({"helmSamzaFinding/v1": fingerprint(f, input)});
            if let Some(reason) = &f.suppressed {
                let mut suppression = json!({"kind": "inSource", "status": "accepted"});
                if !reason.is_empty() {
                    suppression["justification"] = json!(reason);
                }
                result["suppressions"] = json!([suppression]);
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

/// The 1-based line, in the document's text, of `field`: a path like `spec.template.spec.containers[0].resources`
/// or `data.job.properties[KEY]`. Each name is looked for as a mapping key below the previous one's line (list
/// indexes are not counted: the first item with the key is taken); a Samza config key is looked for inside the
/// block. Line 1 when the path cannot be followed.
fn field_line(doc: &LintDoc, field: &str) -> usize {
    let lines: Vec<&str> = doc.text.lines().collect();
    let (path, config_key) = match field.split_once('[') {
        Some((path, rest)) if !rest.starts_with(|c: char| c.is_ascii_digit()) => {
            (path, Some(rest.trim_end_matches(']')))
        }
        _ => (field, None),
    };
    let mut at = 0;
    let mut found = false;
    for name in path
        .split('.')
        .map(|part| part.split('[').next().unwrap_or(part))
    {
        if name.is_empty() {
            continue;
        }
        let key = |line: &str| {
            let line = line.trim_start().trim_start_matches("- ");
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(':'))
                || line
                    .strip_prefix('"')
                    .and_then(|l| l.strip_prefix(name))
                    .is_some_and(|rest| rest.starts_with("\":"))
        };
        match lines.iter().skip(at).position(|l| key(l)) {
            Some(offset) => {
                at += offset;
                found = true;
            }
            // A path such as data.job.properties: the key may be the whole rest of the path.
            None => break,
        }
    }
    if let Some(config_key) = config_key {
        if let Some(offset) = lines.iter().skip(at).position(|l| {
            let l = l.trim_start().trim_start_matches('"');
            l.starts_with(config_key) && l[config_key.len()..].starts_with(['=', ':', ' ', '"'])
        }) {
            at += offset;
            found = true;
        }
    }
    if found {
        at + 1
    } else {
        1
    }
}

/// What makes a finding the same finding in the next run: its check, its resource, its field and its job.
fn fingerprint(f: &Finding, input: &LintInput) -> String {
    let resource = f
        .doc
        .and_then(|i| input.documents.get(i))
        .map(|d| {
            format!(
                "{}/{}/{}",
                d.kind,
                d.namespace.as_deref().unwrap_or(""),
                d.name
            )
        })
        .unwrap_or_default();
    let mut hasher = Sha256::new();
    for part in [
        f.check,
        resource.as_str(),
        f.field.as_deref().unwrap_or(""),
        f.job.as_deref().unwrap_or(""),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}
