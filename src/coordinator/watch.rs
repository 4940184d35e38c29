//! Where the coordinator learns the input topics' current partition counts.
//!
//! Behind a one-method trait so that the poll loop does not care whether the counts come from Kafka or from a
//! test double. The Kafka implementation is the post-renderer's own metadata client (`kafka::LiveKafka`): the
//! same settings scheme (flags, `HELM_SAMZA_*` variables, properties files, secrets never printed) and the same
//! promise, a metadata-only consumer that never creates a topic.

use std::collections::BTreeMap;

use crate::kafka::{LiveKafka, PartitionSource, TopicQuery};

/// Current partition counts of some streams of one system.
pub trait PartitionWatch: Send {
    /// Counts of `streams`; an error when a stream cannot be seen (missing, not authorized, no broker).
    fn counts(&self, streams: &[String]) -> Result<BTreeMap<String, u32>, String>;
}

/// A Kafka cluster asked through topic metadata, for one system.
pub struct KafkaWatch {
    system: String,
    client: LiveKafka,
}

impl KafkaWatch {
    pub fn new(system: &str, client: LiveKafka) -> Self {
        KafkaWatch {
            system: system.to_owned(),
            client,
        }
    }
}

impl PartitionWatch for KafkaWatch {
    fn counts(&self, streams: &[String]) -> Result<BTreeMap<String, u32>, String> {
        let query = TopicQuery::counts(&self.system, streams.iter().cloned());
        self.client
            .fetch(&query)
            .map(|facts| facts.counts)
            .map_err(|error| error.to_string())
    }
}
