//! Partition discovery against a real Kafka-protocol broker process (Tansu): counts, topic lists, missing
//! topics, and the `kubectl port-forward` case where only the bootstrap address is reachable.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use helm_samza::kafka::{
    KafkaClientSettings, KafkaError, LiveKafka, LiveKafkaSystems, Overrides, PartitionSource,
    Scoped, TopicQuery,
};
use indexmap::IndexMap;

use crate::support::broker::Broker;

const TIMEOUT: Duration = Duration::from_secs(5);

fn live(broker: &Broker) -> LiveKafka {
    let mut settings = KafkaClientSettings::new(vec![broker.bootstrap()]);
    settings.timeout = TIMEOUT;
    LiveKafka::new(settings).expect("a client for the test broker")
}

fn counts(pairs: &[(&str, u32)]) -> BTreeMap<String, u32> {
    pairs
        .iter()
        .map(|(topic, count)| ((*topic).to_owned(), *count))
        .collect()
}

fn with_list(query: TopicQuery) -> TopicQuery {
    TopicQuery {
        list_all: true,
        ..query
    }
}

#[test]
fn partition_counts_come_from_a_real_broker() {
    let broker = Broker::start();
    for (topic, partitions) in [("PageViewEvent", 8), ("AdClickEvent", 3), ("audit.log", 1)] {
        broker.create_topic(topic, partitions);
    }
    let kafka = live(&broker);

    let one = kafka
        .fetch(&TopicQuery::counts("kafka", ["PageViewEvent"]))
        .unwrap();
    assert_eq!(one.counts, counts(&[("PageViewEvent", 8)]));
    let several = kafka
        .fetch(&TopicQuery::counts("kafka", ["AdClickEvent", "audit.log"]))
        .unwrap();
    assert_eq!(
        several.counts,
        counts(&[("AdClickEvent", 3), ("audit.log", 1)])
    );
    let listed = kafka
        .fetch(&with_list(TopicQuery::counts("kafka", ["PageViewEvent"])))
        .unwrap();
    let all = listed.all_topics.unwrap();
    for topic in ["PageViewEvent", "AdClickEvent", "audit.log"] {
        assert!(all.contains(topic), "{topic} missing from {all:?}");
    }
    assert_eq!(listed.source.brokers, [broker.bootstrap()]);
}

#[test]
fn a_missing_topic_is_an_error_and_is_not_created() {
    let broker = Broker::start();
    broker.create_topic("present", 2);
    let kafka = live(&broker);
    for query in [
        TopicQuery::counts("tracking", ["absent"]),
        TopicQuery::counts("tracking", ["present", "absent"]),
    ] {
        let error = kafka.fetch(&query).unwrap_err();
        assert!(
            matches!(error, KafkaError::TopicMissing { .. }),
            "{query:?}: {error}"
        );
        assert!(
            error
                .to_string()
                .contains("system `tracking`: topic `absent` does not exist"),
            "{error}"
        );
    }
    let all = live(&broker)
        .fetch(&with_list(TopicQuery::counts("tracking", ["present"])))
        .unwrap();
    assert!(
        !all.all_topics.unwrap().contains("absent"),
        "reading metadata created the topic"
    );
}

/// `kubectl port-forward` exposes one broker on localhost while the cluster advertises addresses only
/// reachable inside it. Metadata comes over the bootstrap connection, so discovery must still work.
#[test]
fn counts_come_back_when_only_the_bootstrap_address_is_reachable() {
    let broker = Broker::start_with_unreachable_advertised();
    broker.create_topic("PageViewEvent", 6);
    broker.create_topic("AdClickEvent", 2);

    for query in [
        TopicQuery::counts("kafka", ["PageViewEvent"]),
        TopicQuery::counts("kafka", ["PageViewEvent", "AdClickEvent"]),
        with_list(TopicQuery::counts("kafka", ["AdClickEvent"])),
    ] {
        let started = Instant::now();
        let facts = live(&broker)
            .fetch(&query)
            .unwrap_or_else(|error| panic!("{query:?}: {error}"));
        assert!(
            started.elapsed() < TIMEOUT,
            "{query:?} took {:?}",
            started.elapsed()
        );
        for topic in &query.topics {
            let expected = if topic == "PageViewEvent" { 6 } else { 2 };
            assert_eq!(facts.counts.get(topic), Some(&expected), "{query:?}");
        }
    }

    // A fresh client's first request for all topics races librdkafka retiring the bootstrap connection;
    // helm-samza asks for one named topic first so that it does not lose. Without that, some of these time out.
    // A list alone (a system whose inputs all come from a regex) names no topic to prime with: the stand-in
    // topic does not exist here, and still primes the client (see `reconnect.backoff.ms` in kafka::live).
    for (shape, named) in [("named", &["AdClickEvent"][..]), ("list only", &[][..])] {
        for attempt in 0..10 {
            let started = Instant::now();
            let facts = live(&broker)
                .fetch(&with_list(TopicQuery::counts(
                    "kafka",
                    named.iter().copied(),
                )))
                .unwrap_or_else(|error| panic!("{shape}, fresh client {attempt}: {error}"));
            assert!(
                started.elapsed() < TIMEOUT,
                "{shape}, fresh client {attempt} took {:?}",
                started.elapsed()
            );
            let listed = facts.all_topics.expect("a topic list was asked for");
            assert!(
                listed.contains("PageViewEvent") && listed.contains("AdClickEvent"),
                "{listed:?}"
            );
        }
    }

    // A missing topic is reported as missing, not as a timeout, whether it is the topic the client primes with
    // ("Absent" sorts first) or one found absent from the list afterwards ("absent" sorts last).
    for missing in ["Absent", "absent"] {
        let started = Instant::now();
        let error = live(&broker)
            .fetch(&TopicQuery::counts("kafka", [missing, "PageViewEvent"]))
            .unwrap_err();
        assert!(
            matches!(error, KafkaError::TopicMissing { .. }),
            "{missing}: {error}"
        );
        assert!(
            started.elapsed() < TIMEOUT,
            "{missing}: took {:?}",
            started.elapsed()
        );
    }

    // The same client asked again after it has learned the unreachable advertised address and sat idle: it
    // finds its way back through the bootstrap address (librdkafka's re-bootstrap) within the timeout.
    let kafka = live(&broker);
    for idle in [0, 0, 3] {
        std::thread::sleep(Duration::from_secs(idle));
        let started = Instant::now();
        let facts = kafka
            .fetch(&TopicQuery::counts(
                "kafka",
                ["PageViewEvent", "AdClickEvent"],
            ))
            .unwrap();
        assert!(
            started.elapsed() < TIMEOUT,
            "after {idle}s idle it took {:?}",
            started.elapsed()
        );
        assert_eq!(
            facts.counts,
            counts(&[("AdClickEvent", 2), ("PageViewEvent", 6)])
        );
    }
}

#[test]
fn brokers_resolve_from_the_job_config_and_overrides() {
    let broker = Broker::start();
    broker.create_topic("PageViewEvent", 4);
    let job_config: IndexMap<String, String> = [(
        "systems.kafka.consumer.bootstrap.servers".to_owned(),
        "127.0.0.1:9".to_owned(),
    )]
    .into_iter()
    .collect();

    let overrides = Overrides {
        bootstrap_servers: vec![format!("kafka={}", broker.bootstrap())
            .parse::<Scoped>()
            .unwrap()],
        ..Overrides::default()
    };
    let systems = LiveKafkaSystems::new(job_config.clone(), overrides);
    let facts = systems
        .fetch(&TopicQuery::counts("kafka", ["PageViewEvent"]))
        .unwrap();
    assert_eq!(facts.counts, counts(&[("PageViewEvent", 4)]));

    // Without the override the job config's address is used, and its failure names it and the timeout.
    let overrides = Overrides {
        timeout: Some(Duration::from_secs(2)),
        ..Overrides::default()
    };
    let error = LiveKafkaSystems::new(job_config, overrides)
        .fetch(&TopicQuery::counts("kafka", ["PageViewEvent"]))
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("no broker answered within 2s: 127.0.0.1:9"),
        "{message}"
    );
    assert!(
        message.contains("systems.kafka.consumer.bootstrap.servers in the job config"),
        "{message}"
    );
}

/// A wait for brokers that do not answer says what it waits for after a second, on a terminal (here a pty made by
/// `script`); piped (CI, Helm), stderr holds the error alone, first.
#[test]
fn a_wait_for_kafka_is_announced_on_a_terminal_only() {
    let port = crate::support::broker::free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("job.properties");
    std::fs::write(
        &config,
        "job.name=w\ntask.inputs=kafka.t\njob.default.system=kafka\n",
    )
    .unwrap();
    let command = format!(
        "{} model --config {} --bootstrap-servers 127.0.0.1:{port} --kafka-timeout 3s",
        env!("CARGO_BIN_EXE_helm-samza"),
        config.display()
    );
    let out = std::process::Command::new(crate::support::tools::on_path("script"))
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("script (util-linux) runs the command on a pty");
    let text = String::from_utf8_lossy(&out.stdout);
    let waiting = text
        .find(&format!(
            "helm-samza: waiting for Kafka system kafka at 127.0.0.1:{port} (up to 3s"
        ))
        .unwrap_or_else(|| panic!("no wait note on the terminal: {text}"));
    assert!(
        waiting < text.find("Error: ").expect("the error follows"),
        "{text}"
    );

    let piped = crate::support::run::Test::new()
        .args(["model", "--config", config.to_str().unwrap()])
        .args([
            "--bootstrap-servers",
            &format!("127.0.0.1:{port}"),
            "--kafka-timeout",
            "2s",
        ])
        .run();
    assert_eq!(piped.code, 12);
    assert!(piped.stderr.starts_with("Error: "), "{}", piped.stderr);
    assert!(!piped.stderr.contains("waiting for"), "{}", piped.stderr);
}
