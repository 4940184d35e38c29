//! The `lint` command: render (a chart with `helm template`, or take rendered manifests), run the post-render
//! pipeline offline, then check the result. Needs no cluster and no Kafka: partition counts come from
//! `--partitions`, a lock file or KafkaTopic resources.

use std::{
    collections::{BTreeMap, BTreeSet},
    io::Read,
    path::PathBuf,
};

use clap::{Args, ValueEnum};

use super::{
    find_check, format_json, format_junit, format_sarif, format_text, lint, LintDoc, LintInput,
    LintJob, LintSettings, ModelFacts, Severity,
};
use crate::{
    cli::{OfflineSourceArgs, SourceArgs},
    error::{Error, JobOrigin, Result},
    helm::{default_lock, HelmArgs},
    job,
    manifest::Stream,
    model::SourceInputs,
    render::{self, RenderOptions, RenderedJob},
    samza::{changelog::TopicPurpose, job_model::TaskMode, SamzaError},
};

#[derive(Debug, Args)]
pub struct LintArgs {
    /// `[RELEASE] CHART` (rendered with `helm template`), or a file of rendered manifests, or `-` for stdin.
    #[arg(value_name = "[RELEASE] CHART|FILE|-", num_args = 1..=2, required = true)]
    pub positional: Vec<String>,

    #[command(flatten)]
    pub helm: HelmArgs,

    #[command(flatten)]
    pub source: OfflineSourceArgs,

    #[arg(long, value_enum, default_value_t = LintOutput::Text)]
    pub output: LintOutput,

    /// Warnings fail too.
    #[arg(long)]
    pub strict: bool,

    /// Findings at or above this severity fail the lint.
    #[arg(long = "fail-level", value_name = "SEVERITY", default_value = "error")]
    pub fail_level: Severity,

    /// A check not to run, by id (SZ301) or name (heap-headroom); repeatable.
    #[arg(long, value_name = "CHECK")]
    pub disable: Vec<String>,

    /// Samza version whose JSON shape the models are written in.
    #[arg(long = "samza-version", value_name = "VERSION", default_value = "1.7")]
    pub samza_version: crate::samza::job_model::SamzaVersion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintOutput {
    Text,
    Json,
    Sarif,
    Junit,
}

pub fn run(args: &LintArgs) -> Result<i32> {
    let mut disabled = BTreeSet::new();
    for check in &args.disable {
        if find_check(check).is_none() {
            return Err(Error::Usage(format!(
                "--disable {check}: no such check (see docs/lint.md for the ids and names)"
            )));
        }
        disabled.insert(check.clone());
    }
    let (manifests, source, source_root) = read_input(args)?;
    let inputs = SourceInputs::load(&source)?;
    let mut sources = inputs.fact_sources();
    sources.offline = true;
    let options = RenderOptions {
        sources,
        previous: Default::default(),
        samza_version: args.samza_version,
        allow_unsafe: true,
        keep_going: true,
        reuse_models: true,
    };
    // An unreadable stream is named by what was given: the chart, the file, or `-`.
    let input_name = args.positional.last().expect("clap requires one").clone();
    let name_input = |e| match e {
        Error::Manifest(e) => Error::Job {
            origin: JobOrigin(input_name.clone()),
            message: e.to_string(),
        },
        other => other,
    };
    let rendered = render::render(&manifests, &options).map_err(name_input)?;
    let input =
        lint_input(&rendered.output, &rendered.jobs, rendered.failed).map_err(name_input)?;
    let settings = LintSettings {
        disabled,
        fail_level: args.fail_level,
        strict: args.strict,
        source_root,
    };
    let findings = lint(&input, &settings);
    let text = match args.output {
        LintOutput::Text => format_text(&findings, &input, &settings),
        LintOutput::Json => format_json(&findings, &input, &settings),
        LintOutput::Sarif => format_sarif(&findings, &input, &settings),
        LintOutput::Junit => format_junit(&findings, &input, &settings),
    };
    crate::write_stdout(text.as_bytes())?;
    Ok(super::exit_code(&findings, &settings))
}

/// The manifests to lint, the source settings (with the chart's lock by default) and the SARIF source root.
fn read_input(args: &LintArgs) -> Result<(Vec<u8>, SourceArgs, Option<String>)> {
    let target = args.positional.last().expect("clap requires one");
    let path = PathBuf::from(target);
    if target == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("<stdin>", e))?;
        return Ok((bytes, args.source.to_source_args(), None));
    }
    if path.is_dir() {
        let (release, chart) = crate::helm::release_and_chart(&args.positional);
        let bytes = args.helm.template(&release, &chart)?;
        // Template paths are `<chart name>/templates/...`, relative to the chart's parent folder.
        let root = chart
            .canonicalize()
            .ok()
            .and_then(|c| c.parent().map(|p| p.to_path_buf()))
            .and_then(|p| {
                let cwd = std::env::current_dir().ok()?;
                p.strip_prefix(&cwd).ok().map(|r| r.display().to_string())
            })
            .filter(|r| !r.is_empty());
        return Ok((
            bytes,
            default_lock(&args.source.to_source_args(), &chart),
            root,
        ));
    }
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    Ok((bytes, args.source.to_source_args(), None))
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
    let mut position = std::collections::BTreeMap::new();
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
            Some(at) => render::read_config(
                &input.documents[at].value,
                &JobOrigin(format!("job '{name}'")),
            )
            .map(|(config, _)| config.into_map())
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
        stateful: render::is_stateful(&job.plan),
    }
}
