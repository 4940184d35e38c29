//! The write-back thread: writes the served model to the job's coordinator stream ([`write_back`]) on start and
//! whenever the mounted model changes, retrying with a capped backoff until it is written.
//!
//! A thread of its own, because a write waits on Kafka (up to the Kafka timeout, twice: read, then write) and
//! neither the probes nor the partition poll may wait with it. Samza's coordinator writes before it serves; this
//! one serves at once and writes meanwhile, because the model is the release's, not the coordinator's: holding it
//! back during a Kafka outage would keep restarting containers from their model without making it more right.
//! `/readyz` says whether it is written.
//!
//! Nothing is written for a job whose coordinator system is not a Kafka system (`systems.<s>.samza.factory`
//! is not Kafka's: the stream then lives elsewhere and Samza's own factory writes it), nor for a job without a
//! coordinator system (Samza 0.9; the linter reports the missing key).

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::model::{Model, ModelLocation};
use super::status::{conflict_reason, Status, StreamStatus, CONFLICT_EXAMPLES};
use super::write_back::{write_back, WriteBack, WriteBackError};
use crate::kafka::Overrides;
use crate::samza::coordinator_stream::stream_name;
use crate::samza::JobModel;

/// How often the mounted model is looked at for a new version (a `stat`, the model is read only when it changed).
const MODEL_CHECK: Duration = Duration::from_millis(500);
/// The first wait after a failed write; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What one version of the model asks of the writer.
enum Plan {
    /// Write `model` to `topic`.
    Write { model: JobModel, topic: String },
    /// Nothing to write, and why (logged once).
    Skip(String),
    /// The model cannot be read or understood: the model's own problem, reported by `/readyz`.
    NoModel,
}

pub struct Writer {
    location: ModelLocation,
    status: Arc<Mutex<Status>>,
    kafka: Overrides,
    /// The digest of the model last written, skipped or found unreadable: nothing more is done until another
    /// one is mounted.
    handled: Option<String>,
    /// The model whose write failed, and when to try it again; another model is tried at once.
    retry: Option<(String, Instant)>,
    backoff: Duration,
    last_logged: Option<String>,
}

impl Writer {
    pub fn new(location: ModelLocation, status: Arc<Mutex<Status>>, kafka: Overrides) -> Writer {
        lock(&status).stream.enabled = true;
        Writer {
            location,
            status,
            kafka,
            handled: None,
            retry: None,
            backoff: FIRST_BACKOFF,
            last_logged: None,
        }
    }

    /// Writes until `stop` says so (a message or a dropped sender).
    pub fn run(mut self, stop: &Receiver<()>) {
        loop {
            let wait = self.step();
            match stop.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Writes the current model if it is not written yet; returns how long to wait before looking again.
    pub fn step(&mut self) -> Duration {
        let Ok(model) = self.location.read() else {
            // No model (yet, or any more): the next one is written, even if it is the same again.
            self.handled = None;
            self.set(|stream| {
                stream.enabled = true;
                stream.topic = None;
                stream.written = false;
            });
            return MODEL_CHECK;
        };
        if self.handled.as_deref() == Some(model.digest.as_str()) {
            return MODEL_CHECK;
        }
        match &self.retry {
            Some((digest, at)) if *digest == model.digest => {
                let now = Instant::now();
                if now < *at {
                    return MODEL_CHECK.min(*at - now);
                }
            }
            // Another model than the one that failed: written at once, with the backoff from the start.
            Some(_) => {
                self.retry = None;
                self.backoff = FIRST_BACKOFF;
                self.set(|stream| stream.problem = None);
            }
            None => {}
        }
        match plan(&model) {
            Plan::NoModel => {
                self.set(|stream| {
                    stream.enabled = true;
                    stream.topic = None;
                    stream.written = false;
                });
                self.handled = Some(model.digest.clone());
                MODEL_CHECK
            }
            Plan::Skip(why) => {
                self.set(|stream| {
                    *stream = StreamStatus {
                        writes_ok: stream.writes_ok,
                        writes_failed: stream.writes_failed,
                        ..StreamStatus::default()
                    }
                });
                self.log(format!("coordinator stream not written: {why}"));
                self.handled = Some(model.digest.clone());
                MODEL_CHECK
            }
            Plan::Write { model: job, topic } => {
                self.set(|stream| {
                    // A model not written yet: what was written before was another model's.
                    stream.enabled = true;
                    stream.topic = Some(topic.clone());
                    stream.written = false;
                    stream.conflicts = 0;
                    stream.conflict_examples.clear();
                });
                let result = write_back(&job, &self.kafka, SystemTime::now());
                drop(job);
                self.record(&topic, result, &model.digest)
            }
        }
    }

    fn record(
        &mut self,
        topic: &str,
        result: Result<WriteBack, WriteBackError>,
        digest: &str,
    ) -> Duration {
        match result {
            Ok(written) => {
                let examples: Vec<String> = written
                    .conflicts
                    .iter()
                    .take(CONFLICT_EXAMPLES)
                    .map(ToString::to_string)
                    .collect();
                self.set(|stream| {
                    stream.written = true;
                    stream.problem = None;
                    stream.changelog_entries = Some(written.changelog_entries);
                    stream.conflicts = written.conflicts.len();
                    stream.conflict_examples.clone_from(&examples);
                    stream.writes_ok += 1;
                });
                let created = if written.first_deploy {
                    " (created: a first deploy)"
                } else {
                    ""
                };
                self.log(format!(
                    "coordinator stream `{topic}` on system {} written{created}: {} messages, {} changelog entries",
                    written.system, written.messages, written.changelog_entries
                ));
                if !written.conflicts.is_empty() {
                    // Logged on its own line, and whatever was logged before: it is the line to find.
                    eprintln!(
                        "{} {}",
                        timestamp(),
                        conflict_reason(topic, written.conflicts.len(), &examples)
                    );
                }
                self.handled = Some(digest.to_owned());
                self.retry = None;
                self.backoff = FIRST_BACKOFF;
                MODEL_CHECK
            }
            Err(error) => {
                let problem = match error {
                    WriteBackError::Stream(error) => error.to_string(),
                    WriteBackError::Config(error) => {
                        format!("coordinator stream `{topic}`: {error}")
                    }
                    WriteBackError::Settings(error) => {
                        format!("coordinator stream `{topic}`: {error}")
                    }
                };
                self.set(|stream| {
                    stream.written = false;
                    stream.problem = Some(problem.clone());
                    stream.writes_failed += 1;
                });
                self.log(format!(
                    "{problem}; the job model is not written to it (retrying, at least every {}s)",
                    MAX_BACKOFF.as_secs()
                ));
                self.retry = Some((digest.to_owned(), Instant::now() + self.backoff));
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                MODEL_CHECK
            }
        }
    }

    fn set(&self, change: impl FnOnce(&mut StreamStatus)) {
        change(&mut lock(&self.status).stream);
    }

    /// Logs a line once: the same failure on every retry is said only when it first happens.
    fn log(&mut self, line: String) {
        if self.last_logged.as_deref() != Some(line.as_str()) {
            eprintln!("{} {line}", timestamp());
            self.last_logged = Some(line);
        }
    }
}

/// What to do with one version of the model.
fn plan(model: &Model) -> Plan {
    let Some(job) = std::str::from_utf8(&model.json)
        .ok()
        .and_then(|text| JobModel::from_json(text).ok())
    else {
        return Plan::NoModel;
    };
    let Some(system) = job.config.coordinator_system() else {
        return Plan::Skip(
            "the job has no coordinator system (job.coordinator.system, job.default.system)"
                .to_owned(),
        );
    };
    let factory_key = format!("systems.{system}.samza.factory");
    if !super::model::is_kafka_factory(job.config.get(&factory_key)) {
        return Plan::Skip(format!(
            "its system `{system}` is not a Kafka system ({factory_key} is not Samza's KafkaSystemFactory)"
        ));
    }
    match stream_name(&job.config) {
        Ok(topic) => Plan::Write { model: job, topic },
        Err(error) => Plan::Skip(format!("the stream has no name: {error}")),
    }
}

fn lock(status: &Arc<Mutex<Status>>) -> std::sync::MutexGuard<'_, Status> {
    status
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn timestamp() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(config: &str) -> Model {
        let json = format!(
            r#"{{"config":{{{config}}},"containers":{{"0":{{"processor-id":"0","tasks":{{"Partition 0":{{"task-name":"Partition 0",
            "system-stream-partitions":[{{"system":"kafka","partition":0,"stream":"in"}}],"changelog-partition":0}}}}}}}}}}"#
        );
        Model {
            digest: crate::model_configmap::digest(&json),
            json: json.into_bytes(),
            ..Model::default()
        }
    }

    const KAFKA: &str =
        r#""systems.kafka.samza.factory":"org.apache.samza.system.kafka.KafkaSystemFactory""#;

    #[test]
    fn only_a_kafka_coordinator_system_is_written() {
        let written = model(&format!(
            r#""job.name":"page_views","job.default.system":"kafka",{KAFKA}"#
        ));
        assert!(
            matches!(plan(&written), Plan::Write { topic, .. } if topic == "__samza_coordinator_page-views_1")
        );
        let elsewhere = model(&format!(
            r#""job.name":"j","job.default.system":"kafka","job.coordinator.system":"zk",{KAFKA},
            "systems.zk.samza.factory":"org.example.ZkSystemFactory""#
        ));
        assert!(
            matches!(plan(&elsewhere), Plan::Skip(why) if why.contains("`zk` is not a Kafka system") && why.contains("systems.zk.samza.factory")),
        );
        let without = model(&format!(r#""job.name":"j",{KAFKA}"#));
        assert!(
            matches!(plan(&without), Plan::Skip(why) if why.contains("job.coordinator.system")),
        );
        let mut broken = model(KAFKA);
        broken.json = b"{\"config\":".to_vec();
        assert!(matches!(plan(&broken), Plan::NoModel));
    }

    /// A job whose stream is not Kafka's leaves the coordinator ready, and says nothing about the stream.
    #[test]
    fn a_skipped_model_does_not_hold_readiness() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job-model.json");
        let status = Arc::new(Mutex::new(Status::default()));
        let mut writer = Writer::new(
            ModelLocation::new(&path),
            Arc::clone(&status),
            Overrides::default(),
        );
        // No model yet: not written, whatever else is said about the model.
        assert_eq!(writer.step(), MODEL_CHECK);
        let reasons = status.lock().unwrap().readiness().unwrap_err();
        assert_eq!(
            reasons,
            ["the job model is not written to its coordinator stream yet"]
        );
        std::fs::write(&path, model(&format!(r#""job.name":"j",{KAFKA}"#)).json).unwrap();
        writer.step();
        let status = status.lock().unwrap();
        assert_eq!(status.readiness(), Ok(()));
        assert!(!status.metrics().contains("stream_written"));
    }

    /// A failed write waits for its backoff (growing, capped) before it is tried again, but a new model is tried
    /// at once. No broker listens on the port, so every write fails within the Kafka timeout.
    #[test]
    fn a_failed_write_is_retried_after_its_backoff_and_a_new_model_at_once() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = |job: &str| {
            format!(
                r#""job.name":"{job}","job.default.system":"kafka",{KAFKA},"systems.kafka.consumer.bootstrap.servers":"127.0.0.1:{port}""#
            )
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job-model.json");
        std::fs::write(&path, model(&config("first")).json).unwrap();
        let status = Arc::new(Mutex::new(Status::default()));
        let mut writer = Writer::new(
            ModelLocation::new(&path),
            Arc::clone(&status),
            Overrides {
                timeout: Some(Duration::from_secs(1)),
                ..Overrides::default()
            },
        );
        let failed = || status.lock().unwrap().stream.writes_failed;

        writer.step();
        assert_eq!(failed(), 1);
        let reasons = status.lock().unwrap().readiness().unwrap_err();
        assert!(
            reasons[0].starts_with(
                "the job model is not written to its coordinator stream: coordinator stream `__samza_coordinator_first_1`"
            ),
            "{reasons:?}"
        );
        // Within the backoff: nothing is tried.
        let wait = writer.step();
        assert!(wait <= MODEL_CHECK, "{wait:?}");
        assert_eq!(failed(), 1);
        assert_eq!(writer.backoff, FIRST_BACKOFF * 2);

        // Another model: tried at once, the backoff starting over.
        std::fs::write(&path, model(&config("second")).json).unwrap();
        writer.step();
        assert_eq!(failed(), 2);
        assert_eq!(writer.backoff, FIRST_BACKOFF * 2);
        assert!(status.lock().unwrap().readiness().unwrap_err()[0]
            .contains("__samza_coordinator_second_1"));

        // The backoff doubles up to its cap.
        for _ in 0..4 {
            writer.retry = writer
                .retry
                .take()
                .map(|(digest, _)| (digest, Instant::now()));
            writer.step();
        }
        assert_eq!(failed(), 6);
        assert_eq!(writer.backoff, MAX_BACKOFF);
    }
}
