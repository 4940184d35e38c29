//! `helm-samza coordinator`: the small HTTP server that hands Samza containers their job model on Kubernetes.
//!
//! Samza containers started by `run-container.sh` fetch the model from `SAMZA_COORDINATOR_URL` and retry until
//! they get it (`SamzaContainer#readJobModel`). On YARN the ClusterBasedJobCoordinator computes and serves it;
//! with helm-samza the model is computed at render time and mounted from a ConfigMap, so the coordinator only
//! serves those bytes (and answers the containers' heartbeats) and watches the one thing that makes them stale:
//! the input topics' partition counts.
//! It calls no Kubernetes API (drift shows through `/readyz` and `/metrics`), so it needs no token and no RBAC.
//!
//! Two long-lived threads, the HTTP server (`server`, which answers each connection on a thread of its own) and
//! the poll loop (`poll`), sharing a `Status`.

mod model;
mod poll;
mod server;
mod status;
mod watch;
pub mod write_back;

use std::path::PathBuf;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use model::{Model, ModelError, ModelFacts, ModelLocation, MAX_MODEL_BYTES};
pub use server::{MAX_CONNECTIONS, MAX_REQUEST_HEAD, READ_TIMEOUT, WRITE_TIMEOUT};
pub use status::{Status, StreamCounts};
pub use watch::{KafkaWatch, PartitionWatch};

use poll::Poller;

use crate::kafka::{client_settings_for, LiveKafka, Overrides, Scoped};

/// Arguments of `helm-samza coordinator`.
#[derive(Debug, Clone, clap::Args)]
pub struct CoordinatorArgs {
    /// The job model as mounted from the model ConfigMap; FILE.gz is read (and gunzipped) when FILE is absent.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,

    /// Address to serve on.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8080")]
    pub listen: String,

    /// Kafka bootstrap servers of the inputs' system, `[SYSTEM=]HOST:PORT[,HOST:PORT...]`, repeatable.
    /// Default: HELM_SAMZA_BOOTSTRAP_SERVERS[_<SYSTEM>], then `systems.<system>.consumer.bootstrap.servers`
    /// (then `producer.`) of the model's config.
    #[arg(long = "bootstrap-servers", value_name = "[SYSTEM=]SERVERS")]
    pub bootstrap_servers: Vec<Scoped>,

    /// librdkafka client properties (security.protocol, sasl.*, ssl.*) as a properties file, `[SYSTEM=]FILE`,
    /// repeatable; also HELM_SAMZA_KAFKA_CONFIG and HELM_SAMZA_KAFKA_<PROPERTY> (e.g. from a Secret).
    /// Secrets are never printed.
    #[arg(long = "kafka-config", value_name = "[SYSTEM=]FILE")]
    pub kafka_config: Vec<Scoped>,

    /// How often to compare the inputs' partition counts with the model.
    /// Default: the model's job.coordinator.monitor-partition-change.frequency.ms (Samza: 5 minutes).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub poll_interval: Option<Duration>,

    /// How long one poll's metadata requests for a system may take (also HELM_SAMZA_KAFKA_TIMEOUT) [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub kafka_timeout: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum CoordinatorError {
    #[error("cannot listen on {addr}: {reason} (choose another --listen address)")]
    Bind { addr: String, reason: String },
    #[error("invalid {flag} {value:?}: {reason}")]
    InvalidArgument {
        flag: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("cannot start the coordinator's {thread} thread: {reason}")]
    Spawn {
        thread: &'static str,
        reason: String,
    },
    #[error("the coordinator's HTTP server stopped unexpectedly")]
    ServerStopped,
}

/// Serves until the process is stopped.
pub fn run(args: &CoordinatorArgs) -> Result<(), CoordinatorError> {
    let running = start(args)?;
    eprintln!(
        "helm-samza coordinator serving {} on http://{}/",
        args.model.display(),
        running.addr()
    );
    running.wait()
}

/// A started coordinator: its address, and a way to stop it (tests, embedding).
pub struct RunningCoordinator {
    addr: std::net::SocketAddr,
    server: Arc<server::Server>,
    serving: JoinHandle<()>,
    polling: JoinHandle<()>,
    stop: Sender<()>,
    status: Arc<Mutex<Status>>,
}

impl RunningCoordinator {
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Reads what the coordinator knows right now.
    pub fn with_status<T>(&self, read: impl FnOnce(&Status) -> T) -> T {
        read(
            &self
                .status
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Blocks while the server runs.
    pub fn wait(self) -> Result<(), CoordinatorError> {
        self.serving
            .join()
            .map_err(|_| CoordinatorError::ServerStopped)?;
        Err(CoordinatorError::ServerStopped)
    }

    pub fn shutdown(self) {
        let _ = self.stop.send(());
        self.server.unblock();
        let _ = self.serving.join();
        let _ = self.polling.join();
    }
}

/// Binds, then serves and polls on two threads.
pub fn start(args: &CoordinatorArgs) -> Result<RunningCoordinator, CoordinatorError> {
    let overrides = Overrides {
        bootstrap_servers: args.bootstrap_servers.clone(),
        kafka_config: args.kafka_config.clone(),
        timeout: args.kafka_timeout,
        ..Overrides::default()
    }
    .with_process_env();
    if args
        .poll_interval
        .is_some_and(|interval| interval < Duration::from_millis(100))
    {
        return Err(CoordinatorError::InvalidArgument {
            flag: "--poll-interval",
            value: format!("{:?}", args.poll_interval.unwrap_or_default()),
            reason: "poll at most every 100ms",
        });
    }
    let server = server::Server::bind(&args.listen).map_err(|error| CoordinatorError::Bind {
        addr: args.listen.clone(),
        reason: error.to_string(),
    })?;
    let addr = server.addr();
    let server = Arc::new(server);
    let location = ModelLocation::new(&args.model);
    let status = Arc::new(Mutex::new(Status::default()));
    let make_watch: poll::WatchFactory = Box::new(move |system, facts| {
        let job_config = facts
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let settings =
            client_settings_for(system, &job_config, &overrides).map_err(|e| e.to_string())?;
        let client = LiveKafka::new(settings).map_err(|e| e.to_string())?;
        Ok(Box::new(KafkaWatch::new(system, client)) as Box<dyn PartitionWatch>)
    });
    let poller = Poller::new(
        location.clone(),
        Arc::clone(&status),
        args.poll_interval,
        make_watch,
    );
    let (stop, stopped) = mpsc::channel();
    let polling = std::thread::Builder::new()
        .name("partition-poll".to_owned())
        .spawn(move || poller.run(&stopped))
        .map_err(|error| CoordinatorError::Spawn {
            thread: "partition-poll",
            reason: error.to_string(),
        })?;
    let serving = {
        let (server, status) = (Arc::clone(&server), Arc::clone(&status));
        std::thread::Builder::new()
            .name("http".to_owned())
            .spawn(move || server.serve(&location, &status))
            .map_err(|error| CoordinatorError::Spawn {
                thread: "http",
                reason: error.to_string(),
            })?
    };
    Ok(RunningCoordinator {
        addr,
        server,
        serving,
        polling,
        stop,
        status,
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
        assert_eq!(args.kafka_timeout, None);
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
        ])
        .unwrap()
        .coordinator;
        assert_eq!(args.bootstrap_servers[0].system.as_deref(), Some("kafka"));
        assert_eq!(args.bootstrap_servers[1].system, None);
    }
}
