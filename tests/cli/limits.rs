//! Big numbers: a container or partition count of any size fails with Samza's own refusal or with the model
//! size limit, through every command and every source of counts, and never aborts or allocates gigabytes.
//!
//! Each run is capped at 1.5 GB of address space (`ulimit -v`), enough for the program and the Helm it runs.
//! Before the limit, these runs aborted ("memory allocation of 51539607528 bytes failed", exit 134) or grew
//! past 6 GB; under the cap they would have aborted too.

use crate::support::{
    run::{fixture, Output, Test},
    tools::tool,
};

const CAP_KB: u64 = 1_500_000;

/// The one-job stream of the post-render tests, with its config changed by `edit`.
fn stream(edit: impl Fn(String) -> String) -> String {
    let base = std::fs::read_to_string(fixture("post-render/one-job-helm3.yaml")).unwrap();
    assert!(base.contains("job.container.count=2\n"));
    edit(base)
}

fn with_count(count: &str) -> String {
    stream(|s| {
        s.replace(
            "job.container.count=2\n",
            &format!("job.container.count={count}\n"),
        )
    })
}

fn post_render(input: String, partitions: &[&str]) -> Output {
    Test::new()
        .args(["post-render"])
        .args(partitions.iter().flat_map(|p| ["--partitions", *p]))
        .stdin(input)
        .memory_cap_kb(CAP_KB)
        .run()
}

const SMALL: [&str; 2] = ["kafka.PageViewEvent=4", "kafka.AdClickEvent=2"];

#[test]
fn regression_container_count_int_max_aborted_the_process() {
    for count in ["2147483647", "100000000"] {
        post_render(with_count(count), &SMALL).fails(
            11,
            &[&format!(
                "job.container.count: Your container count ({count}) is larger than your task count (4)"
            )],
        );
    }
}

#[test]
fn regression_partition_count_int_max_aborted_the_process() {
    post_render(
        stream(|s| s),
        &["kafka.PageViewEvent=2147483647", "kafka.AdClickEvent=2"],
    )
    .fails(
        11,
        &[
            "job 'page-views'",
            "would list 2147483649 input partitions",
            "kafka.PageViewEvent alone has 2147483647",
            "more than the 1000000 helm-samza computes",
        ],
    );
}

/// The counts of a KafkaTopic resource and of a lock file are held to the same limit as `--partitions`.
#[test]
fn regression_huge_counts_from_kafka_topics_and_lock_files() {
    let topics = stream(|s| {
        s.replace(
            "bootstrap.servers=kafka:9092",
            "bootstrap.servers=my-cluster-kafka-bootstrap.kafka.svc:9092",
        )
    }) + "---\napiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaTopic\nmetadata:\n  name: pv\n  \
           labels: {strimzi.io/cluster: my-cluster}\nspec:\n  topicName: PageViewEvent\n  partitions: 100000000\n\
           ---\napiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaTopic\nmetadata:\n  name: ad\n  \
           labels: {strimzi.io/cluster: my-cluster}\nspec:\n  topicName: AdClickEvent\n  partitions: 2\n";
    post_render(topics, &[]).fails(
        11,
        &[
            "would list 100000002 input partitions",
            "kafka.PageViewEvent alone has 100000000",
        ],
    );

    let test = Test::new();
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("samza.lock");
    std::fs::write(
        &lock,
        r#"{"version":1,"jobs":{"page-views":{"inputs":{"kafka.PageViewEvent":4294967295,"kafka.AdClickEvent":2}}}}"#,
    )
    .unwrap();
    test.args(["post-render", "--lock", lock.to_str().unwrap()])
        .stdin(stream(|s| s))
        .memory_cap_kb(CAP_KB)
        .run()
        .fails(
            11,
            &[
                "would list 4294967297 input partitions",
                "kafka.PageViewEvent alone has 4294967295",
            ],
        );
}

/// `model`, `lint` (a file and a chart), `plan` and `lock` refuse the same way.
#[test]
fn regression_huge_counts_through_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("job.properties");
    std::fs::write(
        &config,
        "job.name=j\njob.default.system=kafka\ntask.inputs=kafka.PageViewEvent,kafka.AdClickEvent\n\
         job.container.count=2147483647\n",
    )
    .unwrap();
    Test::new()
        .args(["model", "--config", config.to_str().unwrap()])
        .args(SMALL.iter().flat_map(|p| ["--partitions", *p]))
        .memory_cap_kb(CAP_KB)
        .run()
        .fails(
            11,
            &["Your container count (2147483647) is larger than your task count (4)"],
        );

    let rendered = dir.path().join("rendered.yaml");
    std::fs::write(&rendered, with_count("2147483647")).unwrap();
    let lint = Test::new()
        .args(["lint", rendered.to_str().unwrap()])
        .args(SMALL.iter().flat_map(|p| ["--partitions", *p]))
        .memory_cap_kb(CAP_KB)
        .run();
    assert_eq!(lint.code, 1, "{}", lint.stderr);
    assert!(
        lint.stdout_str().contains("SZ201 model-refused")
            && lint
                .stdout_str()
                .contains("Your container count (2147483647)"),
        "{}",
        lint.stdout_str()
    );

    let helm = tool("helm3");
    let chart = fixture("charts/page-views");
    let chart_args = |command: &str| {
        vec![
            command.to_string(),
            "--helm-bin".into(),
            helm.to_str().unwrap().into(),
            chart.to_str().unwrap().into(),
            "--set".into(),
            "containerCount=2147483647".into(),
            "--partitions".into(),
            SMALL[0].into(),
            "--partitions".into(),
            SMALL[1].into(),
        ]
    };
    let want = "Your container count (2147483647) is larger than your task count (4)";
    Test::new()
        .args(chart_args("plan"))
        .args(["--no-cluster"])
        .memory_cap_kb(CAP_KB)
        .run()
        .fails(11, &[want]);
    let lock = dir.path().join("samza.lock");
    Test::new()
        .args(chart_args("lock"))
        .args(["--file", lock.to_str().unwrap()])
        .memory_cap_kb(CAP_KB)
        .run()
        .fails(11, &[want]);
    assert!(!lock.exists(), "a refused lock writes no file");
    let lint = Test::new()
        .args(chart_args("lint"))
        .memory_cap_kb(CAP_KB)
        .run();
    assert_eq!(lint.code, 1, "{}", lint.stderr);
    assert!(lint.stdout_str().contains(want), "{}", lint.stdout_str());
}

/// Factors that multiply the model are checked before the copies are made, naming the factor.
#[test]
fn regression_huge_factors_are_refused_before_the_copies_are_made() {
    let standby = stream(|s| {
        s.replace(
            "job.container.count=2\n",
            "job.container.count=2\n    job.standbytasks.replication.factor=2147483647\n",
        )
    });
    post_render(standby, &SMALL).fails(
        11,
        &["6 in the active tasks × job.standbytasks.replication.factor=2147483647"],
    );
    let all_in_one = stream(|s| {
        s.replace(
            "job.container.count=2\n",
            "job.container.count=2147483647\n    job.systemstreampartition.grouper.factory=\
             org.apache.samza.container.grouper.stream.AllSspToSingleTaskGrouperFactory\n",
        )
    });
    post_render(all_in_one, &SMALL).fails(
        11,
        &["AllSspToSingleTaskGrouper gives each of 2147483647 processors (the container count) a task holding all 6"],
    );
}

/// GroupByContainerIds keeps the least container ids when there are more than tasks (Samza warns): the
/// largest count is a valid job of 4 containers, computed without listing two billion ids.
#[test]
fn largest_container_count_with_group_by_container_ids_is_a_small_model() {
    let input = stream(|s| {
        s.replace(
            "job.container.count=2\n",
            "job.container.count=2147483647\n    task.name.grouper.factory=\
             org.apache.samza.container.grouper.task.GroupByContainerIdsFactory\n",
        )
    });
    let out = post_render(input, &SMALL).success();
    let text = out.stdout_str();
    let model = text
        .split("\n---")
        .find(|d| d.contains("name: demo-page-views-model"))
        .expect("the model ConfigMap");
    for id in ["0", "1", "10", "100"] {
        let key = format!(r#"\"processor-id\":\"{id}\""#);
        assert!(model.contains(&key), "container {id} missing:\n{model}");
    }
    assert_eq!(model.matches("processor-id").count(), 4, "{model}");
    assert!(text.contains("replicas: 4"), "{text}");
}

/// A previous model (`--previous`, `show`, `helm get manifest` output) gzipped into `binaryData` is read with a
/// cap: a small gzip that expands past any job model is refused instead of being inflated whole.
#[test]
fn regression_a_gzip_bomb_as_previous_model_is_refused() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..300 {
        std::io::Write::write_all(&mut gz, &zeros).unwrap();
    }
    let bomb = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        gz.finish().unwrap(),
    );
    assert!(
        bomb.len() < 4 << 20,
        "the bomb is small: {} bytes",
        bomb.len()
    );
    let saved = format!(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: page-views-model\n  labels:\n    \
         samza.apache.org/job: page-views\n    samza.apache.org/role: model\nbinaryData:\n  \
         job-model.json.gz: {bomb}\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let previous = dir.path().join("previous.yaml");
    std::fs::write(&previous, &saved).unwrap();
    Test::new()
        .args(["show", previous.to_str().unwrap()])
        .memory_cap_kb(CAP_KB)
        .run()
        .fails(
            13,
            &[
                "ConfigMap page-views-model",
                "expands to more than 268435456 bytes",
            ],
        );
    Test::new()
        .args(["post-render", "--previous", previous.to_str().unwrap()])
        .args(SMALL.iter().flat_map(|p| ["--partitions", *p]))
        .stdin(stream(|s| s))
        .memory_cap_kb(CAP_KB)
        .run()
        .fails(16, &["expands to more than 268435456 bytes"]);
}

/// A long config key costs `lint` its length, not its square: the typo hint compared a 20,000-character store
/// name with itself through a full edit-distance table (3 GB and 48 s).
#[test]
fn regression_a_long_config_key_made_lint_quadratic() {
    let name = "x".repeat(20_000);
    let dir = tempfile::tempdir().unwrap();
    let rendered = dir.path().join("rendered.yaml");
    std::fs::write(
        &rendered,
        stream(|s| {
            s.replace(
                "job.container.count=2\n",
                &format!("job.container.count=2\n    stores.{name}.changlog=kafka.c\n"),
            )
        }),
    )
    .unwrap();
    let lint = Test::new()
        .args(["lint", rendered.to_str().unwrap()])
        .args(SMALL.iter().flat_map(|p| ["--partitions", *p]))
        .memory_cap_kb(CAP_KB)
        .run();
    assert_eq!(lint.code, 1, "{}", lint.stderr);
    let out = lint.stdout_str();
    assert!(
        out.contains("SZ102 unknown-key")
            && out.contains(&format!("did you mean 'stores.{name}.changelog'")),
        "{}",
        &out[..out.len().min(2000)]
    );
}

/// The 256 KiB cap on a templated value holds for a value that is one expression too: it rendered 100 MB into
/// the manifest with exit 0.
#[test]
fn regression_a_one_expression_template_value_escaped_the_output_cap() {
    let input = stream(|s| s)
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  labels: {samza.apache.org/job: page-views}\n  \
           annotations: {samza.apache.org/template: \"true\"}\ndata:\n  big: '[[ \"x\" * 100000000 ]]'\n";
    post_render(input, &SMALL).fails(
        14,
        &[
            "ConfigMap big",
            "data.big",
            "renders to more than 262144 bytes (256 KiB)",
        ],
    );
}
