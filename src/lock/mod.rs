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
    kafka::SourceRecord,
    samza::{job_model::TaskMode, PartitionFacts, Plan, Previous, Ssp, SystemStream},
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
    /// Partition count per input stream, `system.stream` → count.
    #[serde(default)]
    pub inputs: BTreeMap<String, u32>,
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
    /// Active task → its input partitions as `[system, stream, partition]`, for Samza's partition-expansion
    /// stickiness.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub task_inputs: BTreeMap<String, Vec<(String, String, u32)>>,
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
        for (job, locked) in &lock.jobs {
            if let Some(key) = locked.inputs.keys().find(|k| !k.contains('.')) {
                return Err(format!(
                    "job '{job}': inputs key '{key}' is not SYSTEM.STREAM (a stream name in Samza's form)"
                ));
            }
        }
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
            inputs: facts
                .counts
                .iter()
                .map(|(ss, count)| (ss.name(), *count))
                .collect(),
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
            for task in container
                .tasks
                .iter()
                .filter(|t| t.mode == TaskMode::Active)
            {
                locked
                    .assignment
                    .insert(task.name.clone(), container.id.clone());
                locked.task_inputs.insert(
                    task.name.clone(),
                    task.ssps
                        .iter()
                        .map(|s| (s.system.to_string(), s.stream.to_string(), s.partition))
                        .collect(),
                );
            }
        }
        locked
    }

    /// The pinned input counts, by stream (`system.stream` split at the first dot, as Samza splits it).
    pub fn counts(&self) -> BTreeMap<SystemStream, u32> {
        self.inputs
            .iter()
            .map(|(name, &count)| (system_stream(name), count))
            .collect()
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
            task_ssps: self
                .task_inputs
                .iter()
                .map(|(task, ssps)| {
                    let set = ssps
                        .iter()
                        .map(|(system, stream, partition)| {
                            Ssp::new(&SystemStream::new(system, stream), *partition)
                        })
                        .collect();
                    (task.clone(), set)
                })
                .collect(),
        })
    }
}

/// A lock's `system.stream` key (checked when the lock is read); Samza splits at the first dot, the stream keeps
/// any further dots.
fn system_stream(name: &str) -> SystemStream {
    let (system, stream) = name.split_once('.').unwrap_or((name, ""));
    SystemStream::new(system, stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_version_check() {
        let mut lock = Lock {
            version: 1,
            ..Lock::default()
        };
        let job = LockedJob {
            inputs: [("kafka.PageViewEvent".to_string(), 4)].into(),
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
    }
}
