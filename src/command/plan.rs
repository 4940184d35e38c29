//! `helm samza plan`: render the chart, plan each job as the post-renderer would, compare with the previous
//! model (--previous, the lock, or the deployed release) and print the difference; the safety gate decides the
//! exit code. The difference and the gate themselves belong to `plan`; this file chooses the baseline and prints.

use std::io::IsTerminal;

use clap::{Args, ValueEnum};

use serde::Serialize;

use crate::{
    error::{Error, JobOrigin, Result},
    exit_code,
    flags::{AllowUnsafeArg, SamzaVersionArg, SourceArgs},
    helm::ChartArgs,
    model_configmap,
    plan::{diff, is_stateful, Hazard, ModelDiff, Snapshot},
    previous::read_previous_args,
    render::{render, RenderOptions},
    stdio,
};

/// Show what a deploy will do to each job's model, compared with the deployed release or a lock file.
#[derive(Debug, Args)]
#[command(
    after_long_help = "Examples:\n  helm samza plan my-release ./chart -f values.yaml\n  \
    helm samza plan my-release ./chart --lock samza.lock --detailed-exitcode --output json"
)]
pub struct PlanArgs {
    #[command(flatten)]
    pub chart: ChartArgs,

    #[command(flatten)]
    pub source: SourceArgs,

    /// The previous state to plan against instead of the lock, the coordinator stream or the deployed release:
    /// a job-model JSON (`[JOB=]FILE`) or a saved manifest stream (e.g. `helm get manifest` output); repeatable.
    /// The new model keeps stable against it, as the post-renderer's does with the same --previous.
    #[arg(long, value_name = "[JOB=]FILE")]
    pub previous: Vec<String>,

    /// Do not read the deployed release (`helm get manifest`): compare with `--previous` or the lock, or else
    /// plan a first deploy. Without it, a release that cannot be read (no cluster) is an error (exit 18).
    #[arg(long = "no-cluster")]
    pub no_cluster: bool,

    #[arg(long, value_enum, default_value_t = PlanOutput::Table)]
    pub output: PlanOutput,

    /// Exit with 2 when the plan has changes (helm-diff's convention).
    #[arg(long = "detailed-exitcode")]
    pub detailed_exitcode: bool,

    /// No colors, even on a terminal (also: NO_COLOR).
    #[arg(long = "no-color")]
    pub no_color: bool,

    #[command(flatten)]
    pub allow_unsafe: AllowUnsafeArg,

    #[command(flatten)]
    pub samza_version: SamzaVersionArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanOutput {
    Table,
    Json,
    Yaml,
}

/// One job's plan, as printed.
#[derive(Debug, Clone, Serialize)]
pub struct JobPlan {
    pub job: String,
    /// What the new model was compared with.
    pub baseline: String,
    pub first_deploy: bool,
    pub stateful: bool,
    pub containers: usize,
    pub tasks: usize,
    pub model_digest: String,
    /// The length of the model's JSON.
    pub model_json_bytes: u64,
    /// How the model is carried to the coordinator: `inline`, `parts` or `inputs` (docs/limits.md).
    pub model_layout: &'static str,
    pub partition_source: String,
    pub diff: ModelDiff,
    pub hazards: Vec<Hazard>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    pub jobs: Vec<JobPlan>,
    pub summary: String,
    pub changed: bool,
    pub refused: bool,
}

pub fn run(args: &PlanArgs) -> Result<i32> {
    let (release, chart) = args.chart.release_and_chart();
    let manifests = args.chart.helm.template(&release, &chart)?;
    let inputs = args.source.with_lock_beside(&chart).load()?;
    let previous_models = read_previous_args(&args.previous)?;

    let ask_cluster = previous_models.is_empty()
        && inputs.lock.is_none()
        && args.chart.names_release()
        && !args.no_cluster;
    let deployed = if ask_cluster {
        match args.chart.helm.deployed_manifest(&release) {
            Ok(stream) => Some((release.clone(), model_configmap::models_in_stream(&stream)?)),
            // Helm's words for a release that was never installed (or was uninstalled) in this namespace.
            Err(Error::Helm { message, .. }) if message.contains("release: not found") => {
                let namespace = args
                    .chart.helm
                    .namespace
                    .as_deref()
                    .map_or("the current namespace".to_owned(), |ns| format!("namespace {ns}"));
                eprintln!(
                    "note: Helm finds no release {release} in {namespace}: planning a first deploy (check -n and \
                     --kube-context if the job is deployed)"
                );
                None
            }
            // Anything else (no cluster, no access) must not pass for a first deploy: that would hide every
            // hazard of the real change.
            Err(Error::Helm { command, message }) => {
                return Err(Error::Helm {
                    command,
                    message: format!(
                        "{message}\ncannot read the deployed release {release} to compare with; to plan without a \
                         cluster, compare with a saved stream or model (--previous FILE) or a lock (--lock FILE), \
                         or pass --no-cluster to plan a first deploy"
                    ),
                })
            }
            Err(other) => return Err(other),
        }
    } else {
        None
    };

    // The new models are computed exactly as the post-renderer computes them at deploy time, from the same
    // previous state: --previous, else the lock, else the job's coordinator stream (what the post-renderer reads
    // at deploy time), else the deployed release's model. The gate's findings come back with each job.
    let options = RenderOptions {
        sources: inputs.fact_sources(),
        previous: previous_models,
        samza_version: args.samza_version.samza_version,
        model_layout: Default::default(),
        allow_unsafe: true,
        keep_going: false,
        reuse_models: false,
        deployed,
        stream_over_lock: false,
    };
    let jobs = render(&manifests, &options)?.jobs;
    if jobs.is_empty() {
        return Err(no_job(&chart));
    }

    let mut report = Vec::new();
    for job in jobs {
        let after = Snapshot::from_model(&job.plan.model);
        let first_deploy = job.previous.is_none();
        let (diff, baseline) = match &job.previous {
            Some(previous) => (diff(&previous.snapshot(), &after), previous.source.clone()),
            None => (
                diff(&Snapshot::default(), &after),
                "none (first deploy)".into(),
            ),
        };
        report.push(JobPlan {
            stateful: is_stateful(&job.plan),
            containers: job.plan.model.active_container_count(),
            tasks: job.plan.model.tasks().count(),
            model_digest: job.digest,
            model_json_bytes: job.model_json_bytes,
            model_layout: job.model_layout,
            partition_source: job.facts.describe(),
            job: job.name,
            baseline,
            first_deploy,
            diff,
            hazards: job.hazards,
        });
    }
    let report = summarize(report);
    let text = match args.output {
        PlanOutput::Table => render_table(&report, use_color(args.no_color)),
        PlanOutput::Json => serde_json::to_string_pretty(&report).expect("plan serializes") + "\n",
        PlanOutput::Yaml => crate::manifest::write_document(&report)?,
    };
    stdio::write_stdout(text.as_bytes())?;
    if report.refused && !args.allow_unsafe.allow_unsafe {
        let job = report
            .jobs
            .iter()
            .find(|j| !j.hazards.is_empty())
            .expect("refused means a hazard");
        return Err(Error::Unsafe {
            origin: JobOrigin(format!("job '{}'", job.job)),
            message: format!(
                "{} (pass --allow-unsafe to plan and deploy anyway)",
                job.hazards
                    .iter()
                    .map(|h| h.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        });
    }
    Ok(if args.detailed_exitcode && report.changed {
        exit_code::CHANGES
    } else {
        exit_code::OK
    })
}

/// A render without any Samza job: there is nothing to plan (exit 13), rather than "0 of 0 job(s) to change".
fn no_job(chart: &std::path::Path) -> Error {
    Error::Job {
        origin: JobOrigin(chart.display().to_string()),
        message: format!(
            "the chart renders no Samza job: no ConfigMap labelled {}=NAME and {}=config (check the chart and its \
             values)",
            crate::job::LABEL_JOB,
            crate::job::LABEL_ROLE
        ),
    }
}

fn summarize(jobs: Vec<JobPlan>) -> PlanReport {
    let changed_jobs = jobs
        .iter()
        .filter(|j| j.first_deploy || j.diff.has_changes())
        .count();
    let added: usize = jobs.iter().map(|j| j.diff.tasks_added.len()).sum();
    let removed: usize = jobs.iter().map(|j| j.diff.tasks_removed.len()).sum();
    let moved: usize = jobs.iter().map(|j| j.diff.tasks_moved.len()).sum();
    let c_added: usize = jobs.iter().map(|j| j.diff.containers_added.len()).sum();
    let c_removed: usize = jobs.iter().map(|j| j.diff.containers_removed.len()).sum();
    let refused = jobs.iter().any(|j| !j.hazards.is_empty());
    let summary = format!(
        "Plan: {changed_jobs} of {} job(s) to change; {added} task(s) to add, {removed} to remove, {moved} to move; \
         {c_added} container(s) to add, {c_removed} to remove{}.",
        jobs.len(),
        if refused { "; REFUSED by the safety gate" } else { "" }
    );
    PlanReport {
        changed: changed_jobs > 0,
        refused,
        summary,
        jobs,
    }
}

fn use_color(no_color: bool) -> bool {
    !no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

fn render_table(report: &PlanReport, color: bool) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    for job in &report.jobs {
        let d = &job.diff;
        out.push_str(&format!(
            "job {} (compared with {})\n",
            paint("1", &job.job),
            job.baseline
        ));
        for input in &d.inputs {
            let line = match (input.before, input.after) {
                (Some(b), Some(a)) if b == a => {
                    format!("  input   {}: {a} partitions", input.stream)
                }
                (Some(b), Some(a)) => paint(
                    "33",
                    &format!("~ input   {}: {b} → {a} partitions", input.stream),
                ),
                (None, Some(a)) => {
                    paint("32", &format!("+ input   {}: {a} partitions", input.stream))
                }
                (Some(b), None) => paint(
                    "31",
                    &format!("- input   {}: was {b} partitions", input.stream),
                ),
                (None, None) => continue,
            };
            out.push_str(&line);
            out.push('\n');
        }
        let containers = if job.first_deploy || d.containers_before == d.containers_after {
            format!("  containers: {}", d.containers_after)
        } else {
            paint(
                "33",
                &format!(
                    "~ containers: {} → {}",
                    d.containers_before, d.containers_after
                ),
            )
        };
        if job.model_layout != "inline" {
            out.push_str(&format!(
                "  model: {:.1} MB of JSON, {} (docs/limits.md#model-layouts)\n",
                job.model_json_bytes as f64 / 1e6,
                if job.model_layout == "parts" {
                    "split into parts"
                } else {
                    "carried as its inputs and computed again by the coordinator"
                }
            ));
        }
        out.push_str(&containers);
        if d.standby_after > 0 || d.standby_before > 0 {
            out.push_str(&format!(
                " (+{} standby, was {})",
                d.standby_after, d.standby_before
            ));
        }
        out.push('\n');
        if job.first_deploy {
            out.push_str(&format!(
                "  tasks: {} (first deploy), changelog partitions: {}\n",
                job.tasks, d.changelog_partitions_after
            ));
        } else {
            for task in &d.tasks_added {
                out.push_str(&paint(
                    "32",
                    &format!(
                        "+ task {task} (changelog partition {})\n",
                        d.changelog_added[task]
                    ),
                ));
            }
            for task in &d.tasks_removed {
                out.push_str(&paint("31", &format!("- task {task}\n")));
            }
            for m in &d.tasks_moved {
                out.push_str(&paint(
                    "33",
                    &format!("~ task {}: container {} → {}\n", m.task, m.from, m.to),
                ));
            }
            for c in &d.changelog_changed {
                out.push_str(&paint(
                    "31",
                    &format!(
                        "! task {}: changelog partition {} → {}\n",
                        c.task, c.before, c.after
                    ),
                ));
            }
            if d.changelog_partitions_before != d.changelog_partitions_after {
                out.push_str(&paint(
                    "33",
                    &format!(
                        "~ changelog partitions: {} → {}\n",
                        d.changelog_partitions_before, d.changelog_partitions_after
                    ),
                ));
            }
        }
        for hazard in &job.hazards {
            out.push_str(&paint(
                "31;1",
                &format!("✗ unsafe [{}]: {}\n", hazard.id, hazard.message),
            ));
        }
        out.push_str(&format!(
            "  partition counts from: {}\n\n",
            job.partition_source
        ));
    }
    out.push_str(&report.summary);
    out.push('\n');
    out
}
