//! Command-line arguments: parsed once here into typed values; nothing downstream looks at raw argv.
//!
//! Every option of the post-renderer can also come from an environment variable (`HELM_SAMZA_*`), because
//! passing arguments through Helm (`--post-renderer-args`, once per word) is awkward and Helm 4 fixes a plugin's
//! arguments in its plugin.yaml.

use std::{path::PathBuf, time::Duration};

use clap::{builder::BoolishValueParser, Args, Parser, Subcommand, ValueEnum};

use crate::exit_code;

/// `--version`: the version, the commit it was built from and the librdkafka linked in (`-V` prints the version
/// alone).
fn long_version() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "{} (commit {}, librdkafka {})",
            env!("CARGO_PKG_VERSION"),
            env!("HELM_SAMZA_COMMIT"),
            rdkafka::util::get_rdkafka_version().1
        )
    })
}

#[derive(Debug, Parser)]
#[command(
    name = "helm-samza",
    version,
    long_version = long_version(),
    about = "Computes Apache Samza job models for Kubernetes, inside Helm",
    long_about = "Computes Apache Samza job models for Kubernetes, inside Helm.\n\n\
        As a Helm post-renderer it finds each Samza job in the rendered manifests, learns the partition counts \
        of its inputs (flags, a lock file, KafkaTopic resources, or Kafka itself), computes the job model exactly \
        as Samza does, and fills in worker replicas, the job-model ConfigMap and checksums.",
    after_long_help = exit_code::TABLE,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read rendered manifests on stdin, write them with every Samza job's model filled in on stdout.
    #[command(
        name = "post-render",
        after_long_help = "Helm 3:  helm template CHART --post-renderer PATH/TO/helm-samza --post-renderer-args post-render\n\
                           Helm 4:  helm template CHART --post-renderer samza-postrender\n\
                           Extra flags go through --post-renderer-args, one word each, or through HELM_SAMZA_* variables.\n\n\
                           Helm 4 does not show a post-renderer's error output: run `helm samza last-error` to see it."
    )]
    PostRender(PostRenderArgs),

    /// Compute one job's model from a Samza config file and print it.
    #[command(
        after_long_help = "Example:\n  helm-samza model --config job.properties --partitions kafka.PageViewEvent=4 --output summary"
    )]
    Model(ModelArgs),

    /// Show what a deploy will do to each job's model, compared with the deployed release or a lock file.
    #[command(
        after_long_help = "Examples:\n  helm samza plan my-release ./chart -f values.yaml\n  \
        helm samza plan my-release ./chart --lock samza.lock --detailed-exitcode --output json"
    )]
    Plan(crate::plan::command::PlanArgs),

    /// Write (or verify) samza.lock: partition counts and assignments that make renders reproducible offline.
    #[command(
        after_long_help = "Examples:\n  helm samza lock ./chart -f values.yaml          # writes ./chart/samza.lock\n  \
        helm samza lock ./chart --verify-live            # fails when Kafka drifted from the lock"
    )]
    Lock(crate::lock::command::LockArgs),

    /// Check a chart (or rendered manifests) for what would deploy a broken Samza job; offline, for CI.
    #[command(
        after_long_help = "Examples:\n  helm samza lint ./chart -f values.yaml --partitions kafka.PageViewEvent=8 --strict\n  \
        helm template r ./chart | helm-samza lint - --lock samza.lock --output sarif > lint.sarif\n\n\
        Exit codes: 0 clean, 1 findings at or above the fail level; 64 usage; 12 no partition count; 13 unreadable \
        manifests; 18 helm template failed."
    )]
    Lint(crate::lint::command::LintArgs),

    /// Serve a job model to Samza containers over HTTP and watch the inputs' partition counts (runs in the
    /// samza-job chart's coordinator pod).
    Coordinator(crate::coordinator::CoordinatorArgs),

    /// Show the job models in a post-rendered manifest stream (a file, `-` for stdin, or `helm get manifest` output).
    #[command(
        after_long_help = "Examples:\n  helm get manifest my-release | helm-samza show\n  helm-samza show rendered.yaml"
    )]
    Show {
        /// The manifest stream; `-` or nothing for stdin.
        #[arg(value_name = "FILE", default_value = "-")]
        file: PathBuf,
    },

    /// Print the last post-render error, with the command that re-runs the same input visibly.
    #[command(name = "last-error")]
    LastError,
}

/// Where partition counts come from without asking Kafka; every command that plans takes these.
#[derive(Debug, Args, Clone, Default)]
pub struct OfflineSourceArgs {
    /// Partition count of an input stream, `SYSTEM.STREAM=N`; repeatable. Wins over every other source.
    #[arg(
        long = "partitions",
        value_name = "SYSTEM.STREAM=N",
        env = "HELM_SAMZA_PARTITIONS",
        value_delimiter = ','
    )]
    pub partitions: Vec<String>,

    /// A samza.lock file: partition counts and assignments to reproduce; with it no Kafka is needed.
    #[arg(long, value_name = "FILE", env = "HELM_SAMZA_LOCK")]
    pub lock: Option<PathBuf>,
}

/// Where partition counts come from, Kafka included; shared by every command that may ask Kafka.
///
/// The Kafka settings have no clap `env` attributes on purpose: `kafka::Overrides` reads the `HELM_SAMZA_*`
/// variables itself, so that each has one owner and the documented precedence (per-system variables over
/// global ones) holds.
#[derive(Debug, Args, Clone, Default)]
pub struct SourceArgs {
    #[command(flatten)]
    pub known: OfflineSourceArgs,

    /// Never contact Kafka; a stream whose count no other source gives is an error.
    #[arg(long, env = "HELM_SAMZA_OFFLINE", value_parser = BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub offline: bool,

    /// Kafka bootstrap servers, `[SYSTEM=]HOST:PORT[,HOST:PORT...]`; without `SYSTEM=` for every system.
    /// Default: HELM_SAMZA_BOOTSTRAP_SERVERS_<SYSTEM>, HELM_SAMZA_BOOTSTRAP_SERVERS, then the job config's
    /// systems.SYSTEM.consumer|producer.bootstrap.servers.
    #[arg(long = "bootstrap-servers", value_name = "[SYSTEM=]SERVERS")]
    pub bootstrap_servers: Vec<String>,

    /// librdkafka client properties (security.protocol, sasl.*, ssl.*) as a properties file, `[SYSTEM=]FILE`;
    /// repeatable; also HELM_SAMZA_KAFKA_CONFIG and HELM_SAMZA_KAFKA_<PROPERTY>. Secrets are never printed.
    #[arg(long = "kafka-config", value_name = "[SYSTEM=]FILE")]
    pub kafka_config: Vec<String>,

    /// How long to wait for Kafka metadata before failing (also HELM_SAMZA_KAFKA_TIMEOUT) [default: 10s].
    #[arg(long = "kafka-timeout", value_name = "DURATION", value_parser = parse_duration)]
    pub kafka_timeout: Option<Duration>,
}

impl OfflineSourceArgs {
    pub fn to_source_args(&self) -> SourceArgs {
        SourceArgs {
            known: self.clone(),
            offline: true,
            ..SourceArgs::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct PostRenderArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// A previous job model (Samza JSON) to stay stable against, `[JOB=]FILE`; repeatable.
    #[arg(long, value_name = "[JOB=]FILE", env = "HELM_SAMZA_PREVIOUS")]
    pub previous: Vec<String>,

    /// Samza version whose JSON shape to write (e.g. 0.14, 1.0, 1.6, 1.7).
    #[arg(
        long = "samza-version",
        value_name = "VERSION",
        env = "HELM_SAMZA_SAMZA_VERSION",
        default_value = "1.7"
    )]
    pub samza_version: crate::samza::job_model::SamzaVersion,

    /// Deploy even when the safety gate finds the change would endanger a job's state.
    #[arg(long = "allow-unsafe", env = "HELM_SAMZA_ALLOW_UNSAFE", value_parser = BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub allow_unsafe: bool,

    /// Where to write the diagnostics of a failed run (Helm 4 hides stderr).
    /// Default: $TMPDIR/helm-samza/last-error.log
    #[arg(long = "log-file", value_name = "FILE", env = crate::diagnostics::ENV_LOG_FILE)]
    pub log_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The job's Samza config: a .properties file, or a YAML/JSON map of keys to values.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    #[command(flatten)]
    pub source: SourceArgs,

    /// The previously deployed job model (Samza JSON, any Samza version's shape).
    #[arg(long, value_name = "MODEL.json")]
    pub previous: Option<PathBuf>,

    /// Samza version whose JSON shape to write (e.g. 0.14, 1.0, 1.6, 1.7).
    #[arg(long = "samza-version", value_name = "VERSION", default_value = "1.7")]
    pub samza_version: crate::samza::job_model::SamzaVersion,

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

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("'{text}' is not a duration like 10s or 500ms: {e}"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
