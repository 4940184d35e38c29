//! How large a job model the planner computes, checked before anything is allocated for it.
//!
//! Samza bounds nothing here: a container count, a partition count, an elasticity or standby factor may each
//! be any `int`, and the model grows with their product. So the planner refuses a model with more than
//! [`MAX_MODEL_SSPS`] task → partition entries (every SSP listed in every task, standby copies included), each
//! time a step of the pipeline is about to multiply them, with a message naming the numbers and the key to
//! change. Samza's own refusals (more containers than tasks) come first wherever they can be decided without
//! building the model.
//!
//! A model of any size within the limit reaches the containers: one that does not fit a ConfigMap is carried as
//! its inputs and computed again by the coordinator (`model_inputs`), so the bound is the memory of the
//! processes that hold it (the post-renderer, the coordinator), not an object limit of Kubernetes.

use super::SamzaError;

/// Task → SSP entries in one job model. One entry is 70 to 200 bytes of JSON; at the limit the model's JSON is
/// 70 to 200 MB and the post-renderer or coordinator holding it about 0.5 GB (docs/limits.md has the time and
/// memory measured). Samza's own ApplicationMaster serves such a model from one JVM; past it a typo is far more
/// likely than a job.
pub const MAX_MODEL_SSPS: u64 = 1_000_000;

/// A job model's JSON as read back (a gzipped model ConfigMap, joined parts, a previous model): above any model
/// within [`MAX_MODEL_SSPS`] of ordinary names (200 MB at 200 bytes an entry), so only a decompression bomb meets
/// it.
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
             {MAX_MODEL_SSPS} helm-samza computes (docs/limits.md). Check the numbers for a typo, or split the \
             job.",
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
        assert!(err.contains("1000001 input partitions"), "{err}");
        assert!(err.contains("(job.container.count=7)"), "{err}");
    }
}
