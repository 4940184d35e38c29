//! The API server's size limits, each tried at its exact boundary, and `helm samza lint` agreeing with the server
//! about where each one is (docs/kubernetes-limits.md):
//! - an object's annotations: 262,144 bytes, which client-side `kubectl apply` fills with its copy of the object;
//! - a ConfigMap's data: 1,048,576 bytes;
//! - a request body: 3,145,728 bytes;
//! - the largest job model one ConfigMap carries (the post-renderer's 900 KiB, under the ConfigMap limit);
//! - and a job whose model ConfigMap client-side apply cannot carry, while Helm and server-side apply can.

use base64::Engine as _;
use serde_json::{json, Value};

use super::{sets, text, Release};
use crate::envtest::with_stdin;
use crate::support::run::Test;
use crate::Env;

const ANNOTATIONS_LIMIT: usize = 262_144;
const CONFIGMAP_LIMIT: usize = 1_048_576;
const BODY_LIMIT: usize = 3_145_728;
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A ConfigMap whose `data.pad` has `pad` bytes.
fn config_map(namespace: &str, name: &str, pad: usize) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"pad": "x".repeat(pad)},
    })
}

/// `helm-samza lint -` of `stream` (no jobs, so no partition counts needed): the ids of its findings.
fn lint_ids(stream: &[u8]) -> Vec<String> {
    let out = Test::new()
        .args(["lint", "-", "--output", "json", "--fail-level", "info"])
        .stdin(stream.to_vec())
        .run();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("lint JSON: {e}: {}", out.stderr));
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["check"].as_str().unwrap().to_owned())
        .collect()
}

pub fn annotation_limit(env: &Env) {
    let namespace = env.plane.namespace("annotations", &[]);
    // kubectl's annotation, as measured: the object's JSON with an empty annotation map (`"annotations":{},` in
    // metadata, 17 bytes) plus a newline, under its 48-byte key.
    let annotations_of = |object: &Value| LAST_APPLIED.len() + object.to_string().len() + 17 + 1;
    for (name, total) in [
        ("fits", ANNOTATIONS_LIMIT),
        ("too-big", ANNOTATIONS_LIMIT + 1),
    ] {
        let base = annotations_of(&config_map(&namespace, name, 0));
        let object = config_map(&namespace, name, total - base);
        assert_eq!(annotations_of(&object), total);
        let stream = object.to_string().into_bytes();
        let lint = lint_ids(&stream);
        let out = env.plane.apply(&stream, &["-n", &namespace]);
        if total <= ANNOTATIONS_LIMIT {
            assert!(
                out.status.success(),
                "{total} bytes refused: {}",
                text(&out)
            );
            let stored = super::get_json(env, &namespace, &["configmap", name]);
            let copy = stored["metadata"]["annotations"][LAST_APPLIED]
                .as_str()
                .unwrap();
            assert_eq!(
                LAST_APPLIED.len() + copy.len(),
                total,
                "kubectl's copy is not what lint computes"
            );
            assert!(
                !lint.iter().any(|id| id == "SZ407"),
                "{total} bytes: lint says {lint:?}"
            );
        } else {
            assert!(
                !out.status.success()
                    && text(&out).contains("Too long: may not be more than 262144 bytes"),
                "{total} bytes of annotations accepted: {}",
                text(&out)
            );
            assert_eq!(lint, ["SZ407"], "{total} bytes");
        }
        // Server-side apply keeps no copy: both fit.
        let out = env.plane.apply(
            &stream,
            &["-n", &namespace, "--server-side", "--force-conflicts"],
        );
        assert!(out.status.success(), "server-side apply: {}", text(&out));
    }
}

pub fn configmap_limit(env: &Env) {
    let namespace = env.plane.namespace("configmap", &[]);
    // The limit counts the bytes of the values, not the keys.
    for (name, data) in [("fits", CONFIGMAP_LIMIT), ("too-big", CONFIGMAP_LIMIT + 1)] {
        let stream = config_map(&namespace, name, data).to_string().into_bytes();
        let lint = lint_ids(&stream);
        let out = env
            .plane
            .apply(&stream, &["-n", &namespace, "--server-side"]);
        if data <= CONFIGMAP_LIMIT {
            assert!(out.status.success(), "{data} bytes refused: {}", text(&out));
            assert!(
                !lint.iter().any(|id| id == "SZ406"),
                "{data} bytes: lint says {lint:?}"
            );
        } else {
            assert!(
                !out.status.success()
                    && text(&out).contains("Too long: may not be more than 1048576 bytes"),
                "{data} bytes of data accepted: {}",
                text(&out)
            );
            assert!(
                lint.iter().any(|id| id == "SZ406"),
                "{data} bytes: lint says {lint:?}"
            );
        }
    }
}

pub fn request_body_limit(env: &Env) {
    let namespace = env.plane.namespace("body", &[]);
    let url = format!("/api/v1/namespaces/{namespace}/configmaps");
    let base = config_map(&namespace, "body", 0).to_string().len();
    for size in [BODY_LIMIT, BODY_LIMIT + 1] {
        let body = config_map(&namespace, "body", size - base).to_string();
        assert_eq!(body.len(), size);
        let out = with_stdin(
            env.plane.kubectl(["create", "--raw", &url, "-f", "-"]),
            body.as_bytes(),
        );
        assert!(!out.status.success(), "a {size}-byte ConfigMap was stored");
        if size <= BODY_LIMIT {
            // Read, then refused by validation: the body itself was accepted.
            assert!(
                text(&out).contains("Too long: may not be more than 1048576 bytes"),
                "a {size}-byte body: {}",
                text(&out)
            );
        } else {
            assert!(
                text(&out).contains("limit is 3145728"),
                "a {size}-byte body was not refused for its size: {}",
                text(&out)
            );
        }
    }
}

/// A job of 2,000 partitions over 500 containers: its plain-JSON model (about 400 KB) fits a ConfigMap but
/// not client-side apply's annotation. lint says so (SZ407 on the model ConfigMap); client-side apply fails
/// exactly there; server-side apply, Helm 3 and Helm 4 deploy it.
pub fn model_too_big_for_client_side_apply(env: &Env) {
    let values = sets(&[
        ("job.containerCount", "500"),
        ("worker.state.type", "emptyDir"),
    ]);
    let counts = "kafka.my-input=2000";
    let offline = |mut cmd: std::process::Command| {
        cmd.env("HELM_SAMZA_OFFLINE", "true")
            .env("HELM_SAMZA_PARTITIONS", counts);
        cmd
    };
    let chart = super::chart("samza-job");

    let mut lint = env.helm(4, ["samza", "lint"]);
    lint.arg(&chart)
        .args(&values)
        .args(["--partitions", counts, "--output", "json"]);
    let out = lint.output().expect("running helm samza lint");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("lint JSON: {e}: {}", text(&out)));
    let sz407: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "SZ407")
        .collect();
    assert_eq!(sz407.len(), 1, "{report}");
    assert_eq!(sz407[0]["resource"]["kind"], "ConfigMap", "{report}");
    assert!(
        sz407[0]["resource"]["name"]
            .as_str()
            .unwrap()
            .ends_with("-model"),
        "{report}"
    );

    let namespace = env.plane.namespace("bigmodel-csa", &[]);
    let mut args = vec!["--namespace".to_owned(), namespace.clone()];
    args.extend(values.iter().cloned());
    let rendered = offline(env.home(4).template(&chart, &args))
        .output()
        .expect("running helm template");
    assert!(rendered.status.success(), "{}", text(&rendered));
    let model_size = String::from_utf8_lossy(&rendered.stdout)
        .split("\n---")
        .find(|doc| doc.contains("job-model.json:"))
        .map(str::len)
        .expect("a plain-JSON model ConfigMap");
    assert!(
        (ANNOTATIONS_LIMIT..900 * 1024).contains(&model_size),
        "the model ConfigMap is {model_size} bytes: pick another size for this case"
    );
    let out = env.plane.apply(&rendered.stdout, &["-n", &namespace]);
    assert!(
        !out.status.success()
            && text(&out).contains("samza-test-samza-job-model")
            && text(&out).contains("Too long: may not be more than 262144 bytes"),
        "client-side apply of the model: {}",
        text(&out)
    );
    let namespace = env.plane.namespace("bigmodel-ssa", &[]);
    args[1] = namespace.clone();
    let rendered = offline(env.home(4).template(&chart, &args))
        .output()
        .unwrap();
    let out = env
        .plane
        .apply(&rendered.stdout, &["-n", &namespace, "--server-side"]);
    assert!(out.status.success(), "server-side apply: {}", text(&out));

    for version in [3, 4] {
        let namespace = env.plane.namespace(&format!("bigmodel-h{version}"), &[]);
        let out = offline(env.helm(version, ["install", "big"]))
            .arg(&chart)
            .args(["--namespace", &namespace])
            .args(env.home(version).post_renderer_flags())
            .args(&values)
            .output()
            .expect("running helm install");
        assert!(
            out.status.success(),
            "helm{version} install: {}",
            text(&out)
        );
    }
}

/// Helm's release Secret: one release with two jobs of 50,000 partitions over 500 containers each (each model
/// ConfigMap gzipped, about 600 KB, within the ConfigMap limit) does not fit the 1 MiB Secret Helm records the
/// release in. lint says so before Helm runs (SZ408); Helm 3 and Helm 4 then fail on the Secret. One such job per
/// release fits, and lint lets it pass.
pub fn release_secret_limit(env: &Env) {
    let dir = tempfile::tempdir().unwrap();
    let umbrella = dir.path().join("umbrella");
    std::fs::create_dir_all(umbrella.join("charts")).unwrap();
    std::os::unix::fs::symlink(super::chart("samza-job"), umbrella.join("charts/samza-job"))
        .unwrap();
    std::fs::write(
        umbrella.join("Chart.yaml"),
        "apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n  \
         - {name: samza-job, version: 0.1.0, alias: a}\n  - {name: samza-job, version: 0.1.0, alias: b}\n",
    )
    .unwrap();
    let job = |alias: &str| {
        format!(
            "{alias}:\n  job: {{name: job-{alias}, inputs: [kafka.in-{alias}], containerCount: 500}}\n  \
             worker: {{state: {{type: emptyDir}}}}\n"
        )
    };
    std::fs::write(umbrella.join("values.yaml"), job("a") + &job("b")).unwrap();
    let counts = "kafka.in-a=50000,kafka.in-b=50000";

    let release_findings = |chart: &std::path::Path, extra: &[String]| {
        let out = env
            .helm(4, ["samza", "lint"])
            .arg(chart)
            .args(extra)
            .args(["--partitions", counts, "--output", "json"])
            .output()
            .expect("running helm samza lint");
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("lint JSON: {e}: {}", text(&out)));
        let sz408: Vec<Value> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"] == "SZ408")
            .cloned()
            .collect();
        (out.status.code(), sz408)
    };
    let (code, sz408) = release_findings(&umbrella, &[]);
    assert_eq!(
        (code, sz408.len()),
        (Some(1), 1),
        "lint of two 50,000-partition jobs: {sz408:?}"
    );

    for version in [3, 4] {
        let namespace = env.plane.namespace(&format!("release-h{version}"), &[]);
        let out = env
            .helm(version, ["install", "two-jobs"])
            .arg(&umbrella)
            .args(["--namespace", &namespace])
            .args(env.home(version).post_renderer_flags())
            .env("HELM_SAMZA_OFFLINE", "true")
            .env("HELM_SAMZA_PARTITIONS", counts)
            .output()
            .expect("running helm install");
        assert!(
            !out.status.success()
                && text(&out).contains("sh.helm.release.v1.two-jobs.v1")
                && text(&out).contains("Too long: may not be more than 1048576 bytes"),
            "helm{version} install of two 50,000-partition jobs: {}",
            text(&out)
        );
    }

    // One job of that size per release fits, and lint agrees.
    let one = sets(&[
        ("job.containerCount", "500"),
        ("job.inputs", "{kafka.in-a}"),
        ("worker.state.type", "emptyDir"),
    ]);
    let (_, sz408) = release_findings(&super::chart("samza-job"), &one);
    assert!(sz408.is_empty(), "{sz408:?}");
    let namespace = env.plane.namespace("release-one", &[]);
    let out = env
        .helm(4, ["install", "one-job"])
        .arg(super::chart("samza-job"))
        .args(["--namespace", &namespace])
        .args(env.home(4).post_renderer_flags())
        .args(&one)
        .env("HELM_SAMZA_OFFLINE", "true")
        .env("HELM_SAMZA_PARTITIONS", counts)
        .output()
        .expect("running helm install");
    assert!(
        out.status.success(),
        "helm4 install of one job: {}",
        text(&out)
    );
}

/// The biggest job model one ConfigMap carries, for the samza-job chart with 500 containers: at 75,601 input
/// partitions the gzipped model (921,301 bytes) is within the 900 KiB the post-renderer puts into one ConfigMap and
/// Helm deploys it in `binaryData`. At 75,602 it is not: by default the model is then carried as its inputs and
/// deploys; with `--model-layout inline` the post-renderer refuses it (exit 11) before Helm applies anything, and
/// lint (SZ201) draws the line at the same partition. The API server's own limit (1 MiB) is never reached.
pub fn largest_model_configmap(env: &Env) {
    const ONE_CONFIGMAP: usize = 900 * 1024;
    let values = sets(&[
        ("job.containerCount", "500"),
        ("worker.state.type", "emptyDir"),
    ]);
    for (partitions, fits) in [(75_601, true), (75_602, false)] {
        let counts = format!("kafka.my-input={partitions}");
        let lint = env
            .helm(4, ["samza", "lint"])
            .arg(super::chart("samza-job"))
            .args(&values)
            .args(["--partitions", &counts, "--output", "json"])
            .args(["--model-layout", "inline"])
            .output()
            .expect("running helm samza lint");
        let report: Value = serde_json::from_slice(&lint.stdout)
            .unwrap_or_else(|e| panic!("lint JSON: {e}: {}", text(&lint)));
        let refused = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "SZ201");
        assert_eq!(refused, !fits, "{partitions} partitions: {report}");

        let deploy = |layout: Option<&str>| {
            let release = Release::samza_job(env, 4, "largest", &[]);
            let log = tempfile::NamedTempFile::new().unwrap();
            let mut cmd = release.deploy_cmd("install", &values);
            if let Some(layout) = layout {
                cmd.args(["--post-renderer-args", &format!("--model-layout={layout}")]);
            }
            let out = cmd
                .env("HELM_SAMZA_OFFLINE", "true")
                .env("HELM_SAMZA_PARTITIONS", &counts)
                .env("HELM_SAMZA_LOG_FILE", log.path())
                .output()
                .expect("running helm install");
            let message = text(&out) + &std::fs::read_to_string(log.path()).unwrap_or_default();
            (release, out.status.success(), message)
        };
        let (release, ok, message) = deploy(None);
        assert!(ok, "{partitions} partitions: {message}");
        let model = release.get("configmap", "job-samza-job-model");
        if fits {
            let gzip = model["binaryData"]["job-model.json.gz"]
                .as_str()
                .map(|b64| {
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .unwrap()
                        .len()
                })
                .unwrap_or_else(|| panic!("no gzipped model: {model}"));
            assert!(
                gzip <= ONE_CONFIGMAP,
                "{partitions} partitions: {gzip} bytes"
            );
        } else {
            assert!(
                model["data"]["job-model.inputs.json"].is_string(),
                "{partitions} partitions: {model}"
            );
            let (release, ok, message) = deploy(Some("inline"));
            assert!(
                !ok && message.contains("(exit code 11)")
                    && message.contains("more than the 900 KiB one ConfigMap carries"),
                "{partitions} partitions inline: {message}"
            );
            release.assert_nothing_applied();
        }
    }
}
