//! A job model carried as what it is computed from, for a model too large for any object in the cluster.
//!
//! Helm stores every release revision (the whole post-rendered manifest, gzipped) in one Secret, which Kubernetes
//! caps at 1 MiB like a ConfigMap; a job model that does not fit one ConfigMap gzipped does not fit the release
//! either, however it is split. So a large model travels as its inputs: the job config as the planner got it,
//! the partition counts (and topic lists) it was computed with, the Samza version of its JSON, the digest of the
//! previous state it was kept stable against, and the digest of the model itself. They are a few kilobytes
//! whatever the model's size. `helm-samza coordinator` computes the model again at start with the same planner
//! (`samza::plan`, a pure function of these inputs), reading the previous state where Samza keeps it, the job's
//! coordinator stream, and serves it only when its digest is the one the post-renderer computed (and put on the
//! pod templates). Any difference — the stream changed since the render, another version of helm-samza — is a
//! refusal naming both digests, never another model.
//!
//! The previous state is carried by reference (its digest), not by value: it lists every task's partitions and is
//! about as large as the model itself.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::samza::{self, Config, JobModel, PartitionFacts, Previous, SamzaError, SamzaVersion};

/// The version of this document's shape; a coordinator refuses a shape it does not know.
pub const FORMAT: u32 = 1;

/// A job model's inputs, as the model ConfigMap carries them under `data.job-model.inputs.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelInputs {
    pub format: u32,
    pub job: String,
    /// The Samza version whose JSON shape the model is written in (`--samza-version`).
    pub samza_version: String,
    /// `sha256:<hex>` of the model's JSON: what the coordinator must get, and the pod templates' checksum.
    pub model_digest: String,
    pub previous_state: PreviousRef,
    /// The job config as the planner got it, in its order (before Samza's rewriters and helm-samza's
    /// `job.container.count`, which the planner applies again).
    pub config: IndexMap<String, String>,
    /// system → stream → partition count, of every stream the planner asked for.
    pub partition_counts: BTreeMap<String, BTreeMap<String, u32>>,
    /// system → every topic, for systems whose topic list the planner asked for (regex rewriters).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub topics: BTreeMap<String, BTreeSet<String>>,
}

/// The previous state a model was planned against: where it came from, and its [`previous_digest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviousRef {
    /// `None`: a first deploy, planned against nothing stored.
    pub digest: Option<String>,
    /// Where the render found it (`coordinator stream …`, `lock file`, …), for messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl ModelInputs {
    /// The inputs of a model the planner computed from `config`, `facts` and `previous`.
    pub fn new(
        job: &str,
        version: SamzaVersion,
        model_digest: &str,
        config: &Config,
        facts: &PartitionFacts,
        previous: Option<(&Previous, &str)>,
    ) -> ModelInputs {
        let mut partition_counts: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
        for (stream, count) in &facts.counts {
            partition_counts
                .entry(stream.system.to_string())
                .or_default()
                .insert(stream.stream.to_string(), *count);
        }
        ModelInputs {
            format: FORMAT,
            job: job.to_string(),
            samza_version: version.to_string(),
            model_digest: model_digest.to_string(),
            previous_state: PreviousRef {
                digest: previous.map(|(state, _)| previous_digest(state)),
                source: previous.map(|(_, source)| source.to_string()),
            },
            config: config.as_map().clone(),
            partition_counts,
            topics: facts.topics.clone(),
        }
    }

    /// Plans a job as the post-renderer does (`samza::plan`, then [`settle_container_count`]) and records the
    /// inputs of the model it made, with the model.
    pub fn plan(
        job: &str,
        version: SamzaVersion,
        config: &Config,
        facts: &PartitionFacts,
        previous: Option<(&Previous, &str)>,
    ) -> Result<(ModelInputs, JobModel), SamzaError> {
        let mut model = samza::plan(config, facts, previous.map(|(state, _)| state))?.model;
        settle_container_count(&mut model);
        let (digest, _) = model.json_digest(version);
        let inputs = ModelInputs::new(job, version, &digest, config, facts, previous);
        Ok((inputs, model))
    }

    /// Reads the inputs as the ConfigMap carries them, refusing a shape this version does not know.
    pub fn from_json(text: &str) -> Result<ModelInputs, String> {
        let inputs: ModelInputs = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if inputs.format != FORMAT {
            return Err(format!(
                "format {} is not the format {FORMAT} this helm-samza reads: the coordinator and the \
                 post-renderer must be the same version",
                inputs.format
            ));
        }
        Ok(inputs)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("inputs serialize")
    }

    /// The config the planner got.
    pub fn config(&self) -> Config {
        Config::from_map(self.config.clone())
    }

    /// The partition facts the planner got.
    pub fn facts(&self) -> PartitionFacts {
        let mut facts = PartitionFacts {
            topics: self.topics.clone(),
            ..PartitionFacts::default()
        };
        for (system, streams) in &self.partition_counts {
            for (stream, count) in streams {
                facts
                    .counts
                    .insert(samza::SystemStream::new(system, stream), *count);
            }
        }
        facts
    }

    /// The model these inputs make with `previous`, in the shape of its Samza version.
    fn model(&self, previous: Option<&Previous>) -> Result<(JobModel, SamzaVersion), SamzaError> {
        let version = SamzaVersion::parse(&self.samza_version)?;
        let mut model = samza::plan(&self.config(), &self.facts(), previous)?.model;
        settle_container_count(&mut model);
        Ok((model, version))
    }

    /// Whether the model needs a previous state to be computed again (it was planned against one).
    pub fn needs_previous_state(&self) -> bool {
        self.previous_state.digest.is_some()
    }

    /// The model again, checked against the digest the post-renderer computed. `stored` is the previous state
    /// as the coordinator stream holds it now (`None`: nothing stored), asked for only when the model was planned
    /// against one. The stream may also hold this very model's assignments already (the coordinator wrote them):
    /// the planner keeps what is stored, so that state gives the same model.
    pub fn recompute(
        &self,
        stored: impl FnOnce() -> Result<Option<Previous>, String>,
    ) -> Result<JobModel, RecomputeError> {
        self.recompute_written(stored, |model, version| (model.json_digest(version).0, ()))
            .map(|(model, ())| model)
    }

    /// [`ModelInputs::recompute`], with the model's JSON written once (the coordinator serves it) and checked by
    /// the digest of those bytes.
    pub fn recompute_json(
        &self,
        stored: impl FnOnce() -> Result<Option<Previous>, String>,
    ) -> Result<(JobModel, Vec<u8>), RecomputeError> {
        self.recompute_written(stored, |model, version| {
            let json = model.to_json(version).into_bytes();
            (format!("sha256:{:x}", Sha256::digest(&json)), json)
        })
    }

    /// The model again, `write` giving the digest of its JSON (and whatever else the caller keeps of writing it).
    fn recompute_written<T>(
        &self,
        stored: impl FnOnce() -> Result<Option<Previous>, String>,
        write: impl FnOnce(&JobModel, SamzaVersion) -> (String, T),
    ) -> Result<(JobModel, T), RecomputeError> {
        let (previous, read) = if self.needs_previous_state() {
            let stored = stored().map_err(RecomputeError::Stream)?;
            (stored, true)
        } else {
            (None, false)
        };
        let (model, version) = self
            .model(previous.as_ref())
            .map_err(|e| RecomputeError::Samza(e.to_string()))?;
        let (digest, written) = write(&model, version);
        if digest == self.model_digest {
            return Ok((model, written));
        }
        let now = previous.as_ref().map(previous_digest);
        Err(RecomputeError::Differs {
            message: format!(
                "the job model computed from its inputs is {digest}, not the {} the post-renderer computed{}",
                self.model_digest,
                if !read {
                    " from the same inputs (was it rendered by another version of helm-samza?)".to_string()
                } else {
                    format!(
                        ": it was planned against the previous state {} ({}), and the coordinator stream now holds \
                         {}. The stream changed since the render (another deploy of this job, or another job of the \
                         same job.name and job.id writing the same stream?). Render and deploy the job again, or \
                         deploy the model itself (`--model-layout parts`, applied server-side)",
                        self.previous_state.digest.as_deref().unwrap_or("none"),
                        self.previous_state.source.as_deref().unwrap_or("unknown source"),
                        now.as_deref().unwrap_or("nothing")
                    )
                }
            ),
        })
    }
}

/// Why the coordinator cannot serve a model carried as its inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecomputeError {
    /// The coordinator stream could not be read (yet): retried.
    #[error("cannot read the previous state the model was planned against: {0}")]
    Stream(String),
    #[error("Samza refuses the inputs: {0}")]
    Samza(String),
    #[error("{message}")]
    Differs { message: String },
}

/// `job.container.count` in the model's config is the number of containers the model has: a container reads it
/// (and GroupByContainerIds may keep fewer than asked). The post-renderer and the coordinator's recomputation
/// both settle it here.
pub fn settle_container_count(model: &mut JobModel) {
    let active = model.active_container_count();
    model.config.set("job.container.count", active.to_string());
}

/// `sha256:<hex>` of a previous state, over a canonical text of every entry (maps are ordered).
pub fn previous_digest(previous: &Previous) -> String {
    let mut hasher = Sha256::new();
    let mut line = |parts: &[&str]| {
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                hasher.update(b"\t");
            }
            hasher.update(part.as_bytes());
        }
        hasher.update(b"\n");
    };
    line(&["changelog"]);
    for (task, partition) in &previous.changelog {
        line(&[task, &partition.to_string()]);
    }
    line(&["task-container"]);
    for (task, container) in &previous.task_container {
        line(&[task, container]);
    }
    line(&["task-ssps"]);
    for (task, ssps) in &previous.task_ssps {
        for ssp in ssps {
            line(&[
                task,
                &ssp.system,
                &ssp.stream,
                &ssp.partition.to_string(),
                &ssp.key_bucket.to_string(),
            ]);
        }
    }
    line(&["standby-container"]);
    for (task, container) in &previous.standby_container {
        line(&[task, container]);
    }
    format!("sha256:{:x}", hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(previous: Option<(&Previous, &str)>) -> (ModelInputs, JobModel) {
        let config = Config::from_properties(
            "job.name=j\ntask.inputs=kafka.a,kafka.b\njob.container.count=2\n\
             stores.s.changelog=kafka.s-changelog\n",
        )
        .unwrap();
        let mut facts = PartitionFacts::default();
        facts
            .counts
            .insert(samza::SystemStream::new("kafka", "a"), 6);
        facts
            .counts
            .insert(samza::SystemStream::new("kafka", "b"), 3);
        ModelInputs::plan("j", SamzaVersion::default(), &config, &facts, previous).unwrap()
    }

    #[test]
    fn the_inputs_make_the_same_model_again_through_their_json() {
        let (inputs, model) = inputs(None);
        let read = ModelInputs::from_json(&inputs.to_json()).unwrap();
        assert_eq!(read, inputs);
        let again = read
            .recompute(|| unreachable!("no previous state"))
            .unwrap();
        assert_eq!(
            again.to_json(SamzaVersion::default()),
            model.to_json(SamzaVersion::default())
        );
        let (_, json) = read
            .recompute_json(|| unreachable!("no previous state"))
            .unwrap();
        assert_eq!(json, model.to_json(SamzaVersion::default()).into_bytes());
    }

    #[test]
    fn a_model_planned_against_a_stored_state_is_computed_with_the_stream_and_refused_when_it_changed(
    ) {
        let (first, first_model) = inputs(None);
        let mut stored = Previous::from_model(&first_model);
        // A stored mapping the planner must keep: tasks 0 and 1 swapped.
        let zero = stored.changelog["Partition 0"];
        let one = stored.changelog["Partition 1"];
        stored.changelog.insert("Partition 0".into(), one);
        stored.changelog.insert("Partition 1".into(), zero);
        let (second, _) = inputs(Some((&stored, "coordinator stream s")));
        assert!(second.needs_previous_state());
        let model = second.recompute(|| Ok(Some(stored.clone()))).unwrap();
        assert_eq!(
            model
                .tasks()
                .find(|t| t.name == "Partition 0")
                .unwrap()
                .changelog_partition,
            one
        );
        // After the coordinator wrote this model, the stream holds its assignments: the same model again.
        let written = Previous::from_model(&model);
        assert!(second.recompute(|| Ok(Some(written))).is_ok());
        // The stream lost the swap (another deploy): refused, naming both digests.
        let error = second
            .recompute(|| Ok(Some(Previous::from_model(&first_model))))
            .unwrap_err()
            .to_string();
        assert!(error.contains(&second.model_digest), "{error}");
        assert!(error.contains("coordinator stream s"), "{error}");
        assert!(matches!(
            second.recompute(|| Err("no broker".into())),
            Err(RecomputeError::Stream(_))
        ));
        drop(first);
    }

    #[test]
    fn an_unknown_format_is_refused() {
        let (inputs, _) = inputs(None);
        let text = inputs.to_json().replace("\"format\": 1", "\"format\": 2");
        let error = ModelInputs::from_json(&text).unwrap_err();
        assert!(error.contains("format 2"), "{error}");
    }

    #[test]
    fn the_previous_digest_sees_every_entry() {
        let mut previous = Previous::default();
        let empty = previous_digest(&previous);
        previous.changelog.insert("Partition 0".into(), 1);
        let one = previous_digest(&previous);
        assert_ne!(empty, one);
        previous
            .standby_container
            .insert("Standby-Partition 0-0".into(), "0-0".into());
        assert_ne!(one, previous_digest(&previous));
    }
}
