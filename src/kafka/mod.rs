//! Partition facts from the outside world behind one `PartitionSource` trait.
//!
//! Samza's job model depends on how many partitions each input stream has, which only the Kafka cluster knows
//! for sure. Rendering often cannot or should not ask it, so the same question can be answered by explicit
//! `--partitions` flags, a lock file, Strimzi `KafkaTopic` resources in the render, or a live broker. Every
//! answer has the same shape (`SystemFacts`) and records where it came from (`SourceRecord`), so the render
//! pipeline can stack sources in precedence order (`Chain`) and annotate what it used. Questions are asked per
//! Samza system because that is the unit that maps to one Kafka cluster (`systems.<name>.*`).

mod chain;
mod coordinator_stream;
mod error;
mod known;
mod live;
mod settings;
mod wait_note;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub use chain::Chain;
pub use coordinator_stream::{
    read_stored_state, write_message_stream, write_messages, CoordinatorStreamError,
};
pub use error::KafkaError;
pub use known::{parse_partition_flag, KnownCounts};
pub use live::{LiveKafka, LiveKafkaSystems};
pub use settings::{
    bootstrap_env_var, client_settings_for, is_secret, read_properties_file, KafkaClientSettings,
    Overrides, Scoped, DEFAULT_TIMEOUT, ENV_BOOTSTRAP_SERVERS, ENV_KAFKA_CONFIG,
    ENV_KAFKA_PROPERTY_PREFIX, ENV_KAFKA_TIMEOUT,
};
pub use wait_note::WaitNote;

/// What the planner needs to know about one system: the partition counts of some of its topics and, for
/// regex inputs, the names of all its topics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicQuery {
    pub system: String,
    pub topics: BTreeSet<String>,
    pub list_all: bool,
}

impl TopicQuery {
    /// A query for the partition counts of `topics`, without the topic list.
    pub fn counts<I, S>(system: &str, topics: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        TopicQuery {
            system: system.to_owned(),
            topics: topics.into_iter().map(Into::into).collect(),
            list_all: false,
        }
    }

    /// Whether there is nothing left to ask.
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty() && !self.list_all
    }
}

/// One source's answer for one system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SystemFacts {
    /// Partition count per topic the source knows.
    pub counts: BTreeMap<String, u32>,
    /// Every topic of the system, when the source can list them and was asked to.
    pub all_topics: Option<BTreeSet<String>>,
    pub source: SourceRecord,
}

impl SystemFacts {
    /// An answer that knows nothing yet.
    pub fn empty(source: SourceRecord) -> Self {
        SystemFacts {
            counts: BTreeMap::new(),
            all_topics: None,
            source,
        }
    }
}

/// Where partition facts came from, for the annotation on the rendered job model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceRecord {
    pub kind: SourceKind,
    /// The bootstrap servers asked; empty for offline sources.
    pub brokers: Vec<String>,
    /// When a live broker answered, RFC 3339 in UTC; offline sources are timeless.
    pub at: Option<String>,
}

impl SourceRecord {
    /// A record for an offline source.
    pub fn offline(kind: SourceKind) -> Self {
        SourceRecord {
            kind,
            brokers: Vec::new(),
            at: None,
        }
    }
}

/// The kinds of source, in the render pipeline's order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    Flags,
    Lock,
    KafkaTopic,
    Kafka,
}

impl SourceKind {
    /// The name used in annotations, lock files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Flags => "flags",
            SourceKind::Lock => "lock",
            SourceKind::KafkaTopic => "kafka-topic",
            SourceKind::Kafka => "kafka",
        }
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that knows partition facts.
///
/// Offline sources answer with the topics they know and leave the others out of `counts`; a live broker is
/// the last word and fails for a topic it does not have. A source that cannot list topics leaves
/// `all_topics` as `None`. `describe()` names the source for messages and never contains a secret.
pub trait PartitionSource {
    fn describe(&self) -> String;
    fn fetch(&self, query: &TopicQuery) -> Result<SystemFacts, KafkaError>;
}
