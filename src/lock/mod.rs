//! `samza.lock`: the pinned facts of each job, so a render needs no Kafka and reproduces the same model.
//!
//! The lock plays the role of Samza's coordinator stream: it keeps the changelog mapping (never shrinking) and
//! the task → container assignment of the last plan, plus the input partition counts and where they came from.
//! It is JSON, keyed by job name (the `samza.apache.org/job` label). A render reads it from `--lock FILE` or
//! from the `samza.lock` key of the job's config ConfigMap (the chart puts it there with `--set-file`).

pub mod command;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

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
