//! Patched output read back by Helm's own YAML reader (go-yaml v2 via sigs.k8s.io/yaml, the
//! `go-yaml2json` program built from tests/oracle): Go must see the input's values plus exactly
//! the intended changes, on documents full of YAML 1.1 traps (tests/fixtures/manifest).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use super::corpus_tests::corpus;
use super::{apply, Patch, Seg, Stream};

fn oracle() -> PathBuf {
    let tools = std::env::var_os("HELM_SAMZA_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools"));
    let path = tools.join("bin/go-yaml2json");
    assert!(
        path.is_file(),
        "the Go YAML oracle is missing at {}: run scripts/setup",
        path.display()
    );
    path
}

/// Checks that the built oracle knows `-kube` (an older build would ignore it).
fn kube_oracle() -> &'static [&'static str] {
    let probe = go_read_with("a: |\n  x\n", &["-kube"]);
    assert_eq!(
        probe,
        [json!({"a": "x\n"})],
        "go-yaml2json predates -kube: run scripts/setup"
    );
    &["-kube"]
}

/// One JSON value per non-empty document, as Helm reads the stream (split like releaseutil).
fn go_read(stream: &str) -> Vec<Value> {
    go_read_with(stream, &[])
}

fn go_read_with(stream: &str, args: &[&str]) -> Vec<Value> {
    let mut child = Command::new(oracle())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "go-yaml rejected the stream: {}\n{stream}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

enum Change {
    Set(Vec<Seg>, Value),
    Remove(Vec<Seg>),
}

fn set(path: &[&str], value: Value) -> Change {
    Change::Set(path.iter().map(|&k| Seg::from(k)).collect(), value)
}

/// The intended change made on Go's reading of the input, the way a JSON patch would.
fn change_json(root: &mut Value, change: &Change) {
    let (path, value) = match change {
        Change::Set(path, value) => (path, Some(value)),
        Change::Remove(path) => (path, None),
    };
    let (last, parents) = path.split_last().unwrap();
    let mut node = root;
    for seg in parents {
        node = match seg {
            Seg::Key(k) => {
                if node[k.as_str()].is_null() {
                    node[k.as_str()] = json!({});
                }
                &mut node[k.as_str()]
            }
            Seg::Index(i) => &mut node[*i],
        };
    }
    match (last, value) {
        (Seg::Key(k), Some(v)) => node[k.as_str()] = v.clone(),
        (Seg::Index(i), Some(v)) => node[*i] = v.clone(),
        (Seg::Key(k), None) => {
            node.as_object_mut().unwrap().shift_remove(k);
        }
        (Seg::Index(_), None) => unreachable!("only keys are removed"),
    }
}

const TRICKY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/manifest/tricky-configmap.yaml"
));

const STATEFUL_SET: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/manifest/statefulset.yaml"
));

fn run_case(name: &str, input: &str, changes: &[Change]) {
    let stream = Stream::split(input);
    let docs: Vec<_> = stream
        .documents()
        .iter()
        .filter(|d| !d.is_blank())
        .collect();
    assert_eq!(docs.len(), 1, "{name}: one document per case");
    let mut patch = Patch::new();
    for change in changes {
        match change {
            Change::Set(path, value) => patch.set(path.iter().cloned(), value.clone()),
            Change::Remove(path) => patch.remove(path.iter().cloned()),
        };
    }
    let output = apply(docs[0], &patch).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut expected = go_read(input);
    for change in changes {
        change_json(&mut expected[0], change);
    }
    if std::env::var_os("SHOW_PATCHED").is_some() {
        eprintln!("{output}");
    }
    let got = go_read(&output);
    assert_eq!(
        got, expected,
        "{name}: Go reads something else from\n{output}"
    );
    // Nothing outside the edits moved: the untouched head of the document is kept verbatim.
    let keep = input.find("metadata:").unwrap();
    assert_eq!(&output[..keep], &input[..keep], "{name}");
}

#[test]
fn go_reads_patched_tricky_configmap_as_intended() {
    let model = serde_json::to_string_pretty(&json!({
        "config": {"job.name": "wiki", "a.long.key.that.makes.this.line.longer.than.eighty.characters": "yes"},
        "containers": {"0": {"tasks": {"Partition 0": {"partitions": [0, 1]}}}},
    }))
    .unwrap();
    let long_line = "word ".repeat(40) + " trailing  ";
    run_case(
        "tricky",
        TRICKY,
        &[
            set(
                &["metadata", "annotations", "samza.apache.org/model-checksum"],
                json!("0755"),
            ),
            set(
                &["metadata", "labels", "samza.apache.org/planned"],
                json!("yes"),
            ),
            set(&["data", "quoted-yes"], json!("no")),
            set(&["data", "plain-yes"], json!("on")),
            set(&["data", "octal"], json!("0644")),
            set(&["data", "plain-e"], json!("1e3")),
            set(&["data", "plain-under"], json!(1000)),
            set(&["data", "date"], json!("2024-01-02")),
            set(&["data", "keep"], json!("x\ny\n\n")),
            set(&["data", "strip"], json!(true)),
            set(&["data", "folded"], json!(long_line)),
            set(&["data", "tab"], json!("line 1\n  line 2\n")),
            set(&["data", "ls"], json!("x\u{2028}y\u{85}z")),
            set(&["data", "true"], json!("was a bool key")),
            set(&["data", "dup"], json!("replaced")),
            set(&["data", "b64"], json!("not binary")),
            set(&["data", "job-model.json"], json!(model)),
            set(&["data", "spaces"], json!("  lead and trail  ")),
            set(&["data", "eq"], json!("null")),
            set(&["data", "merged", "new"], json!("1_0")),
            Change::Remove(vec![Seg::from("data"), Seg::from("hashes")]),
            Change::Remove(vec![
                Seg::from("data"),
                Seg::from("merged"),
                Seg::from("own"),
            ]),
        ],
    );
}

#[test]
fn go_reads_patched_statefulset_as_intended() {
    let mut env_value = vec![Seg::from("spec"), Seg::from("template"), Seg::from("spec")];
    env_value.extend([
        Seg::from("containers"),
        Seg::from(0),
        Seg::from("env"),
        Seg::from(1),
        Seg::from("value"),
    ]);
    run_case(
        "statefulset",
        STATEFUL_SET,
        &[
            set(&["spec", "replicas"], json!(4)),
            set(
                &[
                    "spec",
                    "template",
                    "metadata",
                    "annotations",
                    "samza.apache.org/model-checksum",
                ],
                json!("sha256:00ff"),
            ),
            set(
                &[
                    "spec",
                    "template",
                    "metadata",
                    "annotations",
                    "samza.apache.org/containers",
                ],
                json!("4"),
            ),
            set(
                &["metadata", "labels", "samza.apache.org/planned"],
                json!("false"),
            ),
            Change::Set(env_value, json!("on")),
        ],
    );
}

#[test]
fn go_reads_patched_crlf_and_helm4_documents_as_intended() {
    let crlf = STATEFUL_SET.replace('\n', "\r\n");
    run_case(
        "crlf",
        &crlf,
        &[
            set(&["spec", "replicas"], json!(2)),
            set(
                &["spec", "template", "metadata", "annotations", "a/b"],
                json!("multi\nline\n"),
            ),
        ],
    );
    let helm4 = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  annotations:\n    \
        postrenderer.helm.sh/postrender-filename: 'job/templates/svc.yaml'\nspec:\n  ports:\n  - port: 80\n";
    run_case(
        "helm4",
        helm4,
        &[
            set(
                &["metadata", "annotations", "samza.apache.org/model-checksum"],
                json!("1e3"),
            ),
            Change::Remove(vec![
                Seg::from("metadata"),
                Seg::from("annotations"),
                Seg::from("postrenderer.helm.sh/postrender-filename"),
            ]),
        ],
    );
}

#[test]
fn go_reads_written_documents_as_given() {
    let value = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "m", "annotations": {"samza.apache.org/model-checksum": "0755"}},
        "data": {"yes": "on", "n": "1_000", "model.json": "{\n  \"a\": 1\n}\n", "long": "x ".repeat(90), "empty": ""},
    });
    let mut stream = Stream::split(TRICKY);
    stream.append("job/templates/model.yaml", &value).unwrap();
    let mut out = Vec::new();
    stream.write(&mut out).unwrap();
    let docs = go_read(&String::from_utf8(out).unwrap());
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1], value);
}

/// The first path where Go's reading and ours differ (numbers compared by value: Go prints
/// `9` for the float 9).
fn first_difference(path: &str, go: &Value, ours: &Value) -> Option<String> {
    match (go, ours) {
        (Value::Object(g), Value::Object(o)) => g
            .iter()
            .find_map(|(k, v)| match o.get(k) {
                Some(w) => first_difference(&format!("{path}.{k}"), v, w),
                None => Some(format!("{path}.{k}: missing")),
            })
            .or_else(|| {
                o.keys()
                    .find(|k| !g.contains_key(*k))
                    .map(|k| format!("{path}.{k}: not in Go's reading"))
            }),
        (Value::Array(g), Value::Array(o)) if g.len() == o.len() => g
            .iter()
            .zip(o)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(&format!("{path}[{i}]"), v, w)),
        _ if go == ours || (go.is_number() && go.as_f64() == ours.as_f64()) => None,
        _ => Some(format!("{path}: Go {go} ours {ours}")),
    }
}

#[test]
fn value_reads_corpus_documents_as_kubernetes_gets_them() {
    // big.yaml is left out: it repeats the other charts and takes long in debug builds.
    for (name, bytes) in corpus().into_iter().filter(|(name, _)| name != "big.yaml") {
        let text = String::from_utf8(bytes).unwrap();
        let go = go_read_with(&text, kube_oracle());
        let ours: Vec<Value> = Stream::split(&text)
            .documents()
            .iter()
            .map(|doc| doc.value().unwrap_or_else(|e| panic!("{name}: {e}")))
            .filter(|value| !value.is_null())
            .collect();
        assert_eq!(go.len(), ours.len(), "{name}: document count");
        for (i, (go, ours)) in go.iter().zip(&ours).enumerate() {
            if let Some(difference) = first_difference("", go, ours) {
                panic!("{name} document {i}: {difference}");
            }
        }
    }
}
#[test]
fn value_reads_yaml_1_1_traps_as_go_does() {
    let go = go_read_with(TRICKY, kube_oracle());
    let ours = Stream::split(TRICKY).documents()[0].value().unwrap();
    assert_eq!(first_difference("", &go[0], &ours), None);
}
