//! The Samza job-model planner: what Apache Samza computes for a job, restated in Rust.
//!
//! Pure: no I/O, no clock, no randomness. Partition facts and the previous assignment come in as values;
//! the same inputs always give the same bytes out. The pipeline mirrors Samza's
//! `JobModelCalculator#calculateJobModel` (see `planner.rs`).

pub mod assignment;
pub mod changelog;
pub mod config;
pub mod coordinator_stream;
pub mod grouper;
#[cfg(test)]
pub(crate) mod invariants;
pub mod job_model;
pub mod limits;
pub mod planner;
pub mod properties;
pub mod stored_state;
pub mod stream;

pub use changelog::{TopicPurpose, TopicSpec};
pub use config::Config;
pub use job_model::{ContainerModel, JobModel, SamzaVersion, TaskMode, TaskModel};
pub use planner::{
    apply_rewriters, plan, required_inputs, InputRequest, PartitionFacts, Plan, Previous,
};
pub use stored_state::StoredState;
pub use stream::{Ssp, SystemStream};

/// Everything the planner can refuse, each naming the config key (or stream) at fault.
#[derive(Debug, thiserror::Error)]
pub enum SamzaError {
    /// A config value Samza would reject (`key`, the raw value, and Samza's sentence).
    #[error("config key '{key}': {message}")]
    Config { key: String, message: String },
    /// Samza would refuse to build this job model (e.g. more containers than tasks).
    #[error("{message}")]
    Model { message: String },
    /// An input stream whose partition count the planner was not given.
    #[error("no partition count for input stream '{stream}' (from {key})")]
    MissingPartitions { stream: String, key: String },
    /// A regex rewriter whose system's topic list the planner was not given.
    #[error("no topic list for system '{system}' (needed by {key})")]
    MissingTopics { system: String, key: String },
    /// A previous job model that cannot be read.
    #[error("previous job model: {message}")]
    Previous { message: String },
    /// Properties text that `java.util.Properties#load` would reject.
    #[error("properties line {line}: {message}")]
    Properties { line: usize, message: String },
}
