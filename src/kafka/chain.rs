//! Sources stacked in precedence order (flags, lock, KafkaTopic resources, live Kafka): each source is asked only
//! for what the sources before it did not answer, so a live broker is contacted only when offline facts fall
//! short, and a topic given by a flag is never looked up at all.

use super::{KafkaError, PartitionSource, SystemFacts, TopicQuery};

/// Partition sources in the order they are trusted.
#[derive(Default)]
pub struct Chain<'a> {
    sources: Vec<&'a dyn PartitionSource>,
}

impl<'a> Chain<'a> {
    pub fn new() -> Self {
        Chain {
            sources: Vec::new(),
        }
    }

    /// Appends a source trusted less than those already in the chain.
    pub fn then(mut self, source: &'a dyn PartitionSource) -> Self {
        self.sources.push(source);
        self
    }

    /// Answers the query with one `SystemFacts` per source that contributed, in precedence order. Their counts
    /// are disjoint and together cover every queried topic; if a list was asked for, exactly one of them
    /// carries it. A source's error stops the chain; a topic no source knows is an error naming every source.
    pub fn fetch(&self, query: &TopicQuery) -> Result<Vec<SystemFacts>, KafkaError> {
        let mut remaining = query.clone();
        let mut answers = Vec::new();
        for source in &self.sources {
            if remaining.is_empty() {
                break;
            }
            let mut facts = source.fetch(&remaining)?;
            facts
                .counts
                .retain(|topic, _| remaining.topics.contains(topic));
            if !remaining.list_all {
                facts.all_topics = None;
            }
            for topic in facts.counts.keys() {
                remaining.topics.remove(topic);
            }
            if facts.all_topics.is_some() {
                remaining.list_all = false;
            }
            if !facts.counts.is_empty() || facts.all_topics.is_some() {
                answers.push(facts);
            }
        }
        let tried = || {
            self.sources
                .iter()
                .map(|source| source.describe())
                .collect::<Vec<_>>()
        };
        if !remaining.topics.is_empty() {
            return Err(KafkaError::Unanswered {
                system: query.system.clone(),
                topics: remaining.topics.into_iter().collect(),
                tried: tried(),
            });
        }
        if remaining.list_all {
            return Err(KafkaError::NoTopicList {
                system: query.system.clone(),
                tried: tried(),
            });
        }
        Ok(answers)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use super::*;
    use crate::kafka::{KnownCounts, SourceKind, SourceRecord};

    /// A stand-in for a live broker that records what it was asked.
    struct Recorder {
        counts: BTreeMap<String, u32>,
        asked: RefCell<Vec<TopicQuery>>,
    }

    impl PartitionSource for Recorder {
        fn describe(&self) -> String {
            "recorder".to_owned()
        }

        fn fetch(&self, query: &TopicQuery) -> Result<SystemFacts, KafkaError> {
            self.asked.borrow_mut().push(query.clone());
            let mut facts = SystemFacts::empty(SourceRecord::offline(SourceKind::Kafka));
            facts.counts = query
                .topics
                .iter()
                .filter_map(|t| self.counts.get(t).map(|c| (t.clone(), *c)))
                .collect();
            if query.list_all {
                facts.all_topics = Some(self.counts.keys().cloned().collect());
            }
            Ok(facts)
        }
    }

    fn recorder(pairs: &[(&str, u32)]) -> Recorder {
        Recorder {
            counts: pairs.iter().map(|(t, c)| ((*t).to_owned(), *c)).collect(),
            asked: RefCell::default(),
        }
    }

    #[test]
    fn later_sources_are_asked_only_for_what_earlier_ones_left() {
        let flags = KnownCounts::from_flags(["kafka.a=4"]).unwrap();
        let mut lock = KnownCounts::new(SourceKind::Lock);
        lock.insert("kafka", "a", 99).unwrap();
        lock.insert("kafka", "b", 2).unwrap();
        let live = recorder(&[("a", 1), ("b", 1), ("c", 6)]);
        let chain = Chain::new().then(&flags).then(&lock).then(&live);

        let answers = chain
            .fetch(&TopicQuery::counts("kafka", ["a", "b", "c"]))
            .unwrap();
        let by_source: Vec<(SourceKind, Vec<(&str, u32)>)> = answers
            .iter()
            .map(|facts| {
                (
                    facts.source.kind,
                    facts.counts.iter().map(|(t, c)| (t.as_str(), *c)).collect(),
                )
            })
            .collect();
        assert_eq!(
            by_source,
            [
                (SourceKind::Flags, vec![("a", 4)]),
                (SourceKind::Lock, vec![("b", 2)]),
                (SourceKind::Kafka, vec![("c", 6)])
            ]
        );
        assert_eq!(*live.asked.borrow(), [TopicQuery::counts("kafka", ["c"])]);
    }

    #[test]
    fn a_fully_answered_query_never_reaches_the_broker() {
        let flags = KnownCounts::from_flags(["kafka.a=4"]).unwrap();
        let live = recorder(&[]);
        let answers = Chain::new()
            .then(&flags)
            .then(&live)
            .fetch(&TopicQuery::counts("kafka", ["a"]))
            .unwrap();
        assert_eq!(answers.len(), 1);
        assert!(live.asked.borrow().is_empty());
    }

    #[test]
    fn topic_lists_come_from_the_first_source_that_can_list() {
        let flags = KnownCounts::from_flags(["kafka.a=4"]).unwrap();
        let live = recorder(&[("a", 1), ("b", 1)]);
        let mut query = TopicQuery::counts("kafka", ["a"]);
        query.list_all = true;
        let answers = Chain::new().then(&flags).then(&live).fetch(&query).unwrap();
        assert_eq!(answers[0].counts, BTreeMap::from([("a".to_owned(), 4)]));
        assert_eq!(
            answers[1].all_topics,
            Some(["a".to_owned(), "b".to_owned()].into())
        );
        assert!(answers[1].counts.is_empty());
    }

    #[test]
    fn unknown_topics_and_lists_name_every_source_tried() {
        let flags = KnownCounts::from_flags(["kafka.a=4"]).unwrap();
        let error = Chain::new()
            .then(&flags)
            .fetch(&TopicQuery::counts("kafka", ["a", "x"]))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "system `kafka`: no partition count for x; tried --partitions flags"
        );
        let query = TopicQuery {
            list_all: true,
            ..TopicQuery::counts("kafka", ["a"])
        };
        let error = Chain::new().then(&flags).fetch(&query).unwrap_err();
        assert!(matches!(error, KafkaError::NoTopicList { .. }), "{error}");
    }
}
