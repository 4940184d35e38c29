//! `helm-samza post-render` on rendered streams, without Helm: patching, the added model, errors, fidelity.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::helm::run_ok;
use crate::support::run::{fixture, Test};
use helm_samza::manifest::Stream;

/// Every document of a stream as Go-compatible JSON values (empty documents left out), with its raw text.
pub(crate) fn documents(text: &str) -> Vec<(String, Value)> {
    let stream = Stream::split(text);
    stream
        .documents()
        .iter()
        .filter_map(|doc| {
            let head = doc.head().expect("head parses");
            head.map(|_| (doc.raw().to_string(), doc.value().expect("document parses")))
        })
        .collect()
}

pub(crate) fn find<'a>(docs: &'a [(String, Value)], kind: &str, name: &str) -> &'a (String, Value) {
    docs.iter()
        .find(|(_, v)| v["kind"] == kind && v["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in output"))
}

const ONE_JOB_FLAGS: [&str; 3] = [
    "post-render",
    "--partitions=kafka.PageViewEvent=4",
    "--partitions=kafka.AdClickEvent=2",
];

#[test]
fn fills_in_replicas_model_and_checksums() {
    let input = std::fs::read_to_string(fixture("post-render/one-job-helm3.yaml")).unwrap();
    let out = Test::new()
        .args(ONE_JOB_FLAGS)
        .args(["--offline"])
        .stdin(input.clone())
        .run()
        .success();
    let output = out.stdout_str();
    let before = documents(&input);
    let after = documents(output);
    assert_eq!(
        after.len(),
        before.len() + 1,
        "one model ConfigMap added, nothing lost"
    );

    let (raw, model_cm) = find(&after, "ConfigMap", "demo-page-views-model");
    assert!(
        raw.contains("# Source: page-views/templates/config.yaml"),
        "{raw}"
    );
    assert_eq!(
        model_cm["metadata"]["labels"]["samza.apache.org/role"],
        "model"
    );
    let model_json = model_cm["data"]["job-model.json"]
        .as_str()
        .expect("model JSON");
    let model: Value = serde_json::from_str(model_json).unwrap();
    let digest = format!("sha256:{:x}", Sha256::digest(model_json.as_bytes()));
    assert_eq!(
        model_cm["metadata"]["annotations"]["samza.apache.org/job-model-checksum"],
        digest
    );
    assert_eq!(
        model_cm["metadata"]["annotations"]["samza.apache.org/partition-source"],
        "kafka: flags"
    );

    // The spec's example: PageViewEvent 4 partitions, AdClickEvent 2, two containers.
    assert_eq!(model["config"]["job.container.count"], "2");
    assert_eq!(model["max-change-log-stream-partitions"], 4);
    let c0 = &model["containers"]["0"]["tasks"];
    let c1 = &model["containers"]["1"]["tasks"];
    assert_eq!(
        c0.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["Partition 0", "Partition 2"]
    );
    assert_eq!(
        c1.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["Partition 1", "Partition 3"]
    );
    assert_eq!(
        c0["Partition 0"]["system-stream-partitions"],
        json!([
            {"system": "kafka", "partition": 0, "stream": "AdClickEvent", "keyBucket": -1},
            {"system": "kafka", "partition": 0, "stream": "PageViewEvent", "keyBucket": -1}
        ])
    );

    let (_, workers) = find(&after, "StatefulSet", "demo-page-views");
    assert_eq!(workers["spec"]["replicas"], 2);
    assert_eq!(
        workers["spec"]["template"]["metadata"]["annotations"]
            ["samza.apache.org/job-model-checksum"],
        digest
    );
    // A value that reads as a YAML 1.1 bool must stay a string.
    assert_eq!(
        workers["spec"]["template"]["spec"]["containers"][0]["env"][1]["value"],
        "yes"
    );
    let (_, coordinator) = find(&after, "Deployment", "demo-page-views-coordinator");
    let annotations = &coordinator["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["samza.apache.org/job-model-checksum"], digest);
    assert_eq!(annotations["prometheus.io/scrape"], "true");

    // Templated values: a single expression keeps its type; mixed text becomes a string; Go templates untouched.
    let (_, topic) = find(&after, "KafkaTopic", "page-views-counts-changelog");
    assert_eq!(topic["spec"]["partitions"], 4);
    assert_eq!(
        topic["spec"]["config"]["note"],
        "page-views has 2 containers"
    );
    assert_eq!(
        topic["spec"]["config"]["unchanged"],
        "{{ not a go template here }}"
    );

    // Documents that are not part of a job come out byte for byte.
    let (raw_sa, _) = find(&after, "ServiceAccount", "page-views");
    assert_eq!(raw_sa, &find(&before, "ServiceAccount", "page-views").0);
    let (raw_cfg, _) = find(&after, "ConfigMap", "demo-page-views-config");
    assert_eq!(
        raw_cfg,
        &find(&before, "ConfigMap", "demo-page-views-config").0
    );
}

#[test]
fn same_input_gives_same_bytes() {
    let input = std::fs::read(fixture("post-render/one-job-helm3.yaml")).unwrap();
    let a = Test::new()
        .args(ONE_JOB_FLAGS)
        .stdin(input.clone())
        .run()
        .success();
    let b = Test::new().args(ONE_JOB_FLAGS).stdin(input).run().success();
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn helm4_input_gets_the_filename_annotation_on_the_added_document() {
    // Helm 4 style: no `# Source:` comments, a filename annotation on every document.
    let out = Test::new()
        .args(ONE_JOB_FLAGS)
        .stdin_file(fixture("post-render/one-job-helm4.yaml"))
        .run()
        .success();
    let after = documents(out.stdout_str());
    let (raw, model_cm) = find(&after, "ConfigMap", "demo-page-views-model");
    assert!(!raw.contains("# Source:"), "{raw}");
    assert_eq!(
        model_cm["metadata"]["annotations"]["postrenderer.helm.sh/postrender-filename"],
        "page-views/templates/config.yaml"
    );
    let (_, workers) = find(&after, "StatefulSet", "demo-page-views");
    assert_eq!(workers["spec"]["replicas"], 2);
    assert_eq!(
        workers["metadata"]["annotations"]["postrenderer.helm.sh/postrender-filename"],
        "page-views/templates/workers.yaml"
    );
}

#[test]
fn missing_partition_count_offline_names_the_stream() {
    Test::new()
        .args([
            "post-render",
            "--offline",
            "--partitions=kafka.PageViewEvent=4",
        ])
        .stdin_file(fixture("post-render/one-job-helm3.yaml"))
        .run()
        .fails(12, &["page-views", "AdClickEvent", "kafka"]);
}

#[test]
fn more_containers_than_tasks_is_refused_as_samza_refuses_it() {
    let input = std::fs::read_to_string(fixture("post-render/one-job-helm3.yaml"))
        .unwrap()
        .replace("job.container.count=2", "job.container.count=5");
    Test::new()
        .args([
            "post-render",
            "--offline",
            "--partitions=kafka.PageViewEvent=4",
            "--partitions=kafka.AdClickEvent=2",
        ])
        .stdin(input)
        .run()
        .fails(
            11,
            &[
                "container count (5) is larger than your task count (4)",
                "demo-page-views-config",
            ],
        );
}

#[test]
fn bad_config_value_names_the_key_and_the_document() {
    let input = std::fs::read_to_string(fixture("post-render/one-job-helm3.yaml"))
        .unwrap()
        .replace("job.container.count=2", "job.container.count=0");
    let out = Test::new().args(ONE_JOB_FLAGS).stdin(input).run();
    out.fails(
        10,
        &["job.container.count", "page-views/templates/config.yaml"],
    );
}

#[test]
fn unknown_grouper_names_the_key() {
    let input = std::fs::read_to_string(fixture("post-render/one-job-helm3.yaml")).unwrap().replace(
        "job.container.count=2",
        "job.container.count=2\n    job.systemstreampartition.grouper.factory=com.example.NoSuchFactory",
    );
    Test::new().args(ONE_JOB_FLAGS).stdin(input).run().fails(
        10,
        &[
            "job.systemstreampartition.grouper.factory",
            "com.example.NoSuchFactory",
        ],
    );
}

#[test]
fn undefined_template_name_names_resource_and_field() {
    let input = std::fs::read_to_string(fixture("post-render/one-job-helm3.yaml"))
        .unwrap()
        .replace("[[ job.name ]] has", "[[ job.nmae ]] has");
    Test::new().args(ONE_JOB_FLAGS).stdin(input).run().fails(
        14,
        &[
            "KafkaTopic",
            "page-views-counts-changelog",
            "spec.config.note",
            "undefined",
        ],
    );
}

#[test]
fn a_job_without_workers_is_an_error_naming_the_job() {
    let input = std::fs::read_to_string(fixture("post-render/one-job-helm3.yaml"))
        .unwrap()
        .replace(
            "samza.apache.org/role: worker",
            "samza.apache.org/role: something-else",
        );
    Test::new()
        .args(ONE_JOB_FLAGS)
        .stdin(input)
        .run()
        .fails(13, &["job 'page-views'", "worker StatefulSet"]);
}

#[test]
fn empty_input_is_refused_not_passed_on() {
    for input in ["", "\n---\n", "---\n# only a comment\n---\n"] {
        Test::new()
            .args(["post-render"])
            .stdin(input)
            .run()
            .fails(13, &["empty"]);
    }
}

#[test]
fn env_settings_are_read_once_and_boolish() {
    let input = std::fs::read(fixture("post-render/one-job-helm3.yaml")).unwrap();
    // HELM_SAMZA_OFFLINE=1 means offline (no broker is asked, so the missing count is named at once).
    Test::new()
        .args(["post-render"])
        .env("HELM_SAMZA_OFFLINE", "1")
        .env("HELM_SAMZA_PARTITIONS", "kafka.PageViewEvent=4,")
        .stdin(input.clone())
        .run()
        .fails(12, &["AdClickEvent"]);
    Test::new()
        .args(["post-render"])
        .env("HELM_SAMZA_OFFLINE", "yes")
        .env(
            "HELM_SAMZA_PARTITIONS",
            "kafka.PageViewEvent=4,kafka.AdClickEvent=2",
        )
        .stdin(input)
        .run()
        .success();
}

#[test]
fn failure_is_kept_for_helm4_users() {
    let input = std::fs::read_to_string(fixture("post-render/one-job-helm3.yaml"))
        .unwrap()
        .replace("job.container.count=2", "job.container.count=0");
    let out = Test::new().args(ONE_JOB_FLAGS).stdin(input.clone()).run();
    let tmp = out.tmp.path().to_path_buf();
    let out = out.fails(10, &["helm samza last-error"]);
    let log =
        std::fs::read_to_string(tmp.join("helm-samza/last-error.log")).expect("error log written");
    assert!(log.contains("job.container.count"), "{log}");
    assert_eq!(
        std::fs::read_to_string(tmp.join("helm-samza/last-input.yaml")).unwrap(),
        input
    );
    let shown = Test::new()
        .args(["last-error"])
        .env("TMPDIR", tmp.to_str().unwrap())
        .env("XDG_STATE_HOME", tmp.to_str().unwrap())
        .run()
        .success();
    assert!(shown.stdout_str().contains("job.container.count"));
    assert!(shown.stdout_str().contains("last-input.yaml"));
    drop(out); // owns the temp folder the logs are in
}

/// A bad flag or HELM_SAMZA_* value fails before anything runs, yet Helm 4 users still need to see why.
#[test]
fn a_bad_flag_or_variable_is_kept_for_helm4_users() {
    for (args, env, needle) in [
        (
            &["post-render", "--bogus"][..],
            None,
            "unexpected argument '--bogus'",
        ),
        (
            &["post-render", "--offline"][..],
            Some(("HELM_SAMZA_SAMZA_VERSION", "1.x")),
            "'1.x' is not a Samza version",
        ),
    ] {
        let mut test = Test::new().args(args).stdin("");
        if let Some((key, value)) = env {
            test = test.env(key, value);
        }
        let out = test.run();
        let tmp = out.tmp.path().to_path_buf();
        let out = out.fails(64, &[needle]);
        let shown = Test::new()
            .args(["last-error"])
            .env("TMPDIR", tmp.to_str().unwrap())
            .env("XDG_STATE_HOME", tmp.to_str().unwrap())
            .run()
            .success();
        assert!(
            shown.stdout_str().contains("exit code 64") && shown.stdout_str().contains(needle),
            "{}",
            shown.stdout_str()
        );
        drop(out);
    }
}

#[test]
fn corpus_charts_pass_through_byte_identical() {
    let dir = crate::support::tools::corpus_dir().join("charts");
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the chart corpus is part of the repository)",
            dir.display()
        )
    }) {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        inputs.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    assert_eq!(inputs.len(), 24, "expected the 24 corpus renders");
    inputs.push(("big.yaml".to_owned(), crate::support::tools::big_yaml()));
    for (name, input) in inputs {
        let out = Test::new()
            .args(["post-render", "--offline"])
            .stdin(input.clone())
            .run()
            .success();
        assert!(out.stdout == input, "{name} changed in pass-through");
    }
}

#[test]
fn post_rendering_twice_changes_nothing_more() {
    let once = Test::new()
        .args(ONE_JOB_FLAGS)
        .stdin_file(fixture("post-render/one-job-helm3.yaml"))
        .run()
        .success();
    let twice = Test::new()
        .args(ONE_JOB_FLAGS)
        .stdin(once.stdout.clone())
        .run()
        .success();
    assert_eq!(
        twice.stdout_str(),
        once.stdout_str(),
        "the old model is replaced, not duplicated"
    );
}

/// Broker faults, injected with librdkafka's mock cluster (a real listener in this test process), seen through
/// the binary: each its own clear error, a documented exit code, nothing on stdout, within the timeout.
#[test]
fn kafka_faults_fail_cleanly_with_nothing_on_stdout() {
    use rdkafka::{bindings::rd_kafka_resp_err_t as Err, mocking::MockCluster};
    use std::time::{Duration, Instant};

    let input = std::fs::read(fixture("post-render/one-job-helm3.yaml")).unwrap();
    let run = |servers: &str, timeout: &str| {
        let start = Instant::now();
        let out = Test::new()
            .args(["post-render", "--kafka-timeout", timeout])
            .args([format!("--bootstrap-servers={servers}")])
            .stdin(input.clone())
            .run();
        (out, start.elapsed())
    };

    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("PageViewEvent", 4, 1).unwrap();
    // A missing topic: named, with its system, and not created by asking.
    let (out, _) = run(&cluster.bootstrap_servers(), "5s");
    out.fails(12, &["AdClickEvent", "kafka"]);

    cluster.create_topic("AdClickEvent", 2, 1).unwrap();
    let (out, _) = run(&cluster.bootstrap_servers(), "5s");
    let out = out.success();
    assert!(
        out.stdout_str().contains("kafka: kafka (brokers "),
        "counts came from the mock broker"
    );

    // Not authorized.
    cluster
        .topic_error(
            "AdClickEvent",
            Err::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        )
        .unwrap();
    let (out, _) = run(&cluster.bootstrap_servers(), "5s");
    out.fails(12, &["AdClickEvent", "uthoriz"]);

    // A slow broker: its answer comes after the timeout.
    let slow = MockCluster::new(1).unwrap();
    slow.create_topic("PageViewEvent", 4, 1).unwrap();
    slow.create_topic("AdClickEvent", 2, 1).unwrap();
    slow.broker_round_trip_time(1, Duration::from_secs(6))
        .unwrap();
    let (out, took) = run(&slow.bootstrap_servers(), "2s");
    out.fails(12, &["2s"]);
    assert!(took < Duration::from_secs(5), "gave up after {took:?}");

    // A broker that is down: an error within the timeout naming the broker.
    let down = MockCluster::new(1).unwrap();
    let servers = down.bootstrap_servers();
    down.broker_down(1).unwrap();
    let (out, took) = run(&servers, "2s");
    out.fails(12, &[&servers]);
    assert!(took < Duration::from_secs(5), "gave up after {took:?}");
}

/// Two jobs in one render, one with standby containers: each gets its own model and its own replicas.
#[test]
fn several_jobs_and_standby_workers_in_one_render() {
    use crate::support::{helm::HelmHome, tools::repo_root};
    let home = HelmHome::bare(4);
    let chart = repo_root().join("charts/samza-job");
    let render = |release: &str, extra: &[&str]| {
        let out = run_ok(home.cmd(["template", release]).arg(&chart).args(extra));
        String::from_utf8(out.stdout).unwrap()
    };
    let full = repo_root().join("charts/samza-job/ci/full-values.yaml");
    let mut stream = render("plain", &["--set", "job.name=plain-job"]);
    stream.push_str(&render("standby", &["-f", full.to_str().unwrap()]));
    let out = Test::new()
        .args([
            "post-render",
            "--offline",
            "--partitions=kafka.my-input=6,kafka.page-views=6,kafka.ad-clicks=6",
        ])
        .stdin(stream)
        .run()
        .success();
    let docs = documents(out.stdout_str());
    let models: Vec<&Value> = docs
        .iter()
        .map(|(_, v)| v)
        .filter(|v| v["metadata"]["labels"]["samza.apache.org/role"] == "model")
        .collect();
    assert_eq!(models.len(), 2);
    for (_, v) in &docs {
        if v["kind"] == "StatefulSet"
            && v["metadata"]["labels"]["samza.apache.org/role"] == "worker"
        {
            let job = v["metadata"]["labels"]["samza.apache.org/job"]
                .as_str()
                .unwrap();
            let model = models
                .iter()
                .find(|m| m["metadata"]["labels"]["samza.apache.org/job"] == job)
                .unwrap();
            let json: Value =
                serde_json::from_str(model["data"]["job-model.json"].as_str().unwrap()).unwrap();
            let active = json["containers"]
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| !k.contains('-'))
                .count();
            assert_eq!(
                v["spec"]["replicas"], active,
                "{job}: replicas = active containers"
            );
            if let Some(r) = v["metadata"]["labels"]["samza.apache.org/standby-replica"].as_str() {
                // Samza's standby containers `C-r` hold `Standby-<task>-r` tasks.
                let id = format!("0-{r}");
                let tasks = json["containers"][&id]["tasks"]
                    .as_object()
                    .expect("standby container in the model");
                assert!(
                    tasks
                        .keys()
                        .all(|t| t.starts_with("Standby-") && t.ends_with(&format!("-{r}"))),
                    "{tasks:?}"
                );
            }
        }
    }
}

/// A model too big for a ConfigMap's data goes gzipped into binaryData; the checksum is of the JSON itself,
/// and `helm-samza show` reads it back.
#[test]
fn a_big_model_is_compressed() {
    let out = Test::new()
        .args([
            "post-render",
            "--partitions=kafka.PageViewEvent=20000",
            "--partitions=kafka.AdClickEvent=2",
        ])
        .stdin_file(fixture("post-render/one-job-helm3.yaml"))
        .run()
        .success();
    let docs = documents(out.stdout_str());
    let (_, cm) = find(&docs, "ConfigMap", "demo-page-views-model");
    assert!(cm.get("data").is_none(), "no plain copy");
    let b64 = cm["binaryData"]["job-model.json.gz"]
        .as_str()
        .expect("compressed model");
    use base64::Engine as _;
    let gz = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let mut json = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut json).unwrap();
    assert!(json.len() > 900 * 1024, "{}", json.len());
    let digest = format!("sha256:{:x}", Sha256::digest(json.as_bytes()));
    assert_eq!(
        cm["metadata"]["annotations"]["samza.apache.org/job-model-checksum"],
        digest
    );
    assert!(out.stdout.len() < 1024 * 1024, "the ConfigMap fits");
    let shown = Test::new()
        .args(["show"])
        .stdin(out.stdout.clone())
        .run()
        .success();
    assert!(
        shown.stdout_str().contains("20000 partitions") || shown.stdout_str().contains("20000"),
        "{}",
        shown.stdout_str()
    );
}

/// Each HELM_SAMZA_* Kafka variable has one reader: the per-system bootstrap variable wins over the global one
/// (docs/kafka.md), which a second, clap-side reading of the global one used to invert.
#[test]
fn per_system_bootstrap_variable_wins_over_the_global_one() {
    use rdkafka::mocking::MockCluster;
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("PageViewEvent", 4, 1).unwrap();
    cluster.create_topic("AdClickEvent", 2, 1).unwrap();
    let out = Test::new()
        .args(["post-render", "--kafka-timeout", "3s"])
        .env("HELM_SAMZA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
        .env(
            "HELM_SAMZA_BOOTSTRAP_SERVERS_KAFKA",
            &cluster.bootstrap_servers(),
        )
        .stdin_file(fixture("post-render/one-job-helm3.yaml"))
        .run()
        .success();
    assert!(
        out.stdout_str().contains(&cluster.bootstrap_servers()),
        "counts came from the per-system brokers"
    );
}

/// `show` reads every document: a broken stream is an error naming it, not "no model".
#[test]
fn show_names_a_broken_stream_and_says_when_there_is_no_model() {
    Test::new()
        .args(["show"])
        .stdin("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nb: [\n")
        .run()
        .fails(13, &["<stdin>: document 1", "invalid YAML"]);
    // What Kubernetes accepts stays acceptable: a List without metadata, a number as an annotation value.
    let odd = "apiVersion: v1\nkind: List\nitems: []\n---\napiVersion: v1\nkind: ConfigMap\n\
               metadata: {name: a, annotations: {n: 1}}\n";
    Test::new().args(["show"]).stdin(odd).run().success();
    let none = Test::new()
        .args(["show", "-"])
        .stdin_file(crate::support::tools::corpus_dir().join("charts/argo-cd-helm3.yaml"))
        .run()
        .success();
    assert_eq!(
        none.stdout_str(),
        "no helm-samza job model in this stream\n"
    );
}

/// A `KafkaTopic` counts for a system only if its `strimzi.io/cluster` is the Strimzi cluster the system's
/// bootstrap servers name; the same topic declared on another cluster is neither used nor a conflict.
#[test]
fn kafka_topics_count_only_for_the_strimzi_cluster_the_system_names() {
    let topic = |name: &str, cluster: &str, topic: &str, partitions: u32| {
        format!(
            "---\napiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaTopic\nmetadata:\n  name: {name}\n  \
             labels: {{strimzi.io/cluster: {cluster}}}\nspec:\n  topicName: {topic}\n  partitions: {partitions}\n"
        )
    };
    let base = std::fs::read_to_string(fixture("post-render/one-job-helm3.yaml")).unwrap();
    assert!(base.contains("bootstrap.servers=kafka:9092"));
    let input = base.replace(
        "bootstrap.servers=kafka:9092",
        "bootstrap.servers=my-cluster-kafka-bootstrap.kafka.svc:9092",
    ) + &topic("pv-other", "other", "PageViewEvent", 3)
        + &topic("pv", "my-cluster", "PageViewEvent", 8)
        + &topic("ad", "my-cluster", "AdClickEvent", 2);
    let out = Test::new()
        .args(["post-render", "--offline"])
        .stdin(input.clone())
        .run()
        .success();
    let docs = documents(out.stdout_str());
    let (_, model_cm) = find(&docs, "ConfigMap", "demo-page-views-model");
    assert_eq!(
        model_cm["metadata"]["annotations"]["samza.apache.org/partition-source"],
        "kafka: kafka-topic"
    );
    let model: Value =
        serde_json::from_str(model_cm["data"]["job-model.json"].as_str().unwrap()).unwrap();
    assert_eq!(
        model["max-change-log-stream-partitions"], 8,
        "my-cluster's count"
    );

    // Only the other cluster's declaration: no count, and the error says which KafkaTopic was left out and why.
    let other_only = base.replace(
        "bootstrap.servers=kafka:9092",
        "bootstrap.servers=SSL://my-cluster-kafka-bootstrap.kafka.svc:9093",
    ) + &topic("pv-other", "other", "PageViewEvent", 3)
        + &topic("ad", "my-cluster", "AdClickEvent", 2);
    Test::new()
        .args(["post-render", "--offline"])
        .stdin(other_only)
        .run()
        .fails(
            12,
            &[
                "no partition count for PageViewEvent",
                "KafkaTopic pv-other (document 5) is labelled for Strimzi cluster other",
            ],
        );

    // Without a Strimzi name in the job config, both declarations apply and disagree: that is an error.
    let ambiguous = input.replace(
        "my-cluster-kafka-bootstrap.kafka.svc:9092",
        "kafka.example.com:9092",
    );
    Test::new()
        .args(["post-render", "--offline"])
        .stdin(ambiguous)
        .run()
        .fails(
            13,
            &[
                "topic PageViewEvent of system kafka",
                "KafkaTopic pv-other",
                "KafkaTopic pv)",
                "C-kafka-bootstrap",
            ],
        );
}

/// A log pointed at a device (the usual `/dev/null`, here a null device made with mknod in a temporary folder,
/// never the machine's own) is written into, never replaced by a regular file; a link is refused and kept.
#[test]
fn regression_a_failed_run_never_replaces_a_device_log_file() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let null = dir.path().join("null");
    let made = std::process::Command::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .status()
        .expect("mknod runs");
    assert!(made.success(), "mknod needs root; the tests run as root");
    let bad = std::fs::read_to_string(fixture("post-render/one-job-helm3.yaml"))
        .unwrap()
        .replace("job.container.count=2", "job.container.count=0");
    for args in [
        vec![format!("--log-file={}", null.display())],
        vec!["--log-file".to_owned(), null.display().to_string()],
    ] {
        Test::new()
            .args(ONE_JOB_FLAGS)
            .args(args)
            .stdin(bad.clone())
            .run()
            .fails(10, &["job.container.count"]);
        let kind = std::fs::symlink_metadata(&null).unwrap().file_type();
        assert!(kind.is_char_device(), "the device was replaced: {kind:?}");
    }
    let target = dir.path().join("kept");
    std::fs::write(&target, "keep").unwrap();
    let link = dir.path().join("link.log");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    Test::new()
        .args(ONE_JOB_FLAGS)
        .args([format!("--log-file={}", link.display())])
        .stdin(bad)
        .run()
        .fails(10, &["job.container.count"]);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
}

/// CI summaries show the first line of stderr: it is the error, and the pointer to the log comes after it.
#[test]
fn the_error_is_the_first_line_of_stderr() {
    let bad = std::fs::read_to_string(fixture("post-render/one-job-helm3.yaml"))
        .unwrap()
        .replace("job.container.count=2", "job.container.count=0");
    let out = Test::new()
        .args(ONE_JOB_FLAGS)
        .stdin(bad)
        .run()
        .fails(10, &["helm samza last-error"]);
    let mut lines = out.stderr.lines();
    let first = lines.next().unwrap_or_default();
    assert!(
        first.starts_with("Error: ") && first.contains("job.container.count"),
        "{}",
        out.stderr
    );
    assert!(out
        .stderr
        .trim_end()
        .ends_with("`helm samza last-error` prints it)"));
}

/// `last-error` never shows an older failure as the last one: a run killed before it could write its error
/// reads as a run that did not finish, and a run that succeeded as one.
#[test]
fn regression_last_error_is_never_stale() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let bad = std::fs::read_to_string(fixture("post-render/one-job-helm3.yaml"))
        .unwrap()
        .replace("job.container.count=2", "job.container.count=0");
    let failed = Test::new().args(ONE_JOB_FLAGS).stdin(bad).run();
    let tmp = failed.tmp.path().to_path_buf();
    let last = || {
        Test::new()
            .args(["last-error"])
            .env("TMPDIR", tmp.to_str().unwrap())
            .env("XDG_STATE_HOME", tmp.to_str().unwrap())
            .run()
            .success()
            .stdout_str()
            .to_owned()
    };
    assert!(last().contains("job.container.count"));

    // Killed while waiting for its input, as Helm's timeout or the OOM killer would.
    let mut child = Command::new(crate::support::run::binary())
        .args(ONE_JOB_FLAGS)
        .env("TMPDIR", &tmp)
        .env("XDG_STATE_HOME", &tmp)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.as_mut().unwrap().write_all(b"---\n").unwrap();
    let log = tmp.join("helm-samza/last-error.log");
    let started = std::time::Instant::now();
    while !std::fs::read_to_string(&log).is_ok_and(|text| text.contains("did not finish")) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "no start mark"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let shown = last();
    assert!(
        shown.contains("did not finish") && !shown.contains("job.container.count"),
        "{shown}"
    );

    Test::new()
        .args(ONE_JOB_FLAGS)
        .env("TMPDIR", tmp.to_str().unwrap())
        .env("XDG_STATE_HOME", tmp.to_str().unwrap())
        .stdin_file(fixture("post-render/one-job-helm3.yaml"))
        .run()
        .success();
    assert!(last().contains("succeeded"), "{}", last());
    drop(failed);
}

/// `last-error` with nothing recorded says so and succeeds; the log is the user's own (`$XDG_STATE_HOME`), not a
/// shared temporary folder.
#[test]
fn last_error_with_nothing_recorded_says_so() {
    let out = Test::new().args(["last-error"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout_str()
            .contains("no post-render has been recorded yet"),
        "{}",
        out.stdout_str()
    );
    let state = tempfile::tempdir().unwrap();
    let out = Test::new()
        .args(["post-render", "--offline"])
        .env("XDG_STATE_HOME", state.path().to_str().unwrap())
        .stdin("# nothing\n")
        .run();
    assert_eq!(out.code, 13);
    let log = std::fs::read_to_string(state.path().join("helm-samza/last-error.log")).unwrap();
    assert!(log.contains("the manifest stream is empty"), "{log}");
}
