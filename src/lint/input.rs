//! The linter's view of a render: every document of the post-rendered stream plus, per job, its config and the
//! facts of its computed model (or Samza's refusal), built from the pipeline's [`Rendered`] value.

use std::collections::BTreeMap;

use super::{LintDoc, LintInput, LintJob, ModelFacts};
use crate::{
    error::{Error, JobOrigin, Result},
    job::Scan,
    job_config,
    manifest::{EditedDocument, Stream},
    plan::is_stateful,
    render::{Rendered, RenderedJob},
    samza::{changelog::TopicPurpose, job_model::TaskMode, SamzaError},
};

impl LintInput {
    /// The linter's view of what the pipeline produced: its edited documents and the jobs it found, as values;
    /// the written output is not read back.
    pub fn from_rendered(rendered: Rendered) -> Result<LintInput> {
        let refusals = split_failures(rendered.failed)?;
        match &rendered.parsed {
            Some(parsed) => lint_input(
                &parsed.stream.edited(),
                &parsed.scan,
                &rendered.jobs,
                &refusals,
            ),
            None => {
                // The pass-through path split nothing: the stream holds no Samza job, only documents to check.
                let stream = Stream::from_bytes(&rendered.output)?;
                let unchanged = stream.edited();
                lint_input(&unchanged, &Scan::default(), &rendered.jobs, &refusals)
            }
        }
    }
}

/// Builds the linter's view of the post-rendered stream.
fn lint_input(
    documents: &[EditedDocument],
    scan: &Scan,
    jobs: &[RenderedJob],
    refusals: &BTreeMap<String, String>,
) -> Result<LintInput> {
    let mut input = LintInput::default();
    // Input stream index → position in `input.documents`.
    let mut position = BTreeMap::new();
    for edited in documents {
        let doc = &edited.document;
        let Some(head) = doc.head()? else { continue };
        if let Some(index) = edited.input_index {
            position.insert(index, input.documents.len());
        }
        input.documents.push(LintDoc {
            index: input.documents.len(),
            source: edited.source.clone(),
            kind: head.kind,
            name: head.name,
            namespace: head.namespace,
            value: doc.value()?,
            raw_len: doc.raw().len(),
            text: doc.raw().to_owned(),
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
        json_bytes: job.model_json_bytes,
        hazards: job
            .hazards
            .iter()
            .map(|h| {
                format!(
                    "[{}] {} (compared with {})",
                    h.id,
                    h.message,
                    job.previous.as_ref().map_or("", |p| p.source.as_str())
                )
            })
            .collect(),
    }
}
