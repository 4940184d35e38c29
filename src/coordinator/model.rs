//! The job model as the coordinator finds it on disk: the model ConfigMap mounted as files.
//!
//! The post-renderer carries the model in one of four layouts (`model_configmap`), each a file (or files) of the
//! mounted volume: `job-model.json`; `job-model.json.gz`; `job-model.index.json` with the parts
//! `job-model.json.gz.part-N` beside it (a projected volume); or `job-model.inputs.json`, from which the model is
//! computed again (`model_inputs`), with the previous state read from the job's coordinator stream when the model
//! was planned against one, and served only when its digest is the one the post-renderer computed. The
//! coordinator serves the JSON bytes exactly as written or computed (Samza's containers parse them), so reading
//! never re-serializes; only the facts the partition watch needs (input partition counts, Kafka systems,
//! bootstrap servers) are pulled out of it, by the same readers the rest of helm-samza uses
//! (`JobModel::from_json`, `JobModel::input_partition_counts`). A gzipped file is expanded here, not with
//! `model_configmap::gunzip`, because a mounted file is bounded while it is read.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use flate2::read::GzDecoder;

use crate::job;
use crate::kafka::Overrides;
use crate::model_configmap::PartsIndex;
use crate::model_inputs::{ModelInputs, RecomputeError};
use crate::previous::{self, StreamState};
use crate::samza::{JobModel, Previous};

/// How long a model that could not be read or computed is not tried again (containers ask every few seconds;
/// computing reads the coordinator stream).
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Samza's default for `job.coordinator.monitor-partition-change.frequency.ms` (StreamPartitionCountMonitor).
const DEFAULT_MONITOR_INTERVAL: Duration = Duration::from_secs(300);

/// The largest model the coordinator decompresses: far above any model Kubernetes can carry in ConfigMaps
/// (1 MiB of gzip expands to ~10 MiB of model JSON), far below what would let a crafted gzip exhaust memory.
pub const MAX_MODEL_BYTES: u64 = crate::samza::limits::MAX_MODEL_JSON_BYTES;

/// Where the model is: `FILE`, or `FILE.gz` when only the compressed form was mounted. Clones share one cache:
/// the model is read, decompressed and understood once per version of the mounted file, not on every request
/// (the kubelet swaps a mounted ConfigMap atomically, which gives the file a new identity).
#[derive(Debug, Clone)]
pub struct ModelLocation {
    pub path: PathBuf,
    /// `MAX_MODEL_BYTES`, smaller in tests.
    limit: u64,
    /// How to read the coordinator stream, for a model carried as its inputs.
    kafka: Overrides,
    cache: Arc<Mutex<Option<Cached>>>,
    failed: Arc<Mutex<Option<(Identity, Instant, ModelError)>>>,
}

/// One version of the mounted model, read.
#[derive(Debug)]
struct Cached {
    identity: Identity,
    model: Arc<Model>,
    facts: Option<Result<Arc<ModelFacts>, String>>,
}

/// Which file, and which version of it: device, inode, size and modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    path: PathBuf,
    device: u64,
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl Identity {
    fn of(path: &Path) -> io::Result<Identity> {
        // `metadata` follows the kubelet's `..data` links to the file itself.
        let meta = std::fs::metadata(path)?;
        #[cfg(unix)]
        let (device, inode) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (device, inode) = (0, 0);
        Ok(Identity {
            path: path.to_owned(),
            device,
            inode,
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

/// The model's JSON, and the gzip it was mounted as, if it was (served as is to clients that accept gzip).
#[derive(Default)]
pub struct Model {
    pub json: Vec<u8>,
    /// The gzip the model was mounted as, if it was.
    pub gzip: Option<Vec<u8>>,
    /// `sha256:<hex>` of `json`: the checksum the post-renderer put on the pod templates rendered with it.
    pub digest: String,
    /// The JSON gzipped here, on the first request that accepts gzip, for a model not mounted gzipped.
    pub(super) compressed: std::sync::OnceLock<Vec<u8>>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("json_bytes", &self.json.len())
            .field("digest", &self.digest)
            .finish()
    }
}

/// A model JSON at least this long goes gzipped to clients that accept gzip even when it was not mounted so.
const GZIP_FROM: usize = 64 * 1024;

impl Model {
    /// The model gzipped, for a client that accepts gzip: as mounted, or compressed here once (fast) for a large
    /// model served as plain JSON (parts joined, a model computed again); `None` for a small one.
    pub fn gzip_for_client(&self) -> Option<&[u8]> {
        if let Some(gzip) = &self.gzip {
            return Some(gzip);
        }
        if self.json.len() < GZIP_FROM {
            return None;
        }
        Some(self.compressed.get_or_init(|| {
            use std::io::Write as _;
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(self.json.len() / 8),
                flate2::Compression::fast(),
            );
            encoder
                .write_all(&self.json)
                .and_then(|()| encoder.finish())
                .expect("compressing in memory")
        }))
    }
}

fn digest(json: &[u8]) -> String {
    crate::model_configmap::digest(&String::from_utf8_lossy(json))
}

/// Why the model cannot be served or understood right now. Absence is normal until the ConfigMap exists.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    #[error("no job model at {path} (nor {path}.gz) yet")]
    Missing { path: String },
    #[error("cannot read the job model {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("the job model {path} is not a Samza job model: {reason}")]
    Invalid { path: String, reason: String },
    #[error("the job model cannot be computed from {path}: {reason}")]
    Refused { path: String, reason: String },
}

impl ModelLocation {
    pub fn new(path: &Path) -> Self {
        ModelLocation {
            path: path.to_owned(),
            limit: MAX_MODEL_BYTES,
            kafka: Overrides::default(),
            cache: Arc::default(),
            failed: Arc::default(),
        }
    }

    /// Reads a coordinator stream with these client settings (as the coordinator's `--bootstrap-servers`,
    /// `--kafka-config` give them) when the model is carried as its inputs.
    pub fn with_kafka(mut self, kafka: Overrides) -> Self {
        self.kafka = kafka;
        self
    }

    fn sibling(&self, name: &str) -> PathBuf {
        self.path.with_file_name(name)
    }

    fn gz_path(&self) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(".gz");
        PathBuf::from(name)
    }

    /// The model JSON, byte for byte as the post-renderer wrote it (decompressed when mounted gzipped, joined
    /// from its parts, or computed from its inputs).
    pub fn read(&self) -> Result<Arc<Model>, ModelError> {
        let unreadable = |path: &Path, error: io::Error| ModelError::Unreadable {
            path: path.display().to_string(),
            reason: error.to_string(),
        };
        let candidates = [
            (self.path.clone(), Form::Plain),
            (self.gz_path(), Form::Gzip),
            (self.sibling(job::MODEL_KEY_INDEX), Form::Parts),
            (self.sibling(job::MODEL_KEY_INPUTS), Form::Inputs),
        ];
        let mut found = None;
        for (path, form) in candidates {
            match Identity::of(&path) {
                Ok(identity) => {
                    found = Some((identity, form));
                    break;
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => return Err(unreadable(&path, error)),
            }
        }
        let Some((identity, form)) = found else {
            return Err(ModelError::Missing {
                path: self.path.display().to_string(),
            });
        };
        let mut cache = self.lock();
        if let Some(cached) = cache.as_ref().filter(|c| c.identity == identity) {
            return Ok(Arc::clone(&cached.model));
        }
        {
            let failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, _, error)) = failed
                .as_ref()
                .filter(|(id, at, _)| *id == identity && at.elapsed() < RETRY_AFTER)
            {
                return Err(error.clone());
            }
        }
        let (model, facts) = match self.read_form(&identity.path, form) {
            Ok((model, facts)) => (Arc::new(model), facts.map(|f| Ok(Arc::new(f)))),
            Err(error) => {
                *self.failed.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((identity, Instant::now(), error.clone()));
                return Err(error);
            }
        };
        *cache = Some(Cached {
            identity,
            model: Arc::clone(&model),
            facts,
        });
        Ok(model)
    }

    /// The model in `form`, and its facts when they came for free (a model computed again is in memory: parsing
    /// its JSON back would cost more than computing it).
    fn read_form(
        &self,
        path: &Path,
        form: Form,
    ) -> Result<(Model, Option<ModelFacts>), ModelError> {
        let unreadable = |path: &Path, reason: String| ModelError::Unreadable {
            path: path.display().to_string(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| unreadable(path, e.to_string()))?;
        match form {
            Form::Plain => Ok((
                Model {
                    digest: digest(&bytes),
                    json: bytes,
                    ..Model::default()
                },
                None,
            )),
            Form::Gzip => Ok((self.gunzip(path, bytes)?, None)),
            Form::Parts => {
                let text = String::from_utf8(bytes).map_err(|e| unreadable(path, e.to_string()))?;
                let index = PartsIndex::from_json(&text).map_err(|reason| ModelError::Invalid {
                    path: path.display().to_string(),
                    reason: format!("not a parts index: {reason}"),
                })?;
                let joined = index
                    .join(|entry| {
                        if entry.key.contains('/') || entry.key.starts_with('.') {
                            return Err(format!("part key {:?} is not a file name", entry.key));
                        }
                        match std::fs::read(self.sibling(&entry.key)) {
                            Ok(bytes) => Ok(Some(bytes)),
                            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                            Err(e) => Err(format!("{}: {e}", entry.key)),
                        }
                    })
                    .map_err(|reason| unreadable(path, reason))?;
                let model = self.gunzip(path, joined)?;
                if model.digest != index.model_digest {
                    return Err(ModelError::Invalid {
                        path: path.display().to_string(),
                        reason: format!(
                            "the joined parts are the model {}, the index says {}",
                            model.digest, index.model_digest
                        ),
                    });
                }
                Ok((model, None))
            }
            Form::Inputs => {
                let text = String::from_utf8(bytes).map_err(|e| unreadable(path, e.to_string()))?;
                let refused = |reason: String| ModelError::Refused {
                    path: path.display().to_string(),
                    reason,
                };
                let inputs = ModelInputs::from_json(&text).map_err(&refused)?;
                let (model, json) = inputs
                    .recompute_json(|| stored_state(&inputs, &self.kafka))
                    .map_err(|error| match error {
                        // Kafka may come up later: retried, and shown as not ready meanwhile.
                        RecomputeError::Stream(reason) => unreadable(path, reason),
                        other => refused(other.to_string()),
                    })?;
                let facts = ModelFacts::of(&model);
                Ok((
                    Model {
                        // The digest of these very bytes: recompute_json checked it.
                        digest: inputs.model_digest,
                        json,
                        ..Model::default()
                    },
                    Some(facts),
                ))
            }
        }
    }

    fn gunzip(&self, path: &Path, bytes: Vec<u8>) -> Result<Model, ModelError> {
        let mut json = Vec::new();
        GzDecoder::new(bytes.as_slice())
            .take(self.limit + 1)
            .read_to_end(&mut json)
            .map_err(|error| ModelError::Unreadable {
                path: path.display().to_string(),
                reason: error.to_string(),
            })?;
        if json.len() as u64 > self.limit {
            return Err(ModelError::Unreadable {
                path: path.display().to_string(),
                reason: format!(
                    "it expands beyond {} MiB, more than any job model",
                    self.limit >> 20
                ),
            });
        }
        Ok(Model {
            digest: digest(&json),
            json,
            gzip: Some(bytes),
            ..Model::default()
        })
    }

    /// Reads and understands the model (once per version of the file).
    pub fn load(&self) -> Result<Arc<ModelFacts>, ModelError> {
        let model = self.read()?;
        let invalid = |reason: String| ModelError::Invalid {
            path: self.path.display().to_string(),
            reason,
        };
        let mut cache = self.lock();
        if let Some(cached) = cache.as_mut().filter(|c| Arc::ptr_eq(&c.model, &model)) {
            let facts = cached
                .facts
                .get_or_insert_with(|| ModelFacts::parse(&model.json).map(Arc::new));
            return facts.clone().map_err(invalid);
        }
        ModelFacts::parse(&model.json)
            .map(Arc::new)
            .map_err(invalid)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Which layout a mounted file holds.
#[derive(Debug, Clone, Copy)]
enum Form {
    Plain,
    Gzip,
    Parts,
    Inputs,
}

/// What the job's coordinator stream stores now (`None`: nothing), for a model carried as its inputs.
fn stored_state(inputs: &ModelInputs, kafka: &Overrides) -> Result<Option<Previous>, String> {
    match previous::read_coordinator_stream(&inputs.config(), kafka)? {
        StreamState::NotKafka => Err(
            "the job's coordinator system is not a Kafka system, so its stored state cannot be read".into(),
        ),
        StreamState::Absent { .. } => Ok(None),
        StreamState::Read(state) if state.state == Previous::default() => Ok(None),
        StreamState::Read(state) => Ok(Some(state.state)),
    }
}

/// Whether `systems.<s>.samza.factory` names Samza's Kafka system factory (the class, whatever its package).
pub fn is_kafka_factory(factory: Option<&str>) -> bool {
    factory.is_some_and(|factory| factory.contains("KafkaSystemFactory"))
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
        Ok(ModelFacts::of(&model))
    }

    /// The facts of a model in memory (one computed again): no JSON read.
    pub fn of(model: &JobModel) -> ModelFacts {
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
        ModelFacts { partitions, config }
    }

    /// Systems whose factory is Samza's Kafka system factory: the only ones whose partitions can be watched.
    pub fn is_kafka_system(&self, system: &str) -> bool {
        is_kafka_factory(
            self.config
                .get(&format!("systems.{system}.samza.factory"))
                .map(String::as_str),
        )
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
        assert_eq!(location.read().unwrap().json, MODEL.as_bytes());
    }

    /// A gzip bomb is refused at the cap, not expanded into memory.
    #[test]
    fn a_model_expanding_beyond_the_cap_is_refused() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let mut location = ModelLocation::new(&dir.path().join("job-model.json"));
        location.limit = 1 << 20;
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(&vec![b' '; 2 << 20]).unwrap();
        std::fs::write(
            dir.path().join("job-model.json.gz"),
            encoder.finish().unwrap(),
        )
        .unwrap();
        let error = location.read().unwrap_err().to_string();
        assert!(error.contains("expands beyond 1 MiB"), "{error}");
    }

    /// Read once per version of the file: a new file (the kubelet's swap) is read anew.
    #[test]
    fn the_model_is_read_once_per_version_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job-model.json");
        std::fs::write(&path, MODEL).unwrap();
        let location = ModelLocation::new(&path);
        let first = location.read().unwrap();
        assert!(Arc::ptr_eq(&first, &location.clone().read().unwrap()));
        assert!(Arc::ptr_eq(
            &location.load().unwrap(),
            &location.load().unwrap()
        ));
        let swapped = dir.path().join("new");
        std::fs::write(&swapped, MODEL.replace("\"j\"", "\"k\"")).unwrap();
        std::fs::rename(&swapped, &path).unwrap();
        let second = location.read().unwrap();
        assert!(!Arc::ptr_eq(&first, &second));
        assert_eq!(location.load().unwrap().config["job.name"], "k");
    }
}
