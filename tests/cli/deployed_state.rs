//! The deployed job's state on the default deploy path: the post-renderer (through Helm 3's and Helm 4's own
//! post-renderer paths, live partition counts from a real broker, no lock, no `--previous`) reads the job's
//! coordinator stream, written here byte for byte in Samza's format, and keeps what Samza stored.

use std::collections::BTreeMap;
use std::process::Output;

use helm_samza::kafka::{read_stored_state, KafkaClientSettings, Overrides};
use helm_samza::model_configmap::models_in_stream;
use helm_samza::samza::{JobModel, SamzaVersion};

use crate::support::{broker::Broker, helm::HelmHome, run::fixture};

/// The job's coordinator stream: `__samza_coordinator_<job.name>_<job.id>`, job.id defaulting to 1.
const TOPIC: &str = "__samza_coordinator_page-views_1";

/// Samza's value for one message: `CoordinatorStreamMessage`'s map as Jackson writes a Java `HashMap` (host,
/// source, values, username, timestamp), compact, the timestamp a number and every value a string.
pub(crate) fn samza_value(values: &str) -> Vec<u8> {
    format!(
        r#"{{"host":"10.1.2.4","source":"SamzaContainer","values":{values},"username":"yarn","timestamp":1700000000000}}"#
    )
    .into_bytes()
}

/// What Samza's cluster-based coordinator stored for the 4-task job of the fixture chart (the import tests read it
/// too), with a changelog
/// mapping no fresh plan gives (task k keeps partition 3 - k): only the stream can tell.
pub(crate) fn stored_by_samza() -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    let mut messages = Vec::new();
    for task in 0..4u32 {
        let name = format!("Partition {task}");
        messages.push((
            format!(r#"[1,"set-task-container-assignment","{name}"]"#).into_bytes(),
            Some(samza_value(&format!(r#"{{"processorId":"{}"}}"#, task % 2))),
        ));
        messages.push((
            format!(r#"[1,"set-task-mode-assignment","{name}"]"#).into_bytes(),
            Some(samza_value(r#"{"taskMode":"Active"}"#)),
        ));
        for stream in ["AdClickEvent", "PageViewEvent"] {
            messages.push((
                format!(
                    r#"[1,"set-task-partition-assignment","{{\"system\":\"kafka\",\"partition\":{task},\"stream\":\"{stream}\",\"keyBucket\":-1}}"]"#
                )
                .into_bytes(),
                Some(samza_value(&format!(
                    r#"{{"taskNames":"[\"{name}\"]"}}"#
                ))),
            ));
        }
        messages.push((
            format!(r#"[1,"set-changelog","{name}"]"#).into_bytes(),
            Some(samza_value(&format!(r#"{{"Partition":"{}"}}"#, 3 - task))),
        ));
    }
    // A task that left long ago: Samza deleted its assignment, its changelog number stays taken.
    messages.push((
        br#"[1,"set-changelog","Partition 7"]"#.to_vec(),
        Some(samza_value(r#"{"Partition":"7"}"#)),
    ));
    messages.push((
        br#"[1,"set-task-container-assignment","Partition 7"]"#.to_vec(),
        None,
    ));
    messages
}

fn produce(broker: &Broker, messages: &[(Vec<u8>, Option<Vec<u8>>)]) {
    let raw: Vec<(&[u8], Option<&[u8]>)> = messages
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_deref()))
        .collect();
    broker.produce_raw(TOPIC, &raw);
}

fn chart() -> std::path::PathBuf {
    fixture("charts/page-views")
}

/// `helm template` (`--is-upgrade` for an upgrade) through the version's own post-renderer path.
fn render(home: &HelmHome, broker: &Broker, upgrade: bool, extra: &[&str]) -> Output {
    let mut post_renderer_args = Vec::new();
    for arg in extra.iter().filter(|a| a.starts_with("--")) {
        post_renderer_args.extend(["--post-renderer-args".to_string(), arg.to_string()]);
    }
    let mut cmd = home.template(&chart(), &post_renderer_args);
    cmd.args(["--set", &format!("bootstrapServers={}", broker.bootstrap())]);
    for set in extra.iter().filter(|a| !a.starts_with("--")) {
        cmd.args(["--set", set]);
    }
    if upgrade {
        cmd.arg("--is-upgrade");
    }
    cmd.output().expect("run helm template")
}

fn model_of(out: &Output) -> JobModel {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    models_in_stream(&out.stdout)
        .expect("a post-rendered stream")
        .remove("page-views")
        .expect("the job's model")
}

fn changelog(model: &JobModel) -> BTreeMap<String, u32> {
    model
        .tasks()
        .map(|t| (t.name.clone(), t.changelog_partition))
        .collect()
}

fn partition_source(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.contains("samza.apache.org/partition-source"))
        .unwrap_or_default()
        .to_string()
}

/// The refusal as the user finds it: Helm 3 shows the post-renderer's stderr, Helm 4 hides it and
/// `helm samza last-error` has it.
fn refusal(home: &HelmHome, out: &Output) -> String {
    assert!(!out.status.success(), "expected a refusal");
    assert!(out.stdout.is_empty(), "nothing on stdout when refused");
    let last = home.cmd(["samza", "last-error"]).output().unwrap();
    String::from_utf8_lossy(&last.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn upgrades_keep_what_samza_stored(version: u8) {
    let broker = Broker::start();
    broker.create_topic("PageViewEvent", 4);
    broker.create_topic("AdClickEvent", 4);
    let home = HelmHome::new(version);

    // No stream: a first install plans afresh, and reading never creates the topic...
    let fresh = render(&home, &broker, false, &[]);
    let fresh_model = model_of(&fresh);
    assert_eq!(changelog(&fresh_model)["Partition 0"], 0);
    assert!(!partition_source(&fresh).contains("previous state"));
    assert!(!broker_has_topic(&broker, TOPIC));
    // ...but an upgrade of a job with state, with nothing known of what Samza stored, is refused.
    let refused = refusal(&home, &render(&home, &broker, true, &[]));
    assert!(
        refused.contains("no-previous-state")
            && refused.contains(TOPIC)
            && refused.contains("does not exist")
            && refused.contains("--lock"),
        "{refused}"
    );
    // A job without state has nothing to lose.
    model_of(&render(&home, &broker, true, &["stateful=false"]));

    // Samza wrote the stream (the job ran on YARN, or a coordinator ran): the upgrade keeps every stored
    // changelog partition, and says where its previous state came from.
    broker.create_topic(TOPIC, 1);
    produce(&broker, &stored_by_samza());
    let upgraded = render(&home, &broker, true, &[]);
    let model = model_of(&upgraded);
    let expected: BTreeMap<String, u32> = (0..4u32)
        .map(|t| (format!("Partition {t}"), 3 - t))
        .collect();
    assert_eq!(changelog(&model), expected);
    // Samza's model counts its own tasks' partitions (`JobModel#maxChangeLogStreamPartitions`), not the stored
    // entry of the task that left.
    assert_eq!(model.max_changelog_partitions(), 4);
    assert!(
        partition_source(&upgraded)
            .contains(&format!("previous state: coordinator stream {TOPIC}")),
        "{}",
        partition_source(&upgraded)
    );
    // A plain `helm template` (an install) of a job that exists on the cluster reads the stream too: a job
    // moved from YARN keeps its mapping on its first Kubernetes deploy.
    assert_eq!(
        changelog(&model_of(&render(&home, &broker, false, &[]))),
        expected
    );

    // Partition growth the old tasks cannot absorb (expansion off): new tasks would need changelog partitions the
    // topics do not have. Refused on the default path...
    broker.set_partitions("PageViewEvent", 12);
    let refused = refusal(
        &home,
        &render(&home, &broker, true, &["inputExpansion=false"]),
    );
    assert!(
        refused.contains("changelog-partitions-grow")
            && refused.contains(&format!("compared with coordinator stream {TOPIC}")),
        "{refused}"
    );
    // ...and with the gate open every stored task keeps its partition; new tasks take numbers no one had.
    let forced = model_of(&render(
        &home,
        &broker,
        true,
        &["inputExpansion=false", "--allow-unsafe"],
    ));
    let forced = changelog(&forced);
    for (task, partition) in &expected {
        assert_eq!(forced[task], *partition, "{task} kept its partition");
    }
    assert_eq!(
        forced["Partition 7"], 7,
        "a returning task gets its stored number back"
    );
    let new: Vec<u32> = forced
        .iter()
        .filter(|(task, _)| !expected.contains_key(*task) && *task != "Partition 7")
        .map(|(_, partition)| *partition)
        .collect();
    assert_eq!(new.len(), 7);
    assert!(
        new.iter().all(|p| *p >= 8),
        "new tasks take numbers past every stored one: {new:?}"
    );

    // A message Samza could not read: a job with state stops (exit 16), naming the topic and the offset.
    broker.set_partitions("PageViewEvent", 4);
    produce(
        &broker,
        &[(
            br#"[1,"set-changelog","Partition 2"]"#.to_vec(),
            Some(b"{not json".to_vec()),
        )],
    );
    let out = render(&home, &broker, false, &[]);
    let refused = refusal(&home, &out);
    assert!(
        refused.contains(TOPIC) && refused.contains("offset") && refused.contains("stored state"),
        "{refused}"
    );
    // Without state it is only a note.
    model_of(&render(&home, &broker, false, &["stateful=false"]));
}

fn broker_has_topic(broker: &Broker, topic: &str) -> bool {
    use helm_samza::kafka::{KafkaClientSettings, LiveKafka, PartitionSource, TopicQuery};
    let client = LiveKafka::new(KafkaClientSettings::new(vec![broker.bootstrap()])).unwrap();
    let answer = client
        .fetch(&TopicQuery {
            system: "kafka".into(),
            topics: Default::default(),
            list_all: true,
        })
        .unwrap();
    answer
        .all_topics
        .is_some_and(|topics| topics.contains(topic))
}

#[test]
fn helm3_upgrades_keep_what_samza_stored() {
    upgrades_keep_what_samza_stored(3);
}

#[test]
fn helm4_upgrades_keep_what_samza_stored() {
    upgrades_keep_what_samza_stored(4);
}

/// What the coordinator writes on start is what the next render reads: install, the coordinator starts on the
/// model and writes the stream, then an upgrade with grown inputs keeps every task's changelog partition; `plan`
/// compares with the stream.
#[test]
fn what_the_coordinator_wrote_is_the_next_renders_previous_state() {
    let broker = Broker::start();
    broker.create_topic("PageViewEvent", 4);
    broker.create_topic("AdClickEvent", 4);
    let home = HelmHome::new(3);
    let installed = model_of(&render(&home, &broker, false, &[]));
    // The chart's coordinator, started on the mounted model as its pod starts it, writes the stream.
    let dir = tempfile::tempdir().unwrap();
    let mounted = dir.path().join("job-model.json");
    std::fs::write(&mounted, installed.to_json(SamzaVersion::default())).unwrap();
    let coordinator = helm_samza::coordinator::start(&helm_samza::coordinator::Settings {
        model: mounted,
        listen: "127.0.0.1:0".into(),
        kafka: Overrides::default(),
        poll_interval: None,
        write_coordinator_stream: true,
    })
    .expect("the coordinator starts");
    let settings = KafkaClientSettings::new(vec![broker.bootstrap()]);
    let started = std::time::Instant::now();
    let stored = loop {
        if let Ok(Some(stored)) = read_stored_state(&settings, "kafka", TOPIC) {
            if !stored.changelog.is_empty() {
                break stored;
            }
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the coordinator did not write {TOPIC}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    coordinator.shutdown();
    assert_eq!(stored.changelog, changelog(&installed));

    broker.set_partitions("PageViewEvent", 8);
    let upgraded = render(&home, &broker, true, &[]);
    let model = model_of(&upgraded);
    // Samza's partition expansion: the 4 new partitions join the old tasks; nothing moves.
    assert_eq!(changelog(&model), changelog(&installed));
    assert_eq!(model.input_partition_counts().values().max(), Some(&8));

    let plan = home
        .cmd(["samza", "plan", "samza-test"])
        .arg(chart())
        .args([
            "--set",
            &format!("bootstrapServers={}", broker.bootstrap()),
            "--no-cluster",
            "--no-color",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    assert!(
        text.contains(&format!("compared with coordinator stream {TOPIC}"))
            && text.contains("~ input   kafka.PageViewEvent: 4 → 8 partitions")
            && !text.contains("+ task"),
        "{text}"
    );
}

/// `lock` pins what the coordinator stream stores (not a fresh mapping), and `lock --verify-live` fails when the
/// stream stores a changelog partition the lock does not.
#[test]
fn lock_pins_the_stream_and_verify_live_checks_it() {
    let broker = Broker::start();
    broker.create_topic("PageViewEvent", 4);
    broker.create_topic("AdClickEvent", 4);
    let home = HelmHome::new(3);
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("samza.lock");
    let bootstrap = format!("bootstrapServers={}", broker.bootstrap());
    let run = |extra: &[&str]| {
        home.cmd(["samza", "lock"])
            .arg(chart())
            .args(["--set", &bootstrap, "--file", lock.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap()
    };
    // Locked before any coordinator ran: a fresh mapping.
    let out = run(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh: serde_json::Value = serde_json::from_slice(&std::fs::read(&lock).unwrap()).unwrap();
    assert_eq!(fresh["jobs"]["page-views"]["changelog"]["Partition 0"], 0);
    // Samza stored another mapping: the lock no longer tells the truth.
    broker.create_topic(TOPIC, 1);
    produce(&broker, &stored_by_samza());
    let out = run(&["--verify-live"]);
    assert_eq!(
        out.status.code(),
        Some(17),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(TOPIC) && stderr.contains("'Partition 0' 3 (the lock says 0)"),
        "{stderr}"
    );
    // Re-locking pins what Samza stored, and then verifies.
    let out = run(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pinned: serde_json::Value = serde_json::from_slice(&std::fs::read(&lock).unwrap()).unwrap();
    assert_eq!(pinned["jobs"]["page-views"]["changelog"]["Partition 0"], 3);
    assert_eq!(pinned["jobs"]["page-views"]["changelog"]["Partition 7"], 7);
    let out = run(&["--verify-live"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
