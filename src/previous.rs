//! What a job was before this render, for Samza's stickiness and for the safety gate: a previous job model
//! (`--previous`: a Samza JSON file, or a saved manifest stream holding model ConfigMaps) or, without one, the
//! lock's mappings.

use std::{collections::BTreeMap, path::Path};

use crate::{
    error::{Error, Result},
    lock::LockedJob,
    model_configmap,
    samza::{JobModel, Previous},
};

/// Previous job models by job name; the `None` key applies to every job.
pub type PreviousModels = BTreeMap<Option<String>, JobModel>;

/// Samza's previous state for a job: a previous model wins, else the lock's mappings (the lock plays the role of
/// Samza's coordinator stream), else none (a first deploy).
pub fn previous_state(model: Option<&JobModel>, lock: Option<&LockedJob>) -> Option<Previous> {
    match model {
        Some(model) => Some(Previous::from_model(model)),
        None => lock.and_then(LockedJob::previous),
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
