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
//! the poll loop (`poll`), sharing a `Status`. The command line is `command::coordinator`, which hands over
//! [`Settings`].

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

use crate::kafka::{client_settings_for, LiveKafka, Overrides};

/// What a coordinator serves and watches, decided once from its command line (`command::coordinator`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The job model as mounted from the model ConfigMap; FILE.gz is read (and gunzipped) when FILE is absent.
    pub model: PathBuf,
    /// Address to serve on.
    pub listen: String,
    /// How to reach Kafka (bootstrap servers, client properties, timeout), per system.
    pub kafka: Overrides,
    /// How often to compare the inputs' partition counts with the model; `None`: the model's
    /// job.coordinator.monitor-partition-change.frequency.ms (Samza: 5 minutes).
    pub poll_interval: Option<Duration>,
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
pub fn run(args: &Settings) -> Result<(), CoordinatorError> {
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
pub fn start(args: &Settings) -> Result<RunningCoordinator, CoordinatorError> {
    let overrides = args.kafka.clone();
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
