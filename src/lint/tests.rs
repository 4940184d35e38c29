//! Fixture tests: `tests/fixtures/lint/clean.yaml` is a post-rendered stream of the samza-job chart that must
//! trigger no check; each `tests/fixtures/lint/<slug>/` is that stream with one defect, written as a delta on it
//! (`delta.yaml`: the documents that replace the base's of the same kind and name, or are added; `removed.txt`:
//! `Kind/name` of documents left out; `model.json` when the model facts differ), and must trigger exactly its
//! check. The formats are checked by real readers: the SARIF 2.1.0 JSON schema and a JUnit XML parser, run from
//! `.tools/venv`.
//!
//! The loader below is the test's stand-in for the post-render pipeline: it splits the stream, reads each
//! document into a JSON value, finds jobs by their labels and parses the properties. Model facts come from a
//! sidecar `model.json` (job name → `ModelFacts` fields, or `{"error": "..."}`), since planning is not the
//! linter's business.

use std::path::{Path, PathBuf};
use std::process::Command;

use indexmap::IndexMap;
use serde_json::Value;

use super::*;
use crate::samza::Config;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/lint")
}

/// A rendered stream cut at `---` lines, each piece without its separator line.
fn chunks(text: &str) -> Vec<String> {
    let mut chunks: Vec<String> = vec![String::new()];
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            chunks.push(String::new());
        } else {
            chunks.last_mut().expect("never empty").push_str(line);
        }
    }
    chunks
}

/// `Kind/name` of a document, `None` for an empty or comment-only one.
fn kind_and_name(chunk: &str) -> Option<String> {
    let value: Value =
        serde_saphyr::from_str(chunk).unwrap_or_else(|e| panic!("fixture YAML: {e}\n{chunk}"));
    let text_of = |p: &str| value.pointer(p).and_then(Value::as_str).unwrap_or_default();
    (!value.is_null()).then(|| format!("{}/{}", text_of("/kind"), text_of("/metadata/name")))
}

/// `clean.yaml` with a fixture's delta applied: documents replaced in place, left out, or added at the end.
fn with_delta(dir: &Path) -> String {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let delta: Vec<(String, String)> = chunks(&read("delta.yaml"))
        .into_iter()
        .filter_map(|c| Some((kind_and_name(&c)?, c)))
        .collect();
    let removed = read("removed.txt");
    let removed: Vec<&str> = removed.lines().collect();
    let base = std::fs::read_to_string(fixtures().join("clean.yaml")).expect("clean.yaml");
    let mut used = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for chunk in chunks(&base) {
        let key = kind_and_name(&chunk);
        if key.as_deref().is_some_and(|k| removed.contains(&k)) {
            used.push(key.expect("just matched"));
            continue;
        }
        match delta.iter().find(|(k, _)| Some(k) == key.as_ref()) {
            Some((k, replacement)) => {
                used.push(k.clone());
                out.push(replacement.clone());
            }
            None => out.push(chunk),
        }
    }
    for gone in &removed {
        assert!(
            used.iter().any(|u| u == gone),
            "{}: removed.txt names {gone}, which clean.yaml does not hold",
            dir.display()
        );
    }
    out.extend(
        delta
            .iter()
            .filter(|(k, _)| !used.contains(k))
            .map(|(_, c)| c.clone()),
    );
    out.join("---\n")
}

/// Splits a rendered stream at `---` lines and reads every non-empty document.
fn load_documents(text: &str) -> Vec<LintDoc> {
    let mut documents = Vec::new();
    for chunk in chunks(text) {
        let value: Value =
            serde_saphyr::from_str(&chunk).unwrap_or_else(|e| panic!("fixture YAML: {e}\n{chunk}"));
        if value.is_null() {
            continue;
        }
        let source = chunk
            .lines()
            .find_map(|l| l.strip_prefix("# Source: "))
            .map(str::to_owned)
            .or_else(|| {
                annotation(&value, "postrenderer.helm.sh/postrender-filename").map(str::to_owned)
            });
        let text_of = |p: &str| value.pointer(p).and_then(Value::as_str).map(str::to_owned);
        documents.push(LintDoc {
            index: documents.len(),
            source,
            kind: text_of("/kind").unwrap_or_default(),
            name: text_of("/metadata/name").unwrap_or_default(),
            namespace: text_of("/metadata/namespace"),
            raw_len: chunk.len(),
            text: chunk.clone(),
            value,
        });
    }
    documents
}

/// Changes a job's config as a map (keys removed, kept or added in place).
fn edit(config: &mut Config, change: impl FnOnce(&mut IndexMap<String, String>)) {
    let mut map = std::mem::take(config).into_map();
    change(&mut map);
    *config = Config::from_map(map);
}

/// Properties text as Samza reads it (the one properties reader, `samza::properties`).
fn parse_properties(text: &str) -> Config {
    Config::from_properties(text).expect("properties Java can read")
}

fn load(text: &str, model: &Path) -> LintInput {
    let documents = load_documents(text);
    let models: serde_json::Map<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(model).unwrap_or_else(|e| panic!("{}: {e}", model.display())),
    )
    .expect("model.json is a map of job name to facts");
    let mut jobs: Vec<LintJob> = Vec::new();
    for doc in &documents {
        let Some(name) = label(&doc.value, "samza.apache.org/job") else {
            continue;
        };
        if !jobs.iter().any(|j| j.name == name) {
            let facts = models
                .get(name)
                .unwrap_or_else(|| panic!("{} has no facts for job {name}", model.display()));
            let model = match facts.get("error").and_then(Value::as_str) {
                Some(e) => Err(e.to_owned()),
                None => Ok(serde_json::from_value(facts.clone()).expect("ModelFacts fields")),
            };
            jobs.push(LintJob {
                name: name.to_owned(),
                config_doc: None,
                worker_docs: vec![],
                coordinator_docs: vec![],
                config: Config::default(),
                model,
            });
        }
        let job = jobs
            .iter_mut()
            .find(|j| j.name == name)
            .expect("just added");
        match label(&doc.value, "samza.apache.org/role") {
            Some("config") => {
                job.config_doc = Some(doc.index);
                if let Some(props) = doc
                    .value
                    .pointer("/data/job.properties")
                    .and_then(Value::as_str)
                {
                    job.config = parse_properties(props);
                } else if let Some(yaml) =
                    doc.value.pointer("/data/job.yaml").and_then(Value::as_str)
                {
                    job.config =
                        crate::job_config::config_from_yaml(yaml).expect("job.yaml is a map");
                }
            }
            Some("worker") if doc.kind == "StatefulSet" => {
                if label(&doc.value, "samza.apache.org/standby-replica").is_some() {
                    job.worker_docs.push(doc.index);
                } else {
                    job.worker_docs.insert(0, doc.index);
                }
            }
            Some("coordinator") if doc.kind == "Deployment" => job.coordinator_docs.push(doc.index),
            _ => {}
        }
    }
    LintInput { documents, jobs }
}

fn load_fixture(slug: &str) -> LintInput {
    let dir = fixtures().join(slug);
    let model = Some(dir.join("model.json"))
        .filter(|m| m.is_file())
        .unwrap_or_else(|| fixtures().join("clean.model.json"));
    load(&with_delta(&dir), &model)
}

fn load_clean() -> LintInput {
    let base = std::fs::read_to_string(fixtures().join("clean.yaml")).expect("clean.yaml");
    load(&base, &fixtures().join("clean.model.json"))
}

fn ids(findings: &[Finding]) -> Vec<&'static str> {
    let mut ids: Vec<_> = findings.iter().map(|f| f.check).collect();
    ids.dedup();
    ids
}

/// Fixture directory → the checks it must trigger (its own, plus any the defect implies in real life).
const EXPECTED: &[(&str, &[&str])] = &[
    ("missing-required-key", &["SZ101"]),
    ("unknown-key", &["SZ102"]),
    ("undefined-system", &["SZ103"]),
    ("changelog-without-system", &["SZ104"]),
    ("undefined-serde", &["SZ105"]),
    // helm-samza's planner cannot plan an unknown grouper either.
    ("unknown-grouper", &["SZ106", "SZ201"]),
    ("model-refused", &["SZ201"]),
    ("idle-containers", &["SZ202"]),
    ("uneven-containers", &["SZ203"]),
    ("changelog-topic-partitions", &["SZ204"]),
    ("changelog-partitions-exceed-tasks", &["SZ205"]),
    ("unsafe-change", &["SZ206"]),
    ("heap-exceeds-limit", &["SZ301"]),
    ("heap-headroom", &["SZ302"]),
    ("missing-resources", &["SZ303"]),
    // A model of 40 MiB of JSON (some 200,000 partitions) against the coordinator's 128 MiB.
    ("coordinator-memory", &["SZ304"]),
    ("missing-pdb", &["SZ401"]),
    ("missing-probes", &["SZ402"]),
    ("missing-anti-affinity", &["SZ403"]),
    ("state-volume", &["SZ404"]),
    ("grace-period", &["SZ405"]),
    // Above 1 MiB is far above what client-side apply can carry.
    ("configmap-size", &["SZ406", "SZ407"]),
    ("client-side-apply-size", &["SZ407"]),
    ("release-size", &["SZ408"]),
    ("security-context", &["SZ501"]),
    ("rbac-wildcard", &["SZ502"]),
    ("service-account-token", &["SZ503"]),
    ("plaintext-secret", &["SZ504"]),
];

#[test]
fn clean_chart_triggers_nothing_even_strict() {
    let input = load_clean();
    assert_eq!(input.jobs.len(), 1);
    assert!(input.jobs[0].config_doc.is_some() && !input.jobs[0].worker_docs.is_empty());
    let settings = LintSettings {
        strict: true,
        ..Default::default()
    };
    let findings = lint(&input, &settings);
    assert!(
        findings.is_empty(),
        "{}",
        format_text(&findings, &input, &settings)
    );
    assert_eq!(exit_code(&findings, &settings), 0);
}

#[test]
fn every_check_has_a_fixture_that_triggers_exactly_it() {
    for check in CHECKS {
        let dir = fixtures().join(check.slug);
        assert!(
            ["delta.yaml", "removed.txt", "model.json"]
                .iter()
                .any(|f| dir.join(f).is_file()),
            "no fixture for {} ({})",
            check.id,
            check.slug
        );
        assert!(
            EXPECTED.iter().any(|(slug, _)| *slug == check.slug),
            "{} missing from EXPECTED",
            check.slug
        );
    }
    let mut failures = Vec::new();
    for (slug, expected) in EXPECTED {
        let input = load_fixture(slug);
        let findings = lint(&input, &LintSettings::default());
        let mut got = ids(&findings);
        got.sort();
        got.dedup();
        if got != *expected {
            failures.push(format!(
                "{slug}: expected {expected:?}, got {got:?}\n{}",
                format_text(&findings, &input, &LintSettings::default())
            ));
        }
        // Every finding names the resource and, for config and field checks, the field.
        for f in &findings {
            assert!(f.doc.is_some(), "{slug}: {} names no resource", f.check);
            assert!(!f.message.is_empty() && !f.reason().is_empty());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn findings_name_the_field_and_source() {
    let input = load_fixture("unknown-key");
    let findings = lint(&input, &LintSettings::default());
    assert_eq!(findings.len(), 1);
    let f = &findings[0];
    assert_eq!(
        f.field.as_deref(),
        Some("data.job.properties[job.contaner.count]")
    );
    assert!(
        f.message.contains("did you mean 'job.container.count'?"),
        "{}",
        f.message
    );
    assert_eq!(f.job.as_deref(), Some("page-view-counter"));
    let doc = &input.documents[f.doc.expect("names the ConfigMap")];
    assert_eq!(
        (doc.kind.as_str(), doc.name.as_str()),
        ("ConfigMap", "pvc-samza-job-config")
    );
    assert_eq!(
        doc.source.as_deref(),
        Some("samza-job/templates/configmap.yaml")
    );

    let input = load_fixture("heap-headroom");
    let findings = lint(&input, &LintSettings::default());
    assert_eq!(
        findings[0].field.as_deref(),
        Some("spec.template.spec.containers[0].env[JAVA_OPTS]")
    );
    assert!(
        findings[0].message.contains("900 MiB"),
        "{}",
        findings[0].message
    );
}

#[test]
fn settings_disable_by_id_or_slug() {
    let input = load_fixture("heap-headroom");
    for name in ["SZ302", "heap-headroom", "sz302"] {
        let settings = LintSettings {
            disabled: [name.to_owned()].into(),
            ..Default::default()
        };
        assert!(lint(&input, &settings).is_empty(), "--disable {name}");
    }
    let settings = LintSettings {
        disabled: ["SZ301".to_owned()].into(),
        ..Default::default()
    };
    assert_eq!(ids(&lint(&input, &settings)), ["SZ302"]);
}

fn annotate(input: &mut LintInput, doc: usize, value: &str) {
    let metadata = input.documents[doc].value["metadata"]
        .as_object_mut()
        .expect("metadata");
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Default::default()));
    annotations[DISABLE_ANNOTATION] = Value::String(value.to_owned());
}

#[test]
fn annotation_disables_on_the_resource_or_the_job_config() {
    // On the resource the finding is about.
    let mut input = load_fixture("heap-headroom");
    let worker = input.jobs[0].worker_docs[0];
    annotate(&mut input, worker, "SZ999, heap-headroom");
    assert!(lint(&input, &LintSettings::default()).is_empty());
    // On another resource it does nothing.
    let mut input = load_fixture("heap-headroom");
    let coordinator = input.jobs[0].coordinator_docs[0];
    annotate(&mut input, coordinator, "SZ302");
    assert_eq!(ids(&lint(&input, &LintSettings::default())), ["SZ302"]);
    // On the job's config ConfigMap it speaks for the whole job.
    let mut input = load_fixture("heap-headroom");
    let config = input.jobs[0].config_doc.expect("config");
    annotate(&mut input, config, "SZ302");
    assert!(lint(&input, &LintSettings::default()).is_empty());
}

/// A reason given in the annotation (`SZ302 (why)`) is echoed by every report; the finding fails nothing.
#[test]
fn a_switched_off_check_is_reported_with_its_reason() {
    let mut input = load_fixture("heap-headroom");
    let worker = input.jobs[0].worker_docs[0];
    annotate(
        &mut input,
        worker,
        "missing-pdb, SZ302 (heap sized by the platform team)",
    );
    let strict = LintSettings {
        strict: true,
        ..Default::default()
    };
    assert!(lint(&input, &strict).is_empty());
    let all = lint_all(&input, &strict);
    assert_eq!(ids(&all), ["SZ302"]);
    assert_eq!(
        all[0].suppressed.as_deref(),
        Some("heap sized by the platform team")
    );
    assert_eq!(exit_code(&all, &strict), 0);
    let text = format_text(&all, &input, &strict);
    assert!(
        text.contains("switched off by samza.apache.org/lint-disable:")
            && text.contains("because: heap sized by the platform team")
            && text.contains("lint passed"),
        "{text}"
    );
    let json: Value = serde_json::from_str(&format_json(&all, &input, &strict)).unwrap();
    assert_eq!(json["findings"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        json["suppressed"][0]["suppressed_because"],
        "heap sized by the platform team"
    );
    let sarif: Value = serde_json::from_str(&format_sarif(&all, &input, &strict)).unwrap();
    assert_eq!(
        sarif["runs"][0]["results"][0]["suppressions"][0]["justification"],
        "heap sized by the platform team"
    );
    assert!(!format_junit(&all, &input, &strict).contains("<failure"));
    // Without a reason it says so.
    annotate(&mut input, worker, "SZ302");
    let all = lint_all(&input, &strict);
    assert!(format_text(&all, &input, &strict).contains("no reason given"));
}

#[test]
fn exit_code_follows_fail_level_and_strict() {
    let input = load_fixture("heap-headroom"); // one warning
    let findings = lint(&input, &LintSettings::default());
    assert_eq!(findings[0].severity, Severity::Warning);
    assert_eq!(exit_code(&findings, &LintSettings::default()), 0);
    assert_eq!(
        exit_code(
            &findings,
            &LintSettings {
                strict: true,
                ..Default::default()
            }
        ),
        1
    );
    assert_eq!(
        exit_code(
            &findings,
            &LintSettings {
                fail_level: Severity::Warning,
                ..Default::default()
            }
        ),
        1
    );
    let input = load_fixture("heap-exceeds-limit"); // one error
    let findings = lint(&input, &LintSettings::default());
    assert_eq!(exit_code(&findings, &LintSettings::default()), 1);
    assert_eq!(
        exit_code(
            &[],
            &LintSettings {
                strict: true,
                ..Default::default()
            }
        ),
        0
    );
}

#[test]
fn text_groups_per_job_then_other_resources() {
    let mut input = load_fixture("rbac-wildcard");
    // A Role outside any job is reported under "other resources".
    let role = input
        .documents
        .iter()
        .position(|d| d.kind == "Role")
        .expect("Role");
    input.documents[role].value["metadata"]["labels"]
        .as_object_mut()
        .expect("labels")
        .remove("samza.apache.org/job");
    let findings = lint(&input, &LintSettings::default());
    let text = format_text(&findings, &input, &LintSettings::default());
    let job_at = text
        .find("job page-view-counter: no findings")
        .expect(&text);
    let other_at = text.find("other resources:").expect(&text);
    assert!(job_at < other_at, "{text}");
    assert!(text.contains("warning[SZ502 rbac-wildcard]"), "{text}");
    assert!(!text.contains('\x1b'), "no colors unless asked: {text}");
    let painted = LintSettings {
        color: true,
        ..Default::default()
    };
    let colored = format_text(&findings, &input, &painted);
    assert!(
        colored.contains("\x1b[33mwarning\x1b[0m[SZ502 rbac-wildcard]"),
        "{colored}"
    );
    assert!(text.contains("at Role streams/pvc-samza-job-coordinator (samza-job/templates/rbac.yaml), rules[0].verbs"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("0 errors, 2 warnings, 0 info; lint passed (fails at error)"),
        "{text}"
    );
}

#[test]
fn json_report_carries_resource_and_summary() {
    let input = load_fixture("undefined-serde");
    let findings = lint(&input, &LintSettings::default());
    let report: Value =
        serde_json::from_str(&format_json(&findings, &input, &LintSettings::default()))
            .expect("JSON");
    assert_eq!(report["summary"]["errors"], 1);
    assert_eq!(report["summary"]["failed"], true);
    let f = &report["findings"][0];
    assert_eq!(f["check"], "SZ105");
    assert_eq!(f["name"], "undefined-serde");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["resource"]["kind"], "ConfigMap");
    assert_eq!(
        f["resource"]["source"],
        "samza-job/templates/configmap.yaml"
    );
    assert_eq!(
        f["field"],
        "data.job.properties[stores.page-view-counts.msg.serde]"
    );
}

#[test]
fn hello_samza_configs_have_no_typo_findings() {
    // Real Samza configs must not look misspelt to the key table.
    let corpus = repo().join("tests/corpus/hello-samza");
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [
        corpus.clone(),
        corpus.join("legacy-1.0.0-SNAPSHOT-a096c75"),
        corpus.join("legacy-0.9.1-ff399e6"),
    ] {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; the hello-samza corpus is part of the repository",
                dir.display()
            )
        });
        files.extend(
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "properties")),
        );
    }
    assert!(files.len() >= 20, "found only {} configs", files.len());
    for file in files {
        let config = parse_properties(&std::fs::read_to_string(&file).expect("readable"));
        for (key, _) in config.iter() {
            assert!(
                !matches!(config_keys::classify(key), config_keys::KeyVerdict::Typo(_)),
                "{}: '{key}' looks like a typo: {:?}",
                file.display(),
                config_keys::classify(key)
            );
        }
    }
}

/// The tools folder: `HELM_SAMZA_TOOLS` or `<repo>/.tools`, filled by `scripts/setup`.
fn tools() -> PathBuf {
    std::env::var_os("HELM_SAMZA_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".tools"))
}

/// Runs a Python snippet from the tools venv with `args`; panics with the setup hint when the tool is missing.
fn python(script: &str, args: &[&Path], needs: &str) -> String {
    let python = tools().join("venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/setup",
        python.display()
    );
    let probe = Command::new(&python)
        .args(["-c", &format!("import {needs}")])
        .output()
        .expect("python runs");
    assert!(
        probe.status.success(),
        "Python module '{needs}' is missing from {}: run scripts/setup",
        python.display()
    );
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script}\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Findings of several fixtures at once, so the formats see every check and several jobs' worth of output.
fn many_findings() -> (LintInput, Vec<Finding>) {
    let mut input = load_fixture("plaintext-secret");
    let extra = load_fixture("rbac-wildcard");
    let offset = input.documents.len();
    let mut findings = lint(&input, &LintSettings::default());
    findings.extend(
        lint(&extra, &LintSettings::default())
            .into_iter()
            .map(|mut f| {
                f.doc = f.doc.map(|i| i + offset);
                f.message.push_str(" <&\"'> \u{1}");
                f
            }),
    );
    input
        .documents
        .extend(extra.documents.into_iter().map(|mut d| {
            d.index += offset;
            d
        }));
    (input, findings)
}

#[test]
fn sarif_is_valid_against_the_sarif_2_1_0_schema() {
    let schema = tools().join("schemas/sarif-2.1.0-rtm.5.json");
    assert!(
        schema.is_file(),
        "{} is missing: run scripts/setup",
        schema.display()
    );
    let (input, findings) = many_findings();
    let settings = LintSettings {
        source_root: Some("charts/".to_owned()),
        ..Default::default()
    };
    let sarif = format_sarif(&findings, &input, &settings);
    let log: Value = serde_json::from_str(&sarif).expect("JSON");
    let first = &log["runs"][0]["results"][0];
    assert_eq!(first["ruleId"], findings[0].check);
    assert_eq!(
        first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "charts/samza-job/templates/configmap.yaml"
    );
    assert_eq!(
        first["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "ConfigMap/streams/pvc-samza-job-config"
    );
    // Each result points at the line of its field in the rendered document; a field deep in a document is
    // below its first line, on the line that names the field's last key.
    let results = log["runs"][0]["results"].as_array().expect("results");
    let mut deep = 0;
    for (result, finding) in results.iter().zip(&findings) {
        let line = result["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .unwrap_or(1) as usize;
        let (Some(field), Some(doc)) = (&finding.field, finding.doc) else {
            continue;
        };
        if line > 1 {
            deep += 1;
            let text = input.documents[doc]
                .text
                .lines()
                .nth(line - 1)
                .expect("a line");
            let last = field
                .rsplit(['.', '['])
                .next()
                .unwrap()
                .trim_end_matches(']');
            let last = last.split('[').next().unwrap();
            assert!(
                text.contains(last)
                    || field.contains(text.trim().split([':', '=']).next().unwrap()),
                "{field} at line {line}: {text}"
            );
        }
    }
    assert!(
        deep > 0,
        "no finding located below its document's first line"
    );
    // Fingerprints: the same for the same findings in another run, different between findings.
    let again: Value =
        serde_json::from_str(&format_sarif(&findings, &input, &settings)).expect("JSON");
    let prints = |log: &Value| -> Vec<Value> {
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"]["helmSamzaFinding/v1"].clone())
            .collect()
    };
    assert_eq!(prints(&log), prints(&again));
    let distinct: std::collections::BTreeSet<String> =
        prints(&log).iter().map(|p| p.to_string()).collect();
    assert_eq!(distinct.len(), findings.len(), "{:?}", prints(&log));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("lint.sarif");
    std::fs::write(&file, &sarif).expect("write");
    let script = "import json,sys,jsonschema\n\
                  schema=json.load(open(sys.argv[1])); log=json.load(open(sys.argv[2]))\n\
                  jsonschema.validators.validator_for(schema)(schema).validate(log)\n\
                  r=log['runs'][0]; print(len(r['results']), len(r['tool']['driver']['rules']))";
    let out = python(script, &[&schema, &file], "jsonschema");
    assert_eq!(out.trim(), format!("{} {}", findings.len(), CHECKS.len()));

    // A broken log must fail the same validation, or the test proves nothing.
    let mut broken = log;
    broken["runs"][0]["results"][0]["level"] = Value::String("fatal".into());
    std::fs::write(&file, broken.to_string()).expect("write");
    let python_bin = tools().join("venv/bin/python");
    let status = Command::new(python_bin)
        .arg("-c")
        .arg(script)
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("runs")
        .status;
    assert!(!status.success(), "the schema accepted an invalid level");
}

#[test]
fn junit_is_read_by_a_junit_xml_reader() {
    let (input, findings) = many_findings();
    let settings = LintSettings {
        disabled: ["missing-pdb".to_owned()].into(),
        ..Default::default()
    };
    let xml = format_junit(&findings, &input, &settings);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("lint.xml");
    std::fs::write(&file, &xml).expect("write");
    let script = "import sys\nfrom junitparser import JUnitXml, Failure, Skipped\n\
                  xml=JUnitXml.fromfile(sys.argv[1])\n\
                  for suite in xml:\n\
                  \x20   for case in suite:\n\
                  \x20       kinds=[type(r).__name__ for r in case.result]\n\
                  \x20       print(suite.name, '|', case.name, '|', ','.join(kinds), '|', (case.result[0].message if case.result else ''))";
    let out = python(script, &[&file], "junitparser");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2 * CHECKS.len(), "{out}");
    let failed: Vec<&str> = lines
        .iter()
        .filter(|l| l.contains("| Failure |"))
        .copied()
        .collect();
    assert_eq!(failed.len(), 1, "{out}");
    assert!(
        failed[0].starts_with("job page-view-counter | SZ504 plaintext-secret"),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("job page-view-counter | SZ401 missing-pdb | Skipped")),
        "{out}"
    );
    // Warnings below the fail level pass (written to system-out), with the XML escapes read back.
    let with_warning =
        xml.contains("<system-out>warning: Role pvc-samza-job-coordinator grants &apos;*&apos;");
    assert!(with_warning, "{xml}");
}

#[test]
fn docs_describe_every_check() {
    let doc = std::fs::read_to_string(repo().join("docs/lint.md")).expect("docs/lint.md");
    for c in CHECKS {
        let row = format!("| {} | {} | {} |", c.id, c.slug, c.severity);
        let heading = format!("### {} {} ({})", c.id, c.slug, c.severity);
        assert!(doc.contains(&row), "docs/lint.md has no table row '{row}'");
        assert!(
            doc.contains(&heading),
            "docs/lint.md has no section '{heading}'"
        );
    }
}

/// Lints the clean fixture after `change`, returning the check ids that fire (sorted, unique).
fn clean_with(change: impl FnOnce(&mut LintInput)) -> Vec<&'static str> {
    let mut input = load_clean();
    change(&mut input);
    let mut got = ids(&lint(&input, &LintSettings::default()));
    got.sort();
    got.dedup();
    got
}

fn worker_container(input: &mut LintInput) -> &mut Value {
    let w = input.jobs[0].worker_docs[0];
    &mut input.documents[w].value["spec"]["template"]["spec"]["containers"][0]
}

fn set_env(input: &mut LintInput, name: &str, value: Value) {
    let env = worker_container(input)["env"].as_array_mut().expect("env");
    env.retain(|e| e["name"] != name);
    if !value.is_null() {
        env.push(serde_json::json!({"name": name, "value": value}));
    }
}

/// The coordinator's memory limit against its model: 64 MiB plus six bytes per byte of JSON.
#[test]
fn a_coordinator_too_small_for_its_model_is_reported_with_the_size_it_needs() {
    let coordinator_limit = |input: &mut LintInput, limit: &str| {
        let c = input.jobs[0].coordinator_docs[0];
        input.documents[c].value["spec"]["template"]["spec"]["containers"][0]["resources"]
            ["limits"]["memory"] = limit.into();
    };
    let with_json = |input: &mut LintInput, bytes: u64| {
        if let Ok(model) = &mut input.jobs[0].model {
            model.json_bytes = bytes;
        }
    };
    // 32 MiB of JSON needs 256 MiB: the chart's default just serves it.
    assert!(!clean_with(|i| {
        with_json(i, 32 << 20);
        coordinator_limit(i, "256Mi");
    })
    .contains(&"SZ304"));
    let input = {
        let mut input = load_clean();
        with_json(&mut input, 33 << 20);
        coordinator_limit(&mut input, "256Mi");
        input
    };
    let findings = lint(&input, &LintSettings::default());
    let found: Vec<_> = findings.iter().filter(|f| f.check == "SZ304").collect();
    assert_eq!(found.len(), 1, "{findings:?}");
    assert!(
        found[0]
            .message
            .contains("33 MiB of JSON; the coordinator needs about 262 MiB"),
        "{}",
        found[0].message
    );
    assert!(
        found[0].message.contains("its memory limit is 256 MiB"),
        "{}",
        found[0].message
    );
    assert_eq!(
        found[0].field.as_deref(),
        Some("spec.template.spec.containers[0].resources.limits.memory")
    );
}

#[test]
fn heap_comes_from_java_opts_then_task_opts_then_run_class_default() {
    // No -Xmx anywhere: run-class.sh's 768M against a 512Mi limit.
    let got = clean_with(|i| {
        set_env(i, "JAVA_OPTS", Value::String("-XX:+UseG1GC".into()));
        worker_container(i)["resources"]["limits"]["memory"] = "512Mi".into();
        worker_container(i)["resources"]["requests"]["memory"] = "512Mi".into();
    });
    assert_eq!(got, ["SZ301"]);
    // No JAVA_OPTS env: task.opts counts.
    let mut input = load_clean();
    set_env(&mut input, "JAVA_OPTS", Value::Null);
    input.jobs[0].config.set("task.opts", "-Xmx900m");
    let findings = lint(&input, &LintSettings::default());
    assert_eq!(ids(&findings), ["SZ302"]);
    assert_eq!(
        findings[0].field.as_deref(),
        Some("data.job.properties[task.opts]")
    );
}

#[test]
fn state_on_empty_dir_is_fine_only_with_a_changelog() {
    let to_empty_dir = |i: &mut LintInput| {
        let w = i.jobs[0].worker_docs[0];
        let spec = &mut i.documents[w].value["spec"];
        spec.as_object_mut()
            .expect("spec")
            .remove("volumeClaimTemplates");
        spec["template"]["spec"]["volumes"]
            .as_array_mut()
            .expect("volumes")
            .push(serde_json::json!({"name": "state", "emptyDir": {}}));
    };
    assert_eq!(clean_with(to_empty_dir), Vec::<&str>::new());
    let got = clean_with(|i| {
        to_empty_dir(i);
        edit(&mut i.jobs[0].config, |c| {
            c.shift_remove("stores.page-view-counts.changelog");
        });
    });
    assert_eq!(got, ["SZ404"]);
    // A stateless job needs no state volume at all.
    let got = clean_with(|i| {
        edit(&mut i.jobs[0].config, |c| {
            c.retain(|k, _| !k.starts_with("stores."))
        });
        let c = worker_container(i);
        c["volumeMounts"]
            .as_array_mut()
            .expect("mounts")
            .retain(|m| m["name"] != "state");
    });
    assert_eq!(got, Vec::<&str>::new());
}

#[test]
fn secrets_that_are_references_pass() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("systems.kafka.consumer.ssl.keystore.password", "changeit", &["SZ504"]),
        ("systems.kafka.consumer.ssl.keystore.password", "${file:/etc/kafka/ssl.properties:keystore}", &[]),
        (
            "systems.kafka.producer.sasl.jaas.config",
            "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"samza\" password=\"${env:KAFKA_PASSWORD}\";",
            &[],
        ),
        ("sensitive.systems.kinesis.streams.s.aws.secretKey", "AKIAEXAMPLE", &["SZ504"]),
        ("systems.kinesis.streams.s.aws.accessKey", "AKIAEXAMPLE", &[]),
        ("systems.kafka.consumer.sasl.oauthbearer.token.endpoint.url", "https://idp.example/token", &[]),
    ];
    for (key, value, expected) in cases {
        let got = clean_with(|i| {
            i.jobs[0].config.set(*key, *value);
        });
        assert_eq!(got, *expected, "{key}={value}");
    }
    assert_eq!(
        clean_with(|i| set_env(i, "KAFKA_PASSWORD", "hunter2".into())),
        ["SZ504"]
    );
    assert_eq!(
        clean_with(|i| set_env(i, "KAFKA_PASSWORD", "$(FROM_SECRET)".into())),
        Vec::<&str>::new()
    );
}

#[test]
fn standby_workers_need_anti_affinity_even_with_one_container() {
    let mut input = load_clean();
    if let Ok(m) = &mut input.jobs[0].model {
        m.containers = 1;
        m.tasks_per_container = vec![("0".into(), 4)];
    }
    input.jobs[0].config.set("job.container.count", "1");
    let w = input.jobs[0].worker_docs[0];
    input.documents[w].value["spec"]["template"]["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("affinity");
    assert_eq!(
        ids(&lint(&input, &LintSettings::default())),
        Vec::<&str>::new()
    );
    // A standby StatefulSet: active and standby may now share a node.
    let mut standby = input.documents[w].clone();
    standby.index = input.documents.len();
    standby.name.push_str("-standby-0");
    input.documents.push(standby);
    input.jobs[0].worker_docs.push(input.documents.len() - 1);
    assert_eq!(ids(&lint(&input, &LintSettings::default())), ["SZ403"]);
}

#[test]
fn pdb_selectors_with_match_expressions() {
    let pdb_selector = |i: &mut LintInput, selector: Value| {
        let pdb = i
            .documents
            .iter()
            .position(|d| d.kind == "PodDisruptionBudget")
            .expect("PDB");
        i.documents[pdb].value["spec"]["selector"] = selector;
    };
    let selects = serde_json::json!({"matchExpressions": [{"key": "samza.apache.org/role", "operator": "In", "values": ["worker"]}]});
    assert_eq!(clean_with(|i| pdb_selector(i, selects)), Vec::<&str>::new());
    let misses = serde_json::json!({"matchExpressions": [{"key": "samza.apache.org/role", "operator": "NotIn", "values": ["worker"]}]});
    assert_eq!(clean_with(|i| pdb_selector(i, misses)), ["SZ401"]);
    // An empty selector selects every pod in policy/v1, none in policy/v1beta1.
    assert_eq!(
        clean_with(|i| pdb_selector(i, serde_json::json!({}))),
        Vec::<&str>::new()
    );
    let got = clean_with(|i| {
        pdb_selector(i, serde_json::json!({}));
        let pdb = i
            .documents
            .iter()
            .position(|d| d.kind == "PodDisruptionBudget")
            .expect("PDB");
        i.documents[pdb].value["apiVersion"] = "policy/v1beta1".into();
    });
    assert_eq!(got, ["SZ401"]);
}

#[test]
fn high_level_api_jobs_skip_system_checks() {
    let got = clean_with(|i| {
        edit(&mut i.jobs[0].config, |c| {
            c.shift_remove("task.class");
            c.shift_remove("task.inputs");
            c.shift_remove("systems.kafka.samza.factory");
            c.insert(
                "app.class".into(),
                "samza.examples.wikipedia.task.application.WikipediaStatsTaskApplication".into(),
            );
            c.insert(
                "metrics.reporter.snapshot.stream".into(),
                "kafka.metrics".into(),
            );
        });
    });
    assert_eq!(got, Vec::<&str>::new());
    // The same config without app.class misses a task class and inputs and names an undefined system.
    let got = clean_with(|i| {
        edit(&mut i.jobs[0].config, |c| {
            c.shift_remove("task.class");
            c.shift_remove("task.inputs");
            c.shift_remove("systems.kafka.samza.factory");
        });
    });
    assert_eq!(got, ["SZ101", "SZ103"]);
}

#[test]
fn pod_level_security_context_and_user_ids_count() {
    let got = clean_with(|i| {
        let w = i.jobs[0].worker_docs[0];
        let spec = &mut i.documents[w].value["spec"]["template"]["spec"];
        spec["securityContext"]
            .as_object_mut()
            .expect("sc")
            .remove("runAsNonRoot");
    });
    assert_eq!(got, Vec::<&str>::new(), "runAsUser 10001 is not root");
    let got = clean_with(|i| {
        let w = i.jobs[0].worker_docs[0];
        let spec = &mut i.documents[w].value["spec"]["template"]["spec"];
        spec.as_object_mut()
            .expect("spec")
            .remove("securityContext");
        spec["containers"][0]["securityContext"]["privileged"] = Value::Bool(true);
    });
    assert_eq!(got, ["SZ501"]);
}

#[test]
fn configmap_size_counts_decoded_binary_data() {
    let big = |i: &mut LintInput, field: &str, len: usize| {
        let cm = i
            .documents
            .iter()
            .position(|d| label(&d.value, "samza.apache.org/role") == Some("model"))
            .expect("model");
        i.documents[cm].value[field] = serde_json::json!({"job-model.json.gz": "A".repeat(len)});
    };
    // 1.2 MiB of base64 is 0.9 MiB of bytes: fits (but far too big for client-side apply, SZ407).
    assert_eq!(clean_with(|i| big(i, "binaryData", 1_258_292)), ["SZ407"]);
    assert_eq!(
        clean_with(|i| big(i, "binaryData", 1_500_000)),
        ["SZ406", "SZ407"]
    );
    assert_eq!(
        clean_with(|i| big(i, "data", 1_048_577)),
        ["SZ406", "SZ407"]
    );
    // Exactly at the limit: values only (keys do not count), base64 padding not counted as data.
    assert_eq!(clean_with(|i| big(i, "data", 1_048_576)), ["SZ407"]);
    let encoded = |pad: &str| format!("{}{pad}", "A".repeat(1_398_104 - pad.len()));
    let exact = |i: &mut LintInput, text: String| {
        big(i, "binaryData", 0);
        let cm = i
            .documents
            .iter()
            .position(|d| d.value.get("binaryData").is_some())
            .unwrap();
        let model = &mut i.documents[cm].value;
        model["binaryData"]["job-model.json.gz"] = Value::String(text);
        model.as_object_mut().unwrap().shift_remove("data");
    };
    assert_eq!(clean_with(|i| exact(i, encoded("=="))), ["SZ407"]);
    assert_eq!(clean_with(|i| exact(i, encoded("="))), ["SZ406", "SZ407"]);
}

/// The model ConfigMap grown so that client-side apply's annotations come to `total` bytes exactly.
fn model_with_annotations_of(input: &mut LintInput, total: usize) {
    let cm = input
        .documents
        .iter()
        .position(|d| label(&d.value, "samza.apache.org/role") == Some("model"))
        .expect("model");
    let value = &mut input.documents[cm].value;
    value["data"]["pad"] = Value::String(String::new());
    let others: usize = value["metadata"]["annotations"].as_object().map_or(0, |a| {
        a.iter()
            .map(|(k, v)| k.len() + v.as_str().unwrap().len())
            .sum()
    });
    let json = serde_json::to_string(value).unwrap().len();
    let key = "kubectl.kubernetes.io/last-applied-configuration".len();
    let pad = total - others - key - json - 1;
    // Characters Go escapes count with their escapes: `<` is written \u003c, six bytes.
    value["data"]["pad"] = Value::String(format!("<{}", "x".repeat(pad - 6)));
}

#[test]
fn client_side_apply_size_is_exact_at_the_annotation_limit() {
    assert_eq!(
        clean_with(|i| model_with_annotations_of(i, 262_144)),
        Vec::<&str>::new()
    );
    assert_eq!(
        clean_with(|i| model_with_annotations_of(i, 262_145)),
        ["SZ407"]
    );
}

#[test]
fn yaml_config_fields_name_job_yaml() {
    let mut input = load_fixture("undefined-serde");
    let config = input.jobs[0].config_doc.expect("config");
    let data = input.documents[config].value["data"]
        .as_object_mut()
        .expect("data");
    let props = data.remove("job.properties").expect("properties");
    data.insert("job.yaml".into(), props);
    let findings = lint(&input, &LintSettings::default());
    assert_eq!(
        findings[0].field.as_deref(),
        Some("data.job.yaml[stores.page-view-counts.msg.serde]")
    );
}
