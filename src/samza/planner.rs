//! The whole pipeline of Samza's `JobModelCalculator#calculateJobModel` (spec 2.7). CONTRACT STUB.

use std::collections::{BTreeMap, BTreeSet};

use super::{changelog::TopicSpec, Config, JobModel, SamzaError, Ssp, SystemStream};

/// What the planner needs to be told about the outside world before it can plan a job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputRequest {
    /// Streams whose partition counts are needed (from `task.inputs`).
    pub streams: BTreeSet<SystemStream>,
    /// Systems whose full topic list is needed (for `RegExTopicGenerator` rewriters).
    pub topic_lists: BTreeSet<String>,
}

/// Partition facts gathered by a partition source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionFacts {
    /// Partition count per stream.
    pub counts: BTreeMap<SystemStream, u32>,
    /// Every topic name per system (only for systems listed in `InputRequest::topic_lists`).
    pub topics: BTreeMap<String, BTreeSet<String>>,
}

/// What Samza's coordinator stream would remember from earlier deployments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Previous {
    /// `set-changelog`: task name → changelog partition. Never shrinks.
    pub changelog: BTreeMap<String, u32>,
    /// `set-task-container-assignment`: active task name → container id.
    pub task_container: BTreeMap<String, String>,
    /// Previous task → SSP assignment (active tasks), for the partition-expansion proxy.
    pub task_ssps: BTreeMap<String, BTreeSet<Ssp>>,
}

/// A computed plan: the model plus everything derived from it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The job config after rewriters (this is the model's `config`).
    pub config: Config,
    pub model: JobModel,
    /// The changelog mapping Samza would store after this plan: previous entries win and are never dropped.
    pub changelog_mapping: BTreeMap<String, u32>,
    pub changelog_topics: Vec<TopicSpec>,
    pub internal_topics: Vec<TopicSpec>,
}

pub fn required_inputs(_config: &Config) -> Result<InputRequest, SamzaError> {
    todo!()
}

pub fn plan(_config: &Config, _facts: &PartitionFacts, _previous: Option<&Previous>) -> Result<Plan, SamzaError> {
    todo!()
}
