//! `helm samza import`: a job's config → values for `charts/samza-job` → `helm template` (real Helm 3 and 4, no
//! post-renderer) → the config ConfigMap holds the same Samza config, less the keys that mean nothing on
//! Kubernetes. Compared as key/value maps, both sides read by helm-samza's one config reader.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use helm_samza::job_config::{read_config, read_config_file};
use helm_samza::lock::Lock;
use helm_samza::model_configmap::models_in_stream;
use serde_json::Value;

use crate::deployed_state::samza_value;
use crate::support::{
    broker::Broker,
    helm::{run_ok, HelmHome},
    run::{fixture, Test},
    tools::{corpus_dir, repo_root},
};

/// The keys the chart renders from friendly values whatever the job says, each with Samza's default.
const SIZED: &[(&str, &str)] = &[
    ("job.container.count", "1"),
    ("cluster-manager.container.memory.mb", "1024"),
    ("cluster-manager.container.cpu.cores", "1"),
];

/// Written out here, not asked of helm-samza: the keys the import must leave out.
fn means_nothing_on_kubernetes(key: &str) -> bool {
    key.starts_with("yarn.")
        || key.starts_with("kubernetes.")
        || [
            "job.factory.class",
            "job.host-affinity.enabled",
            "job.container.count",
            "cluster-manager.container.memory.mb",
            "cluster-manager.container.cpu.cores",
        ]
        .contains(&key)
}

fn every_config() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let corpus = corpus_dir().join("hello-samza");
    for dir in [
        corpus.clone(),
        corpus.join("legacy-1.0.0-SNAPSHOT-a096c75"),
        corpus.join("legacy-0.9.1-ff399e6"),
    ] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "properties") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 30, "the hello-samza corpus: {files:?}");
    files.push(fixture("import/poc-page-views.properties"));
    files.push(fixture("import/yarn-job.yaml"));
    files
}

fn as_map(config: &helm_samza::samza::Config) -> BTreeMap<String, String> {
    config
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The Samza config of the chart's config ConfigMap in `helm template`'s output.
fn rendered_config(home: &HelmHome, values: &Path) -> BTreeMap<String, String> {
    let mut cmd = home.cmd(["template", "imported"]);
    cmd.arg(repo_root().join("charts/samza-job"))
        .arg("-f")
        .arg(values)
        // The only value the import cannot know (YARN's package is no image).
        .args(["--set", "image.repository=example/job,image.tag=1.0"]);
    let out = cmd.output().expect("run helm template");
    assert!(
        out.status.success(),
        "helm {} template -f {}: {}",
        home.version(),
        values.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let configmap: Value = crate::support::run::manifest_values(&text)
        .into_iter()
        .find(|d| {
            d["kind"] == "ConfigMap" && d["metadata"]["labels"]["samza.apache.org/role"] == "config"
        })
        .expect("the config ConfigMap");
    let (config, _) = read_config(&configmap, &helm_samza::error::JobOrigin("rendered".into()))
        .expect("the rendered config reads");
    as_map(&config)
}

/// The value Samza reads for a sized key: the key, its YARN fallback, the proof of concept's key, or the default.
fn sized_value(original: &BTreeMap<String, String>, key: &str, default: &str) -> String {
    let poc = original
        .get("job.factory.class")
        .is_some_and(|f| f.ends_with("KubernetesJobFactory"));
    let (fallback, poc_key) = match key {
        "job.container.count" => ("yarn.container.count", "kubernetes.pod.count"),
        "cluster-manager.container.memory.mb" => {
            ("yarn.container.memory.mb", "kubernetes.container.memory")
        }
        _ => ("yarn.container.cpu.cores", "kubernetes.container.cpu.cores"),
    };
    let order = if poc {
        [poc_key, key, fallback]
    } else {
        [key, fallback, poc_key]
    };
    let value = order
        .iter()
        .find_map(|k| original.get(*k))
        .cloned()
        .unwrap_or_else(|| default.to_owned());
    // The proof of concept gave memory as a Kubernetes quantity.
    match value.strip_suffix("Gi") {
        Some(gi) => (gi.parse::<u64>().unwrap() * 1024).to_string(),
        None => value,
    }
}

#[test]
fn every_hello_samza_config_and_a_proof_of_concept_config_round_trip_through_the_chart() {
    let homes = [HelmHome::bare(3), HelmHome::bare(4)];
    let dir = tempfile::tempdir().unwrap();
    for (n, file) in every_config().iter().enumerate() {
        let values = dir.path().join(format!("values-{n}.yaml"));
        let mut original = as_map(&read_config_file(file).unwrap());
        let mut args = vec![
            "import".to_owned(),
            file.display().to_string(),
            "-o".to_owned(),
            values.display().to_string(),
        ];
        // A local runner's config names no application: its runner was given the class in code.
        if !original.contains_key("app.class") && !original.contains_key("task.inputs") {
            let class = "samza.examples.GivenInCode";
            args.extend(["--app-class".to_owned(), class.to_owned()]);
            original.insert("app.class".into(), class.into());
        }
        let out = Test::new().args(&args).run().success();
        assert!(out.stdout_str().is_empty(), "values go to -o, not stdout");
        let stderr = out.stderr.clone();
        let text = std::fs::read_to_string(&values).unwrap();

        let mut expected: BTreeMap<String, String> = original
            .iter()
            .filter(|(k, _)| !means_nothing_on_kubernetes(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (key, default) in SIZED {
            expected.insert((*key).to_owned(), sized_value(&original, key, default));
        }
        // Every key left out is named, on stderr and in the values' header, with its reason.
        for key in original.keys().filter(|k| means_nothing_on_kubernetes(k)) {
            assert!(
                stderr.contains(&format!("left out {key}: ")),
                "{}: {key} not reported: {stderr}",
                file.display()
            );
            assert!(
                text.contains(&format!("#   {key}: ")),
                "{}: {key} not in the header",
                file.display()
            );
        }
        if original.contains_key("yarn.package.path") {
            assert!(stderr.contains("required: image.repository"), "{stderr}");
        }
        for home in &homes {
            let rendered = rendered_config(home, &values);
            assert_eq!(
                rendered,
                expected,
                "{} through Helm {}; values:\n{text}",
                file.display(),
                home.version()
            );
        }
    }
}

#[test]
fn the_proof_of_concepts_kubernetes_keys_become_chart_values() {
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("values.yaml");
    Test::new()
        .args([
            "import",
            fixture("import/poc-page-views.properties")
                .to_str()
                .unwrap(),
            "-o",
            values.to_str().unwrap(),
        ])
        .run()
        .success();
    let home = HelmHome::bare(4);
    let out = run_ok(
        home.cmd(["template", "pv"])
            .arg(repo_root().join("charts/samza-job"))
            .arg("-f")
            .arg(&values),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let worker: Value = crate::support::run::manifest_values(&text)
        .into_iter()
        .find(|d| d["kind"] == "StatefulSet")
        .expect("the worker StatefulSet");
    let pod = &worker["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["image"],
        "registry.example:5000/streams/page-views:0.9.1-3"
    );
    assert_eq!(pod["nodeSelector"]["pool"], "streams");
    assert_eq!(pod["nodeSelector"]["disk"], "ssd");
    assert_eq!(pod["terminationGracePeriodSeconds"], 60);
    assert_eq!(
        pod["containers"][0]["resources"]["limits"]["memory"],
        "2048Mi"
    );
}

/// What Samza stored for page-views on YARN: four tasks on two containers, a changelog mapping no fresh plan
/// gives (task k writes partition 3 - k), a task that left long ago (its partition 7 stays taken), the config
/// the job last ran with (one value since changed in the file, one key since removed), host locality, and a
/// message of a type no Samza writes.
pub(crate) fn stored_by_samza(file: &Path) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    let mut messages = Vec::new();
    let json = |text: &str| serde_json::to_string(text).unwrap();
    let mut config = as_map(&read_config_file(file).unwrap());
    config.insert("task.window.ms".into(), "30000".into());
    config.insert("job.coordinator.replication.factor".into(), "3".into());
    for (key, value) in &config {
        messages.push((
            format!(r#"[1,"set-config",{}]"#, json(key)).into_bytes(),
            Some(samza_value(&format!(r#"{{"value":{}}}"#, json(value)))),
        ));
    }
    // The tasks, their assignments and changelog mapping: the same stream the deployed-state tests read.
    messages.extend(crate::deployed_state::stored_by_samza());
    messages.push((
        br#"[1,"set-container-host-assignment","0"]"#.to_vec(),
        Some(samza_value(r#"{"hostname":"node-7","jmx-url":""}"#)),
    ));
    messages.push((
        br#"[1,"set-frobnicate","x"]"#.to_vec(),
        Some(samza_value(r#"{"a":"b"}"#)),
    ));
    messages
}

pub(crate) fn produce(broker: &Broker, topic: &str, messages: &[(Vec<u8>, Option<Vec<u8>>)]) {
    broker.create_topic(topic, 1);
    let raw: Vec<(&[u8], Option<&[u8]>)> = messages
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_deref()))
        .collect();
    broker.produce_raw(topic, &raw);
}

fn import_run(args: &[String]) -> crate::support::run::Output {
    let mut all = vec!["import".to_owned()];
    all.extend_from_slice(args);
    Test::new().args(&all).run()
}

#[test]
fn from_kafka_the_stored_mapping_becomes_a_lock_the_first_deploy_keeps() {
    let broker = Broker::start();
    let file = fixture("import/page-views.properties");
    produce(
        &broker,
        "__samza_coordinator_page-views_1",
        &stored_by_samza(&file),
    );
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("values.yaml");
    let out = import_run(&[
        file.display().to_string(),
        "--from-kafka".into(),
        "--bootstrap-servers".into(),
        broker.bootstrap(),
        "-o".into(),
        values.display().to_string(),
    ])
    .success();
    assert!(out.stdout.is_empty());
    // The stored config is compared, by key only (values can be secrets); unknown types are named.
    for needle in [
        "different value: task.window.ms",
        "only in the stream: job.coordinator.replication.factor",
        "`set-frobnicate` (1)",
        "`set-container-host-assignment`",
    ] {
        assert!(out.stderr.contains(needle), "{needle}: {}", out.stderr);
    }
    assert!(!out.stderr.contains("30000"), "{}", out.stderr);

    // The lock beside the values holds exactly what Samza stored.
    let lock_path = dir.path().join("samza.lock");
    let lock = Lock::read(&lock_path).unwrap();
    let job = &lock.jobs["page-views"];
    let mut changelog: BTreeMap<String, u32> = (0..4u32)
        .map(|t| (format!("Partition {t}"), 3 - t))
        .collect();
    changelog.insert("Partition 7".into(), 7);
    assert_eq!(job.changelog, changelog);
    let assignment: BTreeMap<String, String> = (0..4u32)
        .map(|t| (format!("Partition {t}"), (t % 2).to_string()))
        .collect();
    assert_eq!(job.assignment, assignment);
    assert!(job.standby.is_empty());
    let counts: BTreeMap<String, u32> = job.inputs.iter().map(|(s, n)| (s.name(), *n)).collect();
    assert_eq!(
        counts,
        BTreeMap::from([
            ("kafka.AdClickEvent".to_owned(), 4),
            ("kafka.PageViewEvent".to_owned(), 4)
        ])
    );
    for t in 0..4u32 {
        let ssps: Vec<String> = job.task_inputs[&format!("Partition {t}")]
            .iter()
            .map(|s| format!("{}.{}.{}", s.system, s.stream, s.partition))
            .collect();
        assert_eq!(
            ssps,
            [
                format!("kafka.AdClickEvent.{t}"),
                format!("kafka.PageViewEvent.{t}")
            ]
        );
    }

    // Planned against that lock, the unchanged job moves no task and changes no changelog partition.
    let chart = repo_root().join("charts/samza-job");
    let image = "image.repository=example/page-views,image.tag=1.0";
    let home = HelmHome::new(4);
    let plan = home
        .cmd(["samza", "plan", "page-views"])
        .arg(&chart)
        .arg("-f")
        .arg(&values)
        .args(["--set", image, "--lock"])
        .arg(&lock_path)
        .args(["--no-cluster", "--output", "json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        plan.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let plan: Value = serde_json::from_str(&text).unwrap();
    let planned = &plan["jobs"][0];
    assert_eq!(planned["job"], "page-views", "{text}");
    assert_eq!(planned["first_deploy"], false, "{text}");
    assert_eq!(planned["stateful"], true, "{text}");
    for empty in [
        "tasks_added",
        "tasks_removed",
        "tasks_moved",
        "changelog_changed",
        "containers_added",
        "containers_removed",
    ] {
        assert_eq!(
            planned["diff"][empty],
            serde_json::json!([]),
            "{empty}: {text}"
        );
    }
    assert_eq!(planned["hazards"], serde_json::json!([]), "{text}");

    // Deployed (rendered through each Helm's post-renderer with the lock), every task keeps its partition.
    for version in [3, 4] {
        let home = HelmHome::new(version);
        let lock_arg = format!("--lock={}", lock_path.display());
        let out = run_ok(
            home.template(&chart, &["--post-renderer-args", lock_arg.as_str()])
                .arg("-f")
                .arg(&values)
                .args(["--set", image]),
        );
        let model = models_in_stream(&out.stdout)
            .unwrap()
            .remove("page-views")
            .unwrap();
        let kept: BTreeMap<String, u32> = model
            .tasks()
            .map(|t| (t.name.clone(), t.changelog_partition))
            .collect();
        let expected: BTreeMap<String, u32> = (0..4u32)
            .map(|t| (format!("Partition {t}"), 3 - t))
            .collect();
        assert_eq!(kept, expected, "Helm {version}");
    }

    // Without the file, the config the job last ran with is imported.
    let values = dir.path().join("from-stream.yaml");
    let lock_file = dir.path().join("from-stream.lock");
    import_run(&[
        "--from-kafka".into(),
        "--job-name".into(),
        "page-views".into(),
        "--bootstrap-servers".into(),
        broker.bootstrap(),
        "-o".into(),
        values.display().to_string(),
        "--lock-file".into(),
        lock_file.display().to_string(),
    ])
    .success();
    let text = std::fs::read_to_string(&values).unwrap();
    assert!(text.contains(r#""task.window.ms": "30000""#), "{text}");
    assert_eq!(Lock::read(&lock_file).unwrap(), lock);

    // --live-counts: the counts Kafka has now; a grown input is noted (the first deploy plans the growth).
    broker.create_topic("PageViewEvent", 8);
    broker.create_topic("AdClickEvent", 4);
    let out = import_run(&[
        file.display().to_string(),
        "--from-kafka".into(),
        "--live-counts".into(),
        "--bootstrap-servers".into(),
        broker.bootstrap(),
        "-o".into(),
        values.display().to_string(),
        "--lock-file".into(),
        lock_file.display().to_string(),
    ])
    .success();
    assert!(
        out.stderr
            .contains("input kafka.PageViewEvent: 8 partition(s) now, the job last ran with 4"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("input kafka.AdClickEvent"),
        "{}",
        out.stderr
    );
    let live = Lock::read(&lock_file).unwrap();
    let job = &live.jobs["page-views"];
    let counts: BTreeMap<String, u32> = job.inputs.iter().map(|(s, n)| (s.name(), *n)).collect();
    assert_eq!(counts["kafka.PageViewEvent"], 8);
    assert_eq!(counts["kafka.AdClickEvent"], 4);
    assert_eq!(job.discovered["kafka"].source, "kafka");
    assert_eq!(job.changelog, lock.jobs["page-views"].changelog);
}

#[test]
fn a_stream_samza_could_not_have_written_or_none_at_all_is_an_error_and_nothing_is_written() {
    let broker = Broker::start();
    produce(
        &broker,
        "__samza_coordinator_newer_1",
        &[(
            br#"[2,"set-changelog","Partition 0"]"#.to_vec(),
            Some(samza_value(r#"{"Partition":"0"}"#)),
        )],
    );
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("values.yaml");
    for (job, needles) in [
        (
            "newer",
            &["__samza_coordinator_newer_1", "protocol version 2"][..],
        ),
        (
            "never-ran",
            &["__samza_coordinator_never-ran_1", "does not exist"][..],
        ),
    ] {
        import_run(&[
            "--from-kafka".into(),
            "--job-name".into(),
            job.into(),
            "--bootstrap-servers".into(),
            broker.bootstrap(),
            "-o".into(),
            values.display().to_string(),
        ])
        .fails(16, needles);
        assert!(!values.exists());
        assert!(!dir.path().join("samza.lock").exists());
    }
}

#[test]
fn bad_input_is_refused_naming_the_key_with_nothing_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let no_name = write("no-name.properties", "task.inputs=kafka.a\ntask.class=C\n");
    let no_inputs = write("no-inputs.properties", "job.name=j\ntask.class=C\n");
    let not_samza = write("pom.properties", "version=1.0\ngroupId=com.example\n");
    let not_a_map = write("list.yaml", "- a\n- b\n");
    let no_system = write("no-system.properties", "job.name=j\ntask.inputs=kafka.a\n");
    let not_kafka = write(
        "eventhubs.properties",
        "job.name=j\napp.class=A\njob.default.system=eventhubs\n\
         systems.eventhubs.samza.factory=org.apache.samza.system.eventhub.EventHubSystemFactory\n",
    );
    for (args, code, needles) in [
        (vec![no_name], 10, &["job.name"][..]),
        (
            vec![no_inputs],
            10,
            &["task.inputs", "app.class", "--app-class"][..],
        ),
        (vec![not_samza], 10, &["job.name"][..]),
        (vec![not_a_map.clone()], 13, &["list.yaml", "map"][..]),
        (
            vec![dir.path().join("absent.properties").display().to_string()],
            74,
            &["absent.properties"][..],
        ),
        (vec![], 64, &["JOB.properties"][..]),
        (
            vec![no_system, "--from-kafka".into()],
            10,
            &["no-system.properties", "job.coordinator.system"][..],
        ),
        (
            vec![not_kafka, "--from-kafka".into()],
            10,
            &["systems.eventhubs.samza.factory", "not a Kafka system"][..],
        ),
    ] {
        import_run(&args).fails(code, needles);
    }
}

/// Characters that YAML, Go templates or Java properties treat specially, and some that are merely not ASCII.
const AWKWARD: &[&str] = &[
    "a", "Z", "0", "9", ".", "-", "_", " ", "=", ":", "#", "!", "\\", "\"", "'", "\t", "é", "☃",
    "😀", "{{", "}}", "$", ",", "[", "]", "&", "*", "|", ">", "%", "@", "`", "~", "\u{a0}",
    "\u{feff}",
];

/// Line breaks: in values only (the chart escapes them there; a key cannot hold one).
const BREAKS: &[&str] = &["\n", "\r", "\r\n"];

/// One config of many keys whose names and values mix every awkward character (a fixed seed: the same config
/// on every run), imported and rendered by both Helms: every key and value comes back as it was.
#[test]
fn awkward_keys_and_values_survive_the_values_file_and_the_chart() {
    let mut seed: u64 = 0x5eed_cafe;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    let mut text = |len: usize, breaks: bool| -> String {
        (0..len)
            .map(|_| {
                let i = next(AWKWARD.len() + BREAKS.len());
                match AWKWARD.get(i) {
                    Some(c) => *c,
                    None if breaks => BREAKS[i - AWKWARD.len()],
                    None => "x",
                }
            })
            .collect()
    };
    let mut config = serde_json::Map::new();
    config.insert("job.name".into(), "awkward".into());
    config.insert("task.inputs".into(), "kafka.in".into());
    for i in 0..200 {
        let key = format!("custom.k{i}.{}", text(1 + i % 7, false));
        config.insert(key, Value::String(text(i % 13, true)));
    }
    // Keys left out are named in the values' header: they must not break it either.
    for i in 0..20 {
        let key = format!("yarn.k{i}.{}\n\u{85}\u{2028}", text(1 + i % 7, true));
        config.insert(key, Value::String(text(3, true)));
    }
    let dir = tempfile::tempdir().unwrap();
    // The same config as JSON (imported with configFormat: yaml) and as properties (\uXXXX escapes spell every
    // character that is not a plain letter, digit or dot; Samza reads them as UTF-16).
    let json = dir.path().join("awkward.json");
    std::fs::write(&json, Value::Object(config.clone()).to_string()).unwrap();
    let escape = |text: &str| -> String {
        let mut out = String::new();
        for c in text.chars() {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                out.push(c);
            } else {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
        }
        out
    };
    let properties = dir.path().join("awkward.properties");
    let lines: String = config
        .iter()
        .map(|(k, v)| format!("{}={}\n", escape(k), escape(v.as_str().unwrap())))
        .collect();
    std::fs::write(&properties, lines).unwrap();
    assert_eq!(
        as_map(&read_config_file(&properties).unwrap()),
        as_map(&read_config_file(&json).unwrap())
    );

    for file in [&json, &properties] {
        let values = dir.path().join("values.yaml");
        import_run(&[
            file.display().to_string(),
            "-o".into(),
            values.display().to_string(),
        ])
        .success();
        let mut expected = as_map(&read_config_file(file).unwrap());
        expected.retain(|k, _| !k.starts_with("yarn."));
        for (key, default) in SIZED {
            expected.insert((*key).to_owned(), (*default).to_owned());
        }
        for home in [HelmHome::bare(3), HelmHome::bare(4)] {
            let rendered = rendered_config(&home, &values);
            let differ: Vec<String> = expected
                .iter()
                .filter(|(k, v)| rendered.get(*k) != Some(*v))
                .map(|(k, v)| format!("{k:?}={v:?} came back as {:?}", rendered.get(k)))
                .chain(
                    rendered
                        .keys()
                        .filter(|k| !expected.contains_key(*k))
                        .map(|k| format!("{k:?} was not in the config")),
                )
                .collect();
            assert!(
                differ.is_empty(),
                "{} through Helm {}: {differ:#?}",
                file.display(),
                home.version()
            );
        }
    }

    // What the chart's ConfigMap cannot carry is refused, naming the key, rather than imported broken.
    // Written as properties, whose \uXXXX escapes can spell any character.
    let properties = dir.path().join("awkward.properties");
    for (line, key) in [
        (r"custom.nel=a\u0085b", "custom.nel"),
        (
            r"custom.line\u2028separator=v",
            "custom.line\u{2028}separator",
        ),
        (r"custom.break\nin.key=v", "custom.break\nin.key"),
        (r"custom.del=\u007f", "custom.del"),
        (r"custom.nul=a\u0000", "custom.nul"),
    ] {
        std::fs::write(
            &properties,
            format!("job.name=j\ntask.inputs=kafka.a\n{line}\n"),
        )
        .unwrap();
        let named = format!("'{}'", key.escape_debug());
        import_run(&[properties.display().to_string()]).fails(10, &[&named, "control character"]);
    }
}
