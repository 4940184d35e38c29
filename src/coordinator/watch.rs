//! Where the coordinator learns the input topics' current partition counts.
//!
//! Behind a one-method trait so that the poll loop does not care whether the counts come from librdkafka or
//! from a test double. The Kafka implementation is a metadata-only `BaseConsumer`: it never joins a group,
//! never consumes, and sets `allow.auto.create.topics=false` last, because a metadata request that names a
//! missing topic would otherwise create it with the broker's default partition count.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

/// Current partition counts of some streams of one system.
pub trait PartitionWatch: Send {
    /// Counts of those of `streams` that exist; a stream left out of the answer is missing or hidden.
    fn counts(&self, streams: &[String]) -> Result<BTreeMap<String, u32>, String>;
}

/// A Kafka cluster asked through topic metadata.
pub struct KafkaWatch {
    consumer: BaseConsumer,
    timeout: Duration,
}

impl KafkaWatch {
    /// `properties` are librdkafka settings (`security.protocol`, `sasl.*`, `ssl.*`) given on the command line.
    pub fn new(
        bootstrap_servers: &str,
        properties: &[(String, String)],
        timeout: Duration,
    ) -> Result<Self, String> {
        let mut config = ClientConfig::new();
        config
            .set("client.id", "helm-samza-coordinator")
            .set("log.connection.close", "false");
        for (key, value) in properties {
            config.set(key, value);
        }
        let consumer = config
            .set("bootstrap.servers", bootstrap_servers)
            .set("allow.auto.create.topics", "false")
            .set_log_level(RDKafkaLogLevel::Error)
            .create::<BaseConsumer>()
            .map_err(|error| error.to_string())?;
        Ok(KafkaWatch { consumer, timeout })
    }
}

impl PartitionWatch for KafkaWatch {
    fn counts(&self, streams: &[String]) -> Result<BTreeMap<String, u32>, String> {
        // One all-topics request per poll: it costs one round trip whatever the number of inputs.
        let metadata = self
            .consumer
            .fetch_metadata(None, self.timeout)
            .map_err(|error| error.to_string())?;
        let mut counts = BTreeMap::new();
        for topic in metadata.topics() {
            if topic.error().is_some() || !streams.iter().any(|stream| stream == topic.name()) {
                continue;
            }
            if let Ok(count) = u32::try_from(topic.partitions().len()) {
                counts.insert(topic.name().to_owned(), count);
            }
        }
        Ok(counts)
    }
}
