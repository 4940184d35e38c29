//! Helm's own YAML reader (go-yaml v2 through sigs.k8s.io/yaml, built from Debian's packages) reads the
//! post-renderer's output as the input plus exactly the intended changes.

use std::{io::Write, process::Stdio};

use serde_json::{json, Value};

use crate::support::{
    run::{fixture, Test},
    tools::tool,
};

/// What Helm reads from a stream: one JSON value per non-empty document.
pub(crate) fn go_read(stream: &[u8]) -> Vec<Value> {
    let mut child = std::process::Command::new(tool("go-yaml2json"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run go-yaml2json");
    child.stdin.take().unwrap().write_all(stream).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "Go could not read the stream: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("oracle prints JSON"))
        .collect()
}

fn key(v: &Value) -> (String, String) {
    (
        v["kind"].as_str().unwrap_or_default().into(),
        v["metadata"]["name"].as_str().unwrap_or_default().into(),
    )
}

fn set(v: &mut Value, path: &[&str], new: Value) {
    let mut at = v;
    for seg in &path[..path.len() - 1] {
        if at.get(*seg).is_none() || at[*seg].is_null() {
            at[*seg] = json!({});
        }
        at = &mut at[*seg];
    }
    at[path[path.len() - 1]] = new;
}

fn check(fixture_name: &str) {
    let input = std::fs::read(fixture(fixture_name)).unwrap();
    let out = Test::new()
        .args([
            "post-render",
            "--partitions=kafka.PageViewEvent=4",
            "--partitions=kafka.AdClickEvent=2",
        ])
        .stdin(input.clone())
        .run()
        .success();
    let before = go_read(&input);
    let after = go_read(&out.stdout);
    assert_eq!(
        after.len(),
        before.len() + 1,
        "{fixture_name}: one document added"
    );

    let model_cm = after
        .iter()
        .find(|v| key(v).1 == "demo-page-views-model")
        .expect("model ConfigMap");
    let checksum =
        model_cm["metadata"]["annotations"]["samza.apache.org/job-model-checksum"].clone();
    let model: Value =
        serde_json::from_str(model_cm["data"]["job-model.json"].as_str().unwrap()).unwrap();
    assert_eq!(model["containers"].as_object().unwrap().len(), 2);

    for mut expected in before {
        let (kind, name) = key(&expected);
        match (kind.as_str(), name.as_str()) {
            ("StatefulSet", "demo-page-views") => {
                set(&mut expected, &["spec", "replicas"], json!(2));
                set(
                    &mut expected,
                    &[
                        "spec",
                        "template",
                        "metadata",
                        "annotations",
                        "samza.apache.org/job-model-checksum",
                    ],
                    checksum.clone(),
                );
            }
            ("Deployment", "demo-page-views-coordinator") => set(
                &mut expected,
                &[
                    "spec",
                    "template",
                    "metadata",
                    "annotations",
                    "samza.apache.org/job-model-checksum",
                ],
                checksum.clone(),
            ),
            ("KafkaTopic", _) => {
                set(&mut expected, &["spec", "partitions"], json!(4));
                set(
                    &mut expected,
                    &["spec", "config", "note"],
                    json!("page-views has 2 containers"),
                );
            }
            _ => {}
        }
        let actual = after
            .iter()
            .find(|v| key(v) == (kind.clone(), name.clone()))
            .expect("document kept");
        assert_eq!(
            actual, &expected,
            "{fixture_name}: {kind} {name} as Helm reads it"
        );
    }
}

#[test]
fn helm_reads_helm3_output_as_input_plus_intended_changes() {
    check("post-render/one-job-helm3.yaml");
}

#[test]
fn helm_reads_helm4_output_as_input_plus_intended_changes() {
    check("post-render/one-job-helm4.yaml");
}
