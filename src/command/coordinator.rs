//! `helm-samza coordinator`: runs in the samza-job chart's coordinator pod, serving the job model to Samza
//! containers over HTTP, writing the model to the job's coordinator stream and watching the inputs' partition
//! counts (`coordinator`).

use std::{path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};

use crate::{
    coordinator::{self, CoordinatorError, Settings},
    error::{Error, Result},
    exit_code,
    flags::KafkaArgs,
};

/// Serve a job model to Samza containers over HTTP, write it to the job's coordinator stream and watch the
/// inputs' partition counts (runs in the samza-job chart's coordinator pod).
#[derive(Debug, Clone, Args)]
pub struct CoordinatorArgs {
    /// The job model as mounted from the model ConfigMap. When FILE is absent: FILE.gz (gunzipped), the parts
    /// job-model.index.json beside it lists (joined), or job-model.inputs.json beside it (the model computed
    /// again, with the previous state from the job's coordinator stream, and served only when its digest is the
    /// post-renderer's).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,

    /// Address to serve on.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8080")]
    pub listen: String,

    #[command(flatten)]
    pub kafka: KafkaArgs,

    /// How often to compare the inputs' partition counts with the model.
    /// Default: the model's job.coordinator.monitor-partition-change.frequency.ms (Samza: 5 minutes).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub poll_interval: Option<Duration>,

    /// Whether to write the model's task assignments and changelog mapping to the job's coordinator stream on
    /// start and when the model changes, as Samza's coordinator does (only when the coordinator system is a
    /// Kafka system); `off` writes nothing.
    #[arg(long, value_name = "MODE", value_enum, default_value_t = CoordinatorStream::Write)]
    pub coordinator_stream: CoordinatorStream,
}

/// `--coordinator-stream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CoordinatorStream {
    Write,
    Off,
}

impl CoordinatorArgs {
    pub fn settings(&self) -> Settings {
        Settings {
            model: self.model.clone(),
            listen: self.listen.clone(),
            kafka: self.kafka.overrides(),
            poll_interval: self.poll_interval,
            write_coordinator_stream: self.coordinator_stream == CoordinatorStream::Write,
        }
    }
}

pub fn run(args: &CoordinatorArgs) -> Result<i32> {
    coordinator::run(&args.settings())
        .map(|()| exit_code::OK)
        .map_err(|e| match e {
            // A flag value clap let through but the coordinator refuses is still wrong usage.
            CoordinatorError::InvalidArgument { .. } => Error::Usage(e.to_string()),
            other => Error::Coordinator(other.to_string()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Command {
        #[command(flatten)]
        coordinator: CoordinatorArgs,
    }

    #[test]
    fn arguments_parse_as_the_chart_passes_them() {
        use clap::{CommandFactory, Parser};
        Command::command().debug_assert();
        let args = Command::try_parse_from([
            "coordinator",
            "--model",
            "/etc/samza/model/job-model.json",
            "--listen",
            "0.0.0.0:8080",
            "--poll-interval",
            "60s",
        ])
        .unwrap()
        .coordinator;
        assert_eq!(args.model, PathBuf::from("/etc/samza/model/job-model.json"));
        assert_eq!(args.poll_interval, Some(Duration::from_secs(60)));
        assert_eq!(args.kafka.kafka_timeout, None);
        assert!(
            args.settings().write_coordinator_stream,
            "written by default"
        );
        assert!(
            Command::try_parse_from(["coordinator"]).is_err(),
            "--model is required"
        );
    }

    #[test]
    fn bootstrap_servers_may_name_their_system() {
        use clap::Parser;
        let args = Command::try_parse_from([
            "coordinator",
            "--model",
            "m.json",
            "--bootstrap-servers",
            "kafka=a:1,b:2",
            "--bootstrap-servers",
            "c:3",
            "--coordinator-stream",
            "off",
        ])
        .unwrap()
        .coordinator;
        assert!(!args.settings().write_coordinator_stream);
        assert_eq!(
            args.kafka.bootstrap_servers[0].system.as_deref(),
            Some("kafka")
        );
        assert_eq!(args.kafka.bootstrap_servers[1].system, None);
    }
}
