//! Gathering a job's partition facts from the sources, in their order of precedence: `--partitions` flags, the
//! lock file, Strimzi KafkaTopic resources in the same render, and last the live Kafka cluster.
//!
//! Each source is asked only for what the ones before it could not answer (`kafka::Chain`), so Kafka is
//! contacted only when offline facts fall short, once per system. What each source contributed is recorded
//! for the `samza.apache.org/partition-source` annotation.

use std::collections::BTreeMap;

use crate::{
    error::{Error, JobOrigin, Result},
    job::KafkaTopicResource,
    kafka::{Chain, KnownCounts, LiveKafkaSystems, Overrides, PartitionSource, SourceKind, SourceRecord, TopicQuery},
    lock::{Lock, LockedJob},
    samza::{Config, InputRequest, PartitionFacts, SystemStream},
};

/// The sources a render may use, decided once from the command line.
pub struct FactSources<'a> {
    pub flags: &'a KnownCounts,
    pub lock: Option<&'a Lock>,
    pub offline: bool,
    pub overrides: &'a Overrides,
}

/// A job's partition facts and where they came from.
#[derive(Debug, Clone, Default)]
pub struct GatheredFacts {
    pub facts: PartitionFacts,
    /// Per system, the sources that contributed, in precedence order.
    pub records: BTreeMap<String, Vec<SourceRecord>>,
}

impl GatheredFacts {
    /// One line for the annotation: `kafka: kafka (brokers 127.0.0.1:9092 at 2026-11-22T05:00:00Z)`.
    pub fn describe(&self) -> String {
        if self.records.is_empty() {
            return "none (the job has no inputs)".into();
        }
        self.records
            .iter()
            .map(|(system, records)| {
                let parts: Vec<String> = records
                    .iter()
                    .map(|r| {
                        let mut text = r.kind.as_str().to_string();
                        if !r.brokers.is_empty() {
                            text.push_str(&format!(" (brokers {}", r.brokers.join(",")));
                            if let Some(at) = &r.at {
                                text.push_str(&format!(" at {at}"));
                            }
                            text.push(')');
                        }
                        text
                    })
                    .collect();
                format!("{system}: {}", parts.join(" + "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

pub fn gather(
    config: &Config,
    request: &InputRequest,
    sources: &FactSources,
    lock: Option<&LockedJob>,
    kafka_topics: &[KafkaTopicResource],
    origin: &JobOrigin,
) -> Result<GatheredFacts> {
    let mut queries: BTreeMap<String, TopicQuery> = BTreeMap::new();
    for ss in &request.streams {
        queries
            .entry(ss.system.to_string())
            .or_insert_with(|| TopicQuery::counts(&ss.system, Vec::<String>::new()))
            .topics
            .insert(ss.stream.to_string());
    }
    for system in &request.topic_lists {
        queries
            .entry(system.clone())
            .or_insert_with(|| TopicQuery::counts(system, Vec::<String>::new()))
            .list_all = true;
    }

    let kafka_error = |source| Error::Kafka {
        origin: origin.clone(),
        source,
    };
    let mut locked = KnownCounts::new(SourceKind::Lock);
    if let Some(lock) = lock {
        for (key, &count) in &lock.inputs {
            let (system, stream) = key.split_once('.').unwrap_or((key.as_str(), ""));
            locked.insert(system, stream, count).map_err(kafka_error)?;
        }
        for (system, topics) in &lock.topics {
            locked.set_topic_list(system, topics.clone());
        }
    }
    let mut declared = KnownCounts::new(SourceKind::KafkaTopic);
    for resource in kafka_topics {
        for system in queries.keys() {
            if resource.system.as_deref().is_none_or(|s| s == system) {
                declared
                    .insert(system, &resource.topic, resource.partitions)
                    .map_err(kafka_error)?;
            }
        }
    }
    let live = (!sources.offline).then(|| {
        let map = config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        LiveKafkaSystems::new(map, sources.overrides.clone())
    });
    let mut chain = Chain::new().then(sources.flags);
    if lock.is_some() {
        chain = chain.then(&locked);
    }
    if !kafka_topics.is_empty() {
        chain = chain.then(&declared);
    }
    if let Some(live) = &live {
        chain = chain.then(live as &dyn PartitionSource);
    }

    let mut gathered = GatheredFacts::default();
    for (system, query) in &queries {
        let answers = chain.fetch(query).map_err(kafka_error)?;
        for answer in answers {
            for (topic, count) in answer.counts {
                gathered
                    .facts
                    .counts
                    .insert(SystemStream::new(system, &topic), count);
            }
            if let Some(all) = answer.all_topics {
                gathered.facts.topics.insert(system.clone(), all);
            }
            gathered.records.entry(system.clone()).or_default().push(answer.source);
        }
    }
    Ok(gathered)
}
