//! The linter's view of a render: every document of the post-rendered stream plus, per job, its config and the
//! facts of its computed model (or Samza's refusal), built from the pipeline's [`Rendered`] value.

use std::collections::BTreeMap;

use super::{LintDoc, LintInput, LintJob, ModelFacts};
use crate::{
    error::{Error, JobOrigin, Result},
    job, job_config,
    manifest::Stream,
    plan::is_stateful,
    render::{Rendered, RenderedJob},
    samza::{changelog::TopicPurpose, job_model::TaskMode, SamzaError},
};

impl LintInput {
    /// The linter's view of what the pipeline produced.
    pub fn from_rendered(rendered: Rendered) -> Result<LintInput> {
        lint_input(&rendered.output, &rendered.jobs, rendered.failed)
    }
}

/// Builds the linter's view of the post-rendered stream.
fn lint_input(
    output: &[u8],
    jobs: &[RenderedJob],
    failed: Vec<(String, Error)>,
) -> Result<LintInput> {
    let refusals = split_failures(failed)?;
    let stream = Stream::from_bytes(output)?;
    let scan = job::scan(&stream)?;
    let mut input = LintInput::default();
    let mut position = BTreeMap::new();
    for (index, doc) in stream.documents().iter().enumerate() {
        let Some(head) = doc.head()? else { continue };
        position.insert(index, input.documents.len());
        input.documents.push(LintDoc {
            index: input.documents.len(),
            source: stream.source_of(index),
            kind: head.kind,
            name: head.name,
            namespace: head.namespace,
            value: doc.value()?,
            raw_len: doc.raw().len(),
        });
    }
    for (name, docs) in &scan.jobs {
        let config_doc = docs.configs.first().and_then(|i| position.get(i).copied());
        let config = match config_doc {
            Some(at) => job_config::read_config(
                &input.documents[at].value,
                &JobOrigin(format!("job '{name}'")),
            )
            .map(|(config, _)| config)
            .unwrap_or_default(),
            None => Default::default(),
        };
        let mut workers: Vec<_> = docs.workers.clone();
        workers.sort_by_key(|w| (w.standby.is_some(), w.standby, w.index));
        let model = match jobs.iter().find(|j| &j.name == name) {
            Some(job) => Ok(facts_of(job)),
            None => Err(refusals
                .get(name)
                .cloned()
                .unwrap_or_else(|| "the job was not planned".into())),
        };
        input.jobs.push(LintJob {
            name: name.clone(),
            config_doc,
            worker_docs: workers
                .iter()
                .filter_map(|w| position.get(&w.index).copied())
                .collect(),
            coordinator_docs: docs
                .coordinators
                .iter()
                .filter_map(|i| position.get(i).copied())
                .collect(),
            config,
            model,
        });
    }
    Ok(input)
}

/// Samza's own refusals (config values, the model) are findings; anything else (no partition count, a template
/// error, an unreadable document) means the job cannot be linted, and fails the command with its own code.
fn split_failures(failed: Vec<(String, Error)>) -> Result<BTreeMap<String, String>> {
    let mut refusals = BTreeMap::new();
    for (name, err) in failed {
        match err {
            Error::Samza {
                source:
                    source @ (SamzaError::Config { .. }
                    | SamzaError::Model { .. }
                    | SamzaError::Properties { .. }),
                ..
            } => {
                refusals.insert(name, source.to_string());
            }
            Error::Job { message, .. } => {
                refusals.insert(name, message);
            }
            other => return Err(other),
        }
    }
    Ok(refusals)
}

fn facts_of(job: &RenderedJob) -> ModelFacts {
    let model = &job.plan.model;
    let active: Vec<_> = model
        .containers
        .iter()
        .filter(|c| c.tasks.iter().all(|t| t.mode == TaskMode::Active))
        .collect();
    ModelFacts {
        containers: active.len(),
        tasks_per_container: active
            .iter()
            .map(|c| (c.id.clone(), c.tasks.len()))
            .collect(),
        tasks: active.iter().map(|c| c.tasks.len()).sum(),
        max_changelog_partitions: model.max_changelog_partitions(),
        changelog_topics: job
            .plan
            .changelog_topics
            .iter()
            .filter(|t| matches!(t.purpose, TopicPurpose::Changelog { .. }))
            .map(|t| t.name.clone())
            .collect(),
        stateful: is_stateful(&job.plan),
    }
}
