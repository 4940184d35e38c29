//! The job model as the coordinator finds it on disk: the model ConfigMap mounted as files.
//!
//! The post-renderer writes `data.job-model.json`, or `binaryData.job-model.json.gz` when the model does not fit
//! a ConfigMap uncompressed; Kubernetes mounts either as a file of that name. The coordinator serves the JSON
//! bytes exactly as written (Samza's containers parse them), so reading never re-serializes; only the facts the
//! partition watch needs (input partition counts, Kafka systems, bootstrap servers) are pulled out of it, by the
//! same readers the rest of helm-samza uses (`model_configmap::gunzip`, `JobModel::from_json`,
//! `JobModel::input_partition_counts`).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{model_configmap::gunzip, samza::JobModel};

/// Samza's default for `job.coordinator.monitor-partition-change.frequency.ms` (StreamPartitionCountMonitor).
const DEFAULT_MONITOR_INTERVAL: Duration = Duration::from_secs(300);

/// Where the model is: `FILE`, or `FILE.gz` when only the compressed form was mounted.
#[derive(Debug, Clone)]
pub struct ModelLocation {
    pub path: PathBuf,
}

/// Why the model cannot be served or understood right now. Absence is normal until the ConfigMap exists.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("no job model at {path} (nor {path}.gz) yet")]
    Missing { path: String },
    #[error("cannot read the job model {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("the job model {path} is not a Samza job model: {reason}")]
    Invalid { path: String, reason: String },
}

impl ModelLocation {
    pub fn new(path: &Path) -> Self {
        ModelLocation {
            path: path.to_owned(),
        }
    }

    fn gz_path(&self) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(".gz");
        PathBuf::from(name)
    }

    /// The model JSON, byte for byte as the post-renderer wrote it (decompressed when mounted gzipped).
    pub fn read(&self) -> Result<Vec<u8>, ModelError> {
        let unreadable = |path: &Path, error: io::Error| ModelError::Unreadable {
            path: path.display().to_string(),
            reason: error.to_string(),
        };
        match std::fs::read(&self.path) {
            Ok(bytes) => return Ok(bytes),
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                return Err(unreadable(&self.path, error))
            }
            Err(_) => {}
        }
        let gz = self.gz_path();
        match std::fs::read(&gz) {
            Ok(compressed) => gunzip(&compressed).map_err(|error| unreadable(&gz, error)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Err(ModelError::Missing {
                path: self.path.display().to_string(),
            }),
            Err(error) => Err(unreadable(&gz, error)),
        }
    }

    /// Reads and understands the model.
    pub fn load(&self) -> Result<ModelFacts, ModelError> {
        let bytes = self.read()?;
        ModelFacts::parse(&bytes).map_err(|reason| ModelError::Invalid {
            path: self.path.display().to_string(),
            reason,
        })
    }
}

/// What the coordinator needs to know about a model to watch its inputs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelFacts {
    /// `system` → `stream` → partition count the model was computed with (`JobModel::input_partition_counts`).
    pub partitions: BTreeMap<String, BTreeMap<String, u32>>,
    /// The job config (`config` of the model): every value is a string in Samza's JSON.
    pub config: BTreeMap<String, String>,
}

impl ModelFacts {
    pub fn parse(bytes: &[u8]) -> Result<ModelFacts, String> {
        let text = std::str::from_utf8(bytes).map_err(|error| error.to_string())?;
        let model = JobModel::from_json(text).map_err(|error| error.to_string())?;
        let mut partitions: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
        for (ss, count) in model.input_partition_counts() {
            partitions
                .entry(ss.system.to_string())
                .or_default()
                .insert(ss.stream.to_string(), count);
        }
        let config = model
            .config
            .iter()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
        Ok(ModelFacts { partitions, config })
    }

    /// Systems whose factory is Samza's Kafka system factory: the only ones whose partitions can be watched.
    pub fn is_kafka_system(&self, system: &str) -> bool {
        self.config
            .get(&format!("systems.{system}.samza.factory"))
            .is_some_and(|factory| factory.contains("KafkaSystemFactory"))
    }

    /// Samza's partition-count monitor period, used when `--poll-interval` is not given.
    pub fn monitor_interval(&self) -> Duration {
        self.config
            .get("job.coordinator.monitor-partition-change.frequency.ms")
            .and_then(|ms| ms.trim().parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_MONITOR_INTERVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = r#"{"config":{"job.name":"j","systems.kafka.samza.factory":"org.apache.samza.system.kafka.KafkaSystemFactory","systems.kafka.producer.bootstrap.servers":"b:9092","job.coordinator.monitor-partition-change.frequency.ms":"1500"},
      "containers":{"0":{"processor-id":"0","tasks":{
        "Partition 0":{"task-name":"Partition 0","system-stream-partitions":[{"system":"kafka","partition":0,"stream":"a","keyBucket":-1},{"system":"kafka","partition":0,"stream":"b","keyBucket":-1}],"changelog-partition":0},
        "Partition 3":{"task-name":"Partition 3","system-stream-partitions":[{"system":"kafka","partition":3,"stream":"a","keyBucket":-1}],"changelog-partition":1}}},
        "0-0":{"processor-id":"0-0","tasks":{"Standby-Partition 0-0":{"task-name":"Standby-Partition 0-0","system-stream-partitions":[{"system":"kafka","partition":0,"stream":"a"}],"changelog-partition":0,"task-mode":"Standby"}}}},
      "max-change-log-stream-partitions":2}"#;

    #[test]
    fn partition_counts_are_highest_partition_plus_one_per_stream() {
        let facts = ModelFacts::parse(MODEL.as_bytes()).unwrap();
        assert_eq!(facts.partitions["kafka"]["a"], 4);
        assert_eq!(facts.partitions["kafka"]["b"], 1);
        assert!(facts.is_kafka_system("kafka"));
        assert!(!facts.is_kafka_system("wikipedia"));
        assert_eq!(facts.monitor_interval(), Duration::from_millis(1500));
    }

    #[test]
    fn a_model_without_containers_is_rejected() {
        assert!(ModelFacts::parse(br#"{"config":{}}"#).is_err());
        assert!(ModelFacts::parse(b"not json").is_err());
    }

    #[test]
    fn the_gzipped_model_is_read_when_the_plain_one_is_absent() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let location = ModelLocation::new(&dir.path().join("job-model.json"));
        assert!(matches!(location.read(), Err(ModelError::Missing { .. })));
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(MODEL.as_bytes()).unwrap();
        std::fs::write(
            dir.path().join("job-model.json.gz"),
            encoder.finish().unwrap(),
        )
        .unwrap();
        assert_eq!(location.read().unwrap(), MODEL.as_bytes());
    }
}
