//! The coordinator stream against a real Kafka-protocol broker (Tansu): a stream written in Samza's format by a
//! plain Kafka producer reads back as Samza would read it; an absent topic is a first deploy and stays absent;
//! a message Samza could not read is an error naming its offset; what helm-samza writes (topic created
//! compacted, one partition) reads back, and a second start keeps the stored entries.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use helm_samza::coordinator::write_back::write_back;
use helm_samza::kafka::{
    read_stored_state, write_messages, CoordinatorStreamError, KafkaClientSettings, KafkaError,
    LiveKafka, Overrides, PartitionSource, TopicQuery,
};
use helm_samza::samza::changelog::internal_topics;
use helm_samza::samza::coordinator_stream::{stream_name, Header};
use helm_samza::samza::job_model::{ContainerModel, TaskModel};
use helm_samza::samza::stored_state::start_messages;
use helm_samza::samza::{Config, JobModel, TaskMode, TopicSpec};
use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;

use crate::support::broker::Broker;

const TIMEOUT: Duration = Duration::from_secs(10);

fn settings(broker: &Broker) -> KafkaClientSettings {
    let mut settings = KafkaClientSettings::new(vec![broker.bootstrap()]);
    settings.timeout = TIMEOUT;
    settings
}

fn job_config() -> Config {
    let mut config = Config::default();
    config.set("job.name", "page_view_counter");
    config.set("job.default.system", "kafka");
    config.set("job.coordinator.replication.factor", "1");
    config
}

fn coordinator_spec(config: &Config) -> TopicSpec {
    internal_topics(config)
        .expect("valid config")
        .into_iter()
        .find(|spec| spec.name.starts_with("__samza_coordinator_"))
        .expect("a coordinator stream spec")
}

/// A two-task job that was deployed by Samza on YARN: the tasks' changelog partitions are the reverse of what
/// a fresh plan gives, which only the stream can tell. Bytes typed out from Samza's documented format.
pub(crate) const SAMZA_STREAM: &[(&[u8], Option<&[u8]>)] = &[
    (
        br#"[1,"set-config","job.name"]"#,
        Some(br#"{"host":"10.1.2.3","source":"job-runner","values":{"value":"page_view_counter"},"username":"yarn","timestamp":1700000000000}"#),
    ),
    (
        br#"[1,"set-changelog","Partition 0"]"#,
        Some(br#"{"host":"10.1.2.4","source":"SamzaContainer","values":{"Partition":"1"},"username":"yarn","timestamp":1700000000100}"#),
    ),
    (
        br#"[1,"set-changelog","Partition 1"]"#,
        Some(br#"{"host":"10.1.2.4","source":"SamzaContainer","values":{"Partition":"0"},"username":"yarn","timestamp":1700000000101}"#),
    ),
    (
        br#"[1,"set-changelog","Partition 9"]"#,
        Some(br#"{"host":"10.1.2.4","source":"SamzaContainer","values":{"Partition":"5"},"username":"yarn","timestamp":1700000000102}"#),
    ),
    (br#"[1,"set-changelog","Partition 9"]"#, None),
    (
        br#"[1,"set-task-container-assignment","Partition 0"]"#,
        Some(br#"{"host":"10.1.2.4","source":"SamzaContainer","values":{"processorId":"0"},"username":"yarn","timestamp":1700000000200}"#),
    ),
    (
        br#"[1,"set-task-partition-assignment","{\"system\":\"kafka\",\"partition\":0,\"stream\":\"PageViewEvent\",\"keyBucket\":-1}"]"#,
        Some(br#"{"host":"10.1.2.4","source":"SamzaContainer","values":{"taskNames":"[\"Partition 0\"]"},"username":"yarn","timestamp":1700000000300}"#),
    ),
];

fn mapping(pairs: &[(&str, u32)]) -> BTreeMap<String, u32> {
    pairs
        .iter()
        .map(|(task, partition)| ((*task).to_owned(), *partition))
        .collect()
}

#[test]
fn a_stream_in_samzas_format_reads_back_as_samza_reads_it() {
    let broker = Broker::start();
    let topic = stream_name(&job_config()).unwrap();
    assert_eq!(topic, "__samza_coordinator_page-view-counter_1");
    broker.create_topic(&topic, 1);
    broker.produce_raw(&topic, SAMZA_STREAM);

    let state = read_stored_state(&settings(&broker), "kafka", &topic)
        .unwrap()
        .expect("the topic exists");
    assert_eq!(
        state.changelog,
        mapping(&[("Partition 0", 1), ("Partition 1", 0)])
    );
    assert_eq!(state.task_container["Partition 0"], "0");
    assert_eq!(state.config["job.name"], "page_view_counter");
    let previous = state.previous();
    assert_eq!(previous.task_ssps["Partition 0"].len(), 1);
}

#[test]
fn an_absent_stream_is_a_first_deploy_and_is_not_created() {
    let broker = Broker::start();
    broker.create_topic("PageViewEvent", 2);
    let topic = "__samza_coordinator_never-deployed_1";
    assert!(read_stored_state(&settings(&broker), "kafka", topic)
        .unwrap()
        .is_none());
    let error = LiveKafka::new(settings(&broker))
        .unwrap()
        .fetch(&TopicQuery::counts("kafka", [topic]))
        .unwrap_err();
    assert!(
        matches!(error, KafkaError::TopicMissing { .. }),
        "reading must not create the topic: {error}"
    );
}

#[test]
fn an_empty_stream_is_an_empty_state() {
    let broker = Broker::start();
    let topic = "__samza_coordinator_empty_1";
    broker.create_topic(topic, 1);
    let state = read_stored_state(&settings(&broker), "kafka", topic)
        .unwrap()
        .expect("the topic exists");
    assert!(state.changelog.is_empty() && state.task_container.is_empty());
}

#[test]
fn a_message_samza_could_not_read_is_an_error_naming_topic_and_offset() {
    let broker = Broker::start();
    let topic = "__samza_coordinator_corrupt_1";
    broker.create_topic(topic, 1);
    let mut messages = SAMZA_STREAM[..3].to_vec();
    messages.push((
        br#"[1,"set-changelog","Partition 2"]"#,
        Some(
            br#"{"host":"","source":"x","values":{"Partition":"two"},"username":"","timestamp":1}"#,
        ),
    ));
    broker.produce_raw(topic, &messages);
    let error = read_stored_state(&settings(&broker), "kafka", topic).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, CoordinatorStreamError::Decode { .. }),
        "{message}"
    );
    for expected in [
        topic,
        broker.bootstrap().as_str(),
        "message at offset 3",
        "\"two\" is not a changelog partition number",
    ] {
        assert!(message.contains(expected), "{expected} in {message}");
    }

    // A key that is not JSON at all stops the read where it is.
    let topic = "__samza_coordinator_garbage_1";
    broker.create_topic(topic, 1);
    broker.produce_raw(topic, &[SAMZA_STREAM[1], (b"\x00\x01binary", Some(b"x"))]);
    let message = read_stored_state(&settings(&broker), "kafka", topic)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("message at offset 1") && message.contains("not a JSON array"),
        "{message}"
    );
}

#[test]
fn an_unreachable_cluster_fails_within_the_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut settings = KafkaClientSettings::new(vec![format!("127.0.0.1:{port}")]);
    settings.timeout = Duration::from_secs(2);
    let started = Instant::now();
    let error = read_stored_state(&settings, "kafka", "__samza_coordinator_j_1").unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(4), "{error}");
    assert!(
        matches!(error, CoordinatorStreamError::Cluster { .. }),
        "{error}"
    );
    assert!(
        error.to_string().starts_with(
            "coordinator stream `__samza_coordinator_j_1`: system `kafka`: no broker answered"
        ),
        "{error}"
    );
}

fn model(tasks: &[(&str, u32, u32)]) -> JobModel {
    JobModel::new(
        job_config(),
        vec![ContainerModel {
            id: "0".into(),
            tasks: tasks
                .iter()
                .map(|(name, partition, changelog)| TaskModel {
                    name: (*name).into(),
                    ssps: vec![helm_samza::samza::Ssp::new(
                        &helm_samza::samza::SystemStream::new("kafka", "PageViewEvent"),
                        *partition,
                    )],
                    changelog_partition: *changelog,
                    mode: TaskMode::Active,
                })
                .collect(),
        }],
    )
}

fn topic_config(broker: &Broker, topic: &str) -> BTreeMap<String, String> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .unwrap();
    let results = futures_executor::block_on(admin.describe_configs(
        [&ResourceSpecifier::Topic(topic)],
        &AdminOptions::new().request_timeout(Some(TIMEOUT)),
    ))
    .unwrap();
    let resource = results
        .into_iter()
        .next()
        .unwrap()
        .expect("the topic's config");
    resource
        .entries
        .into_iter()
        .filter_map(|entry| Some((entry.name, entry.value?)))
        .collect()
}

#[test]
fn what_the_coordinator_writes_reads_back_and_keeps_stored_entries() {
    let broker = Broker::start();
    let config = job_config();
    let spec = coordinator_spec(&config);
    let settings = settings(&broker);
    assert!(read_stored_state(&settings, "kafka", &spec.name)
        .unwrap()
        .is_none());

    // First start: the topic is created and the model's mapping written.
    let first = model(&[("Partition 0", 0, 0), ("Partition 1", 1, 1)]);
    write_messages(
        &settings,
        &spec,
        &start_messages(None, &first, &Header::helm_samza(1_750_000_000_000)),
    )
    .unwrap();
    let counts = LiveKafka::new(settings.clone())
        .unwrap()
        .fetch(&TopicQuery::counts("kafka", [spec.name.as_str()]))
        .unwrap()
        .counts;
    assert_eq!(counts[&spec.name], 1, "one partition");
    let topic_config = topic_config(&broker, &spec.name);
    assert_eq!(
        topic_config.get("cleanup.policy").map(String::as_str),
        Some("compact"),
        "{topic_config:?}"
    );
    let stored = read_stored_state(&settings, "kafka", &spec.name)
        .unwrap()
        .expect("written");
    assert_eq!(
        stored.changelog,
        mapping(&[("Partition 0", 0), ("Partition 1", 1)])
    );
    assert_eq!(stored.previous().task_container.len(), 2);

    // Second start with a model that numbered things differently and grew: stored entries win, the new task
    // is added, nothing is removed; the existing topic is reused.
    let second = model(&[("Partition 0", 0, 1), ("Partition 2", 2, 2)]);
    write_messages(
        &settings,
        &spec,
        &start_messages(
            Some(&stored),
            &second,
            &Header::helm_samza(1_750_000_000_001),
        ),
    )
    .unwrap();
    let again = read_stored_state(&settings, "kafka", &spec.name)
        .unwrap()
        .expect("written");
    assert_eq!(
        again.changelog,
        mapping(&[("Partition 0", 0), ("Partition 1", 1), ("Partition 2", 2)])
    );
    assert_eq!(again.changelog, stored.merged_changelog(&second));
    // Samza clears old task assignments only when the number of active tasks changed; here it did not, so
    // the departed task's entry stays, as `JobModelHelper` leaves it.
    assert_eq!(
        again.previous().task_container.keys().collect::<Vec<_>>(),
        ["Partition 0", "Partition 1", "Partition 2"]
    );

    // Third start with one task fewer: now the old assignments are deleted and only the model's remain.
    let third = model(&[("Partition 0", 0, 0)]);
    write_messages(
        &settings,
        &spec,
        &start_messages(Some(&again), &third, &Header::helm_samza(1_750_000_000_002)),
    )
    .unwrap();
    let last = read_stored_state(&settings, "kafka", &spec.name)
        .unwrap()
        .expect("written");
    assert_eq!(
        last.previous().task_container.keys().collect::<Vec<_>>(),
        ["Partition 0"]
    );
    assert_eq!(
        last.changelog, again.changelog,
        "changelog entries are never removed"
    );
}

/// What the coordinator calls on start: the first start creates the stream with the model's mapping, a later
/// start with another model keeps the stored entries; the Kafka settings come from the model's config.
#[test]
fn the_coordinators_write_back_creates_then_merges() {
    let broker = Broker::start();
    let with_brokers = |tasks: &[(&str, u32, u32)]| {
        let mut model = model(tasks);
        model.config.set(
            "systems.kafka.consumer.bootstrap.servers",
            broker.bootstrap(),
        );
        model
    };
    let overrides = Overrides {
        timeout: Some(TIMEOUT),
        ..Overrides::default()
    };
    let now = std::time::SystemTime::now();
    let first = write_back(&with_brokers(&[("Partition 0", 0, 0)]), &overrides, now).unwrap();
    assert_eq!(first.topic, "__samza_coordinator_page-view-counter_1");
    assert_eq!((first.system.as_str(), first.first_deploy), ("kafka", true));
    let second = write_back(
        &with_brokers(&[("Partition 0", 0, 3), ("Partition 1", 1, 1)]),
        &overrides,
        now,
    )
    .unwrap();
    assert!(!second.first_deploy);
    assert_eq!(second.changelog_entries, 2);
    let stored = read_stored_state(&settings(&broker), "kafka", &second.topic)
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.changelog,
        mapping(&[("Partition 0", 0), ("Partition 1", 1)])
    );

    // A job without a coordinator system says which key to set, before any Kafka client is made.
    let mut model = with_brokers(&[("Partition 0", 0, 0)]);
    model.config = Config::from_map(
        model
            .config
            .iter()
            .filter(|(key, _)| *key != "job.default.system")
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    );
    let error = write_back(&model, &overrides, now).unwrap_err().to_string();
    assert!(error.contains("job.coordinator.system"), "{error}");
}

/// The stream goes through the same client settings as partition discovery: over TLS (with the broker's CA)
/// it is created, written and read back.
#[test]
fn the_stream_is_written_and_read_over_tls() {
    let broker = Broker::builder().tls().start();
    let mut settings = settings(&broker);
    settings
        .properties
        .insert("security.protocol".into(), "ssl".into());
    settings.properties.insert(
        "ssl.ca.location".into(),
        broker.ca_file().display().to_string(),
    );
    let spec = coordinator_spec(&job_config());
    let model = model(&[("Partition 0", 0, 4)]);
    write_messages(
        &settings,
        &spec,
        &start_messages(None, &model, &Header::helm_samza(1)),
    )
    .unwrap();
    let stored = read_stored_state(&settings, "kafka", &spec.name)
        .unwrap()
        .expect("written");
    assert_eq!(stored.changelog, mapping(&[("Partition 0", 4)]));

    // Without the CA the handshake is refused, and the error says so rather than "no broker answered".
    settings.properties.shift_remove("ssl.ca.location");
    settings.timeout = Duration::from_secs(2);
    let message = read_stored_state(&settings, "kafka", &spec.name)
        .unwrap_err()
        .to_string();
    assert!(message.contains("TLS handshake"), "{message}");
}

/// Tansu 0.6 lets no SCRAM login succeed (see `secured.rs`), so only a refusal can be shown: it is named as
/// one, within the timeout, without the password.
#[test]
fn a_refused_sasl_login_is_named_and_shows_no_password() {
    let broker = Broker::builder().authentication().start();
    broker.create_user("samza", "right-Passw0rd-4d1f", "scram512");
    let mut settings = settings(&broker);
    settings.timeout = Duration::from_secs(2);
    for (key, value) in [
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanisms", "SCRAM-SHA-512"),
        ("sasl.username", "samza"),
        ("sasl.password", "wr0ng-Passw0rd-9b7e"),
    ] {
        settings.properties.insert(key.into(), value.into());
    }
    let started = Instant::now();
    let error = read_stored_state(&settings, "kafka", "__samza_coordinator_j_1").unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "{error}");
    let message = format!("{error} {error:?}");
    assert!(
        matches!(&error, CoordinatorStreamError::Cluster { source, .. }
            if matches!(**source, KafkaError::AuthenticationFailed { .. })),
        "{message}"
    );
    assert!(!message.contains("wr0ng-Passw0rd"), "{message}");
}
