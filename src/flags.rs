//! The flag groups several commands share, each defined once and flattened into the commands' `Args`
//! (`#[command(flatten)]`), so a flag has one name, one help text, one default and one environment variable on
//! every command that takes it.
//!
//! Every option of the post-renderer can also come from an environment variable (`HELM_SAMZA_*`), because passing
//! arguments through Helm (`--post-renderer-args`, once per word) is awkward and Helm 4 fixes a plugin's arguments
//! in its plugin.yaml. The Kafka settings are the exception on purpose: `kafka::Overrides` reads their
//! `HELM_SAMZA_*` variables itself, so that each has one owner and the documented precedence (per-system variables
//! over global ones) holds.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use clap::{builder::BoolishValueParser, Args};

use crate::{
    error::{Error, Result},
    facts::SourceInputs,
    kafka::{KnownCounts, Overrides, Scoped},
    lock::Lock,
    samza::SamzaVersion,
};

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

/// How to reach Kafka: shared by the commands that may ask it for partition counts and by the coordinator.
#[derive(Debug, Args, Clone, Default)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers, `[SYSTEM=]HOST:PORT[,HOST:PORT...]`; without `SYSTEM=` for every system;
    /// repeatable. Default: HELM_SAMZA_BOOTSTRAP_SERVERS_<SYSTEM>, HELM_SAMZA_BOOTSTRAP_SERVERS, then the job
    /// config's systems.SYSTEM.consumer|producer.bootstrap.servers.
    #[arg(long = "bootstrap-servers", value_name = "[SYSTEM=]SERVERS")]
    pub bootstrap_servers: Vec<Scoped>,

    /// librdkafka client properties (security.protocol, sasl.*, ssl.*) as a properties file, `[SYSTEM=]FILE`;
    /// repeatable; also HELM_SAMZA_KAFKA_CONFIG and HELM_SAMZA_KAFKA_<PROPERTY> (e.g. from a Secret). Secrets
    /// are never printed.
    #[arg(long = "kafka-config", value_name = "[SYSTEM=]FILE")]
    pub kafka_config: Vec<Scoped>,

    /// How long one round of Kafka metadata requests for a system may take before failing (also
    /// HELM_SAMZA_KAFKA_TIMEOUT) [default: 10s].
    #[arg(long = "kafka-timeout", value_name = "DURATION", value_parser = parse_kafka_timeout)]
    pub kafka_timeout: Option<Duration>,
}

impl KafkaArgs {
    /// The flags plus the process's `HELM_SAMZA_*` variables, as `kafka` applies them to each system.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            bootstrap_servers: self.bootstrap_servers.clone(),
            kafka_config: self.kafka_config.clone(),
            timeout: self.kafka_timeout,
            ..Overrides::default()
        }
        .with_process_env()
    }
}

/// Where partition counts come from, Kafka included; shared by every command that may ask Kafka.
#[derive(Debug, Args, Clone, Default)]
pub struct SourceArgs {
    #[command(flatten)]
    pub known: OfflineSourceArgs,

    /// Never contact Kafka; a stream whose count no other source gives is an error.
    #[arg(long, env = "HELM_SAMZA_OFFLINE", value_parser = BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub offline: bool,

    #[command(flatten)]
    pub kafka: KafkaArgs,
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

impl SourceArgs {
    /// The lock given, or `samza.lock` beside the chart.
    pub fn with_lock_beside(&self, chart: &Path) -> SourceArgs {
        let mut source = self.clone();
        if source.known.lock.is_none() {
            let beside = chart.join("samza.lock");
            if beside.is_file() {
                source.known.lock = Some(beside);
            }
        }
        source
    }

    /// Reads what the flags name (the lock file) and checks what they say (the counts).
    pub fn load(&self) -> Result<SourceInputs> {
        // An empty item (a trailing comma in HELM_SAMZA_PARTITIONS) is no flag.
        let flags = KnownCounts::from_flags(
            self.known
                .partitions
                .iter()
                .filter(|p| !p.trim().is_empty()),
        )
        .map_err(|e| Error::Usage(e.to_string()))?;
        let lock = self.known.lock.as_deref().map(Lock::read).transpose()?;
        Ok(SourceInputs {
            flags,
            lock,
            offline: self.offline,
            overrides: self.kafka.overrides(),
        })
    }
}

/// `--samza-version`: the Samza release whose JSON shape (and planning rules) a command writes models for.
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct SamzaVersionArg {
    /// Samza version whose JSON shape to write and whose planning rules apply (e.g. 0.14, 1.0, 1.6, 1.7).
    #[arg(
        long = "samza-version",
        value_name = "VERSION",
        env = "HELM_SAMZA_SAMZA_VERSION",
        default_value = "1.7"
    )]
    pub samza_version: SamzaVersion,
}

/// `--model-layout`: how a job's model is carried to its coordinator (docs/limits.md#model-layouts).
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct ModelLayoutArg {
    /// How each job's model is carried: `auto` in one ConfigMap when it fits, else as its inputs (the
    /// coordinator computes it again); `inline` one ConfigMap or fail; `parts` split over ConfigMaps when it does
    /// not fit one; `inputs` always as its inputs. A job's config ConfigMap annotation
    /// samza.apache.org/model-layout wins.
    #[arg(
        long = "model-layout",
        value_name = "LAYOUT",
        env = "HELM_SAMZA_MODEL_LAYOUT",
        default_value = "auto",
        value_enum
    )]
    pub model_layout: crate::model_configmap::Layout,
}

/// `--allow-unsafe`: open the safety gate.
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct AllowUnsafeArg {
    /// Go ahead even when the safety gate finds the change would endanger a job's state (`plan` then reports
    /// the hazards without failing).
    #[arg(long = "allow-unsafe", env = "HELM_SAMZA_ALLOW_UNSAFE", value_parser = BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub allow_unsafe: bool,
}

/// A duration of at least one second: librdkafka's connection set-up timeout cannot go lower, so a shorter one
/// is refused when the flag is read, whatever the mode (also `--offline`, which never uses it).
fn parse_kafka_timeout(text: &str) -> Result<Duration, String> {
    let timeout = parse_duration(text)?;
    if timeout < Duration::from_secs(1) {
        return Err(format!(
            "'{text}' is shorter than 1s, the least librdkafka can wait for a connection"
        ));
    }
    Ok(timeout)
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("'{text}' is not a duration like 10s or 500ms: {e}"))
}
