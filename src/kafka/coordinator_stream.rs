//! Reading and writing a job's coordinator stream on its Kafka cluster, through the same client settings
//! (brokers, TLS, SASL, timeout) as partition discovery.
//!
//! Reading is what Samza's `CoordinatorStreamStore` does on start: the one partition (0) from its oldest offset
//! to its end, folded by `samza::stored_state`. The end is the high watermark the fetch answers carry
//! (librdkafka's partition EOF), not one listed beforehand: that saves a round trip, and the Kafka-protocol
//! broker the tests run (Tansu 0.6) lists the end of a batch of several records as one past the batch's first
//! offset. Three answers, never a silent empty state: the topic does not exist (`None`: a first deploy); it was
//! read (`Some`, possibly empty); or it could not be read — refused, too slow, or holding a message Samza could
//! not read — which is an error naming the topic, the brokers and the offset. The whole read shares one
//! deadline, the client timeout, so a render never hangs on it.
//!
//! Writing is what Samza's coordinator does on start: create the topic if it is missing (one partition,
//! compacted, with the properties `CoordinatorStreamUtil`/`KafkaSystemAdmin` give it), then produce the
//! messages in order — one in flight at a time, so a retry cannot reorder a delete and a later set of the
//! same key — and wait until the brokers acknowledged every one (`acks=all`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError as ClientError;
use rdkafka::message::Message as _;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use thiserror::Error;

use super::error::human;
use super::live::{client_config, creation_message, LiveKafka, Messages};
use super::{KafkaClientSettings, KafkaError};
use crate::samza::coordinator_stream::Message;
use crate::samza::stored_state::{DecodeError, Record, StateReader, StoredState};
use crate::samza::TopicSpec;

/// The coordinator stream's only partition.
const PARTITION: i32 = 0;

/// Everything that can go wrong with a coordinator stream, naming the topic and the brokers.
#[derive(Debug, Error)]
pub enum CoordinatorStreamError {
    /// The cluster could not be asked about the topic (unreachable, TLS, SASL, DESCRIBE refused).
    #[error("coordinator stream `{topic}`: {source}")]
    Cluster {
        topic: String,
        #[source]
        source: Box<KafkaError>,
    },

    #[error(
        "coordinator stream `{topic}` on {brokers}: cannot read at offset {offset}: {reason}{}",
        hint(reason, "grant the client DESCRIBE and READ on the topic")
    )]
    Read {
        topic: String,
        brokers: String,
        offset: i64,
        reason: String,
    },

    #[error(
        "coordinator stream `{topic}` on {brokers}: read only up to offset {offset} within {}; the brokers \
         are slow or the stream is large (raise the timeout with --kafka-timeout)",
        human(timeout)
    )]
    TimedOut {
        topic: String,
        brokers: String,
        offset: i64,
        timeout: Duration,
    },

    /// A message Samza's coordinator could not read either.
    #[error("coordinator stream `{topic}` on {brokers}: {source}")]
    Decode {
        topic: String,
        brokers: String,
        #[source]
        source: DecodeError,
    },

    #[error(
        "coordinator stream `{topic}` on {brokers}: cannot create the topic: {reason}{}",
        hint(
            reason,
            "grant the client CREATE on the cluster or the topic, or create the topic first"
        )
    )]
    Create {
        topic: String,
        brokers: String,
        reason: String,
    },

    #[error(
        "coordinator stream `{topic}` on {brokers}: cannot write: {reason}{}",
        hint(reason, "grant the client WRITE and DESCRIBE on the topic")
    )]
    Write {
        topic: String,
        brokers: String,
        reason: String,
    },
}

/// What to do about a refusal, added only when the reason is one.
fn hint(reason: &str, fix: &str) -> String {
    if reason.to_ascii_lowercase().contains("authoriz") {
        format!("; {fix}")
    } else {
        String::new()
    }
}

/// Reads the coordinator stream `topic` of `system`'s cluster (see the module comment for the three answers).
pub fn read_stored_state(
    settings: &KafkaClientSettings,
    system: &str,
    topic: &str,
) -> Result<Option<StoredState>, CoordinatorStreamError> {
    let deadline = Instant::now() + settings.timeout;
    let brokers = settings.brokers();
    let cluster = |source: KafkaError| CoordinatorStreamError::Cluster {
        topic: topic.to_owned(),
        source: Box::new(source),
    };
    let read_error = |offset: i64, reason: String| CoordinatorStreamError::Read {
        topic: topic.to_owned(),
        brokers: brokers.clone(),
        offset,
        reason: settings.redact(&reason),
    };

    // A client of its own: its partition assignment must not meet anyone else's metadata requests.
    // librdkafka assigns partitions only to a consumer with a group id; nothing is committed under it, so it
    // needs no group ACL (see the poll loop).
    let kafka = LiveKafka::with_properties(
        settings.clone(),
        &[
            ("enable.partition.eof", "true"),
            ("group.id", "helm-samza"),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
        ],
    )
    .map_err(cluster)?;
    let metadata = kafka
        .metadata(system, Some(topic), deadline)
        .map_err(cluster)?;
    match kafka.named_count(system, &metadata, topic) {
        Ok(_) => {}
        Err(KafkaError::TopicMissing { .. }) => return Ok(None),
        Err(error) => return Err(cluster(error)),
    }

    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, PARTITION, Offset::Beginning)
        .map_err(|error| read_error(0, error.to_string()))?;
    kafka
        .consumer
        .assign(&assignment)
        .map_err(|error| read_error(0, error.to_string()))?;
    let mut reader = StateReader::new();
    // The offset after the last message seen; compaction leaves gaps, so it is only for messages.
    let mut next = 0;
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(CoordinatorStreamError::TimedOut {
                topic: topic.to_owned(),
                brokers,
                offset: next,
                timeout: settings.timeout,
            });
        }
        match kafka.consumer.poll(deadline - now) {
            None => {}
            // The fetch reached the high watermark the broker reported with it.
            Some(Err(ClientError::PartitionEOF(_))) => break,
            // librdkafka looks up the group's coordinator even for an assigned partition, in case offsets get
            // committed; nothing is, so a refusal or a missing coordinator is no reason to stop reading.
            Some(Err(ClientError::MessageConsumption(
                RDKafkaErrorCode::GroupAuthorizationFailed
                | RDKafkaErrorCode::CoordinatorNotAvailable
                | RDKafkaErrorCode::NotCoordinator
                | RDKafkaErrorCode::CoordinatorLoadInProgress,
            ))) => {}
            Some(Err(error)) => {
                let reason = match kafka.consumer.context().last() {
                    Some(cause) => format!("{error}; last client message: {cause}"),
                    None => error.to_string(),
                };
                return Err(read_error(next, reason));
            }
            Some(Ok(message)) => {
                let offset = message.offset();
                reader
                    .push(Record {
                        offset,
                        key: message.key(),
                        value: message.payload(),
                    })
                    .map_err(|source| decode_error(topic, &brokers, source))?;
                next = offset + 1;
            }
        }
    }
    reader
        .finish()
        .map(Some)
        .map_err(|source| decode_error(topic, &brokers, source))
}

fn decode_error(topic: &str, brokers: &str, source: DecodeError) -> CoordinatorStreamError {
    CoordinatorStreamError::Decode {
        topic: topic.to_owned(),
        brokers: brokers.to_owned(),
        source,
    }
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// Creates the coordinator stream described by `spec` if it does not exist, then writes `messages` to it in
/// order and waits for every acknowledgement, all within the client timeout.
/// Makes messages and hands each to the send function it gets (see [`write_message_stream`]).
pub type MakeMessages<'a> = &'a mut dyn FnMut(&mut dyn FnMut(&Message));

/// The most messages librdkafka queues for the coordinator stream, in KiB (`queue.buffering.max.kbytes`).
const QUEUE_KBYTES: &str = "65536";

pub fn write_messages(
    settings: &KafkaClientSettings,
    spec: &TopicSpec,
    messages: &[Message],
) -> Result<(), CoordinatorStreamError> {
    write_message_stream(settings, spec, &mut |send| {
        for message in messages {
            send(message);
        }
    })
    .map(|_| ())
}

/// [`write_messages`] of messages made one at a time: `make` hands each to the send function it gets, which
/// passes it to the producer at once (the producer's queue is bounded), so no more than a queue of messages is
/// held. Returns how many were written.
pub fn write_message_stream(
    settings: &KafkaClientSettings,
    spec: &TopicSpec,
    make: MakeMessages<'_>,
) -> Result<usize, CoordinatorStreamError> {
    let deadline = Instant::now() + settings.timeout;
    create_topic(settings, spec, deadline)?;
    produce(settings, &spec.name, make, deadline)
}

/// `KafkaSystemAdmin#createStream`: an existing topic is left as it is.
fn create_topic(
    settings: &KafkaClientSettings,
    spec: &TopicSpec,
    deadline: Instant,
) -> Result<(), CoordinatorStreamError> {
    let error = |reason: String| CoordinatorStreamError::Create {
        topic: spec.name.clone(),
        brokers: settings.brokers(),
        reason: settings.redact(&reason),
    };
    let admin: AdminClient<Messages> = client_config(settings)
        .create_with_context(Messages::default())
        .map_err(|e| error(creation_message(settings, &e)))?;
    let replication = i32::try_from(spec.replication_factor).unwrap_or(i32::MAX);
    let partitions = i32::try_from(spec.partitions).unwrap_or(1);
    let mut topic = NewTopic::new(&spec.name, partitions, TopicReplication::Fixed(replication));
    for (key, value) in &spec.properties {
        topic = topic.set(key, value);
    }
    let options = AdminOptions::new()
        .request_timeout(Some(remaining(deadline)))
        .operation_timeout(Some(remaining(deadline)));
    let results =
        futures_executor::block_on(admin.create_topics([&topic], &options)).map_err(|e| {
            let cause = admin.inner().context().last();
            error(match cause {
                Some(cause) => format!("{e}; last client message: {cause}"),
                None => e.to_string(),
            })
        })?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => return Err(error(code.to_string())),
        }
    }
    Ok(())
}

/// Collects the first failed delivery, and librdkafka's log lines as the metadata client does.
#[derive(Default)]
struct Deliveries {
    messages: Messages,
    failed: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        self.messages.log(level, facility, message);
    }

    fn error(&self, error: ClientError, reason: &str) {
        self.messages.error(error, reason);
    }
}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, _)) = result {
            let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
            failed.get_or_insert_with(|| error.to_string());
        }
    }
}

fn produce(
    settings: &KafkaClientSettings,
    topic: &str,
    make: MakeMessages<'_>,
    deadline: Instant,
) -> Result<usize, CoordinatorStreamError> {
    let error = |reason: String| CoordinatorStreamError::Write {
        topic: topic.to_owned(),
        brokers: settings.brokers(),
        reason: settings.redact(&reason),
    };
    let mut config = client_config(settings);
    config
        .set("acks", "all")
        .set("max.in.flight.requests.per.connection", "1")
        .set(
            "message.timeout.ms",
            remaining(deadline).as_millis().max(1).to_string(),
        )
        // librdkafka keeps up to 1 GiB of messages queued by default: bounded here, the messages are made as the
        // brokers take them.
        .set("queue.buffering.max.kbytes", QUEUE_KBYTES);
    let producer: BaseProducer<Deliveries> = config
        .create_with_context(Deliveries::default())
        .map_err(|e| error(creation_message(settings, &e)))?;
    let mut failure = None;
    let mut sent = 0;
    make(&mut |message: &Message| {
        if failure.is_some() {
            return;
        }
        let mut record = BaseRecord::to(topic)
            .partition(PARTITION)
            .key(message.key.as_slice());
        if let Some(value) = &message.value {
            record = record.payload(value.as_slice());
        }
        loop {
            match producer.send(record) {
                Ok(()) => {
                    sent += 1;
                    break;
                }
                // librdkafka's queue is full: hand some messages over, then try again.
                Err((ClientError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    if Instant::now() >= deadline {
                        failure = Some(error(format!(
                            "the brokers did not take the messages within {}",
                            human(&settings.timeout)
                        )));
                        return;
                    }
                    producer.poll(Duration::from_millis(10));
                    record = back;
                }
                Err((e, _)) => {
                    failure = Some(error(e.to_string()));
                    return;
                }
            }
        }
    });
    if let Some(failure) = failure {
        return Err(failure);
    }
    let flushed = producer.flush(remaining(deadline));
    let failed = producer
        .context()
        .failed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some(reason) = failed {
        return Err(error(reason));
    }
    flushed
        .map_err(|e| {
            let cause = producer.context().messages.last();
            error(match cause {
                Some(cause) => format!(
                "not every message was acknowledged within {}: {e}; last client message: {cause}",
                human(&settings.timeout)
            ),
                None => format!(
                    "not every message was acknowledged within {}: {e}",
                    human(&settings.timeout)
                ),
            })
        })
        .map(|()| sent)
}

#[cfg(test)]
mod tests {
    use rdkafka::mocking::MockCluster;
    use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
    use rdkafka::ClientConfig;

    use super::*;
    use crate::samza::coordinator_stream::{Header, SET_CHANGELOG};

    const TOPIC: &str = "__samza_coordinator_j_1";

    fn settings(bootstrap: &str, timeout: Duration) -> KafkaClientSettings {
        let mut settings = KafkaClientSettings::new(vec![bootstrap.to_owned()]);
        settings.timeout = timeout;
        settings
    }

    /// librdkafka's mock cluster with the stream holding `tasks` changelog entries.
    fn cluster_with_stream(
        tasks: u32,
    ) -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic(TOPIC, 1, 1).unwrap();
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .create()
            .unwrap();
        let header = Header::helm_samza(1);
        for n in 0..tasks {
            let message = Message::set(
                SET_CHANGELOG,
                &format!("Partition {n}"),
                &header,
                &[("Partition", &n.to_string())],
            );
            producer
                .send(
                    BaseRecord::to(TOPIC)
                        .partition(0)
                        .key(&message.key)
                        .payload(message.value.as_deref().unwrap()),
                )
                .map_err(|(e, _)| e)
                .unwrap();
        }
        producer.flush(Duration::from_secs(10)).unwrap();
        cluster
    }

    /// Against librdkafka's mock the refusal is only logged, so this shows the read is independent of the group
    /// lookup, not that the tolerant match arm in the poll loop is reached; Kafka brokers with ACLs have been
    /// reported to surface the refusal as a consumer error, which that arm ignores.
    #[test]
    fn a_refused_group_coordinator_lookup_does_not_stop_the_read() {
        let cluster = cluster_with_stream(3);
        cluster.request_errors(
            RDKafkaApiKey::FindCoordinator,
            &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED; 50],
        );
        let state = read_stored_state(
            &settings(&cluster.bootstrap_servers(), Duration::from_secs(10)),
            "kafka",
            TOPIC,
        )
        .unwrap()
        .unwrap();
        assert_eq!(state.changelog.len(), 3);
    }

    #[test]
    fn a_topic_the_client_may_not_describe_is_an_error_not_a_first_deploy() {
        let cluster = cluster_with_stream(1);
        cluster
            .topic_error(
                TOPIC,
                RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
            )
            .unwrap();
        let error = read_stored_state(
            &settings(&cluster.bootstrap_servers(), Duration::from_secs(10)),
            "kafka",
            TOPIC,
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(&error, CoordinatorStreamError::Cluster { source, .. }
                if matches!(**source, KafkaError::TopicUnauthorized { .. })),
            "{message}"
        );
        assert!(
            message.starts_with(&format!("coordinator stream `{TOPIC}`: "))
                && message.contains("not authorized to describe topic"),
            "{message}"
        );
    }

    #[test]
    fn a_refused_fetch_names_the_offset_and_the_acl() {
        let cluster = cluster_with_stream(2);
        cluster.request_errors(
            RDKafkaApiKey::Fetch,
            &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED; 50],
        );
        let error = read_stored_state(
            &settings(&cluster.bootstrap_servers(), Duration::from_secs(5)),
            "kafka",
            TOPIC,
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, CoordinatorStreamError::Read { offset: 0, .. }),
            "{message}"
        );
        assert!(
            message.contains("cannot read at offset 0")
                && message.contains("grant the client DESCRIBE and READ on the topic"),
            "{message}"
        );
    }

    #[test]
    fn a_slow_read_stops_at_the_deadline_naming_how_far_it_got() {
        let cluster = cluster_with_stream(2);
        let timeout = Duration::from_secs(2);
        let settings = settings(&cluster.bootstrap_servers(), timeout);
        // Metadata answers quickly; the fetches then wait longer than the whole read may take.
        cluster.request_errors(
            RDKafkaApiKey::Fetch,
            &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION; 500],
        );
        let started = Instant::now();
        let error = read_stored_state(&settings, "kafka", TOPIC).unwrap_err();
        assert!(
            started.elapsed() < timeout + Duration::from_secs(2),
            "{error}"
        );
        let message = error.to_string();
        assert!(
            matches!(error, CoordinatorStreamError::TimedOut { offset: 0, .. }),
            "{message}"
        );
        assert!(message.contains("within 2s"), "{message}");
    }
}
