//! `samza.lock`: the pinned facts of each job, so a render needs no Kafka and reproduces the same model.
//!
//! The lock plays the role of Samza's coordinator stream: it keeps the changelog mapping (never shrinking) and
//! the task → container assignment of the last plan, plus the input partition counts and where they came from.
//! It is JSON, keyed by job name (the `samza.apache.org/job` label). A render reads it from `--lock FILE` or
//! from the `samza.lock` key of the job's config ConfigMap (the chart puts it there with `--set-file`).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, Result},
    kafka::{KafkaError, KnownCounts, SourceKind, SourceRecord},
    samza::{job_model::TaskMode, PartitionFacts, Plan, Previous, Ssp, StoredState, SystemStream},
};

/// Current format version; readers refuse newer ones.
pub const LOCK_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub version: u32,
    /// Per job, by job name.
    pub jobs: BTreeMap<String, LockedJob>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockedJob {
    /// Partition count per input stream; written as `"system.stream": count`, in the order of those names.
    #[serde(default, with = "stream_names")]
    pub inputs: BTreeMap<SystemStream, u32>,
    /// Full topic lists of systems matched by regex rewriters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub topics: BTreeMap<String, BTreeSet<String>>,
    /// Where the counts were discovered, per system.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub discovered: BTreeMap<String, Discovery>,
    /// Samza's `set-changelog` mapping: task name → changelog partition. Entries are never removed.
    #[serde(default)]
    pub changelog: BTreeMap<String, u32>,
    /// Samza's `set-task-container-assignment`: active task name → container id.
    #[serde(default)]
    pub assignment: BTreeMap<String, String>,
    /// The same for standby tasks (`set-task-mode-assignment` `Standby`): standby task name → container id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub standby: BTreeMap<String, String>,
    /// Active task → its input partitions, for Samza's partition-expansion stickiness; written as
    /// `[system, stream, partition]`, with the key bucket as a fourth element when elasticity gave one.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        with = "ssp_lists"
    )]
    pub task_inputs: BTreeMap<String, Vec<Ssp>>,
    /// sha256 of the job model this lock reproduces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    pub source: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub brokers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

impl Lock {
    /// Reads a lock file: unreadable is an I/O error (74), not a lock a format error (16).
    pub fn read(path: &Path) -> Result<Lock> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Lock::parse(&text).map_err(|message| Error::Previous {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Only what re-locking keeps: each job's changelog mapping and assignment (Samza's coordinator stream),
    /// without the counts and topic lists, which must come fresh.
    pub fn mappings_only(&self) -> Lock {
        let mut lock = self.clone();
        for job in lock.jobs.values_mut() {
            job.inputs.clear();
            job.topics.clear();
        }
        lock
    }

    /// Like [`Lock::read`], with `None` when there is no file yet.
    pub fn read_if_present(path: &Path) -> Result<Option<Lock>> {
        match Lock::read(path) {
            Ok(lock) => Ok(Some(lock)),
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    /// Parses a lock file's text; the message names what is wrong, the caller names the file.
    pub fn parse(text: &str) -> Result<Lock, String> {
        let lock: Lock =
            serde_json::from_str(text).map_err(|e| format!("not a samza.lock file: {e}"))?;
        if lock.version == 0 || lock.version > LOCK_VERSION {
            return Err(format!(
                "lock format version {} is not supported (this helm-samza reads version {LOCK_VERSION}); upgrade helm-samza",
                lock.version
            ));
        }
        Ok(lock)
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("lock serializes");
        text.push('\n');
        text
    }
}

impl LockedJob {
    /// Pins what a plan used and decided: the counts and topic lists it was computed with, where they came from,
    /// the changelog mapping and the active tasks' containers and inputs.
    pub fn pin(
        plan: &Plan,
        digest: &str,
        facts: &PartitionFacts,
        records: &BTreeMap<String, Vec<SourceRecord>>,
    ) -> LockedJob {
        let mut locked = LockedJob {
            inputs: facts.counts.clone(),
            topics: facts.topics.clone(),
            changelog: plan.changelog_mapping.clone(),
            digest: Some(digest.to_string()),
            ..LockedJob::default()
        };
        for (system, records) in records {
            let live = records
                .iter()
                .find(|r| !r.brokers.is_empty())
                .or(records.first());
            if let Some(record) = live {
                locked.discovered.insert(
                    system.clone(),
                    Discovery {
                        source: record.kind.as_str().to_string(),
                        brokers: record.brokers.clone(),
                        at: record.at.clone(),
                    },
                );
            }
        }
        for container in &plan.model.containers {
            for task in &container.tasks {
                if task.mode == TaskMode::Standby {
                    locked
                        .standby
                        .insert(task.name.clone(), container.id.clone());
                    continue;
                }
                locked
                    .assignment
                    .insert(task.name.clone(), container.id.clone());
                locked
                    .task_inputs
                    .insert(task.name.clone(), task.ssps.clone());
            }
        }
        locked
    }

    /// What a job's coordinator stream stores, as a lock (a job moving from YARN keeps it on its first deploy):
    /// every changelog entry, the active and standby tasks' containers, the active tasks' input partitions,
    /// and as each input's partition count the highest stored partition + 1 (the count the job last ran with,
    /// unless a partition at the end was never assigned, which Samza's groupers do not do).
    pub fn from_stored(stored: &StoredState, discovery: Discovery) -> LockedJob {
        let previous = stored.previous();
        let mut inputs: BTreeMap<SystemStream, u32> = BTreeMap::new();
        for ssp in stored.task_partitions.keys() {
            let count = inputs
                .entry(SystemStream::new(&ssp.system, &ssp.stream))
                .or_default();
            *count = (*count).max(ssp.partition + 1);
        }
        let discovered = inputs
            .keys()
            .map(|ss| (ss.system.to_string(), discovery.clone()))
            .collect();
        LockedJob {
            inputs,
            discovered,
            changelog: previous.changelog,
            assignment: previous.task_container,
            standby: previous.standby_container,
            task_inputs: previous
                .task_ssps
                .into_iter()
                .map(|(task, ssps)| (task, ssps.into_iter().collect()))
                .collect(),
            ..LockedJob::default()
        }
    }

    /// The pinned counts and topic lists as a partition source, asked after `--partitions` (see `facts`).
    pub fn known_counts(&self) -> Result<KnownCounts, KafkaError> {
        let mut known = KnownCounts::new(SourceKind::Lock);
        for (ss, &count) in &self.inputs {
            known.insert(&ss.system, &ss.stream, count)?;
        }
        for (system, topics) in &self.topics {
            known.set_topic_list(system, topics.clone());
        }
        Ok(known)
    }

    /// Samza's previous state as the lock keeps it (it plays the role of Samza's coordinator stream); `None`
    /// when it holds no mapping (a first deploy).
    pub fn previous(&self) -> Option<Previous> {
        if self.changelog.is_empty() && self.assignment.is_empty() {
            return None;
        }
        Some(Previous {
            changelog: self.changelog.clone(),
            task_container: self.assignment.clone(),
            standby_container: self.standby.clone(),
            task_ssps: self
                .task_inputs
                .iter()
                .map(|(task, ssps)| (task.clone(), ssps.iter().cloned().collect()))
                .collect(),
        })
    }
}

/// `inputs` in the file: keys are Samza's stream names (`StreamUtil.getNameFromSystemStream`), read back as Samza
/// reads them (split at the first dot); written in the order of the names, so a lock's bytes do not depend on
/// how streams compare.
mod stream_names {
    use std::collections::BTreeMap;

    use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};

    use crate::samza::SystemStream;

    pub fn serialize<S: Serializer>(
        inputs: &BTreeMap<SystemStream, u32>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let by_name: BTreeMap<String, u32> = inputs
            .iter()
            .map(|(ss, count)| (ss.name(), *count))
            .collect();
        by_name.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<SystemStream, u32>, D::Error> {
        BTreeMap::<String, u32>::deserialize(deserializer)?
            .into_iter()
            .map(|(name, count)| {
                SystemStream::parse(&name, "inputs")
                    .map(|ss| (ss, count))
                    .map_err(|_| {
                        D::Error::custom(format!(
                            "inputs key '{name}' is not SYSTEM.STREAM (a stream name in Samza's form)"
                        ))
                    })
            })
            .collect()
    }
}

/// `task-inputs` in the file: each SSP as `[system, stream, partition]`, or `[system, stream, partition,
/// keyBucket]` when elasticity gave it a key bucket (Samza's `SystemStreamPartition` with `keyBucket` ≥ 0).
/// Locks written before key buckets were kept read as before (bucket -1).
mod ssp_lists {
    use std::collections::BTreeMap;

    use serde::{de::Error as _, ser::SerializeSeq, Deserialize, Deserializer, Serializer};
    use serde_json::Value;

    use crate::samza::{Ssp, SystemStream};

    pub fn serialize<S: Serializer>(
        lists: &BTreeMap<String, Vec<Ssp>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(lists.len()))?;
        for (task, ssps) in lists {
            map.serialize_entry(task, &Ssps(ssps))?;
        }
        map.end()
    }

    struct Ssps<'a>(&'a [Ssp]);

    impl serde::Serialize for Ssps<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
            for ssp in self.0 {
                let mut entry = vec![
                    Value::from(&*ssp.system),
                    Value::from(&*ssp.stream),
                    Value::from(ssp.partition),
                ];
                if ssp.key_bucket >= 0 {
                    entry.push(Value::from(ssp.key_bucket));
                }
                seq.serialize_element(&entry)?;
            }
            seq.end()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, Vec<Ssp>>, D::Error> {
        let raw = BTreeMap::<String, Vec<Vec<Value>>>::deserialize(deserializer)?;
        raw.into_iter()
            .map(|(task, entries)| {
                let ssps = entries
                    .iter()
                    .map(|entry| parse(entry).ok_or_else(|| {
                        D::Error::custom(format!(
                            "task-inputs of '{task}': {} is not [system, stream, partition] or [system, stream, \
                             partition, keyBucket]",
                            Value::from(entry.clone())
                        ))
                    }))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((task, ssps))
            })
            .collect()
    }

    fn parse(entry: &[Value]) -> Option<Ssp> {
        let (system, stream, partition, bucket) = match entry {
            [system, stream, partition] => (system, stream, partition, -1),
            [system, stream, partition, bucket] => (
                system,
                stream,
                partition,
                i32::try_from(bucket.as_u64()?).ok()?,
            ),
            _ => return None,
        };
        let stream = SystemStream::new(system.as_str()?, stream.as_str()?);
        let partition = u32::try_from(partition.as_u64()?).ok()?;
        Some(Ssp::new(&stream, partition).with_key_bucket(bucket))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_state_becomes_a_lock_with_standby_tasks_apart_and_counts_from_the_highest_partition(
    ) {
        let ssp =
            |stream: &str, partition| Ssp::new(&SystemStream::new("kafka", stream), partition);
        let owned = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let stored = StoredState {
            changelog: BTreeMap::from([
                ("Partition 0".to_owned(), 1),
                ("Partition 2".to_owned(), 0),
                ("Standby-Partition 0-0".to_owned(), 1),
            ]),
            task_container: owned(&[
                ("Partition 0", "0"),
                ("Partition 2", "1"),
                ("Standby-Partition 0-0", "0-0"),
            ]),
            task_modes: BTreeMap::from([("Standby-Partition 0-0".to_owned(), TaskMode::Standby)]),
            task_partitions: BTreeMap::from([
                (
                    ssp("a", 0),
                    vec!["Partition 0".to_owned(), "Standby-Partition 0-0".to_owned()],
                ),
                (ssp("a", 2), vec!["Partition 2".to_owned()]),
                (ssp("b", 0), vec!["Partition 0".to_owned()]),
            ]),
            ..StoredState::default()
        };
        let discovery = Discovery {
            source: "coordinator-stream".into(),
            brokers: vec!["k:9092".into()],
            at: None,
        };
        let locked = LockedJob::from_stored(&stored, discovery.clone());
        assert_eq!(locked.changelog, stored.changelog);
        assert_eq!(
            locked.assignment,
            owned(&[("Partition 0", "0"), ("Partition 2", "1")])
        );
        assert_eq!(locked.standby, owned(&[("Standby-Partition 0-0", "0-0")]));
        assert_eq!(
            locked.task_inputs["Partition 0"],
            vec![ssp("a", 0), ssp("b", 0)]
        );
        assert!(!locked.task_inputs.contains_key("Standby-Partition 0-0"));
        assert_eq!(
            locked.inputs,
            BTreeMap::from([
                (SystemStream::new("kafka", "a"), 3),
                (SystemStream::new("kafka", "b"), 1)
            ])
        );
        assert_eq!(locked.discovered["kafka"], discovery);
        // What the lock holds is the previous state the planner reads from the stream itself.
        assert_eq!(locked.previous(), Some(stored.previous()));
    }

    #[test]
    fn round_trip_and_version_check() {
        let mut lock = Lock {
            version: 1,
            ..Lock::default()
        };
        let job = LockedJob {
            inputs: [(SystemStream::new("kafka", "PageViewEvent"), 4)].into(),
            changelog: [("Partition 0".to_string(), 0)].into(),
            assignment: [("Partition 0".to_string(), "0".to_string())].into(),
            ..LockedJob::default()
        };
        lock.jobs.insert("page-views".into(), job);
        assert_eq!(Lock::parse(&lock.to_json()).unwrap(), lock);
        let err = Lock::parse(r#"{"version": 9, "jobs": {}}"#).unwrap_err();
        assert!(err.contains("version 9"), "{err}");
        assert!(Lock::parse("nope")
            .unwrap_err()
            .contains("not a samza.lock"));
        let err =
            Lock::parse(r#"{"version": 1, "jobs": {"j": {"inputs": {"nodot": 1}}}}"#).unwrap_err();
        assert!(err.contains("'nodot' is not SYSTEM.STREAM"), "{err}");
    }

    #[test]
    fn inputs_are_streams_written_in_the_order_of_their_names() {
        let text = r#"{"version": 1, "jobs": {"j": {"inputs": {"a.b": 1, "a-b.c.d": 2}}}}"#;
        let lock = Lock::parse(text).unwrap();
        let inputs = &lock.jobs["j"].inputs;
        assert_eq!(inputs[&SystemStream::new("a-b", "c.d")], 2);
        assert_eq!(inputs[&SystemStream::new("a", "b")], 1);
        let json = lock.to_json();
        assert!(
            json.find("\"a-b.c.d\"").unwrap() < json.find("\"a.b\"").unwrap(),
            "{json}"
        );
    }
}
