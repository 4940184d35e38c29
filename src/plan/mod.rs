//! What a deploy will do to a job's model: the difference between the previous model and the new one, and the
//! safety gate that refuses changes which would endanger a stateful job's state.
//!
//! Pure: both models come in as values. `helm samza plan` (`command::plan`) prints the difference; the
//! post-render pipeline (`render`) runs the gate whenever it knows the previous model (a lock file or
//! `--previous`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::samza::{changelog::TopicPurpose, job_model::TaskMode, JobModel, Plan, Previous};

/// A job with changelogged stores: its state lives in Kafka partitions that must not move.
pub fn is_stateful(plan: &Plan) -> bool {
    plan.changelog_topics
        .iter()
        .any(|t| matches!(t.purpose, TopicPurpose::Changelog { .. }))
}

/// One input stream's partition count, before and after (`None`: not an input then).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputChange {
    pub stream: String,
    pub before: Option<u32>,
    pub after: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskMove {
    pub task: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangelogChange {
    pub task: String,
    pub before: u32,
    pub after: u32,
}

/// The difference between two models of one job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ModelDiff {
    pub inputs: Vec<InputChange>,
    pub containers_before: usize,
    pub containers_after: usize,
    pub containers_added: Vec<String>,
    pub containers_removed: Vec<String>,
    pub tasks_added: Vec<String>,
    pub tasks_removed: Vec<String>,
    pub tasks_moved: Vec<TaskMove>,
    /// New tasks and the changelog partition each gets.
    pub changelog_added: BTreeMap<String, u32>,
    /// Tasks whose changelog partition changed: their state would be read from another task's partition.
    pub changelog_changed: Vec<ChangelogChange>,
    pub changelog_partitions_before: u32,
    pub changelog_partitions_after: u32,
    pub standby_before: usize,
    pub standby_after: usize,
    /// Active tasks that are gone, with the changelog partition that held their state (for the gate).
    #[serde(skip)]
    pub active_tasks_removed: Vec<(String, u32)>,
}

impl ModelDiff {
    pub fn has_changes(&self) -> bool {
        self.inputs.iter().any(|i| i.before != i.after)
            || self.containers_before != self.containers_after
            || !self.tasks_added.is_empty()
            || !self.tasks_removed.is_empty()
            || !self.tasks_moved.is_empty()
            || !self.changelog_changed.is_empty()
            || self.changelog_partitions_before != self.changelog_partitions_after
            || self.standby_before != self.standby_after
    }
}

/// What a plan compares: a job's inputs and where each task runs and keeps its state. The new side is built from
/// the new model; the old side from the job's previous state, whatever its source (`Snapshot::from_previous`):
/// a model, a lock and the coordinator stream all give the same snapshot for the same deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Partition count per input stream, `system.stream`.
    pub inputs: BTreeMap<String, u32>,
    /// Task name → (container id, changelog partition, mode).
    pub tasks: BTreeMap<String, (String, u32, TaskMode)>,
    /// Samza never forgets a changelog number; tasks that left keep theirs.
    pub changelog_mapping: BTreeMap<String, u32>,
    pub active_containers: usize,
    pub standby_containers: usize,
}

impl Snapshot {
    /// A model as a plan compares it: the state Samza stores once it is deployed ([`Previous::from_model`]),
    /// so a new model and any previous state are seen the same way. Containers are counted by the tasks they
    /// run (an empty container holds no state to compare).
    pub fn from_model(model: &JobModel) -> Snapshot {
        Snapshot::from_previous(&Previous::from_model(model))
    }

    /// The previous state as a plan compares it: every stored changelog entry (tasks that left keep theirs),
    /// each active and standby task's container, and the input counts the previous tasks' partitions show
    /// (the highest partition + 1, the one answer of `JobModel::input_partition_counts`).
    pub fn from_previous(previous: &Previous) -> Snapshot {
        let mut tasks = BTreeMap::new();
        let partition = |task: &str| previous.changelog.get(task).copied().unwrap_or_default();
        for (task, container) in &previous.task_container {
            tasks.insert(
                task.clone(),
                (container.clone(), partition(task), TaskMode::Active),
            );
        }
        for (task, container) in &previous.standby_container {
            tasks.insert(
                task.clone(),
                (container.clone(), partition(task), TaskMode::Standby),
            );
        }
        let mut inputs: BTreeMap<String, u32> = BTreeMap::new();
        for ssp in previous.task_ssps.values().flatten() {
            let count = inputs.entry(ssp.system_stream().name()).or_default();
            *count = (*count).max(ssp.partition.saturating_add(1));
        }
        let active: BTreeSet<&String> = previous.task_container.values().collect();
        let standby: BTreeSet<&String> = previous.standby_container.values().collect();
        Snapshot {
            inputs,
            tasks,
            changelog_mapping: previous.changelog.clone(),
            active_containers: active.len(),
            standby_containers: standby.len(),
        }
    }

    /// `max-change-log-stream-partitions` of this state: what the changelog topics were created with.
    pub fn changelog_partitions(&self) -> u32 {
        self.changelog_mapping
            .values()
            .map(|p| p + 1)
            .max()
            .unwrap_or(0)
    }
}

pub fn diff(before: &Snapshot, after: &Snapshot) -> ModelDiff {
    let mut diff = ModelDiff::default();
    let streams: BTreeSet<&String> = before.inputs.keys().chain(after.inputs.keys()).collect();
    diff.inputs = streams
        .into_iter()
        .map(|s| InputChange {
            stream: s.clone(),
            before: before.inputs.get(s).copied(),
            after: after.inputs.get(s).copied(),
        })
        .collect();
    diff.containers_before = before.active_containers;
    diff.containers_after = after.active_containers;
    diff.standby_before = before.standby_containers;
    diff.standby_after = after.standby_containers;
    let ids = |s: &Snapshot| -> BTreeSet<String> {
        s.tasks.values().map(|(c, _, _)| c.clone()).collect()
    };
    let (ids_before, ids_after) = (ids(before), ids(after));
    diff.containers_added = ids_after.difference(&ids_before).cloned().collect();
    diff.containers_removed = ids_before.difference(&ids_after).cloned().collect();

    for (task, (container, partition, mode)) in &after.tasks {
        match before.tasks.get(task) {
            None => {
                diff.tasks_added.push(task.clone());
                diff.changelog_added.insert(task.clone(), *partition);
            }
            Some((old_container, old_partition, _)) => {
                if old_container != container && *mode == TaskMode::Active {
                    diff.tasks_moved.push(TaskMove {
                        task: task.clone(),
                        from: old_container.clone(),
                        to: container.clone(),
                    });
                }
                if old_partition != partition {
                    diff.changelog_changed.push(ChangelogChange {
                        task: task.clone(),
                        before: *old_partition,
                        after: *partition,
                    });
                }
            }
        }
    }
    diff.tasks_removed = before
        .tasks
        .keys()
        .filter(|t| !after.tasks.contains_key(*t))
        .cloned()
        .collect();
    diff.active_tasks_removed = before
        .tasks
        .iter()
        .filter(|(t, (_, _, mode))| *mode == TaskMode::Active && !after.tasks.contains_key(*t))
        .map(|(t, (_, partition, _))| (t.clone(), *partition))
        .collect();
    diff.changelog_partitions_before = before.changelog_partitions();
    diff.changelog_partitions_after = after.changelog_partitions();
    diff
}

/// A reason the gate refuses a change, with what would happen to the state and how to proceed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hazard {
    pub id: &'static str,
    pub message: String,
}

/// The safety gate for a job with changelogged stores (`stateful`): changes that would lose or corrupt state.
pub fn hazards(diff: &ModelDiff, stateful: bool) -> Vec<Hazard> {
    let mut found = Vec::new();
    if !stateful {
        return found;
    }
    if !diff.active_tasks_removed.is_empty() {
        let examples: Vec<String> = diff
            .active_tasks_removed
            .iter()
            .take(3)
            .map(|(task, partition)| format!("'{task}' (changelog partition {partition})"))
            .collect();
        found.push(Hazard {
            id: "tasks-removed",
            message: format!(
                "{} task(s) holding state would no longer exist ({}{}): no task would read their changelog \
                 partitions again, so their state would be orphaned. This happens when the SSP grouper, the \
                 elasticity factor or the inputs change the task names (under host affinity Samza itself then \
                 fails to start, with a NullPointerException in GroupByContainerCount). Keep the previous task \
                 names, or move the state yourself and deploy with the gate allowed.",
                diff.active_tasks_removed.len(),
                examples.join(", "),
                if diff.active_tasks_removed.len() > 3 { ", ..." } else { "" }
            ),
        });
    }
    if !diff.changelog_changed.is_empty() {
        let examples: Vec<String> = diff
            .changelog_changed
            .iter()
            .take(3)
            .map(|c| format!("'{}' {} → {}", c.task, c.before, c.after))
            .collect();
        found.push(Hazard {
            id: "changelog-partition-changed",
            message: format!(
                "{} task(s) would restore their state from another changelog partition ({}{}): their state would be \
                 mixed with another task's. Deploy with the previous model's mapping (a samza.lock file or --previous) \
                 so Samza's stored changelog mapping is kept.",
                diff.changelog_changed.len(),
                examples.join(", "),
                if diff.changelog_changed.len() > 3 { ", ..." } else { "" }
            ),
        });
    }
    if diff.changelog_partitions_after > diff.changelog_partitions_before
        && diff.changelog_partitions_before > 0
    {
        found.push(Hazard {
            id: "changelog-partitions-grow",
            message: format!(
                "the changelog topics would need {} partitions but have {}: Samza refuses to start ('Mismatch of \
                 partitions for stream'). Add partitions to every changelog topic first (the new tasks start with \
                 empty state), then deploy with the gate allowed.",
                diff.changelog_partitions_after, diff.changelog_partitions_before
            ),
        });
    }
    for input in &diff.inputs {
        if let (Some(before), Some(after)) = (input.before, input.after) {
            if before != after && after % before != 0 {
                found.push(Hazard {
                    id: "input-partitions-unmappable",
                    message: format!(
                        "input {} goes from {before} to {after} partitions; Samza's partition expansion can map new \
                         partitions onto old tasks only when the new count is a multiple of the old one, so keyed \
                         state would be split across tasks. Choose a multiple of {before}.",
                        input.stream
                    ),
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(inputs: &[(&str, u32)], tasks: &[(&str, &str, u32)]) -> Snapshot {
        let tasks: BTreeMap<String, (String, u32, TaskMode)> = tasks
            .iter()
            .map(|(t, c, p)| (t.to_string(), (c.to_string(), *p, TaskMode::Active)))
            .collect();
        Snapshot {
            inputs: inputs.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
            changelog_mapping: tasks.iter().map(|(t, (_, p, _))| (t.clone(), *p)).collect(),
            active_containers: tasks
                .values()
                .map(|(c, _, _)| c.clone())
                .collect::<BTreeSet<_>>()
                .len(),
            standby_containers: 0,
            tasks,
        }
    }

    #[test]
    fn diff_names_moves_additions_and_changelog_changes() {
        let before = snapshot(
            &[("kafka.a", 2)],
            &[("Partition 0", "0", 0), ("Partition 1", "1", 1)],
        );
        let after = snapshot(
            &[("kafka.a", 3)],
            &[
                ("Partition 0", "1", 0),
                ("Partition 1", "0", 2),
                ("Partition 2", "0", 3),
            ],
        );
        let d = diff(&before, &after);
        assert_eq!(d.tasks_added, ["Partition 2"]);
        assert_eq!(d.changelog_added["Partition 2"], 3);
        assert_eq!(d.tasks_moved.len(), 2);
        assert_eq!(
            d.changelog_changed,
            [ChangelogChange {
                task: "Partition 1".into(),
                before: 1,
                after: 2
            }]
        );
        assert_eq!(
            (d.changelog_partitions_before, d.changelog_partitions_after),
            (2, 4)
        );
        assert!(d.has_changes());
        assert!(!diff(&before, &before).has_changes());
    }

    #[test]
    fn the_gate_guards_stateful_jobs_only() {
        let before = snapshot(
            &[("kafka.a", 4)],
            &[("Partition 0", "0", 0), ("Partition 1", "0", 1)],
        );
        let grown = snapshot(
            &[("kafka.a", 6)],
            &[
                ("Partition 0", "0", 0),
                ("Partition 1", "0", 1),
                ("Partition 2", "0", 2),
            ],
        );
        let d = diff(&before, &grown);
        let ids: Vec<&str> = hazards(&d, true).iter().map(|h| h.id).collect();
        assert_eq!(
            ids,
            ["changelog-partitions-grow", "input-partitions-unmappable"]
        );
        assert!(hazards(&d, false).is_empty());
        let moved = snapshot(
            &[("kafka.a", 4)],
            &[("Partition 0", "0", 1), ("Partition 1", "0", 0)],
        );
        let ids: Vec<&str> = hazards(&diff(&before, &moved), true)
            .iter()
            .map(|h| h.id)
            .collect();
        assert_eq!(ids, ["changelog-partition-changed"]);
    }

    /// A grouper change renames every task: the old tasks' state is orphaned.
    #[test]
    fn the_gate_refuses_removing_stateful_tasks() {
        let before = snapshot(
            &[("kafka.t", 2)],
            &[("Partition 0", "0", 0), ("Partition 1", "1", 1)],
        );
        let renamed = snapshot(
            &[("kafka.t", 2)],
            &[
                ("SystemStreamPartition [kafka, t, 0]", "0", 2),
                ("SystemStreamPartition [kafka, t, 1]", "1", 3),
            ],
        );
        let d = diff(&before, &renamed);
        let found = hazards(&d, true);
        let ids: Vec<&str> = found.iter().map(|h| h.id).collect();
        assert_eq!(ids, ["tasks-removed", "changelog-partitions-grow"]);
        assert!(
            found[0]
                .message
                .contains("'Partition 0' (changelog partition 0)")
                && found[0].message.contains("orphaned"),
            "{}",
            found[0].message
        );
        assert!(hazards(&d, false).is_empty());
        // Standby tasks that go away (a lower replication factor) hold no state of their own.
        let mut with_standby = before.clone();
        with_standby.tasks.insert(
            "Standby-Partition 0-0".into(),
            ("0-0".into(), 0, TaskMode::Standby),
        );
        assert!(hazards(&diff(&with_standby, &before), true).is_empty());
    }

    /// A model whose SSP matcher kept partitions 0 and 2 of a 3-partition stream: plan and the coordinator give
    /// the one answer of `JobModel::input_partition_counts`, the highest partition + 1.
    #[test]
    fn plan_and_coordinator_agree_on_the_counts_a_model_was_computed_with() {
        let json = r#"{"config":{"job.name":"j"},"containers":{"0":{"processor-id":"0","tasks":{
            "Partition 0":{"task-name":"Partition 0","changelog-partition":0,
              "system-stream-partitions":[{"system":"kafka","partition":0,"stream":"a"}]},
            "Partition 2":{"task-name":"Partition 2","changelog-partition":1,
              "system-stream-partitions":[{"system":"kafka","partition":2,"stream":"a"}]}}}},
            "max-change-log-stream-partitions":2}"#;
        let model = JobModel::from_json(json).unwrap();
        assert_eq!(Snapshot::from_model(&model).inputs["kafka.a"], 3);
        let coordinator = crate::coordinator::ModelFacts::parse(json.as_bytes()).unwrap();
        assert_eq!(coordinator.partitions["kafka"]["a"], 3);
    }
}
