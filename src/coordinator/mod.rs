//! `helm-samza coordinator`: the small HTTP server that hands Samza containers their job model on Kubernetes.
//!
//! Samza containers started by `run-container.sh` fetch the model from `SAMZA_COORDINATOR_URL` and retry until
//! they get it (`SamzaContainer#readJobModel`). On YARN the ClusterBasedJobCoordinator computes and serves it;
//! with helm-samza the model is computed at render time and mounted from a ConfigMap (or, too large for one,
//! computed again here from the inputs the post-renderer recorded, and checked against its digest), so the
//! coordinator only serves those bytes (and answers the containers' heartbeats) and watches the one thing that makes them stale:
//! the input topics' partition counts.
//! It calls no Kubernetes API (drift shows through `/readyz` and `/metrics`), so it needs no token and no RBAC.
//!
//! On start, and whenever the mounted model changes, it also writes the model's task assignments and changelog
//! mapping to the job's coordinator stream, as Samza's cluster-based coordinator does (`writer`, `write_back`),
//! so that the next render — or Samza on YARN — finds them there.
//!
//! Three long-lived threads, the HTTP server (`server`, which answers each connection on a thread of its own),
//! the poll loop (`poll`) and the coordinator stream's writer (`writer`), sharing a `Status`. The command line is
//! `command::coordinator`, which hands over [`Settings`].

mod model;
mod poll;
mod server;
mod status;
mod watch;
pub mod write_back;
mod writer;

use std::path::PathBuf;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use model::{Model, ModelError, ModelFacts, ModelLocation, MAX_MODEL_BYTES};
pub use server::{MAX_CONNECTIONS, MAX_REQUEST_HEAD, READ_TIMEOUT, WRITE_TIMEOUT};
pub use status::{Status, StreamCounts, StreamStatus};
pub use watch::{KafkaWatch, PartitionWatch};

use poll::Poller;

use crate::kafka::{client_settings_for, LiveKafka, Overrides};

/// What a coordinator serves and watches, decided once from its command line (`command::coordinator`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The job model as mounted from the model ConfigMap; when FILE is absent, FILE.gz (gunzipped), the parts
    /// listed by job-model.index.json beside it (joined), or job-model.inputs.json beside it (computed again).
    pub model: PathBuf,
    /// Address to serve on.
    pub listen: String,
    /// How to reach Kafka (bootstrap servers, client properties, timeout), per system.
    pub kafka: Overrides,
    /// How often to compare the inputs' partition counts with the model; `None`: the model's
    /// job.coordinator.monitor-partition-change.frequency.ms (Samza: 5 minutes).
    pub poll_interval: Option<Duration>,
    /// Write the model to the job's coordinator stream (`--coordinator-stream write`).
    pub write_coordinator_stream: bool,
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
    /// The poll loop and, when the coordinator writes the stream, the writer.
    workers: Vec<JoinHandle<()>>,
    stop: Vec<Sender<()>>,
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

    /// Stops serving, polling and writing; a write under way ends first (within the Kafka timeout).
    pub fn shutdown(self) {
        for stop in &self.stop {
            let _ = stop.send(());
        }
        self.server.unblock();
        let _ = self.serving.join();
        for worker in self.workers {
            let _ = worker.join();
        }
    }
}

/// Binds, then serves, polls and writes the coordinator stream on threads of their own.
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
    let location = ModelLocation::new(&args.model).with_kafka(args.kafka.clone());
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
    let mut stop = Vec::new();
    let mut workers = Vec::new();
    let (stop_polling, stopped) = mpsc::channel();
    stop.push(stop_polling);
    workers.push(spawn("partition-poll", move || poller.run(&stopped))?);
    if args.write_coordinator_stream {
        let writer = writer::Writer::new(location.clone(), Arc::clone(&status), args.kafka.clone());
        let (stop_writing, stopped) = mpsc::channel();
        stop.push(stop_writing);
        workers.push(spawn("coordinator-stream", move || writer.run(&stopped))?);
    }
    let serving = {
        let (server, status) = (Arc::clone(&server), Arc::clone(&status));
        spawn("http", move || server.serve(&location, &status))?
    };
    Ok(RunningCoordinator {
        addr,
        server,
        serving,
        workers,
        stop,
        status,
    })
}

fn spawn(
    thread: &'static str,
    run: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, CoordinatorError> {
    std::thread::Builder::new()
        .name(thread.to_owned())
        .spawn(run)
        .map_err(|error| CoordinatorError::Spawn {
            thread,
            reason: error.to_string(),
        })
}
