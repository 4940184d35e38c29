//! `helm-samza model`: one job's model from a Samza config file, for people and for tests. The job goes through
//! the same stages as in the post-renderer (`render::plan_job`), without a manifest stream around it.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::{
    error::{Error, JobOrigin, Result},
    exit_code,
    flags::{SamzaVersionArg, SourceArgs},
    job_config::read_config_file,
    previous::read_model_file,
    render::{plan_job, PlannedJob, PreviousSources, StreamPolicy},
    stdio,
};

/// Compute one job's model from a Samza config file and print it.
#[derive(Debug, Args)]
#[command(
    after_long_help = "Example:\n  helm-samza model --config job.properties --partitions kafka.PageViewEvent=4 --output summary"
)]
pub struct ModelArgs {
    /// The job's Samza config: a .properties file, or a YAML/JSON map of keys to values.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    #[command(flatten)]
    pub source: SourceArgs,

    /// The previously deployed job model (Samza JSON, any Samza version's shape).
    #[arg(long, value_name = "MODEL.json")]
    pub previous: Option<PathBuf>,

    #[command(flatten)]
    pub samza_version: SamzaVersionArg,

    /// What to print.
    #[arg(long, value_enum, default_value_t = ModelOutput::Json)]
    pub output: ModelOutput,

    /// Indent the JSON.
    #[arg(long)]
    pub pretty: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelOutput {
    /// Samza's JSON, exactly as its SamzaObjectMapper writes it.
    Json,
    /// The same model as YAML.
    Yaml,
    /// A short table for people.
    Summary,
}

pub fn run(args: &ModelArgs) -> Result<i32> {
    let config = read_config_file(&args.config)?;
    let origin = JobOrigin(args.config.display().to_string());
    let version = args.samza_version.samza_version;
    version
        .check_features(&config)
        .map_err(|source| Error::Samza {
            origin: origin.clone(),
            source,
        })?;
    let previous_model = args.previous.as_deref().map(read_model_file).transpose()?;
    let inputs = args.source.load()?;
    let job_name = config.job_name().unwrap_or_default().to_string();
    let locked = inputs.lock.as_ref().and_then(|l| l.jobs.get(&job_name));
    let known = PreviousSources {
        model: previous_model.as_ref(),
        lock: locked,
        deployed: None,
        stream: StreamPolicy::WhenLive,
    };
    let PlannedJob { plan, gathered, .. } =
        plan_job(&config, &inputs.fact_sources(), &known, &[], &origin)?;
    let mut text = match args.output {
        // Streamed: a large model's JSON is never held whole.
        ModelOutput::Json => {
            return stdio::stream_stdout(|out| {
                if args.pretty {
                    plan.model.write_json_pretty(version, &mut *out)?;
                } else {
                    plan.model.write_json(version, &mut *out)?;
                }
                out.write_all(b"\n")
            })
            .map(|()| exit_code::OK)
        }
        ModelOutput::Yaml => {
            let value: serde_json::Value =
                serde_json::from_str(&plan.model.to_json(version)).expect("our own JSON parses");
            crate::manifest::write_document(&value)?
        }
        ModelOutput::Summary => {
            let mut text = plan.model.summary();
            text.push_str(&format!("partition counts from: {}\n", gathered.describe()));
            text
        }
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    stdio::write_stdout(text.as_bytes()).map(|()| exit_code::OK)
}
