//! `helm samza lock`: render the chart, plan each job with fresh partition counts and the old lock's mappings,
//! and write `samza.lock`; or, with `--verify-live`, compare the lock's counts with Kafka. What a lock holds and
//! how a plan is pinned into it belong to `lock`; this file only decides what to render and where to write.

use std::{collections::BTreeMap, path::PathBuf};

use clap::Args;

use crate::{
    error::{Error, JobOrigin, Result},
    exit_code,
    flags::{SamzaVersionArg, SourceArgs},
    helm::ChartArgs,
    lock::{Lock, LockedJob, LOCK_VERSION},
    render::{render, RenderOptions},
};

/// Write (or verify) samza.lock: partition counts and assignments that make renders reproducible offline.
#[derive(Debug, Args)]
#[command(
    after_long_help = "Examples:\n  helm samza lock ./chart -f values.yaml          # writes ./chart/samza.lock\n  \
    helm samza lock ./chart --verify-live            # fails when Kafka drifted from the lock"
)]
pub struct LockArgs {
    #[command(flatten)]
    pub chart: ChartArgs,

    #[command(flatten)]
    pub source: SourceArgs,

    /// The lock file to write (and whose mappings to keep). Default: samza.lock beside the chart.
    #[arg(long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Do not write: compare the lock's partition counts with Kafka and fail (exit 17) on any drift.
    #[arg(long = "verify-live")]
    pub verify_live: bool,

    /// Drop the jobs the lock holds that the render no longer has (renamed or removed jobs), with their changelog
    /// mappings. Without it such a lock is not written (exit 15).
    #[arg(long)]
    pub prune: bool,

    #[command(flatten)]
    pub samza_version: SamzaVersionArg,
}

pub fn run(args: &LockArgs) -> Result<i32> {
    if args.source.known.lock.is_some() {
        return Err(Error::Usage(
            "lock takes the lock file to write or verify as --file (HELM_SAMZA_LOCK and --lock are for rendering)"
                .into(),
        ));
    }
    let (release, chart) = args.chart.release_and_chart();
    let path = args
        .file
        .clone()
        .unwrap_or_else(|| chart.join("samza.lock"));
    let existing = Lock::read_if_present(&path)?;
    if args.verify_live && existing.is_none() {
        return Err(Error::Usage(format!(
            "--verify-live: there is no lock at {}",
            path.display()
        )));
    }
    let manifests = args.chart.helm.template(&release, &chart)?;

    // Counts come fresh from flags, KafkaTopic resources and Kafka; never from the lock being replaced. The
    // mappings come from the job's coordinator stream (unless --offline), else from the old lock: re-locking must
    // not move state.
    // Verifying compares counts only, so it plans afresh: a count Samza cannot map onto the old tasks is drift
    // to report, not a planning failure to stop at.
    let mut source = args.source.clone();
    source.known.lock = None;
    let inputs = source.load()?;
    let mut sources = inputs.fact_sources();
    let old_lock_for_mappings = existing
        .as_ref()
        .filter(|_| !args.verify_live)
        .map(Lock::mappings_only);
    sources.lock = old_lock_for_mappings.as_ref();
    let options = RenderOptions {
        sources,
        previous: Default::default(),
        samza_version: args.samza_version.samza_version,
        model_layout: Default::default(),
        allow_unsafe: true,
        keep_going: false,
        reuse_models: false,
        deployed: None,
        // What Samza stored wins over the old lock: a lock pins the deployed job's mappings.
        stream_over_lock: true,
    };
    let jobs = render(&manifests, &options)?.jobs;
    if jobs.is_empty() {
        return Err(Error::Job {
            origin: JobOrigin(chart.display().to_string()),
            message: format!(
                "the chart renders no Samza job (no ConfigMap labelled {}=NAME and {}=config): nothing to lock",
                crate::job::LABEL_JOB,
                crate::job::LABEL_ROLE
            ),
        });
    }

    if args.verify_live {
        let existing = existing.expect("checked above");
        let mut drift = Vec::new();
        for job in &jobs {
            let pinned = existing.jobs.get(&job.name);
            for (ss, count) in &job.facts.facts.counts {
                let key = ss.name();
                match pinned.and_then(|locked| locked.inputs.get(ss)) {
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
            // What the job's coordinator stream stores (when it was read) must be what the lock pins.
            let (Some(stored), Some(pinned)) = (&job.previous, pinned) else {
                continue;
            };
            let differ: Vec<String> = stored
                .state
                .changelog
                .iter()
                .filter_map(|(task, partition)| match pinned.changelog.get(task) {
                    Some(locked) if locked == partition => None,
                    Some(locked) => Some(format!("'{task}' {partition} (the lock says {locked})")),
                    None => Some(format!("'{task}' {partition} (not in the lock)")),
                })
                .collect();
            if !differ.is_empty() {
                drift.push(format!(
                    "job '{}': the {} stores changelog partitions the lock does not: {}{}",
                    job.name,
                    stored.source,
                    differ[..differ.len().min(3)].join(", "),
                    if differ.len() > 3 {
                        format!(" and {} more", differ.len() - 3)
                    } else {
                        String::new()
                    }
                ));
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
        let locked = LockedJob::pin(&job.plan, &job.digest, &job.facts.facts, &job.facts.records);
        lock.jobs.insert(job.name.clone(), locked);
    }
    if let Some(existing) = &existing {
        let dropped: Vec<&String> = existing
            .jobs
            .keys()
            .filter(|job| !lock.jobs.contains_key(*job))
            .collect();
        if !dropped.is_empty() && !args.prune {
            return Err(Error::Unsafe {
                origin: JobOrigin(path.display().to_string()),
                message: format!(
                    "the lock holds job(s) the render no longer has: {}. Writing it would drop their changelog \
                     mappings (what Samza stored for them); if a job was renamed, its state stays under the old \
                     name. Pass --prune to drop them, or render with the values that still have them.",
                    dropped
                        .iter()
                        .map(|job| format!("'{job}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        for job in dropped {
            eprintln!("{}: dropped job '{job}' (--prune)", path.display());
        }
    }
    crate::output_file::write(&path, lock.to_json().as_bytes(), 0o644)
        .map_err(|e| Error::io(&path, e))?;
    eprintln!("wrote {} ({} job(s))", path.display(), lock.jobs.len());
    Ok(exit_code::OK)
}
