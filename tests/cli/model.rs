//! `helm-samza model`: the planner from the command line, against the spec's example and real configs.

use serde_json::Value;

use crate::support::run::{fixture, Test};

/// SSP arrays are sets in Samza (a HashSet's order); compare them sorted.
fn normalize(mut model: Value) -> Value {
    if let Some(containers) = model["containers"].as_object_mut() {
        for container in containers.values_mut() {
            if let Some(tasks) = container["tasks"].as_object_mut() {
                for task in tasks.values_mut() {
                    if let Some(ssps) = task["system-stream-partitions"].as_array_mut() {
                        ssps.sort_by_key(|s| s.to_string());
                    }
                }
            }
        }
    }
    model
}

#[test]
fn reproduces_the_spec_example_from_a_properties_file() {
    let out = Test::new()
        .args(["model", "--config"])
        .args([fixture("model/example.properties").to_str().unwrap()])
        .args([
            "--partitions",
            "kafka.PageViewEvent=4",
            "--partitions",
            "kafka.AdClickEvent=2",
        ])
        .run()
        .success();
    let ours: Value = serde_json::from_str(out.stdout_str()).expect("model is JSON");
    let samza: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("model/example-model.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(normalize(ours), normalize(samza));
}

#[test]
fn same_model_from_a_yaml_config() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("job.yaml");
    std::fs::write(
        &yaml,
        "job.name: example-job\njob.default.system: kafka\ntask.inputs: kafka.PageViewEvent,kafka.AdClickEvent\n\
         job.container.count: 2\njob.id: 1\n",
    )
    .unwrap();
    let out = Test::new()
        .args(["model", "--config", yaml.to_str().unwrap()])
        .args([
            "--partitions=kafka.PageViewEvent=4",
            "--partitions=kafka.AdClickEvent=2",
        ])
        .run()
        .success();
    let ours: Value = serde_json::from_str(out.stdout_str()).unwrap();
    assert_eq!(
        ours["containers"]["1"]["tasks"]["Partition 3"]["changelog-partition"],
        3
    );
    assert_eq!(ours["config"]["job.container.count"], "2");
}

#[test]
fn hello_samza_legacy_configs_plan_and_summarize() {
    let corpus = crate::support::tools::corpus_dir().join("hello-samza");
    let mut seen = 0;
    for dir in ["legacy-0.9.1-ff399e6", "legacy-1.0.0-SNAPSHOT-a096c75"] {
        for entry in std::fs::read_dir(corpus.join(dir))
            .expect("the hello-samza corpus is part of the repository")
        {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let Some(inputs) = text.lines().find_map(|l| l.strip_prefix("task.inputs=")) else {
                continue;
            };
            let mut test =
                Test::new().args(["model", "--output", "summary", "--offline", "--config"]);
            test = test.args([path.to_str().unwrap()]);
            for (i, input) in inputs.split(',').enumerate() {
                test = test.args([format!("--partitions={}={}", input.trim(), 2 + i)]);
            }
            let out = test.run().success();
            let summary = out.stdout_str();
            assert!(
                summary.contains("container"),
                "{}: {summary}",
                path.display()
            );
            assert!(summary.contains("flags"), "{}: {summary}", path.display());
            seen += 1;
        }
    }
    assert!(
        seen >= 6,
        "expected the legacy wikipedia configs, saw {seen}"
    );
}

#[test]
fn a_stream_without_a_count_is_named() {
    Test::new()
        .args([
            "model",
            "--offline",
            "--config",
            fixture("model/example.properties").to_str().unwrap(),
        ])
        .args(["--partitions=kafka.PageViewEvent=4"])
        .run()
        .fails(12, &["AdClickEvent"]);
}

#[test]
fn bad_inputs_fail_with_documented_codes() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let base = "job.name=j\njob.default.system=kafka\ntask.inputs=kafka.a\n";
    let cases: Vec<(String, Vec<String>, i32, Vec<&str>)> = vec![
        (
            write(
                "grouper.properties",
                &format!("{base}job.systemstreampartition.grouper.factory=x.Nope\n"),
            ),
            vec![],
            10,
            vec!["job.systemstreampartition.grouper.factory", "x.Nope"],
        ),
        (
            write(
                "broadcast.properties",
                &format!("{base}task.broadcast.inputs=kafka.b#x\n"),
            ),
            vec![],
            10,
            vec!["task.broadcast.inputs", "incorrect format in kafka.b#x"],
        ),
        (
            write("zero.properties", &format!("{base}job.container.count=0\n")),
            vec![],
            10,
            vec!["job.container.count"],
        ),
        (
            write("neg.properties", &format!("{base}job.container.count=-3\n")),
            vec![],
            10,
            vec!["job.container.count"],
        ),
        (
            write("ok.properties", base),
            vec!["--previous".into(), write("prev.json", "this is not json")],
            16,
            vec!["prev.json"],
        ),
        (
            write("ok2.properties", base),
            vec![
                "--previous".into(),
                write("prev2.json", r#"{"containers": {"0": {"tasks": {}}}}"#),
            ],
            16,
            vec!["prev2.json"],
        ),
    ];
    for (config, extra, code, needles) in cases {
        Test::new()
            .args([
                "model",
                "--offline",
                "--partitions=kafka.a=2",
                "--config",
                &config,
            ])
            .args(extra)
            .run()
            .fails(code, &needles);
    }
    Test::new()
        .args(["model", "--config", "/nonexistent/job.properties"])
        .run()
        .fails(74, &["/nonexistent/job.properties"]);
}

/// A `.properties` file is read as Samza reads it, ISO-8859-1 byte for byte (`Properties.load(InputStream)`).
#[test]
fn a_properties_file_is_read_as_iso_8859_1_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.properties");
    let mut bytes = std::fs::read(fixture("model/example.properties")).unwrap();
    bytes.extend_from_slice(
        b"\nlatin1.value=caf\xe9\nutf8.value=caf\xc3\xa9\nescaped.value=caf\\u00e9\n",
    );
    std::fs::write(&path, bytes).unwrap();
    let out = Test::new()
        .args(["model", "--config", path.to_str().unwrap()])
        .args(["--partitions", "kafka.PageViewEvent=4"])
        .args(["--partitions", "kafka.AdClickEvent=2"])
        .run()
        .success();
    let model: Value = serde_json::from_str(out.stdout_str()).unwrap();
    assert_eq!(model["config"]["latin1.value"], "café");
    assert_eq!(model["config"]["utf8.value"], "cafÃ©");
    assert_eq!(model["config"]["escaped.value"], "café");
}

/// A model written for an older Samza must not use what that Samza does not have.
#[test]
fn features_newer_than_the_target_samza_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(fixture("model/example.properties")).unwrap();
    for (extra, too_old, new_enough) in [
        ("job.standbytasks.replication.factor=2", "1.0", "1.1"),
        ("job.elasticity.factor=2", "1.6", "1.7"),
    ] {
        let path = dir.path().join("job.properties");
        std::fs::write(&path, format!("{base}\n{extra}\n")).unwrap();
        let key = extra.split('=').next().unwrap();
        let run = |version: &str| {
            Test::new()
                .args(["model", "--config", path.to_str().unwrap()])
                .args(["--partitions", "kafka.PageViewEvent=4"])
                .args(["--partitions", "kafka.AdClickEvent=2"])
                .args(["--samza-version", version])
                .run()
        };
        run(too_old).fails(10, &[key, &format!("Samza {too_old}.0")]);
        run(new_enough).success();
    }
}
