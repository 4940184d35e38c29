//! A job model too large for one ConfigMap (Kubernetes caps an object at 1 MiB): the samza-job chart rendered by
//! real Helm through the post-renderer, 200,000 input partitions, in the layouts that carry it.
//!
//! - `parts`: every part ConfigMap stays under the limit, the coordinator's model volume projects them all, and the
//!   coordinator, given the files the kubelet would mount, serves the model byte for byte as the post-renderer
//!   encoded it (whose digest is on the pod templates).
//! - `inputs` (what `auto` picks): the model ConfigMap holds a few kilobytes, and the coordinator computes the
//!   same model again, byte for byte.
//! - a model no layout can carry fails before anything is written, with exit 11.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use helm_samza::coordinator::{start, Settings};
use helm_samza::kafka::Overrides;

use crate::support::{
    helm::{run_ok, HelmHome},
    run::{manifest_values, Test},
    tools::repo_root,
};

/// Kubernetes' limit for one object, and what helm-samza puts in one part.
const LIMIT: usize = 1024 * 1024;
const PART: usize = 900 * 1024;

/// `helm template` of the samza-job chart (500 containers) through the post-renderer with `args`.
fn render(helm: &HelmHome, args: &[&str]) -> std::process::Output {
    let mut extra: Vec<String> = vec![
        "--set".into(),
        "job.containerCount=500".into(),
        "--set".into(),
        "job.bootstrapServers=kafka.invalid:9092".into(),
    ];
    for arg in args {
        extra.push("--post-renderer-args".into());
        extra.push((*arg).into());
    }
    helm.template(&repo_root().join("charts/samza-job"), &extra)
        .output()
        .expect("helm runs")
}

/// The chart's job with 200,000 input partitions (offline), in `layout`.
fn render_200k(helm: &HelmHome, layout: &str) -> std::process::Output {
    render(
        helm,
        &[
            "--offline",
            "--partitions",
            "kafka.my-input=200000",
            "--model-layout",
            layout,
        ],
    )
}

fn rendered(helm: &HelmHome, layout: &str) -> Vec<Value> {
    let output = render_200k(helm, layout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    manifest_values(&String::from_utf8(output.stdout).unwrap())
}

fn role<'a>(objects: &'a [Value], role: &str) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|o| o["metadata"]["labels"]["samza.apache.org/role"] == role)
        .collect()
}

/// Bytes a ConfigMap holds as the API server counts them: `data` values plus decoded `binaryData` values.
fn held_bytes(cm: &Value) -> usize {
    let data: usize = cm["data"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, v)| v.as_str().unwrap().len())
        .sum();
    let binary: usize = cm["binaryData"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, v)| decode(v).len())
        .sum();
    data + binary
}

fn decode(value: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(value.as_str().unwrap())
        .unwrap()
}

/// The files the kubelet mounts for `volume` (a configMap or a projected volume of ConfigMaps), from `objects`.
fn mount(objects: &[Value], volume: &Value, dir: &Path) {
    let names: Vec<&str> = match volume.get("projected") {
        Some(projected) => projected["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["configMap"]["name"].as_str().unwrap())
            .collect(),
        None => vec![volume["configMap"]["name"].as_str().unwrap()],
    };
    for name in names {
        let cm = objects
            .iter()
            .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("the volume names ConfigMap {name}, which is not rendered"));
        for (key, value) in cm["data"].as_object().into_iter().flatten() {
            std::fs::write(dir.join(key), value.as_str().unwrap()).unwrap();
        }
        for (key, value) in cm["binaryData"].as_object().into_iter().flatten() {
            std::fs::write(dir.join(key), decode(value)).unwrap();
        }
    }
}

fn coordinator_volume(objects: &[Value]) -> &Value {
    let coordinator = role(objects, "coordinator")
        .into_iter()
        .find(|o| o["kind"] == "Deployment")
        .expect("a coordinator Deployment");
    coordinator["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "model")
        .expect("the coordinator mounts its model")
}

fn checksums(objects: &[Value]) -> Vec<String> {
    ["worker", "coordinator"]
        .iter()
        .flat_map(|r| role(objects, r))
        .filter(|o| o["kind"] != "Service")
        .map(|o| {
            o["spec"]["template"]["metadata"]["annotations"]["samza.apache.org/job-model-checksum"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// The model the coordinator serves a worker of `digest`, from the files mounted at `dir`.
fn served(dir: &Path, digest: &str) -> Vec<u8> {
    let running = start(&Settings {
        model: dir.join("job-model.json"),
        listen: "127.0.0.1:0".into(),
        kafka: Overrides::default(),
        poll_interval: Some(Duration::from_secs(3600)),
        write_coordinator_stream: false,
    })
    .expect("the coordinator starts");
    let (status, body) = get(running.addr(), &format!("/model/{digest}/"), false);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    // A client that accepts gzip gets the same model gzipped (compressed once by the coordinator).
    let (status, gzipped) = get(running.addr(), &format!("/model/{digest}/"), true);
    running.shutdown();
    assert_eq!(status, 200);
    assert!(
        gzipped.len() < body.len() / 4,
        "{} of {}",
        gzipped.len(),
        body.len()
    );
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(gzipped.as_slice())
        .read_to_end(&mut unzipped)
        .unwrap();
    assert!(unzipped == body, "the gzipped model is the model");
    body
}

fn get(addr: SocketAddr, path: &str, gzip: bool) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let accept = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{accept}\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, raw[split + 4..].to_vec())
}

#[test]
fn a_200k_partition_model_fits_in_parts_or_as_inputs_and_the_coordinator_serves_it_byte_for_byte() {
    let helm = HelmHome::new(3);

    // parts
    let objects = rendered(&helm, "parts");
    let model_cm = role(&objects, "model");
    assert_eq!(model_cm.len(), 1);
    let index: Value = serde_json::from_str(
        model_cm[0]["data"]["job-model.index.json"]
            .as_str()
            .expect("the model ConfigMap holds the index"),
    )
    .unwrap();
    let parts = role(&objects, "model-part");
    assert!(parts.len() >= 2, "{} parts", parts.len());
    assert_eq!(index["parts"].as_array().unwrap().len(), parts.len());
    let mut gzip = Vec::new();
    for (n, part) in parts.iter().enumerate() {
        let held = held_bytes(part);
        assert!(held <= PART, "part {n} holds {held} bytes");
        let text = serde_json::to_string(part).unwrap();
        assert!(
            text.len() < LIMIT * 4 / 3 + 4096,
            "part {n} is {} bytes",
            text.len()
        );
        let (_, value) = part["binaryData"]
            .as_object()
            .unwrap()
            .iter()
            .next()
            .unwrap();
        gzip.extend(decode(value));
    }
    assert!(held_bytes(model_cm[0]) < 64 * 1024);
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(gzip.as_slice())
        .read_to_end(&mut json)
        .unwrap();
    let digest = helm_samza::model_configmap::digest_bytes(&json);
    let sums = checksums(&objects);
    assert!(
        sums.len() >= 2 && sums.iter().all(|s| *s == digest),
        "{sums:?} vs {digest}"
    );
    let volume = coordinator_volume(&objects);
    let sources = volume["projected"]["sources"]
        .as_array()
        .expect("a projected volume");
    assert_eq!(sources.len(), parts.len() + 1);
    let dir = tempfile::tempdir().unwrap();
    mount(&objects, volume, dir.path());
    assert_eq!(
        served(dir.path(), &digest),
        json,
        "the model joined from its parts"
    );

    // inputs, what auto picks for a model this size
    {
        let layout = "auto";
        let objects = rendered(&helm, layout);
        let model_cm = role(&objects, "model");
        assert!(role(&objects, "model-part").is_empty());
        let inputs = model_cm[0]["data"]["job-model.inputs.json"]
            .as_str()
            .expect("the model ConfigMap holds the inputs");
        assert!(inputs.len() < 16 * 1024, "{} bytes of inputs", inputs.len());
        assert!(checksums(&objects).iter().all(|s| *s == digest), "{layout}");
        let volume = coordinator_volume(&objects);
        assert!(volume.get("projected").is_none(), "{volume}");
        let dir = tempfile::tempdir().unwrap();
        mount(&objects, volume, dir.path());
        assert_eq!(
            served(dir.path(), &digest),
            json,
            "the model computed again from its inputs ({layout})"
        );
    }
}

/// Re-post-rendering a stream that went through helm-samza before: the same model in parts comes out byte for
/// byte; a model that shrank back into one ConfigMap drops its old parts, and the coordinator's volume is the model
/// ConfigMap alone again.
#[test]
fn a_model_that_no_longer_needs_parts_leaves_none_behind() {
    let helm = HelmHome::new(3);
    let output = render_200k(&helm, "parts");
    assert!(output.status.success());
    // The same inputs again: the stream comes out as it went in.
    let same = Test::new()
        .args([
            "post-render",
            "--offline",
            "--partitions",
            "kafka.my-input=200000",
            "--model-layout",
            "parts",
        ])
        .stdin(output.stdout.clone())
        .run()
        .success();
    assert!(
        same.stdout == output.stdout,
        "a split model post-rendered again changed"
    );
    let again = Test::new()
        .args([
            "post-render",
            "--offline",
            "--partitions",
            "kafka.my-input=600",
            "--model-layout",
            "parts",
        ])
        .stdin(output.stdout)
        .run()
        .success();
    let objects = manifest_values(again.stdout_str());
    assert!(role(&objects, "model-part").is_empty());
    let volume = coordinator_volume(&objects);
    assert_eq!(
        volume["configMap"]["name"],
        role(&objects, "model")[0]["metadata"]["name"]
    );
    assert!(volume.get("projected").is_none(), "{volume}");
    let mut names = BTreeMap::new();
    for o in &objects {
        *names
            .entry(format!("{} {}", o["kind"], o["metadata"]["name"]))
            .or_insert(0) += 1;
    }
    assert!(names.values().all(|n| *n == 1), "{names:?}");
}

/// A model too large for the layout asked for, or for any layout: exit 11, the numbers named, nothing on stdout
/// (so Helm applies nothing).
#[test]
fn a_model_no_layout_can_carry_fails_before_anything_is_written() {
    let helm = HelmHome::new(3);
    let output = render_200k(&helm, "inline");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("more than the 900 KiB one ConfigMap carries (model layout `inline`)"),
        "{stderr}"
    );

    let stream = String::from_utf8(
        run_ok(&mut helm.cmd([
            "template",
            "samza-test",
            repo_root().join("charts/samza-job").to_str().unwrap(),
            "--set",
            "job.containerCount=1000",
            "--set",
            "config.job\\.systemstreampartition\\.grouper\\.factory=org.apache.samza.container.grouper.stream.GroupBySystemStreamPartitionFactory",
        ]))
        .stdout,
    )
    .unwrap();
    // 1,000,000 tasks of one partition each: 12 MB of gzip, more parts than a model is split into.
    Test::new()
        .args([
            "post-render",
            "--offline",
            "--partitions",
            "kafka.my-input=1000000",
            "--model-layout",
            "parts",
        ])
        .stdin(stream.clone())
        .run()
        .fails(
            11,
            &[
                "more parts of 900 KiB than the 8 a model is split into",
                "use the layout `inputs`",
            ],
        );
    // Past the model limit: no layout at all.
    Test::new()
        .args([
            "post-render",
            "--offline",
            "--partitions",
            "kafka.my-input=1000001",
        ])
        .stdin(stream)
        .run()
        .fails(
            11,
            &[
                "would list 1000001 input partitions",
                "more than the 1000000",
            ],
        );
}

/// A stateful job carried as its inputs, against a real broker: the first deploy's coordinator computes the model
/// without a stored state and writes the stream; the next render plans against that stream, and a new coordinator
/// computes the same model by reading it; once the stream holds another mapping than the render saw, the
/// coordinator refuses to serve, naming the digests.
#[test]
fn a_stateful_model_carried_as_inputs_is_computed_again_from_the_coordinator_stream() {
    use crate::support::broker::Broker;
    use helm_samza::samza::coordinator_stream::{Header, Message, SET_CHANGELOG};

    let broker = Broker::start();
    broker.create_topic("my-input", 4);
    let helm = HelmHome::new(3);
    let stream = run_ok(&mut helm.cmd([
        "template",
        "samza-test",
        repo_root().join("charts/samza-job").to_str().unwrap(),
        "--set",
        "job.containerCount=2",
        "--set",
        &format!("job.bootstrapServers={}", broker.bootstrap()),
        "--set",
        "job.defaultReplicationFactor=1",
        "--set",
        "config.stores\\.counts\\.factory=org.apache.samza.storage.kv.RocksDbKeyValueStorageEngineFactory",
        "--set",
        "config.stores\\.counts\\.changelog=kafka.counts-changelog",
    ]))
    .stdout;
    let post_render = |stream: &[u8]| {
        let run = Test::new()
            .args(["post-render", "--model-layout", "inputs"])
            .stdin(stream.to_vec())
            .run()
            .success();
        manifest_values(run.stdout_str())
    };
    let inputs_of = |objects: &[Value]| -> Value {
        serde_json::from_str(
            role(objects, "model")[0]["data"]["job-model.inputs.json"]
                .as_str()
                .unwrap(),
        )
        .unwrap()
    };
    let kafka = Overrides {
        timeout: Some(Duration::from_secs(10)),
        ..Overrides::default()
    };
    let start_on = |objects: &[Value], dir: &Path, write: bool| {
        mount(objects, coordinator_volume(objects), dir);
        start(&Settings {
            model: dir.join("job-model.json"),
            listen: "127.0.0.1:0".into(),
            kafka: kafka.clone(),
            poll_interval: Some(Duration::from_secs(3600)),
            write_coordinator_stream: write,
        })
        .expect("the coordinator starts")
    };
    // Ready (Ok), or refused for good (Err: what /readyz said); a refusal to compute is not retried.
    let wait_ready = |addr: SocketAddr| -> Result<(), String> {
        let started = std::time::Instant::now();
        loop {
            let (status, body) = get(addr, "/readyz", false);
            let body = String::from_utf8_lossy(&body).into_owned();
            if status == 200 {
                return Ok(());
            }
            if body.contains("cannot be computed") || started.elapsed() > Duration::from_secs(30) {
                return Err(body);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };

    // First deploy: nothing stored; the coordinator computes the model and writes the stream.
    let first = post_render(&stream);
    let inputs = inputs_of(&first);
    assert!(inputs["previousState"]["digest"].is_null(), "{inputs}");
    let digest = inputs["modelDigest"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(&first, dir.path(), true);
    wait_ready(running.addr())
        .expect("the first coordinator computes the model and writes the stream");
    let (status, model) = get(running.addr(), &format!("/model/{digest}/"), false);
    assert_eq!(status, 200);
    running.shutdown();

    // The next render reads the stream and plans against it: the same model, its inputs naming the stream.
    let second = post_render(&stream);
    let inputs = inputs_of(&second);
    assert_eq!(inputs["modelDigest"], digest.as_str());
    let source = inputs["previousState"]["source"]
        .as_str()
        .unwrap_or_default();
    assert!(
        source.starts_with("coordinator stream __samza_coordinator_my-job_1"),
        "{inputs}"
    );
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(&second, dir.path(), false);
    wait_ready(running.addr()).expect("the coordinator computes the model from the stream");
    let (status, again) = get(running.addr(), &format!("/model/{digest}/"), false);
    running.shutdown();
    assert_eq!((status, again == model), (200, true));

    // Another mapping stored since (another writer): the model computed is another one, and it is not served.
    let mut settings = helm_samza::kafka::KafkaClientSettings::new(vec![broker.bootstrap()]);
    settings.timeout = Duration::from_secs(10);
    let spec = helm_samza::samza::changelog::internal_topics(
        &helm_samza::samza::Config::from_properties(
            "job.name=my-job\njob.id=1\njob.default.system=kafka\njob.coordinator.replication.factor=1\n",
        )
        .unwrap(),
    )
    .unwrap()
    .into_iter()
    .find(|t| t.purpose == helm_samza::samza::TopicPurpose::CoordinatorStream)
    .unwrap();
    helm_samza::kafka::write_messages(
        &settings,
        &spec,
        &[Message::set(
            SET_CHANGELOG,
            "Partition 0",
            &Header::helm_samza(1),
            &[("Partition", "7")],
        )],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let running = start_on(&second, dir.path(), false);
    let refusal =
        wait_ready(running.addr()).expect_err("a model of another stored state is not served");
    let (status, _) = get(running.addr(), &format!("/model/{digest}/"), false);
    running.shutdown();
    assert_ne!(status, 200);
    assert!(
        refusal.contains(&digest) && refusal.contains("the coordinator stream now holds"),
        "{refusal}"
    );

    // The broker gone: the model cannot be computed for now, which is no reason to stop the running workers.
    drop(broker);
    let dir = tempfile::tempdir().unwrap();
    mount(&second, coordinator_volume(&second), dir.path());
    let running = start(&Settings {
        model: dir.path().join("job-model.json"),
        listen: "127.0.0.1:0".into(),
        kafka: Overrides {
            timeout: Some(Duration::from_secs(1)),
            ..Overrides::default()
        },
        poll_interval: Some(Duration::from_secs(3600)),
        write_coordinator_stream: false,
    })
    .unwrap();
    let (status, body) = get(running.addr(), &format!("/model/{digest}/"), false);
    assert_eq!(status, 500, "{}", String::from_utf8_lossy(&body));
    let (status, alive) = get(
        running.addr(),
        &format!("/model/{digest}/containerHeartbeat?executionContainerId=w-0"),
        false,
    );
    running.shutdown();
    assert_eq!((status, alive.as_slice()), (200, &br#"{"alive":true}"#[..]));
}
