//! Gathering a job's partition facts from the sources, in their order of precedence: `--partitions` flags, the
//! lock file, Strimzi KafkaTopic resources in the same render, and last the live Kafka cluster.
//!
//! Each source is asked only for what the ones before it could not answer (`kafka::Chain`), so Kafka is
//! contacted only when offline facts fall short, once per system. What each source contributed is recorded
//! for the `samza.apache.org/partition-source` annotation.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use crate::{
    error::{Error, JobOrigin, Result},
    job::{self, KafkaTopicResource},
    kafka::{
        Chain, KafkaError, KnownCounts, LiveKafkaSystems, Overrides, PartitionSource, SourceKind,
        SourceRecord, SystemFacts, TopicQuery,
    },
    lock::{Lock, LockedJob},
    samza::{self, Config, InputRequest, PartitionFacts, SystemStream},
};

/// Partition sources loaded from the command line (`flags::SourceArgs::load`), owned, so `FactSources` can
/// borrow them.
pub struct SourceInputs {
    pub flags: KnownCounts,
    pub lock: Option<Lock>,
    pub offline: bool,
    pub overrides: Overrides,
}

impl SourceInputs {
    pub fn fact_sources(&self) -> FactSources<'_> {
        FactSources {
            flags: &self.flags,
            lock: self.lock.as_ref(),
            offline: self.offline,
            overrides: &self.overrides,
        }
    }
}

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

/// A stream no source answered for, while a `KafkaTopic` for that topic was left out by the Strimzi cluster
/// rule: say so, since the user may have expected it to count.
fn skipped_kafka_topics(
    error: KafkaError,
    kafka_topics: &[KafkaTopicResource],
    config: &Config,
) -> KafkaError {
    let KafkaError::Unanswered {
        system,
        topics,
        mut tried,
    } = error
    else {
        return error;
    };
    let skipped: Vec<String> = kafka_topics
        .iter()
        .filter(|r| topics.contains(&r.topic))
        .filter(|r| !job::kafka_topic_applies(r, &system, config.as_map()))
        .map(|r| match (&r.system, &r.cluster) {
            (Some(annotated), _) => format!(
                "KafkaTopic {} (document {}) is annotated for system {annotated}",
                r.name, r.index
            ),
            (None, cluster) => format!(
                "KafkaTopic {} (document {}) is labelled for Strimzi cluster {}, and the job config's bootstrap \
                 servers for system {system} name another Strimzi cluster",
                r.name,
                r.index,
                cluster.as_deref().unwrap_or("?")
            ),
        })
        .collect();
    if !skipped.is_empty() {
        tried.push(format!("left out: {}", skipped.join("; ")));
    }
    KafkaError::Unanswered {
        system,
        topics,
        tried,
    }
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

/// Gathers what the planner needs. Regex inputs take two steps, as in Samza's coordinator: first the topic
/// lists of their systems, then (after the rewriters have added the matched topics to `task.inputs`) the counts.
pub fn gather(
    config: &Config,
    request: &InputRequest,
    sources: &FactSources,
    lock: Option<&LockedJob>,
    kafka_topics: &[KafkaTopicResource],
    origin: &JobOrigin,
) -> Result<GatheredFacts> {
    let kafka_error = |source| Error::Kafka {
        origin: origin.clone(),
        source: Box::new(source),
    };
    let locked = match lock {
        Some(lock) => lock.known_counts().map_err(kafka_error)?,
        None => KnownCounts::new(SourceKind::Lock),
    };
    let systems: BTreeSet<&str> = request
        .streams
        .iter()
        .map(|ss| &*ss.system)
        .chain(request.topic_lists.iter().map(String::as_str))
        .collect();
    // Each system takes the KafkaTopic resources that apply to it; two that apply and disagree are an error.
    let mut declared = KnownCounts::new(SourceKind::KafkaTopic);
    let mut chosen: BTreeMap<(&str, &str), &KafkaTopicResource> = BTreeMap::new();
    for resource in kafka_topics {
        for &system in &systems {
            if !job::kafka_topic_applies(resource, system, config.as_map()) {
                continue;
            }
            let first = match chosen.entry((system, resource.topic.as_str())) {
                Entry::Occupied(first) => *first.get(),
                Entry::Vacant(slot) => {
                    slot.insert(resource);
                    declared
                        .insert(system, &resource.topic, resource.partitions)
                        .map_err(kafka_error)?;
                    continue;
                }
            };
            if first.partitions != resource.partitions {
                return Err(Error::Job {
                    origin: origin.clone(),
                    message: format!(
                        "two KafkaTopic resources give topic {} of system {system} different partition counts: \
                         {} (document {}, KafkaTopic {}) and {} (document {}, KafkaTopic {}); keep one, tell them \
                         apart with the {} annotation, or name the Strimzi cluster (its C-kafka-bootstrap Service) \
                         in systems.{system}.consumer.bootstrap.servers",
                        resource.topic,
                        first.partitions,
                        first.index,
                        first.name,
                        resource.partitions,
                        resource.index,
                        resource.name,
                        job::ANNOTATION_SYSTEM
                    ),
                });
            }
        }
    }
    let live = (!sources.offline)
        .then(|| LiveKafkaSystems::new(config.as_map().clone(), sources.overrides.clone()));
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
    let mut streams = request.streams.clone();
    if !request.topic_lists.is_empty() {
        for system in &request.topic_lists {
            // The system's plainly named inputs ride along: a live client needs a real topic to ask for first
            // when the brokers' advertised addresses are unreachable (see kafka::live), and they are needed
            // anyway.
            let query = TopicQuery {
                system: system.clone(),
                topics: request
                    .streams
                    .iter()
                    .filter(|ss| &*ss.system == system.as_str())
                    .map(|ss| ss.stream.to_string())
                    .collect(),
                list_all: true,
            };
            gathered.absorb(system, chain.fetch(&query).map_err(kafka_error)?);
        }
        let samza_error = |source| Error::Samza {
            origin: origin.clone(),
            source,
        };
        let rewritten =
            samza::planner::apply_rewriters(config, &gathered.facts.topics).map_err(samza_error)?;
        streams = samza::required_inputs(&rewritten)
            .map_err(samza_error)?
            .streams;
    }
    let mut queries: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for ss in &streams {
        queries
            .entry(ss.system.to_string())
            .or_default()
            .insert(ss.stream.to_string());
    }
    for (system, topics) in queries {
        let query = TopicQuery::counts(&system, topics);
        let answers = chain
            .fetch(&query)
            .map_err(|e| skipped_kafka_topics(e, kafka_topics, config))
            .map_err(kafka_error)?;
        gathered.absorb(&system, answers);
    }
    Ok(gathered)
}

impl GatheredFacts {
    fn absorb(&mut self, system: &str, answers: Vec<SystemFacts>) {
        for answer in answers {
            for (topic, count) in answer.counts {
                self.facts
                    .counts
                    .insert(SystemStream::new(system, &topic), count);
            }
            if let Some(all) = answer.all_topics {
                self.facts.topics.insert(system.to_string(), all);
            }
            let records = self.records.entry(system.to_string()).or_default();
            if !records.contains(&answer.source) {
                records.push(answer.source);
            }
        }
    }
}
