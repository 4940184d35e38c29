//! `helm samza values`: render the chart, plan its job exactly as the post-renderer would (same sources, same
//! previous state, same safety gate), and write the values with which `charts/samza-job` renders that result
//! natively, for GitOps tools that run no post-renderer; or, with `--check`, fail when committed values no
//! longer match. The file's shape belongs to `chart_values`; this file decides what to render and where to write.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum as _};

use crate::{
    chart_values::JobModelValues,
    error::{Error, JobOrigin, Result},
    exit_code,
    flags::{AllowUnsafeArg, ModelLayoutArg, SamzaVersionArg, SourceArgs},
    helm::ChartArgs,
    model_configmap::Layout,
    previous::read_previous_args,
    render::{render, RenderOptions},
    stdio,
};

/// Write the values that make charts/samza-job render the job model without the post-renderer (Argo CD, Flux).
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:\n  \
    helm samza values my-release ./chart -f values.yaml -o samza-values.yaml\n  \
    helm template my-release ./chart -f values.yaml -f samza-values.yaml\n  \
    helm samza values my-release ./chart -f values.yaml --check samza-values.yaml\n\n\
    The second renders the job model without the post-renderer, as Argo CD or Flux do; the third fails with 17 in \
    CI once the file no longer matches. \
    The job is planned as the post-renderer plans it: partition counts from --partitions, the lock (--lock, or \
    samza.lock beside the chart), KafkaTopic resources or Kafka; stable against --previous, the lock or the job's \
    coordinator stream, else the model the file to write or check already holds. A change that would move a \
    stateful job's changelog partitions is refused (15) unless --allow-unsafe. Before writing, the chart is \
    rendered once more with the values and no post-renderer; values it would not render back into the \
    post-renderer's output are refused (13).\n\n\
    A model too large for one ConfigMap is carried as its inputs (--model-layout auto or inputs), from which the \
    coordinator computes it again; a model split over several ConfigMaps (--model-layout parts) cannot be carried \
    as values and is refused (11).\n\n\
    Exit codes: 0 written (or up to date); 11 the model is refused by Samza's rules, or split into parts; 13 the \
    chart renders no Samza job, or more than one, or does not render the values back; 15 refused by the safety \
    gate; 16 the file carries the model as inputs planned against a previous state that nothing here knows (read \
    the coordinator stream, or pass a lock); 17 --check: the file no longer matches; the others as for \
    post-render (see helm-samza --help).")]
pub struct ValuesArgs {
    #[command(flatten)]
    pub chart: ChartArgs,

    #[command(flatten)]
    pub source: SourceArgs,

    /// Stay stable against this job model instead of the one the values file holds: a job-model JSON
    /// (`[JOB=]FILE`) or a saved manifest stream; repeatable.
    #[arg(long, value_name = "[JOB=]FILE")]
    pub previous: Vec<String>,

    /// Write the values to FILE (replaced atomically; left alone when already up to date). Default: stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write nothing: fail with exit 17, naming the command that regenerates FILE, when FILE no longer matches
    /// what would be written now (partition counts, job config, Samza version).
    #[arg(long, value_name = "FILE", conflicts_with = "output")]
    pub check: Option<PathBuf>,

    #[command(flatten)]
    pub allow_unsafe: AllowUnsafeArg,

    #[command(flatten)]
    pub samza_version: SamzaVersionArg,
    #[command(flatten)]
    pub model_layout: ModelLayoutArg,
}

pub fn run(args: &ValuesArgs) -> Result<i32> {
    let (release, chart) = args.chart.release_and_chart();
    let target = args.check.as_deref().or(args.output.as_deref());
    let committed = match target {
        Some(path) if args.check.is_some() || path.is_file() => JobModelValues::read(path)?,
        _ => None,
    };
    // The values in the file to check (or to replace) are what the release deploys: the job's previous state
    // when nothing closer to Samza's own (--previous, a lock, the coordinator stream) knows it, as the deployed
    // release is for `plan`.
    // A model the file carries as its inputs, planned against a previous state, comes back only with that state,
    // which the file names but does not hold: the render must find it elsewhere (see below).
    let committed_origin =
        |path: &Path| JobOrigin(format!("{} ({})", path.display(), crate::chart_values::KEY));
    let unheld = match (&committed, target) {
        (Some(committed), Some(path)) => committed.unheld_state(&committed_origin(path))?,
        _ => None,
    };
    let deployed = match (&committed, target) {
        (Some(committed), Some(path)) if unheld.is_none() => {
            let model = committed.model(&committed_origin(path))?;
            let label = format!("{release} ({})", path.display());
            Some((label, [(committed.job.clone(), model)].into()))
        }
        _ => None,
    };
    let manifests = args.chart.helm.template(&release, &chart)?;
    let inputs = args.source.with_lock_beside(&chart).load()?;
    let options = RenderOptions {
        sources: inputs.fact_sources(),
        previous: read_previous_args(&args.previous)?,
        samza_version: args.samza_version.samza_version,
        model_layout: args.model_layout.model_layout,
        allow_unsafe: args.allow_unsafe.allow_unsafe,
        keep_going: false,
        reuse_models: false,
        deployed,
        stream_over_lock: false,
    };
    let rendered = render(&manifests, &options)?;
    let job = match rendered.jobs.as_slice() {
        [one] => one,
        jobs => {
            let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
            return Err(Error::Job {
                origin: JobOrigin(format!("chart {}", chart.display())),
                message: format!(
                    "renders {} Samza jobs{}; helm samza values writes the values of one samza-job release",
                    jobs.len(),
                    if names.is_empty() { String::new() } else { format!(" ({})", names.join(", ")) }
                ),
            });
        }
    };
    let parsed = rendered.parsed.as_ref().expect("a job was rendered");
    let layout_annotation = parsed.scan.jobs.get(&job.name).and_then(|docs| {
        let config = docs.configs.first()?;
        parsed
            .scan
            .heads
            .get(config)?
            .annotations
            .get(crate::job::ANNOTATION_MODEL_LAYOUT)
    });
    let fresh =
        JobModelValues::from_render(&parsed.stream, job, layout_annotation.map(String::as_str))?;
    let regenerate = regenerate_command(args, target);
    let text = fresh.to_yaml(&regenerate)?;

    // The committed model could not be shown to the planner, and nothing else knew the job's state: a model that
    // differs now may differ only for want of that state. Refuse rather than write or judge it.
    if let (Some(state), Some(path), Some(committed)) = (&unheld, target, &committed) {
        if job.previous.is_none() && committed.digest != fresh.digest {
            let differences = committed.differences(&fresh, &job.facts.facts.counts);
            return Err(Error::PreviousState {
                origin: committed_origin(path),
                message: format!(
                    "job '{}': planned here without its previous state, the job differs from the values ({}), \
                     which may be only for want of that state: {}. Then run `{regenerate}` again",
                    job.name,
                    differences.join("; "),
                    crate::chart_values::unheld_state_message(state)
                ),
            });
        }
    }

    if let Some(path) = &args.check {
        let committed = committed.ok_or_else(|| Error::Drift {
            origin: JobOrigin(path.display().to_string()),
            message: format!(
                "holds no {} values. Generate them with `{regenerate}`.",
                crate::chart_values::KEY
            ),
        })?;
        let differences = committed.differences(&fresh, &job.facts.facts.counts);
        if !differences.is_empty() {
            return Err(Error::Drift {
                origin: JobOrigin(path.display().to_string()),
                message: format!(
                    "the values no longer match job '{}': {}. Regenerate them with `{regenerate}` and commit the \
                     result (`helm samza plan` shows the change).",
                    job.name,
                    differences.join("; ")
                ),
            });
        }
        eprintln!("{}: up to date for job '{}'", path.display(), job.name);
        return Ok(exit_code::OK);
    }

    // Values this chart would not render back into the post-renderer's output would deploy something else, or no
    // model at all (a chart that is not samza-job, samza-job as a subchart): refuse them.
    verify_render_back(args, &release, &chart, &text, &rendered.output)?;
    match &args.output {
        // Regenerating what is already there would only change the partition source's timestamp.
        Some(path)
            if committed
                .as_ref()
                .is_some_and(|c| c.differences(&fresh, &job.facts.facts.counts).is_empty()) =>
        {
            eprintln!("{}: up to date for job '{}'", path.display(), job.name);
        }
        Some(path) => {
            crate::output_file::write(path, text.as_bytes(), 0o644)
                .map_err(|e| Error::io(path, e))?;
            eprintln!(
                "wrote {} (job '{}': {} container(s), model {})",
                path.display(),
                job.name,
                fresh.containers,
                fresh.digest
            );
        }
        None => stdio::write_stdout(text.as_bytes())?,
    }
    Ok(exit_code::OK)
}

/// Renders the chart once more with the values as the last values file, no post-renderer, and compares the objects
/// with the post-rendered ones.
fn verify_render_back(
    args: &ValuesArgs,
    release: &str,
    chart: &Path,
    text: &str,
    post_rendered: &[u8],
) -> Result<()> {
    let scratch = std::env::temp_dir().join(format!(
        "helm-samza-values-{}-{}.yaml",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    crate::output_file::write(&scratch, text.as_bytes(), 0o600)
        .map_err(|e| Error::io(&scratch, e))?;
    let mut helm = args.chart.helm.clone();
    helm.values.push(scratch.clone());
    let native = helm.template(release, chart);
    let _ = std::fs::remove_file(&scratch);
    let differences = crate::chart_values::render_back_differences(post_rendered, &native?)?;
    if differences.is_empty() {
        return Ok(());
    }
    Err(Error::Job {
        origin: JobOrigin(format!("chart {}", chart.display())),
        message: format!(
            "rendered with the values, the chart does not deploy what the post-renderer would: {}. The values are \
             for charts/samza-job, or a chart that renders `{}` the same way, at the top level (for a chart that \
             holds samza-job as a subchart, run helm samza values on the subchart with the parent's values for it)",
            differences.join("; "),
            crate::chart_values::KEY
        ),
    })
}

/// The command line that writes the file again: the chart, its values files and namespace, the partition sources,
/// and the file. `--set` values are not repeated (they may hold secrets), only said to be needed.
fn regenerate_command(args: &ValuesArgs, target: Option<&Path>) -> String {
    let mut words = vec!["helm samza values".to_string()];
    words.extend(args.chart.positional.iter().cloned());
    let helm = &args.chart.helm;
    if let Some(namespace) = &helm.namespace {
        words.push(format!("-n {namespace}"));
    }
    words.extend(helm.values.iter().map(|f| format!("-f {}", f.display())));
    if args.source.offline {
        words.push("--offline".into());
    }
    if let Some(lock) = &args.source.known.lock {
        words.push(format!("--lock {}", lock.display()));
    }
    words.extend(
        args.source
            .known
            .partitions
            .iter()
            .map(|p| format!("--partitions {p}")),
    );
    // Addresses and file names only: the client settings' secrets stay in the files and variables they are in.
    let kafka = &args.source.kafka;
    words.extend(
        kafka
            .bootstrap_servers
            .iter()
            .map(|s| format!("--bootstrap-servers {s}")),
    );
    words.extend(
        kafka
            .kafka_config
            .iter()
            .map(|c| format!("--kafka-config {c}")),
    );
    if args.model_layout.model_layout != Layout::Auto {
        let layout = args.model_layout.model_layout.to_possible_value();
        words.push(format!(
            "--model-layout {}",
            layout.as_ref().map_or("auto", |v| v.get_name())
        ));
    }
    if let Some(path) = target {
        words.push(format!("-o {}", path.display()));
    }
    let sets = [&helm.set, &helm.set_string, &helm.set_file, &helm.set_json];
    if sets.iter().any(|s| !s.is_empty()) {
        words.push("(with the same --set flags)".into());
    }
    words.join(" ")
}
