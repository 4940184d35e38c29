//! Partition counts known before rendering: `--partitions SYSTEM.STREAM=N` flags, and equally any other
//! offline table (lock file entries, `KafkaTopic` resources) that the render pipeline loads into the same shape.
//! Such a source answers only for the topics it holds and never lists a system's topics, since it cannot know
//! all of them.

use std::collections::{BTreeMap, BTreeSet};

use super::{KafkaError, PartitionSource, SourceKind, SourceRecord, SystemFacts, TopicQuery};

/// Splits `SYSTEM.STREAM=N` the way Samza splits `system.stream` names (`StreamUtil.getSystemStreamFromNames`):
/// at the first dot, so stream names may contain dots and system names may not.
pub fn parse_partition_flag(flag: &str) -> Result<(String, String, u32), KafkaError> {
    let invalid = |reason: &str| KafkaError::InvalidPartitionFlag {
        flag: flag.to_owned(),
        reason: reason.to_owned(),
    };
    let (name, count) = flag
        .rsplit_once('=')
        .ok_or_else(|| invalid("missing `=N`"))?;
    let (system, stream) = name
        .trim()
        .split_once('.')
        .ok_or_else(|| invalid("missing the `.` between system and stream"))?;
    if system.is_empty() {
        return Err(invalid("the system before the first `.` is empty"));
    }
    if stream.is_empty() {
        return Err(invalid("the stream after the first `.` is empty"));
    }
    // Kafka topic names cannot hold `=`: `kafka.T=4=5` is a typo, not a stream named `T=4`.
    if stream.contains('=') {
        return Err(invalid(
            "a stream name cannot contain `=`; give one SYSTEM.STREAM=N per flag",
        ));
    }
    let count: u32 = count
        .trim()
        .parse()
        .map_err(|_| invalid("N must be a positive whole number"))?;
    if count == 0 {
        return Err(invalid("a stream has at least one partition"));
    }
    Ok((system.to_owned(), stream.to_owned(), count))
}

/// A fixed table of partition counts per system and topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownCounts {
    kind: SourceKind,
    counts: BTreeMap<String, BTreeMap<String, u32>>,
    /// Full topic lists per system (a lock file records them for regex inputs).
    lists: BTreeMap<String, BTreeSet<String>>,
}

impl KnownCounts {
    /// An empty table whose answers are recorded as coming from `kind`.
    pub fn new(kind: SourceKind) -> Self {
        KnownCounts {
            kind,
            counts: BTreeMap::new(),
            lists: BTreeMap::new(),
        }
    }

    /// The table given by `--partitions` flags. Repeating a flag with the same count is harmless; two
    /// different counts for one stream are a mistake the user must resolve.
    pub fn from_flags<I, S>(flags: I) -> Result<Self, KafkaError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut known = KnownCounts::new(SourceKind::Flags);
        for flag in flags {
            let (system, stream, count) = parse_partition_flag(flag.as_ref())?;
            known.insert(&system, &stream, count)?;
        }
        Ok(known)
    }

    /// Adds one count; a different count for a stream already present is a conflict.
    pub fn insert(&mut self, system: &str, stream: &str, count: u32) -> Result<(), KafkaError> {
        let topics = self.counts.entry(system.to_owned()).or_default();
        match topics.insert(stream.to_owned(), count) {
            Some(first) if first != count => Err(KafkaError::ConflictingPartitionFlags {
                system: system.to_owned(),
                stream: stream.to_owned(),
                first,
                second: count,
            }),
            _ => Ok(()),
        }
    }

    /// Records every topic of `system`, so this source can answer a topic-list query.
    pub fn set_topic_list(&mut self, system: &str, topics: BTreeSet<String>) {
        self.lists.insert(system.to_owned(), topics);
    }

    pub fn is_empty(&self) -> bool {
        self.counts.values().all(BTreeMap::is_empty) && self.lists.is_empty()
    }
}

impl PartitionSource for KnownCounts {
    fn describe(&self) -> String {
        match self.kind {
            SourceKind::Flags => "--partitions flags".to_owned(),
            SourceKind::Lock => "the lock file".to_owned(),
            SourceKind::KafkaTopic => "KafkaTopic resources".to_owned(),
            SourceKind::Kafka => "recorded Kafka metadata".to_owned(),
        }
    }

    fn fetch(&self, query: &TopicQuery) -> Result<SystemFacts, KafkaError> {
        let mut facts = SystemFacts::empty(SourceRecord::offline(self.kind));
        if let Some(known) = self.counts.get(&query.system) {
            facts.counts = query
                .topics
                .iter()
                .filter_map(|topic| known.get(topic).map(|count| (topic.clone(), *count)))
                .collect();
        }
        if query.list_all {
            facts.all_topics = self.lists.get(&query.system).cloned();
        }
        Ok(facts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_flags_split_at_the_first_dot() {
        let cases = [
            ("kafka.PageViewEvent=8", ("kafka", "PageViewEvent", 8)),
            ("kafka.my.dotted.topic=3", ("kafka", "my.dotted.topic", 3)),
            (" kafka.t = 12 ", ("kafka", "t", 12)),
        ];
        for (flag, (system, stream, count)) in cases {
            let parsed = parse_partition_flag(flag).unwrap();
            assert_eq!(
                parsed,
                (system.to_owned(), stream.to_owned(), count),
                "{flag}"
            );
        }
    }

    #[test]
    fn bad_partition_flags_say_what_is_wrong() {
        let cases = [
            ("kafka.t", "missing `=N`"),
            ("kafkat=3", "missing the `.`"),
            (".t=3", "system before the first `.` is empty"),
            ("kafka.=3", "stream after the first `.` is empty"),
            ("kafka.t=0", "at least one partition"),
            ("kafka.t=4=5", "cannot contain `=`"),
            ("kafka.t=-2", "positive whole number"),
            ("kafka.t=many", "positive whole number"),
        ];
        for (flag, reason) in cases {
            let message = parse_partition_flag(flag).unwrap_err().to_string();
            assert!(
                message.contains(reason) && message.contains(flag),
                "{flag}: {message}"
            );
        }
    }

    #[test]
    fn flags_answer_only_for_what_they_hold() {
        let flags =
            KnownCounts::from_flags(["kafka.a=4", "kafka.b=2", "other.a=9", "kafka.a=4"]).unwrap();
        let mut query = TopicQuery::counts("kafka", ["a", "c"]);
        query.list_all = true;
        let facts = flags.fetch(&query).unwrap();
        assert_eq!(facts.counts, BTreeMap::from([("a".to_owned(), 4)]));
        assert_eq!(facts.all_topics, None);
        assert_eq!(facts.source, SourceRecord::offline(SourceKind::Flags));
    }

    #[test]
    fn conflicting_flags_are_an_error() {
        let error = KnownCounts::from_flags(["kafka.a=4", "kafka.a=5"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--partitions gives kafka.a two different counts: 4 and 5"
        );
    }
}
