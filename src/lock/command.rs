//! The `lock` command: render the chart, plan each job with fresh partition counts and the old lock's mappings,
//! and write `samza.lock`; or, with `--verify-live`, compare the lock's counts with Kafka.

use std::{collections::BTreeMap, path::PathBuf};

use clap::Args;

use super::{Discovery, Lock, LockedJob, LOCK_VERSION};
use crate::{
    cli::SourceArgs,
    error::{Error, JobOrigin, Result},
    exit_code,
    helm::{release_and_chart, HelmArgs},
    model::SourceInputs,
    render::{self, RenderOptions},
    samza::job_model::TaskMode,
};

#[derive(Debug, Args)]
pub struct LockArgs {
    /// `[RELEASE] CHART`: the chart to render (the release name only matters to the chart's templates).
    #[arg(value_name = "[RELEASE] CHART", num_args = 1..=2, required = true)]
    pub positional: Vec<String>,

    #[command(flatten)]
    pub helm: HelmArgs,

    #[command(flatten)]
    pub source: SourceArgs,

    /// The lock file to write (and whose mappings to keep). Default: samza.lock beside the chart.
    #[arg(long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Do not write: compare the lock's partition counts with Kafka and fail (exit 17) on any drift.
    #[arg(long = "verify-live")]
    pub verify_live: bool,

    /// Samza version whose JSON shape the digest is computed over.
    #[arg(long = "samza-version", value_name = "VERSION", default_value = "1.7")]
    pub samza_version: crate::samza::job_model::SamzaVersion,
}

pub fn run(args: &LockArgs) -> Result<i32> {
    if args.source.known.lock.is_some() {
        return Err(Error::Usage(
            "lock takes the lock file to write or verify as --file (HELM_SAMZA_LOCK and --lock are for rendering)"
                .into(),
        ));
    }
    let (release, chart) = release_and_chart(&args.positional);
    let path = args
        .file
        .clone()
        .unwrap_or_else(|| chart.join("samza.lock"));
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => Some(Lock::parse(&text).map_err(|message| Error::Previous {
            path: path.clone(),
            message,
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(&path, e)),
    };
    if args.verify_live && existing.is_none() {
        return Err(Error::Usage(format!(
            "--verify-live: there is no lock at {}",
            path.display()
        )));
    }
    let manifests = args.helm.template(&release, &chart)?;

    // Counts come fresh from flags, KafkaTopic resources and Kafka; never from the lock being replaced. The
    // mappings come from the old lock: re-locking must not move state (the lock is the coordinator stream).
    // Verifying compares counts only, so it plans afresh: a count Samza cannot map onto the old tasks is drift
    // to report, not a planning failure to stop at.
    let mut source = args.source.clone();
    source.known.lock = None;
    let inputs = SourceInputs::load(&source)?;
    let mut sources = inputs.fact_sources();
    let old_lock_for_mappings = existing
        .clone()
        .filter(|_| !args.verify_live)
        .map(|mut lock| {
            for job in lock.jobs.values_mut() {
                job.inputs.clear();
                job.topics.clear();
            }
            lock
        });
    sources.lock = old_lock_for_mappings.as_ref();
    let options = RenderOptions {
        sources,
        previous: Default::default(),
        samza_version: args.samza_version,
        allow_unsafe: true,
        keep_going: false,
        reuse_models: false,
    };
    let (_, jobs) = render::post_render(&manifests, &options)?;

    if args.verify_live {
        let existing = existing.expect("checked above");
        let mut drift = Vec::new();
        for job in &jobs {
            let locked = existing.jobs.get(&job.name).cloned().unwrap_or_default();
            for (ss, count) in &job.facts.facts.counts {
                let key = format!("{}.{}", ss.system, ss.stream);
                match locked.inputs.get(&key) {
                    Some(pinned) if pinned == count => {}
                    Some(pinned) => drift.push(format!(
                        "job '{}': {key} has {count} partitions, the lock says {pinned}",
                        job.name
                    )),
                    None => drift.push(format!(
                        "job '{}': {key} ({count} partitions) is not in the lock",
                        job.name
                    )),
                }
            }
        }
        if !drift.is_empty() {
            return Err(Error::Drift {
                origin: JobOrigin(path.display().to_string()),
                message: format!(
                    "the lock no longer matches Kafka: {}. Run `helm samza plan` to see the effect, then \
                     `helm samza lock` to re-lock.",
                    drift.join("; ")
                ),
            });
        }
        eprintln!(
            "{}: matches Kafka for {} job(s)",
            path.display(),
            jobs.len()
        );
        return Ok(exit_code::OK);
    }

    let mut lock = Lock {
        version: LOCK_VERSION,
        jobs: BTreeMap::new(),
    };
    for job in &jobs {
        let model = &job.plan.model;
        let mut locked = LockedJob {
            changelog: job.plan.changelog_mapping.clone(),
            digest: Some(job.digest.clone()),
            ..LockedJob::default()
        };
        for (ss, count) in &job.facts.facts.counts {
            locked
                .inputs
                .insert(format!("{}.{}", ss.system, ss.stream), *count);
        }
        locked.topics = job.facts.facts.topics.clone();
        for (system, records) in &job.facts.records {
            let live = records
                .iter()
                .find(|r| !r.brokers.is_empty())
                .or(records.first());
            if let Some(record) = live {
                locked.discovered.insert(
                    system.clone(),
                    Discovery {
                        source: record.kind.as_str().to_string(),
                        brokers: record.brokers.clone(),
                        at: record.at.clone(),
                    },
                );
            }
        }
        for container in &model.containers {
            for task in container
                .tasks
                .iter()
                .filter(|t| t.mode == TaskMode::Active)
            {
                locked
                    .assignment
                    .insert(task.name.clone(), container.id.clone());
                locked.task_inputs.insert(
                    task.name.clone(),
                    task.ssps
                        .iter()
                        .map(|s| (s.system.to_string(), s.stream.to_string(), s.partition))
                        .collect(),
                );
            }
        }
        lock.jobs.insert(job.name.clone(), locked);
    }
    crate::output_file::write(&path, lock.to_json().as_bytes(), 0o644)
        .map_err(|e| Error::io(&path, e))?;
    eprintln!("wrote {} ({} job(s))", path.display(), lock.jobs.len());
    Ok(exit_code::OK)
}
