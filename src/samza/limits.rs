//! How large a job model the planner computes, checked before anything is allocated for it.
//!
//! Samza bounds nothing here: a container count, a partition count, an elasticity or standby factor may each
//! be any `int`, and the model grows with their product. A model must reach the containers, and it goes there
//! in one ConfigMap (the post-renderer gzips a big one into `binaryData`), which Kubernetes caps at 1 MiB. So
//! the planner refuses a model with more than [`MAX_MODEL_SSPS`] task → partition entries (every SSP listed
//! in every task, standby copies included), each time a step of the pipeline is about to multiply them, with
//! a message naming the numbers and the key to change. Samza's own refusals (more containers than tasks) come
//! first wherever they can be decided without building the model.

use super::SamzaError;

/// Task → SSP entries in one job model. One entry is 70 to 140 bytes of JSON; gzipped by the post-renderer
/// it is still 3 bytes in the most compressible model measured (a few SSPs repeated in every task of
/// AllSspToSingleTaskGrouper) and 7 to 12 in ordinary ones, so past about 350,000 entries no model fits in a
/// ConfigMap, and this limit leaves room above that. docs/limits.md has the time and memory measured here.
pub const MAX_MODEL_SSPS: u64 = 500_000;

/// A job model's JSON as read back (a gzipped model ConfigMap, a previous model): far above any model within
/// [`MAX_MODEL_SSPS`], so only a decompression bomb meets it.
pub const MAX_MODEL_JSON_BYTES: u64 = 256 * 1024 * 1024;

/// Refuses a model of `entries` task → SSP entries when that is more than [`MAX_MODEL_SSPS`]; `because`
/// says where the number comes from and what to change.
pub fn check_model_ssps(entries: u64, because: impl FnOnce() -> String) -> Result<(), SamzaError> {
    if entries <= MAX_MODEL_SSPS {
        return Ok(());
    }
    Err(SamzaError::Model {
        message: format!(
            "the job model would list {entries} input partitions over its tasks ({}), more than the \
             {MAX_MODEL_SSPS} helm-samza computes: such a model cannot be carried to the containers (a ConfigMap \
             holds at most 1 MiB). Check the numbers for a typo, or split the job.",
            because()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_only_past_the_limit_and_names_the_cause() {
        assert!(check_model_ssps(MAX_MODEL_SSPS, || unreachable!()).is_ok());
        let err = check_model_ssps(MAX_MODEL_SSPS + 1, || "job.container.count=7".into())
            .unwrap_err()
            .to_string();
        assert!(err.contains("500001 input partitions"), "{err}");
        assert!(err.contains("(job.container.count=7)"), "{err}");
    }
}
