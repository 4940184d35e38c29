//! Partition counts from a running Kafka cluster, read from topic metadata through librdkafka.
//!
//! Three promises shape this file. Rendering never creates a topic: the client is a `BaseConsumer` with
//! `allow.auto.create.topics=false` forced after user properties (a producer's metadata request auto-creates the
//! topic it names). Rendering never hangs: every librdkafka timeout is derived from one short, configurable
//! timeout. And it costs as few round trips as possible: one metadata request per system naming the topic when
//! exactly one is wanted; otherwise one request for all topics, preceded, the first time a client asks, by one
//! for a single topic (see [`LiveKafka::prime`]). Both work when only the bootstrap address is reachable
//! (`kubectl port-forward`), because the answers come over the bootstrap connection.
//! librdkafka's own log lines are kept in memory, never printed, and the last one is quoted in errors.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use indexmap::IndexMap;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError as ClientError;
use rdkafka::metadata::{Metadata, MetadataTopic};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, ClientContext};

use super::settings::{client_settings_for, Overrides};
use super::{
    KafkaClientSettings, KafkaError, PartitionSource, SourceKind, SourceRecord, SystemFacts,
    TopicQuery,
};

/// How many librdkafka messages to keep for error reports; only the most recent one is quoted.
const KEPT_MESSAGES: usize = 16;
/// An upper bound on the events handed over per drain; a failing client queues a few per second.
const QUEUED_EVENTS: usize = 256;
/// How long a client counts as primed: well inside librdkafka's default `metadata.max.age.ms` (15 min), after
/// which the cached topic that keeps the bootstrap connection answering may have expired.
const PRIMED_FOR: Duration = Duration::from_secs(300);
/// The topic a client is primed with when a query names none (a topic list for regex inputs). Any name does:
/// a forbidden topic is cached with its error, and an absent one (never created: auto-creation is off) is
/// cached for 100 ms, which the quick first reconnect (`client_config`) stays within.
const PRIMING_TOPIC: &str = "__consumer_offsets";

/// The layer at which a broker refused a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// SASL: the credentials or the mechanism.
    Sasl,
    /// TLS: most often a certificate the client does not trust.
    Tls,
}

impl Refusal {
    /// The librdkafka error codes that mean a broker was reached but refused the client's security settings.
    fn of(error: &ClientError) -> Option<Refusal> {
        match error.rdkafka_error_code()? {
            RDKafkaErrorCode::Authentication
            | RDKafkaErrorCode::SaslAuthenticationFailed
            | RDKafkaErrorCode::UnsupportedSASLMechanism
            | RDKafkaErrorCode::IllegalSASLState => Some(Refusal::Sasl),
            RDKafkaErrorCode::SSL => Some(Refusal::Tls),
            _ => None,
        }
    }
}

/// Receives librdkafka's log lines and error events instead of stderr.
#[derive(Default)]
pub(super) struct Messages {
    lines: Mutex<Vec<String>>,
    /// The last TLS or SASL refusal since the last answer, with librdkafka's reason. It outlives `clear`:
    /// librdkafka reports a repeated identical failure only now and then, so the next request may see none.
    refused: Mutex<Option<(Refusal, String)>>,
}

/// A lock that survives a panic elsewhere: the guarded values are plain data, always consistent.
fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Messages {
    fn push(&self, line: String) {
        let mut lines = locked(&self.lines);
        if lines.len() == KEPT_MESSAGES {
            lines.remove(0);
        }
        lines.push(line);
    }

    pub(super) fn clear(&self) {
        locked(&self.lines).clear();
    }

    pub(super) fn last(&self) -> Option<String> {
        locked(&self.lines).last().cloned()
    }

    fn refused(&self) -> Option<(Refusal, String)> {
        locked(&self.refused).clone()
    }

    /// A broker answered, so whatever refused us before no longer does.
    fn answered(&self) {
        *locked(&self.refused) = None;
    }
}

impl ClientContext for Messages {
    fn log(&self, level: RDKafkaLogLevel, _facility: &str, message: &str) {
        if (level as i32) <= RDKafkaLogLevel::Warning as i32 {
            // Drop the `[thrd:…]: ` prefix naming librdkafka's internal thread.
            let message = match message.split_once("]: ") {
                Some((thread, rest)) if thread.starts_with("[thrd:") => rest,
                _ => message,
            };
            self.push(message.to_owned());
        }
    }

    /// `N/M brokers are down` says less than the connection error before it and than our own message.
    fn error(&self, error: ClientError, reason: &str) {
        if let Some(refusal) = Refusal::of(&error) {
            *locked(&self.refused) = Some((refusal, reason.to_owned()));
        }
        if !reason.ends_with("brokers are down") {
            self.push(reason.to_owned());
        }
    }
}

impl ConsumerContext for Messages {}

/// One Kafka cluster, asked through one long-lived client so that a second query reuses the connection.
pub struct LiveKafka {
    settings: KafkaClientSettings,
    pub(super) consumer: BaseConsumer<Messages>,
    primed_at: Mutex<Option<Instant>>,
}

/// Why librdkafka refused to create a client, with no property value in it. librdkafka quotes the value it
/// refused (`Invalid value "…" for configuration property "…"`, `Unsupported SASL mechanism: …`) and
/// rust-rdkafka's `Display` appends it again; the value of a misspelt key (`sasl.pasword`) or of a secret under
/// the wrong key (`sasl.mechanisms`) is exactly what must never be shown. The refused value is cut out whatever
/// its key, and every other user value as `KafkaClientSettings::redact` does.
pub(super) fn creation_message(settings: &KafkaClientSettings, error: &ClientError) -> String {
    let text = match error {
        ClientError::ClientConfig(_, description, key, value) => {
            let description = if value.is_empty() {
                description.clone()
            } else {
                description.replace(value.as_str(), "<redacted>")
            };
            if description.contains(key.as_str()) {
                description
            } else {
                format!("{description} (property `{key}`)")
            }
        }
        other => other.to_string(),
    };
    settings.redact(&text)
}

impl LiveKafka {
    /// Creates the client; librdkafka starts connecting in the background right away.
    pub fn new(settings: KafkaClientSettings) -> Result<Self, KafkaError> {
        LiveKafka::with_properties(settings, &[])
    }

    /// A client with `extra` librdkafka properties set over the user's: what a reader of messages needs on top
    /// of the metadata client. They stay out of `settings`, which holds only what the user gave (and what error
    /// messages redact).
    pub(super) fn with_properties(
        settings: KafkaClientSettings,
        extra: &[(&str, &str)],
    ) -> Result<Self, KafkaError> {
        let mut config = client_config(&settings);
        for (key, value) in extra {
            config.set(*key, *value);
        }
        let consumer = config
            .create_with_context(Messages::default())
            .map_err(|error| KafkaError::ClientCreation {
                brokers: settings.brokers(),
                origin: settings.bootstrap_origin.clone(),
                message: creation_message(&settings, &error),
            })?;
        Ok(LiveKafka {
            settings,
            consumer,
            primed_at: Mutex::new(None),
        })
    }

    pub fn settings(&self) -> &KafkaClientSettings {
        &self.settings
    }

    /// Hands queued log lines and error events to `Messages`. They wait on the client's queue until it is
    /// polled; without a group the consumer polls exactly that queue, one event per zero-timeout poll, and a
    /// poll with no assignment never blocks.
    fn drain_messages(&self) {
        for _ in 0..QUEUED_EVENTS {
            let _ = self.consumer.poll(Duration::ZERO);
        }
    }

    pub(super) fn metadata(
        &self,
        system: &str,
        topic: Option<&str>,
        deadline: Instant,
    ) -> Result<Metadata, KafkaError> {
        self.drain_messages();
        self.consumer.context().clear();
        let metadata = self
            .consumer
            .fetch_metadata(topic, deadline.saturating_duration_since(Instant::now()))
            .map_err(|error| self.request_error(system, error))?;
        // Events queued during this request are from before its answer: hand them over first, so that a
        // refusal among them does not outlive the answer.
        self.drain_messages();
        self.consumer.context().answered();
        Ok(metadata)
    }

    /// How long a priming holds: [`PRIMED_FOR`], or half of a shorter `metadata.max.age.ms` set by the user
    /// (librdkafka forgets cached topics after that age).
    fn primed_for(&self) -> Duration {
        self.settings
            .properties
            .get("metadata.max.age.ms")
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map_or(PRIMED_FOR, |ms| {
                PRIMED_FOR.min(Duration::from_millis(ms / 2))
            })
    }

    /// Makes sure the client knows one topic and holds its metadata before it asks for all topics.
    ///
    /// librdkafka (since 2.10) retires the bootstrap connection as soon as any metadata answer names the
    /// brokers; when their advertised addresses are unreachable (a port-forward) it starts over from the
    /// bootstrap address, and every new connection opens with its own metadata request. That request's answer
    /// retires the connection again, and a request for all topics sent right behind it usually loses the race:
    /// against a real broker, a fresh client's request for all topics sometimes took seconds and sometimes
    /// timed out, while a request naming one topic always came back at once. Once the client knows a topic
    /// whose metadata is cached, a new connection skips its opening request, so the request for all topics
    /// travels alone and is answered. A request naming one topic primes the client; on a reachable cluster it
    /// costs one small extra round trip, once per client.
    ///
    /// The priming topic is the first one the query needs, so its answer also settles that topic: if it is
    /// missing or forbidden, that is the query's error, reported now (librdkafka keeps an unknown topic for
    /// only 100 ms, so such a topic would not prime the client anyway).
    fn prime(&self, query: &TopicQuery, deadline: Instant) -> Result<(), KafkaError> {
        let mut primed_at = locked(&self.primed_at);
        if primed_at.is_some_and(|at| at.elapsed() < self.primed_for()) {
            return Ok(());
        }
        let needed = query.topics.first();
        let topic = needed.map_or(PRIMING_TOPIC, String::as_str);
        let metadata = self.metadata(&query.system, Some(topic), deadline)?;
        if needed.is_some() {
            self.named_count(&query.system, &metadata, topic)?;
        }
        // For the stand-in topic only the cluster's answer matters, not the topic's own error.
        *primed_at = Some(Instant::now());
        Ok(())
    }

    fn request_error(&self, system: &str, error: ClientError) -> KafkaError {
        self.drain_messages();
        let cause = self
            .consumer
            .context()
            .last()
            .map(|line| self.settings.redact(&line));
        let system = system.to_owned();
        let brokers = self.settings.brokers();
        let timeout = self.settings.timeout;
        // A broker that refused our credentials or certificate check was reached: saying "no broker answered"
        // would send the user to check addresses. librdkafka retries such a connection until the timeout and
        // then reports the same transport failure as for a broker that is down.
        if let (
            Some((refusal, reason)),
            ClientError::MetadataFetch(
                RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::OperationTimedOut
                | RDKafkaErrorCode::RequestTimedOut,
            ),
        ) = (self.consumer.context().refused(), &error)
        {
            let cause = self.settings.redact(&reason);
            return match refusal {
                Refusal::Sasl => KafkaError::AuthenticationFailed {
                    system,
                    brokers,
                    cause,
                },
                Refusal::Tls => KafkaError::TlsFailed {
                    system,
                    brokers,
                    cause,
                },
            };
        }
        // librdkafka says "transport failure" whenever no connection became usable in time, whether the broker
        // refused it or never finished the handshake. Only a refusal or a resolve failure leaves a message
        // behind; without one the broker was there but too slow, which is a timeout.
        match error {
            ClientError::MetadataFetch(
                RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::Resolve,
            ) if cause.is_some() => KafkaError::Unreachable {
                system,
                brokers,
                origin: self.settings.bootstrap_origin.clone(),
                timeout,
                cause,
            },
            ClientError::MetadataFetch(
                RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::OperationTimedOut
                | RDKafkaErrorCode::RequestTimedOut,
            ) => KafkaError::TimedOut {
                system,
                brokers,
                timeout,
                cause,
            },
            other => KafkaError::Metadata {
                system,
                brokers,
                message: self.settings.redact(&other.to_string()),
                cause,
            },
        }
    }

    fn topic_error(&self, system: &str, topic: &str, code: RDKafkaErrorCode) -> KafkaError {
        let (system, topic, brokers) =
            (system.to_owned(), topic.to_owned(), self.settings.brokers());
        match code {
            RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => {
                KafkaError::TopicMissing {
                    system,
                    topic,
                    brokers,
                }
            }
            RDKafkaErrorCode::TopicAuthorizationFailed => KafkaError::TopicUnauthorized {
                system,
                topic,
                brokers,
            },
            code => KafkaError::TopicError {
                system,
                topic,
                brokers,
                code: code.to_string(),
            },
        }
    }

    /// The partition count of `topic` in a metadata answer that should hold it.
    fn partition_count(&self, system: &str, topic: &MetadataTopic) -> Result<u32, KafkaError> {
        if let Some(code) = topic.error() {
            return Err(self.topic_error(system, topic.name(), code.into()));
        }
        match u32::try_from(topic.partitions().len()) {
            Ok(0) | Err(_) => Err(KafkaError::TopicError {
                system: system.to_owned(),
                topic: topic.name().to_owned(),
                brokers: self.settings.brokers(),
                code: "the broker reports no partitions".to_owned(),
            }),
            Ok(count) => Ok(count),
        }
    }

    /// A topic absent from an all-topics answer is either missing or hidden from us: Kafka leaves topics the
    /// client may not describe out of such answers. Asking for it by name tells the two apart; this costs a
    /// round trip only on the way to an error.
    fn absent_topic_error(&self, system: &str, topic: &str, deadline: Instant) -> KafkaError {
        let metadata = match self.metadata(system, Some(topic), deadline) {
            Ok(metadata) => metadata,
            Err(error) => return error,
        };
        match self.named_count(system, &metadata, topic) {
            Err(error) => error,
            // It appeared in between; still report it, as the counts we hold are from before.
            Ok(_) => self.topic_error(system, topic, RDKafkaErrorCode::UnknownTopicOrPartition),
        }
    }

    /// The partition count of `topic` in an answer to a request naming it: its own error if it has one,
    /// and "unknown topic" if the answer leaves it out.
    pub(super) fn named_count(
        &self,
        system: &str,
        metadata: &Metadata,
        topic: &str,
    ) -> Result<u32, KafkaError> {
        match metadata
            .topics()
            .iter()
            .find(|answer| answer.name() == topic)
        {
            Some(answer) => self.partition_count(system, answer),
            None => Err(self.topic_error(system, topic, RDKafkaErrorCode::UnknownTopicOrPartition)),
        }
    }
}

impl PartitionSource for LiveKafka {
    fn describe(&self) -> String {
        format!(
            "Kafka at {} (bootstrap servers from {}, timeout {})",
            self.settings.brokers(),
            self.settings.bootstrap_origin,
            humantime::format_duration(self.settings.timeout)
        )
    }

    fn fetch(&self, query: &TopicQuery) -> Result<SystemFacts, KafkaError> {
        let mut facts = SystemFacts::empty(SourceRecord {
            kind: SourceKind::Kafka,
            brokers: self.settings.bootstrap_servers.clone(),
            at: None,
        });
        if query.is_empty() {
            return Ok(facts);
        }
        let single = match (query.list_all, query.topics.len()) {
            (false, 1) => query.topics.first().map(String::as_str),
            _ => None,
        };
        let deadline = Instant::now() + self.settings.timeout;
        let metadata = if single.is_none() {
            self.prime(query, deadline)?;
            // Priming makes the race described at `prime` rare, not impossible: on a busy machine the client
            // can still retire the connection the request went out on, and a request lost that way is never
            // answered. So the first request gets a third of the time; if it is not answered by then, the
            // client is primed again and asks once more with what is left.
            let first = deadline
                .min(Instant::now() + (self.settings.timeout / 3).max(Duration::from_secs(1)));
            match self.metadata(&query.system, None, first) {
                Err(KafkaError::TimedOut { .. }) if first < deadline => {
                    *locked(&self.primed_at) = None;
                    self.prime(query, deadline)?;
                    self.metadata(&query.system, None, deadline)?
                }
                answer => answer?,
            }
        } else {
            self.metadata(&query.system, single, deadline)?
        };
        facts.source.at = Some(humantime::format_rfc3339_seconds(SystemTime::now()).to_string());

        let answered: BTreeMap<&str, &MetadataTopic> = metadata
            .topics()
            .iter()
            .map(|topic| (topic.name(), topic))
            .collect();
        for topic in &query.topics {
            let count = match answered.get(topic.as_str()) {
                Some(answer) => self.partition_count(&query.system, answer)?,
                None if single.is_some() => {
                    return Err(self.topic_error(
                        &query.system,
                        topic,
                        RDKafkaErrorCode::UnknownTopicOrPartition,
                    ))
                }
                None => {
                    // The follow-up gets a second at least, so that a listing that came back just before
                    // the deadline does not turn a missing topic into a timeout.
                    let floor = Instant::now() + self.settings.timeout.min(Duration::from_secs(1));
                    return Err(self.absent_topic_error(&query.system, topic, deadline.max(floor)));
                }
            };
            facts.counts.insert(topic.clone(), count);
        }
        if query.list_all {
            facts.all_topics = Some(
                answered
                    .iter()
                    .filter(|(_, answer)| answer.error().is_none())
                    .map(|(name, _)| (*name).to_owned())
                    .collect(),
            );
        }
        Ok(facts)
    }
}

/// librdkafka settings for a metadata-only client that fails within the timeout.
pub(super) fn client_config(settings: &KafkaClientSettings) -> ClientConfig {
    // The metadata call itself gives up after the timeout. librdkafka's own request timeouts are set just
    // beyond it, so that a broker that accepts the connection but answers slowly shows up as a timeout of our
    // call rather than as a dropped connection, while a refused connection still fails as one. User properties
    // may tune them.
    let beyond_ms = (settings.timeout + Duration::from_secs(1))
        .as_millis()
        .min(300_000)
        .to_string();
    let mut config = ClientConfig::new();
    config
        .set("socket.timeout.ms", &beyond_ms)
        .set("socket.connection.setup.timeout.ms", &beyond_ms)
        .set("api.version.request.timeout.ms", &beyond_ms)
        // Through an unreachable advertised address (the port-forward case) librdkafka keeps starting over from
        // the bootstrap address. A quick first reconnect (10 ms, librdkafka's default is 100 ms) comes back
        // while a topic just found missing is still in its cache (kept 100 ms), so the next connection skips
        // its opening request and the answer gets through: a missing topic named first was reported in ~30 ms
        // instead of 2 ms to 5 s (a timeout). The cap keeps an idle client's way back under a second.
        .set("reconnect.backoff.max.ms", "1000")
        .set("reconnect.backoff.ms", "10")
        .set("log.connection.close", "false")
        .set("client.id", "helm-samza");
    for (key, value) in &settings.properties {
        config.set(key, value);
    }
    config
        .set("bootstrap.servers", settings.brokers())
        .set("allow.auto.create.topics", "false")
        .set_log_level(RDKafkaLogLevel::Warning);
    config
}

/// Live Kafka for every system of one job: each system's settings are resolved, and its client created, the
/// first time the system is asked about, so a job whose counts all come from offline sources never needs
/// bootstrap servers at all.
pub struct LiveKafkaSystems {
    job_config: IndexMap<String, String>,
    overrides: Overrides,
    clients: Mutex<BTreeMap<String, Arc<LiveKafka>>>,
}

impl LiveKafkaSystems {
    pub fn new(job_config: IndexMap<String, String>, overrides: Overrides) -> Self {
        LiveKafkaSystems {
            job_config,
            overrides,
            clients: Mutex::new(BTreeMap::new()),
        }
    }

    /// The client for `system`, created on first use.
    pub fn client(&self, system: &str) -> Result<Arc<LiveKafka>, KafkaError> {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = clients.get(system) {
            return Ok(Arc::clone(client));
        }
        let client = Arc::new(LiveKafka::new(client_settings_for(
            system,
            &self.job_config,
            &self.overrides,
        )?)?);
        clients.insert(system.to_owned(), Arc::clone(&client));
        Ok(client)
    }
}

impl PartitionSource for LiveKafkaSystems {
    fn describe(&self) -> String {
        "live Kafka (bootstrap servers per system)".to_owned()
    }

    fn fetch(&self, query: &TopicQuery) -> Result<SystemFacts, KafkaError> {
        let client = self.client(&query.system)?;
        let _note = super::WaitNote::start(|| {
            format!(
                "Kafka system {} at {} (up to {}; --kafka-timeout)",
                query.system,
                client.settings.brokers(),
                humantime::format_duration(client.settings.timeout)
            )
        });
        client.fetch(query)
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::time::Instant;

    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::{BaseProducer, Producer};
    use rdkafka::types::RDKafkaRespErr;

    use super::*;

    fn client(bootstrap: &str, timeout: Duration) -> LiveKafka {
        let mut settings = KafkaClientSettings::new(vec![bootstrap.to_owned()]);
        settings.timeout = timeout;
        LiveKafka::new(settings).unwrap()
    }

    fn all_topics(kafka: &LiveKafka) -> std::collections::BTreeSet<String> {
        let query = TopicQuery {
            system: "kafka".into(),
            list_all: true,
            ..TopicQuery::default()
        };
        kafka.fetch(&query).unwrap().all_topics.unwrap()
    }

    /// Asserts that `run` returned within the timeout plus a little slack and gives back its result.
    fn bounded<T>(timeout: Duration, run: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let result = run();
        let elapsed = started.elapsed();
        assert!(
            elapsed < timeout + Duration::from_secs(2),
            "took {elapsed:?} with a timeout of {timeout:?}"
        );
        result
    }

    #[test]
    fn counts_for_several_topics_come_from_one_round_trip() {
        let cluster = MockCluster::new(3).unwrap();
        for (topic, partitions) in [("PageViewEvent", 12), ("AdClickEvent", 4), ("other", 1)] {
            cluster.create_topic(topic, partitions, 1).unwrap();
        }
        // Every answer takes a full round trip, so the elapsed time counts the requests made.
        let round_trip = Duration::from_millis(700);
        for broker in 1..=3 {
            cluster.broker_round_trip_time(broker, round_trip).unwrap();
        }
        let kafka = client(&cluster.bootstrap_servers(), Duration::from_secs(10));
        // The first query also primes the client (`LiveKafka::prime`), and librdkafka drops the bootstrap
        // connection once it knows the brokers by id, so the first two queries also pay for connection set-ups.
        for _ in 0..2 {
            let warm = kafka
                .fetch(&TopicQuery::counts("kafka", ["other", "AdClickEvent"]))
                .unwrap();
            assert_eq!(
                warm.counts,
                BTreeMap::from([("AdClickEvent".to_owned(), 4), ("other".to_owned(), 1)])
            );
        }
        let started = Instant::now();
        let facts = kafka
            .fetch(&TopicQuery::counts(
                "kafka",
                ["PageViewEvent", "AdClickEvent"],
            ))
            .unwrap();
        let elapsed = started.elapsed();
        assert_eq!(
            facts.counts,
            BTreeMap::from([
                ("AdClickEvent".to_owned(), 4),
                ("PageViewEvent".to_owned(), 12)
            ])
        );
        assert!(
            elapsed >= round_trip && elapsed < round_trip * 2,
            "{elapsed:?} is not one round trip"
        );
        assert_eq!(facts.source.kind, SourceKind::Kafka);
        assert_eq!(facts.source.brokers, [cluster.bootstrap_servers()]);
        let at = facts.source.at.expect("a live answer is timestamped");
        assert!(
            humantime::parse_rfc3339(&at).is_ok() && at.ends_with('Z'),
            "{at}"
        );
    }

    #[test]
    fn a_topic_list_comes_with_the_counts() {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("a", 2, 1).unwrap();
        cluster.create_topic("b", 3, 1).unwrap();
        let kafka = client(&cluster.bootstrap_servers(), Duration::from_secs(10));
        let query = TopicQuery {
            list_all: true,
            ..TopicQuery::counts("kafka", ["b"])
        };
        let facts = kafka.fetch(&query).unwrap();
        assert_eq!(facts.counts, BTreeMap::from([("b".to_owned(), 3)]));
        let listed = facts.all_topics.unwrap();
        assert!(listed.contains("a") && listed.contains("b"), "{listed:?}");
    }

    #[test]
    fn a_stopped_broker_fails_within_the_timeout_naming_it() {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("a", 2, 1).unwrap();
        cluster.broker_down(1).unwrap();
        let timeout = Duration::from_secs(2);
        let kafka = client(&cluster.bootstrap_servers(), timeout);
        let error = bounded(timeout, || {
            kafka
                .fetch(&TopicQuery::counts("kafka", ["a"]))
                .unwrap_err()
        });
        let message = error.to_string();
        assert!(matches!(error, KafkaError::Unreachable { .. }), "{message}");
        assert!(
            message.contains(&format!(
                "no broker answered within 2s: {}",
                cluster.bootstrap_servers()
            )),
            "{message}"
        );
    }

    #[test]
    fn a_closed_port_fails_within_the_timeout_naming_it() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let broker = format!("127.0.0.1:{port}");
        let timeout = Duration::from_secs(2);
        let kafka = client(&broker, timeout);
        let error = bounded(timeout, || {
            kafka
                .fetch(&TopicQuery::counts("kafka", ["a", "b"]))
                .unwrap_err()
        });
        let message = error.to_string();
        assert!(
            message.contains(&format!("no broker answered within 2s: {broker}")),
            "{message}"
        );
        assert!(
            message.contains("Connection refused"),
            "the cause is quoted: {message}"
        );
    }

    #[test]
    fn an_unresolvable_name_fails_within_the_timeout_naming_it() {
        let timeout = Duration::from_secs(2);
        let kafka = client("no-such-broker.invalid:9092", timeout);
        let error = bounded(timeout, || {
            kafka
                .fetch(&TopicQuery::counts("kafka", ["a"]))
                .unwrap_err()
        });
        let message = error.to_string();
        assert!(matches!(error, KafkaError::Unreachable { .. }), "{message}");
        assert!(
            message.contains("no broker answered within 2s: no-such-broker.invalid:9092"),
            "{message}"
        );
        assert!(
            message.contains("resolve"),
            "the cause is quoted: {message}"
        );
    }

    #[test]
    fn a_slow_broker_is_a_timeout() {
        let timeout = Duration::from_secs(1);
        let check = |error: KafkaError, cluster: &MockCluster<'_, _>| {
            let message = error.to_string();
            assert!(matches!(error, KafkaError::TimedOut { .. }), "{message}");
            assert!(
                message.contains(&format!("{} did not answer", cluster.bootstrap_servers())),
                "{message}"
            );
            assert!(message.contains("within 1s"), "{message}");
        };

        // Slow from the start: even the connection handshake does not finish in time.
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("a", 2, 1).unwrap();
        cluster
            .broker_round_trip_time(1, Duration::from_secs(4))
            .unwrap();
        let kafka = client(&cluster.bootstrap_servers(), timeout);
        check(
            bounded(timeout, || {
                kafka
                    .fetch(&TopicQuery::counts("kafka", ["a"]))
                    .unwrap_err()
            }),
            &cluster,
        );

        // Slow after a good start: the connection is up, the answer late.
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("a", 2, 1).unwrap();
        let kafka = client(&cluster.bootstrap_servers(), timeout);
        for _ in 0..2 {
            kafka.fetch(&TopicQuery::counts("kafka", ["a"])).unwrap();
        }
        cluster
            .broker_round_trip_time(1, Duration::from_secs(4))
            .unwrap();
        check(
            bounded(timeout, || {
                kafka
                    .fetch(&TopicQuery::counts("kafka", ["a"]))
                    .unwrap_err()
            }),
            &cluster,
        );
    }

    #[test]
    fn a_missing_topic_is_named_and_not_created() {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("present", 2, 1).unwrap();
        let kafka = client(&cluster.bootstrap_servers(), Duration::from_secs(10));
        for query in [
            TopicQuery::counts("tracking", ["absent"]),
            TopicQuery::counts("tracking", ["present", "absent"]),
            TopicQuery {
                list_all: true,
                ..TopicQuery::counts("tracking", ["absent"])
            },
        ] {
            let error = kafka.fetch(&query).unwrap_err();
            assert!(
                matches!(error, KafkaError::TopicMissing { .. }),
                "{query:?}: {error}"
            );
            let message = error.to_string();
            assert!(
                message.contains("system `tracking`: topic `absent` does not exist"),
                "{message}"
            );
            assert!(message.contains(&cluster.bootstrap_servers()), "{message}");
        }
        assert!(!all_topics(&kafka).contains("absent"));
        assert!(!all_topics(&client(
            &cluster.bootstrap_servers(),
            Duration::from_secs(10)
        ))
        .contains("absent"));
    }

    /// Shows the check above can fail: the same single-topic request through a producer creates the topic.
    #[test]
    fn control_a_producer_metadata_request_creates_the_topic() {
        let cluster = MockCluster::new(1).unwrap();
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .create()
            .unwrap();
        producer
            .client()
            .fetch_metadata(Some("created"), Duration::from_secs(10))
            .unwrap();
        assert!(all_topics(&client(
            &cluster.bootstrap_servers(),
            Duration::from_secs(10)
        ))
        .contains("created"));
    }

    #[test]
    fn an_unauthorized_topic_has_its_own_error() {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("secret", 2, 1).unwrap();
        cluster.create_topic("open", 2, 1).unwrap();
        cluster
            .topic_error(
                "secret",
                RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
            )
            .unwrap();
        let kafka = client(&cluster.bootstrap_servers(), Duration::from_secs(10));
        for query in [
            TopicQuery::counts("kafka", ["secret"]),
            TopicQuery::counts("kafka", ["open", "secret"]),
        ] {
            let error = kafka.fetch(&query).unwrap_err();
            assert!(
                matches!(error, KafkaError::TopicUnauthorized { .. }),
                "{query:?}: {error}"
            );
            assert!(
                error
                    .to_string()
                    .contains("not authorized to describe topic `secret`"),
                "{error}"
            );
        }
    }

    #[test]
    fn describe_and_errors_never_show_secrets() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut settings = KafkaClientSettings::new(vec![format!("127.0.0.1:{port}")]);
        settings.timeout = Duration::from_secs(1);
        settings.properties = IndexMap::from([
            ("security.protocol".to_owned(), "SASL_PLAINTEXT".to_owned()),
            ("sasl.mechanisms".to_owned(), "PLAIN".to_owned()),
            ("sasl.username".to_owned(), "alice".to_owned()),
            ("sasl.password".to_owned(), "hunter2-secret".to_owned()),
        ]);
        let kafka = LiveKafka::new(settings.clone()).unwrap();
        let error = kafka
            .fetch(&TopicQuery::counts("kafka", ["a"]))
            .unwrap_err();
        for text in [
            kafka.describe(),
            error.to_string(),
            format!("{error:?}"),
            format!("{:?}", kafka.settings()),
        ] {
            assert!(!text.contains("hunter2"), "{text}");
        }

        settings
            .properties
            .insert("no.such.property".to_owned(), "hunter2-secret".to_owned());
        let error = LiveKafka::new(settings)
            .err()
            .expect("librdkafka rejects unknown properties");
        assert!(error.to_string().contains("no.such.property"), "{error}");
    }

    #[test]
    fn systems_get_their_own_clients_on_first_use() {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("a", 5, 1).unwrap();
        let job_config = IndexMap::from([(
            "systems.kafka.consumer.bootstrap.servers".to_owned(),
            cluster.bootstrap_servers(),
        )]);
        let systems = LiveKafkaSystems::new(job_config, Overrides::default());
        let facts = systems.fetch(&TopicQuery::counts("kafka", ["a"])).unwrap();
        assert_eq!(facts.counts, BTreeMap::from([("a".to_owned(), 5)]));
        assert!(Arc::ptr_eq(
            &systems.client("kafka").unwrap(),
            &systems.client("kafka").unwrap()
        ));
        let error = systems
            .fetch(&TopicQuery::counts("other", ["a"]))
            .unwrap_err();
        assert!(
            matches!(error, KafkaError::NoBootstrapServers { .. }),
            "{error}"
        );
    }
}
