//! What a job was before this render — its *previous state*, what Samza's coordinator stream holds — for Samza's
//! stickiness, for the safety gate and for `plan`'s difference. One type, [`PreviousState`], whatever the source:
//!
//! 1. `--previous`: a Samza job-model JSON, or a saved manifest stream holding model ConfigMaps;
//! 2. the lock's mappings (`samza.lock`, which plays the role of the coordinator stream offline);
//! 3. the job's coordinator stream itself, read from Kafka unless `--offline` ([`read_coordinator_stream`]);
//! 4. for `plan` only, the model in the deployed release (`helm get manifest`).
//!
//! The first that knows the job wins; none is a first deploy. Every source gives the same [`Previous`] for the
//! same deployment, so the planner, the gate and `plan` compute one answer from it.

use std::{collections::BTreeMap, path::Path};

use crate::{
    error::{Error, JobOrigin, Result},
    kafka::{client_settings_for, read_stored_state, Overrides},
    model_configmap,
    plan::Snapshot,
    samza::{coordinator_stream, Config, JobModel, Previous},
};

/// Previous job models by job name; the `None` key applies to every job.
pub type PreviousModels = BTreeMap<Option<String>, JobModel>;

/// A job's previous state and where it came from (for `plan`'s "compared with" and the model ConfigMap's
/// partition-source annotation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousState {
    pub state: Previous,
    /// `--previous`, `lock file`, `coordinator stream __samza_coordinator_j_1 (brokers …)`, `release r`.
    pub source: String,
}

impl PreviousState {
    /// What the coordinator stream holds after `model` was deployed.
    pub fn from_model(model: &JobModel, source: impl Into<String>) -> PreviousState {
        PreviousState {
            state: Previous::from_model(model),
            source: source.into(),
        }
    }

    /// What a plan compares the new model with.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::from_previous(&self.state)
    }
}

/// What reading a job's coordinator stream found.
#[derive(Debug)]
pub enum StreamState {
    /// The job's coordinator system is not a Kafka system: there is nothing to read.
    NotKafka,
    /// The topic does not exist: a first deploy.
    Absent { topic: String },
    /// The stream was read; the state may be empty (the topic exists, nothing was written yet).
    Read(PreviousState),
}

/// Reads the coordinator stream of the job `config` describes (`job.coordinator.system`, else
/// `job.default.system`), with the same Kafka client settings as partition discovery. An error names the topic,
/// the brokers and what went wrong; whether it stops the render is the caller's decision (it does for a job with
/// state).
pub fn read_coordinator_stream(
    config: &Config,
    overrides: &Overrides,
) -> Result<StreamState, String> {
    let system = coordinator_stream::stream_system(config).map_err(|e| e.to_string())?;
    let factory_key = format!("systems.{system}.samza.factory");
    if config
        .get(&factory_key)
        .is_some_and(|factory| !factory.contains("KafkaSystemFactory"))
    {
        return Ok(StreamState::NotKafka);
    }
    let topic = coordinator_stream::stream_name(config).map_err(|e| e.to_string())?;
    let settings = client_settings_for(system, config.as_map(), overrides)
        .map_err(|e| format!("coordinator stream `{topic}`: {e}"))?;
    let note = crate::kafka::WaitNote::start(|| {
        format!(
            "the coordinator stream {topic} at {} (up to {})",
            settings.brokers(),
            humantime::format_duration(settings.timeout)
        )
    });
    let read = read_stored_state(&settings, system, &topic).map_err(|e| e.to_string());
    drop(note);
    match read? {
        None => Ok(StreamState::Absent { topic }),
        Some(stored) => Ok(StreamState::Read(PreviousState {
            state: stored.previous(),
            source: format!(
                "coordinator stream {topic} (brokers {})",
                settings.brokers()
            ),
        })),
    }
}

/// The refusal for a job with state whose coordinator stream could not be read.
pub fn unreadable_stream(origin: &JobOrigin, reason: &str) -> Error {
    Error::PreviousState {
        origin: origin.clone(),
        message: format!(
            "cannot read the job's stored state, so its changelog mapping cannot be kept: {reason}. Fix the \
             access (bootstrap servers, TLS/SASL settings, ACLs: DESCRIBE and READ on the topic, see \
             docs/coordinator-stream.md), or give the previous state another way: a lock (--lock FILE, written \
             by `helm samza lock`) or the deployed model (--previous FILE from `helm get manifest RELEASE`)"
        ),
    }
}

/// Every `--previous` entry, read.
pub fn read_previous_args(entries: &[String]) -> Result<PreviousModels> {
    let mut previous = BTreeMap::new();
    for entry in entries {
        previous.extend(read_previous_arg(entry)?);
    }
    Ok(previous)
}

/// Reads a job-model JSON file of any Samza version's shape.
pub fn read_model_file(path: &Path) -> Result<JobModel> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    JobModel::from_json(&text).map_err(|e| Error::Previous {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// `--previous [JOB=]FILE`: a job-model JSON (for JOB, or every job), or a saved manifest stream holding
/// model ConfigMaps (each for its own job).
fn read_previous_arg(entry: &str) -> Result<PreviousModels> {
    let (job, path) = match entry.split_once('=') {
        Some((job, path)) if !job.is_empty() && !job.contains('/') => (Some(job.to_string()), path),
        _ => (None, entry),
    };
    let path = std::path::Path::new(path);
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let looks_like_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if looks_like_json {
        let text = String::from_utf8_lossy(&bytes);
        let model = JobModel::from_json(&text).map_err(|e| Error::Previous {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        return Ok([(job, model)].into());
    }
    let models = model_configmap::models_in_stream(&bytes).map_err(|e| Error::Previous {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if models.is_empty() {
        return Err(Error::Previous {
            path: path.to_path_buf(),
            message: "neither a job-model JSON nor a manifest stream with helm-samza job-model ConfigMaps".into(),
        });
    }
    let chosen: PreviousModels = models
        .into_iter()
        .filter(|(name, _)| job.as_ref().is_none_or(|j| j == name))
        .map(|(name, model)| (Some(name), model))
        .collect();
    if chosen.is_empty() {
        // A mistyped job name would silently leave the job without its previous state (and the gate open).
        return Err(Error::Previous {
            path: path.to_path_buf(),
            message: format!("holds no job model for job '{}'", job.unwrap_or_default()),
        });
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::lock::LockedJob;
    use crate::plan::{diff, hazards, is_stateful};
    use crate::samza::coordinator_stream::Header;
    use crate::samza::invariants::{is_samza_refusal, job, Job};
    use crate::samza::stored_state::{start_messages, Record, StoredState};
    use crate::samza::{plan, Plan, SamzaVersion};

    /// What `plan` prints for one job and the post-renderer deploys: the new model's bytes, the difference with
    /// the previous state and the gate's findings, or Samza's refusal.
    fn outcome(job: &Job, previous: &PreviousState) -> String {
        match plan(&job.config(), &job.facts(), Some(&previous.state)) {
            Ok(new) => {
                let d = diff(&previous.snapshot(), &Snapshot::from_model(&new.model));
                let found = hazards(&d, is_stateful(&new));
                serde_json::json!({
                    "model": new.model.to_json(SamzaVersion::default()),
                    "mapping": new.changelog_mapping,
                    "diff": d,
                    "hazards": found,
                })
                .to_string()
            }
            Err(e) => format!("refused: {e}"),
        }
    }

    /// The previous state of one deployment from every source: the model itself (`--previous`), the same model
    /// read back from its JSON (the deployed release), the lock `helm samza lock` pins from its plan, and the
    /// coordinator stream its coordinator writes on start, as bytes folded back.
    fn every_source(before: &Plan) -> Vec<PreviousState> {
        let json = before.model.to_json(SamzaVersion::default());
        let released = JobModel::from_json(&json).expect("our own JSON");
        let locked = LockedJob::pin(before, "sha256:0", &Default::default(), &Default::default())
            .previous()
            .unwrap_or_default();
        let messages = start_messages(None, &before.model, &Header::helm_samza(1_700_000_000_000));
        let records = messages.iter().enumerate().map(|(offset, m)| Record {
            offset: offset as i64,
            key: Some(&m.key),
            value: m.value.as_deref(),
        });
        let stored = StoredState::decode(records).expect("what we write reads back");
        vec![
            PreviousState::from_model(&before.model, "model"),
            PreviousState::from_model(&released, "release"),
            PreviousState {
                state: locked,
                source: "lock".into(),
            },
            PreviousState {
                state: stored.previous(),
                source: "stream".into(),
            },
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

        /// The same previous state through any source gives the same plan: same model bytes, same difference,
        /// same gate findings (or the same refusal).
        #[test]
        fn one_previous_state_through_any_source_gives_one_plan(
            current in job(),
            earlier_containers in 1u32..7,
            grow in 1u32..4,
        ) {
            let earlier = Job {
                containers: earlier_containers,
                counts: current.counts.iter().map(|c| c.div_ceil(grow)).collect(),
                ..current.clone()
            };
            let before = match plan(&earlier.config(), &earlier.facts(), None) {
                Ok(p) => p,
                Err(e) if is_samza_refusal(&e) => return Ok(()),
                Err(e) => return Err(TestCaseError::fail(format!("{e} for {earlier:?}"))),
            };
            let sources = every_source(&before);
            let snapshot = Snapshot::from_model(&before.model);
            for source in &sources {
                prop_assert_eq!(&source.snapshot(), &snapshot, "{} as a snapshot", source.source);
            }
            let grown = Job {
                counts: earlier.counts.iter().map(|c| c * grow).collect(),
                ..current.clone()
            };
            let expected = outcome(&grown, &sources[0]);
            for source in &sources[1..] {
                prop_assert_eq!(&outcome(&grown, source), &expected, "through the {}", source.source);
            }
        }
    }
}
