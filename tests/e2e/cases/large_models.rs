//! A job of 200,000 input partitions over 500 containers, against the API server: a model of about 40 MB of
//! JSON, 2.2 MiB gzipped, which no ConfigMap carries and no Helm release Secret holds (docs/kubernetes-limits.md,
//! "Large models against the API server").
//! - Its default layout carries the model's inputs: Helm 3 and Helm 4 install and upgrade it, the release Secret
//!   stays small, and the coordinator computes from what the API server stored the model `helm-samza model`
//!   prints, byte for byte.
//! - The layout `inline` is refused by the post-renderer before Helm applies anything; the layout `parts` makes
//!   objects the API server accepts one by one, but a release Helm cannot store.
//! - The parts applied server-side are mounted together into the coordinator's pod (a projected volume), and the
//!   coordinator joins them into the same bytes.
//!
//! Partition counts come from flags (offline); the job has no state, so no broker is needed. Every render of a
//! model this size takes seconds, so the model `helm-samza model` computes is computed once for all cases.

use std::io::Write;
use std::process::Command;
use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{get_json, sets, template_checksum, text, Coordinator, Release};
use crate::support::helm::run_ok;
use crate::support::run::{binary, manifest_values};
use crate::Env;

const COUNTS: &str = "kafka.my-input=200000";
const CONTAINERS: usize = 500;
/// What Kubernetes lets a ConfigMap or a Secret hold.
const OBJECT_LIMIT: usize = 1_048_576;
/// What the post-renderer puts into one ConfigMap at most (`model_configmap::MAX_PART_BYTES`).
const PART_LIMIT: usize = 900 * 1024;
const CHECKSUM: &str = "samza.apache.org/job-model-checksum";

/// The chart's values for the job (its default input, `my-input`, at [`COUNTS`]).
fn values() -> Vec<String> {
    sets(&[
        ("job.containerCount", &CONTAINERS.to_string()),
        ("worker.state.type", "emptyDir"),
    ])
}

/// Partition counts from flags, and the model layout asked for, if any.
fn offline(mut cmd: Command, layout: Option<&str>) -> Command {
    cmd.env("HELM_SAMZA_OFFLINE", "true")
        .env("HELM_SAMZA_PARTITIONS", COUNTS);
    if let Some(layout) = layout {
        cmd.args(["--post-renderer-args", &format!("--model-layout={layout}")]);
    }
    cmd
}

/// The job's model as `helm-samza model` computes it from the job config the chart renders, with the same counts.
struct Reference {
    /// The config ConfigMap's `job.properties`.
    properties: String,
    /// The JSON, without the newline `helm-samza model` ends it with.
    json: Vec<u8>,
    digest: String,
    containers: usize,
}

fn reference(env: &Env) -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        // The chart without the post-renderer: its config, as the post-renderer gets it.
        let rendered = run_ok(
            env.home(4)
                .cmd(["template", "reference"])
                .arg(super::chart("samza-job"))
                .args(values()),
        );
        let properties = manifest_values(&String::from_utf8_lossy(&rendered.stdout))
            .into_iter()
            .find(|doc| doc["kind"] == "ConfigMap" && doc["data"]["job.properties"].is_string())
            .expect("the chart renders a config ConfigMap")["data"]["job.properties"]
            .as_str()
            .unwrap()
            .to_owned();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("job.properties");
        std::fs::write(&config, &properties).unwrap();
        let out = run_ok(
            Command::new(binary())
                .arg("model")
                .arg("--config")
                .arg(&config)
                .args(["--offline", "--partitions", COUNTS]),
        );
        let mut json = out.stdout;
        assert_eq!(
            json.pop(),
            Some(b'\n'),
            "helm-samza model ends its JSON with a newline"
        );
        // Only the containers' ids are kept: the model is 40 MB of JSON.
        #[derive(serde::Deserialize)]
        struct Containers {
            containers: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
        }
        let containers = serde_json::from_slice::<Containers>(&json)
            .expect("helm-samza model prints JSON")
            .containers
            .len();
        assert_eq!(containers, CONTAINERS);
        Reference {
            properties,
            digest: format!("sha256:{:x}", Sha256::digest(&json)),
            json,
            containers,
        }
    })
}

/// The model's checksum as an object carries it.
fn checksum(object: &Value) -> String {
    object["metadata"]["annotations"][CHECKSUM]
        .as_str()
        .unwrap_or_else(|| panic!("no model checksum on {}", object["metadata"]["name"]))
        .to_owned()
}

/// The keys of an object's `field` (`data`, `binaryData`).
fn keys(object: &Value, field: &str) -> Vec<String> {
    object[field]
        .as_object()
        .map(|entries| entries.keys().cloned().collect())
        .unwrap_or_default()
}

/// The bytes Kubernetes counts against a Secret's limit for release revision `revision`: its `data.release`
/// (Helm's base64 of the gzipped release), decoded once from the Secret's own base64.
fn release_secret_bytes(release: &Release, revision: u32) -> usize {
    let secret = release.get(
        "secret",
        &format!("sh.helm.release.v1.{}.v{revision}", release.name),
    );
    let stored = secret["data"]["release"]
        .as_str()
        .expect("a release Secret");
    base64::engine::general_purpose::STANDARD
        .decode(stored)
        .expect("Secret data is base64")
        .len()
}

/// The default layout (`auto`) carries the model as its inputs: Helm 3 and Helm 4 install and upgrade the job, the
/// model ConfigMap holds only `job-model.inputs.json` with the digest every pod template carries, and the release
/// Secret is a few kilobytes. On Helm 3 the job is upgraded to 20,000 partitions (a model one ConfigMap carries)
/// and back; on Helm 4 it is upgraded unchanged, and the coordinator started on the model ConfigMap as the API
/// server stored it computes the model `helm-samza model` prints (a render of this job takes seconds: each check
/// runs once).
pub fn inputs_through_helm(env: &Env, version: u8) {
    let release = Release::samza_job(env, version, "large-inputs", &[]);
    let model_name = format!("{}-samza-job-model", release.name);
    let log = tempfile::NamedTempFile::new().unwrap();
    let deploy_with = |verb: &str, counts: &str| {
        let mut cmd = offline(release.deploy_cmd(verb, &values()), None);
        let out = cmd
            .env("HELM_SAMZA_PARTITIONS", counts)
            .env("HELM_SAMZA_LOG_FILE", log.path())
            .output()
            .expect("running helm");
        let message = text(&out) + &std::fs::read_to_string(log.path()).unwrap_or_default();
        assert!(
            out.status.success(),
            "helm{version} {verb} with {counts}: {message}"
        );
    };
    let deploy = |verb: &str| deploy_with(verb, COUNTS);
    let read = || {
        let model = release.get("configmap", &model_name);
        let workers = release.get("statefulset", &format!("{}-samza-job-worker", release.name));
        let coordinator = release.get(
            "deployment",
            &format!("{}-samza-job-coordinator", release.name),
        );
        (model, workers, coordinator)
    };

    deploy("install");
    let reference = reference(env);
    let (model, workers, coordinator) = read();
    assert_eq!(keys(&model, "data"), ["job-model.inputs.json"], "{model}");
    assert!(keys(&model, "binaryData").is_empty(), "{model}");
    let inputs: Value =
        serde_json::from_str(model["data"]["job-model.inputs.json"].as_str().unwrap()).unwrap();
    assert_eq!(inputs["partitionCounts"]["kafka"]["my-input"], 200_000);
    assert_eq!(
        inputs["modelDigest"].as_str(),
        Some(reference.digest.as_str())
    );
    assert_eq!(checksum(&model), reference.digest);
    assert_eq!(template_checksum(&workers), reference.digest);
    assert_eq!(template_checksum(&coordinator), reference.digest);
    assert_eq!(workers["spec"]["replicas"], reference.containers);
    let config = release.get("configmap", &format!("{}-samza-job-config", release.name));
    assert_eq!(
        config["data"]["job.properties"].as_str(),
        Some(reference.properties.as_str())
    );
    let installed = release_secret_bytes(&release, 1);
    assert!(
        installed < OBJECT_LIMIT / 16,
        "the release Secret is {installed} bytes"
    );

    let upgraded = if version == 3 {
        // The layout follows the model's size on every upgrade, and Helm's three-way merge removes the other
        // layout's key: a `job-model.json.gz` left beside `job-model.inputs.json` would be what the coordinator
        // reads first.
        deploy_with("upgrade", "kafka.my-input=20000");
        let (small, workers, _) = read();
        assert_eq!(keys(&small, "binaryData"), ["job-model.json.gz"], "{small}");
        assert!(keys(&small, "data").is_empty(), "{small}");
        assert_ne!(checksum(&small), reference.digest);
        assert_eq!(template_checksum(&workers), checksum(&small));
        deploy("upgrade");
        let (large, workers, coordinator) = read();
        assert_eq!(large["data"], model["data"]);
        assert!(keys(&large, "binaryData").is_empty(), "{large}");
        assert_eq!(template_checksum(&workers), reference.digest);
        assert_eq!(template_checksum(&coordinator), reference.digest);
        release_secret_bytes(&release, 3)
    } else {
        // An unchanged upgrade: the same model, no pod template rewritten.
        deploy("upgrade");
        let (after, workers_after, coordinator_after) = read();
        assert_eq!(after["data"], model["data"]);
        for (before, after) in [
            (&workers, &workers_after),
            (&coordinator, &coordinator_after),
        ] {
            assert_eq!(
                before["metadata"]["generation"], after["metadata"]["generation"],
                "the upgrade changed {}",
                after["metadata"]["name"]
            );
        }
        // The coordinator on the stored ConfigMap, read back from the API server as the kubelet would mount it.
        let stored = get_json(env, &release.namespace, &["configmap", &model_name]);
        serves_the_reference(&Coordinator::mounted(&[stored]), reference);
        release_secret_bytes(&release, 2)
    };
    // The figures docs/kubernetes-limits.md records.
    eprintln!(
        "helm{version}, 200,000 partitions as inputs: release Secret {installed} bytes (install), {upgraded} bytes \
         (upgrade)"
    );
    assert!(
        upgraded < OBJECT_LIMIT / 16,
        "the release Secret is {upgraded} bytes"
    );
}

/// The coordinator serves the reference model at the workers' path (their pod template's digest) and at `/`,
/// byte for byte, and refuses a worker of another model.
fn serves_the_reference(coordinator: &Coordinator, reference: &Reference) {
    let (code, body) = coordinator.get_bytes(&format!("/model/{}/", reference.digest));
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    assert!(
        body == reference.json,
        "the coordinator serves {} bytes that are not the {} bytes of helm-samza model",
        body.len(),
        reference.json.len()
    );
    let (code, body) = coordinator.get_bytes("/");
    assert!(
        code == 200 && body == reference.json,
        "GET / answered {code}"
    );
    let other = format!("sha256:{}", "0".repeat(64));
    let (code, _) = coordinator.get(&format!("/model/{other}/"));
    assert_eq!(code, 409, "a worker of another model got this one");
}

/// What `helm install` makes of a layout that puts the model itself into the manifest; either way Helm stores no
/// release and applies nothing. `inline`: the post-renderer refuses the model (exit 11), before Helm gets any
/// manifest. `parts`: the post-renderer splits it, but Helm records the whole manifest in its release Secret before
/// it creates any object, and the API server refuses that Secret; lint (SZ408) says so first. (Helm 3 and Helm 4
/// fail the same way for both layouts; the suite tries each layout on one of them.)
pub fn model_in_the_manifest_through_helm(env: &Env, version: u8, layout: &str) {
    let release = Release::samza_job(env, version, &format!("large-{layout}"), &[]);
    let log = tempfile::NamedTempFile::new().unwrap();
    let out = offline(release.deploy_cmd("install", &values()), Some(layout))
        .env("HELM_SAMZA_LOG_FILE", log.path())
        .output()
        .expect("running helm install");
    let message = text(&out) + &std::fs::read_to_string(log.path()).unwrap_or_default();
    let refused = match layout {
        // helm-samza's log names its exit code; Helm 3 also reports the exit status of the post-renderer (Helm 4
        // only that its plugin failed).
        "inline" => {
            message.contains("(model layout `inline`): use the layout `auto` or `inputs`")
                && message.contains("(exit code 11)")
                && (version == 4 || message.contains("exit status 11"))
        }
        _ => {
            message.contains(&format!(
                "Secret \"sh.helm.release.v1.{}.v1\" is invalid",
                release.name
            )) && message.contains("Too long: may not be more than 1048576 bytes")
        }
    };
    assert!(
        !out.status.success() && refused,
        "helm{version} install, layout {layout}: {message}"
    );
    release.assert_nothing_applied();

    if layout == "parts" {
        // lint says so before Helm runs (SZ408), as for any release too large for its Secret.
        let lint = env
            .helm(version, ["samza", "lint"])
            .arg(super::chart("samza-job"))
            .args(values())
            .args(["--partitions", COUNTS, "--model-layout", "parts"])
            .args(["--output", "json"])
            .output()
            .expect("running helm samza lint");
        let report: Value = serde_json::from_slice(&lint.stdout)
            .unwrap_or_else(|e| panic!("lint JSON: {e}: {}", text(&lint)));
        let sz408 = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "SZ408");
        assert!(
            lint.status.code() == Some(1) && sz408,
            "lint of the parts: {report}"
        );
    }
}

/// `--model-layout parts` rendered by `helm template` and applied with `kubectl apply --server-side`: every part
/// is accepted (each at most 900 KiB), the coordinator's model volume projects the model ConfigMap and every part
/// in order, and the coordinator started on the ConfigMaps as the API server stored them joins the model
/// `helm-samza model` prints.
pub fn parts_server_side(env: &Env) {
    let namespace = env.plane.namespace("large-parts", &[]);
    let mut args = vec!["--namespace".to_owned(), namespace.clone()];
    args.extend(values());
    let out = offline(
        env.home(4).template(&super::chart("samza-job"), &args),
        Some("parts"),
    )
    .output()
    .expect("running helm template");
    assert!(
        out.status.success(),
        "helm template, layout parts: {}",
        text(&out)
    );
    let rendered = out.stdout;
    let release = crate::support::helm::RELEASE;
    let model_name = format!("{release}-samza-job-model");

    // What Helm would have to store in the release Secret: at least these manifests, gzipped and base64-encoded.
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(&rendered).unwrap();
    let in_release = base64::engine::general_purpose::STANDARD
        .encode(gzip.finish().unwrap())
        .len();
    assert!(in_release > OBJECT_LIMIT, "{in_release} bytes");

    let out = env
        .plane
        .apply(&rendered, &["-n", &namespace, "--server-side"]);
    assert!(
        out.status.success(),
        "server-side apply of the parts: {}",
        text(&out)
    );

    let reference = reference(env);
    let model = get_json(env, &namespace, &["configmap", &model_name]);
    assert_eq!(keys(&model, "data"), ["job-model.index.json"], "{model}");
    assert_eq!(checksum(&model), reference.digest);
    let index: Value =
        serde_json::from_str(model["data"]["job-model.index.json"].as_str().unwrap()).unwrap();
    let entries = index["parts"]
        .as_array()
        .expect("the index lists the parts");
    let gzip: u64 = entries.iter().map(|p| p["bytes"].as_u64().unwrap()).sum();
    assert!(entries.len() > 1, "{index}");
    assert_eq!(entries.len(), (gzip as usize).div_ceil(PART_LIMIT));
    let mut mounted = vec![model.clone()];
    let mut names = vec![model_name.clone()];
    for (n, entry) in entries.iter().enumerate() {
        let name = format!("{model_name}-part-{}", n + 1);
        assert_eq!(entry["configMap"].as_str(), Some(name.as_str()));
        let part = get_json(env, &namespace, &["configmap", &name]);
        let key = entry["key"].as_str().unwrap();
        assert_eq!(keys(&part, "binaryData"), [key]);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(part["binaryData"][key].as_str().unwrap())
            .unwrap();
        assert!(
            bytes.len() <= PART_LIMIT,
            "{name} holds {} bytes",
            bytes.len()
        );
        assert_eq!(Some(bytes.len() as u64), entry["bytes"].as_u64());
        assert_eq!(checksum(&part), reference.digest);
        mounted.push(part);
        names.push(name);
    }
    eprintln!(
        "200,000 partitions in parts: {gzip} bytes of gzip in {} parts for {} bytes of JSON; the manifests alone \
         would take {in_release} bytes of a release Secret",
        entries.len(),
        reference.json.len(),
    );

    let workers = get_json(
        env,
        &namespace,
        &["statefulset", &format!("{release}-samza-job-worker")],
    );
    let coordinator = get_json(
        env,
        &namespace,
        &["deployment", &format!("{release}-samza-job-coordinator")],
    );
    assert_eq!(template_checksum(&workers), reference.digest);
    assert_eq!(template_checksum(&coordinator), reference.digest);
    assert_eq!(workers["spec"]["replicas"], reference.containers);
    let volume = coordinator["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "model")
        .expect("the coordinator's model volume")
        .clone();
    assert!(volume.get("configMap").is_none(), "{volume}");
    let projected: Vec<&str> = volume["projected"]["sources"]
        .as_array()
        .unwrap_or_else(|| panic!("not a projected volume: {volume}"))
        .iter()
        .map(|source| source["configMap"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(projected, names);

    let coordinator = Coordinator::mounted(&mounted);
    serves_the_reference(&coordinator, reference);
}
