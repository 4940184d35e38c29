//! What the coordinator does with the job's coordinator stream when it starts, as Samza's cluster-based
//! coordinator does before it starts containers: read what is stored, then write the model's task assignments
//! and its changelog mapping merged with the stored one (stored entries win, none is removed, standby tasks
//! included), creating the topic (one partition, compacted) on a first deploy. The next render — on
//! Kubernetes, or back on YARN — then finds the mapping there.
//!
//! A stream that is present but cannot be read stops the write: writing over state that could not be read
//! would replace Samza's record with a guess.
//!
//! The model's tasks whose stored changelog partition is another one are returned as conflicts: Samza's rule
//! keeps the stored partition, so the served model disagrees with Samza's record for them (`writer` reports it).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::kafka::{
    client_settings_for, read_stored_state, write_message_stream, CoordinatorStreamError,
    KafkaError, Overrides,
};
use crate::samza::changelog::{internal_topics, TopicPurpose};
use crate::samza::coordinator_stream::{stream_system, Header};
use crate::samza::stored_state::for_each_start_message;
use crate::samza::{JobModel, SamzaError, StoredState};

/// What a write-back did, for the coordinator's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteBack {
    pub system: String,
    pub topic: String,
    /// The stream did not exist before (it was created).
    pub first_deploy: bool,
    /// Messages written (sets and deletes).
    pub messages: usize,
    /// Changelog entries stored after the write.
    pub changelog_entries: usize,
    /// Tasks of the model whose stored changelog partition is another one, by task name. The stored entry was
    /// kept (Samza's rule), so the served model would make these tasks restore another task's state.
    pub conflicts: Vec<ChangelogConflict>,
}

/// A task whose changelog partition in the model is not the one Samza stored for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangelogConflict {
    pub task: String,
    /// The partition in the coordinator stream (kept).
    pub stored: u32,
    /// The partition in the served model.
    pub model: u32,
}

impl std::fmt::Display for ChangelogConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: stored {}, model {}",
            self.task, self.stored, self.model
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteBackError {
    /// The model's config does not say where the stream is.
    #[error("coordinator stream: {0}")]
    Config(#[from] SamzaError),
    /// The Kafka client settings for the stream's system are incomplete or invalid.
    #[error("coordinator stream: {0}")]
    Settings(#[from] KafkaError),
    #[error(transparent)]
    Stream(#[from] CoordinatorStreamError),
}

/// Reads the stream of `model`'s job and writes what Samza's coordinator writes on start. `overrides` are the
/// coordinator's Kafka settings (the same scheme as partition discovery); `now` stamps the messages.
pub fn write_back(
    model: &JobModel,
    overrides: &Overrides,
    now: SystemTime,
) -> Result<WriteBack, WriteBackError> {
    let config = &model.config;
    let system = stream_system(config)?.to_owned();
    let spec = internal_topics(config)?
        .into_iter()
        .find(|spec| spec.purpose == TopicPurpose::CoordinatorStream)
        .expect("a job with a coordinator system has a coordinator stream");
    let settings = client_settings_for(&system, config.as_map(), overrides)?;
    let stored = read_stored_state(&settings, &system, &spec.name)?;
    let first_deploy = stored.is_none();
    let timestamp = now.duration_since(UNIX_EPOCH).map_or(0, |since| {
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    });
    let header = Header::helm_samza(timestamp);
    let messages = write_message_stream(&settings, &spec, &mut |send| {
        for_each_start_message(stored.as_ref(), model, &header, &mut |message| {
            send(&message)
        })
    })?;
    let stored = stored.unwrap_or_default();
    let changelog_entries = stored.merged_changelog(model).len();
    Ok(WriteBack {
        system,
        topic: spec.name,
        first_deploy,
        messages,
        changelog_entries,
        conflicts: conflicts(&stored, model),
    })
}

/// The model's tasks that Samza stored with another changelog partition, in task-name order.
fn conflicts(stored: &StoredState, model: &JobModel) -> Vec<ChangelogConflict> {
    let mut conflicts: Vec<ChangelogConflict> = model
        .tasks()
        .filter_map(|task| {
            let stored = *stored.changelog.get(&task.name)?;
            (stored != task.changelog_partition).then(|| ChangelogConflict {
                task: task.name.clone(),
                stored,
                model: task.changelog_partition,
            })
        })
        .collect();
    conflicts.sort_by(|a, b| a.task.cmp(&b.task));
    conflicts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samza::job_model::{ContainerModel, TaskModel};
    use crate::samza::{Config, TaskMode};

    #[test]
    fn conflicts_are_the_models_tasks_stored_with_another_partition() {
        let task = |name: &str, changelog_partition, mode| TaskModel {
            name: name.into(),
            ssps: Vec::new(),
            changelog_partition,
            mode,
        };
        let model = JobModel::new(
            Config::default(),
            vec![
                ContainerModel {
                    id: "0".into(),
                    tasks: vec![
                        task("Partition 10", 3, TaskMode::Active),
                        task("Partition 1", 0, TaskMode::Active),
                        task("Partition 2", 2, TaskMode::Active),
                    ],
                },
                ContainerModel {
                    id: "0-0".into(),
                    tasks: vec![task("Standby-Partition 1-0", 0, TaskMode::Standby)],
                },
            ],
        );
        let stored = StoredState {
            changelog: [
                ("Partition 10", 1),
                ("Partition 1", 0),
                ("Partition 9", 5),
                ("Standby-Partition 1-0", 4),
            ]
            .into_iter()
            .map(|(task, partition)| (task.to_owned(), partition))
            .collect(),
            ..StoredState::default()
        };
        let found = conflicts(&stored, &model);
        assert_eq!(
            found.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "Partition 10: stored 1, model 3",
                "Standby-Partition 1-0: stored 4, model 0"
            ],
            "tasks only stored, only in the model, or equal are no conflict"
        );
        assert!(conflicts(&StoredState::default(), &model).is_empty());
    }
}
