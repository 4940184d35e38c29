//! The poll loop: every interval, re-read the model, ask each Kafka system for its inputs' partition counts,
//! and record what changed. It mirrors Samza's StreamPartitionCountMonitor, which compares the inputs' current
//! partition counts with those the model was computed from, every
//! `job.coordinator.monitor-partition-change.frequency.ms`.
//!
//! Failures never stop the loop or the server: a broker outage must not take the model away from containers,
//! so it is logged once per distinct message and counted.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::model::{ModelFacts, ModelLocation};
use super::status::{Status, StreamCounts};
use super::watch::PartitionWatch;

/// Makes the watch of one system from its bootstrap servers, or says why it cannot.
pub type WatchFactory =
    Box<dyn Fn(&str, &ModelFacts) -> Result<Box<dyn PartitionWatch>, String> + Send>;

pub struct Poller {
    pub location: ModelLocation,
    pub status: Arc<Mutex<Status>>,
    /// `None`: Samza's monitor period from the model's config.
    pub interval: Option<Duration>,
    pub make_watch: WatchFactory,
    watches: BTreeMap<String, Box<dyn PartitionWatch>>,
    last_problem: Option<String>,
}

impl Poller {
    pub fn new(
        location: ModelLocation,
        status: Arc<Mutex<Status>>,
        interval: Option<Duration>,
        make_watch: WatchFactory,
    ) -> Self {
        Poller {
            location,
            status,
            interval,
            make_watch,
            watches: BTreeMap::new(),
            last_problem: None,
        }
    }

    /// Polls until `stop` says so (a message or a dropped sender).
    pub fn run(mut self, stop: &Receiver<()>) {
        loop {
            let interval = self.poll_once();
            match stop.recv_timeout(interval) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// One round; returns how long to wait for the next.
    pub fn poll_once(&mut self) -> Duration {
        let facts = match self.location.load() {
            Ok(facts) => facts,
            Err(error) => {
                let problem = error.to_string();
                self.lock().model_problem = Some(problem.clone());
                self.report(Some(problem));
                return self.interval.unwrap_or(Duration::from_secs(5));
            }
        };
        let interval = self.interval.unwrap_or_else(|| facts.monitor_interval());
        let mut problems = Vec::new();
        let mut unusable = Vec::new();
        let mut seen: BTreeMap<(String, String), Option<u32>> = BTreeMap::new();
        let mut any_ok = false;
        for (system, streams) in &facts.partitions {
            if !facts.is_kafka_system(system) {
                continue;
            }
            if !self.watches.contains_key(system) {
                match (self.make_watch)(system, &facts) {
                    Ok(watch) => {
                        self.watches.insert(system.clone(), watch);
                    }
                    Err(problem) => {
                        // No client could be made: the settings themselves are refused, and polling again
                        // with the same settings cannot succeed.
                        let problem = format!("cannot watch system {system}: {problem}");
                        unusable.push(problem.clone());
                        problems.push(problem);
                        continue;
                    }
                }
            }
            let names: Vec<String> = streams.keys().cloned().collect();
            match self.watches[system].counts(&names) {
                Ok(counts) => {
                    any_ok = true;
                    for stream in &names {
                        if !counts.contains_key(stream) {
                            problems.push(format!(
                                "input {system}.{stream} is not on the broker (or not visible)"
                            ));
                        }
                        seen.insert(
                            (system.clone(), stream.clone()),
                            counts.get(stream).copied(),
                        );
                    }
                }
                Err(problem) => problems.push(format!(
                    "cannot read partition counts of system {system}: {problem}"
                )),
            }
        }
        let mut status = self.lock();
        status.model_problem = None;
        status.kafka_config_problem = (!unusable.is_empty()).then(|| unusable.join("; "));
        let previous = std::mem::take(&mut status.streams);
        for (system, streams) in &facts.partitions {
            for (stream, model) in streams {
                let key = (system.clone(), stream.clone());
                let before = previous.get(&key).and_then(|counts| counts.broker);
                // A failed poll keeps what was last seen rather than forgetting it.
                let broker = seen.get(&key).copied().flatten().or(before);
                if let Some(now) = broker {
                    if now != before.unwrap_or(*model) {
                        status.partition_changes += 1;
                        eprintln!(
                            "{} input {system}.{stream}: {now} partitions on the broker (was {}, the job model has {model}); \
                             upgrade the release so that helm-samza computes a new model",
                            timestamp(),
                            before.map_or("not seen yet".to_owned(), |count| count.to_string()),
                        );
                    }
                }
                status.streams.insert(
                    key,
                    StreamCounts {
                        model: *model,
                        broker,
                    },
                );
            }
        }
        if any_ok {
            status.polls_ok += 1;
            status.last_poll_unix_seconds = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .ok()
                .map(|since| since.as_secs());
        }
        if !problems.is_empty() {
            status.polls_failed += 1;
        }
        let problem = (!problems.is_empty()).then(|| problems.join("; "));
        status.watch_problem = problem.clone();
        drop(status);
        self.report(problem);
        interval
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Logs a problem once, and its end once.
    fn report(&mut self, problem: Option<String>) {
        if problem == self.last_problem {
            return;
        }
        match &problem {
            Some(problem) => eprintln!("{} {problem}", timestamp()),
            None => eprintln!("{} input partition counts are readable again", timestamp()),
        }
        self.last_problem = problem;
    }
}

fn timestamp() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    /// A watch answering what the test last sent it; an empty answer is a failed poll.
    struct Scripted(Arc<Mutex<Option<BTreeMap<String, u32>>>>);

    impl PartitionWatch for Scripted {
        fn counts(&self, _streams: &[String]) -> Result<BTreeMap<String, u32>, String> {
            self.0
                .lock()
                .unwrap()
                .clone()
                .ok_or_else(|| "broker down".to_owned())
        }
    }

    const MODEL: &str = r#"{"config":{"systems.kafka.samza.factory":"org.apache.samza.system.kafka.KafkaSystemFactory"},
      "containers":{"0":{"processor-id":"0","tasks":{"Partition 3":{"task-name":"Partition 3",
      "system-stream-partitions":[{"system":"kafka","partition":3,"stream":"in"}],"changelog-partition":0}}}}}"#;

    #[test]
    fn a_change_is_counted_once_and_survives_a_failed_poll() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job-model.json");
        std::fs::write(&path, MODEL).unwrap();
        let answer = Arc::new(Mutex::new(Some(BTreeMap::from([("in".to_owned(), 4)]))));
        let shared = Arc::clone(&answer);
        let status = Arc::new(Mutex::new(Status::default()));
        let mut poller = Poller::new(
            ModelLocation::new(&path),
            Arc::clone(&status),
            Some(Duration::from_secs(1)),
            Box::new(move |_, _| {
                Ok(Box::new(Scripted(Arc::clone(&shared))) as Box<dyn PartitionWatch>)
            }),
        );
        let key = ("kafka".to_owned(), "in".to_owned());
        let snapshot = |status: &Arc<Mutex<Status>>| {
            let status = status.lock().unwrap();
            (
                status.streams[&key],
                status.partition_changes,
                status.polls_ok,
                status.polls_failed,
            )
        };

        assert_eq!(poller.poll_once(), Duration::from_secs(1));
        assert_eq!(
            snapshot(&status),
            (
                StreamCounts {
                    model: 4,
                    broker: Some(4)
                },
                0,
                1,
                0
            )
        );

        *answer.lock().unwrap() = Some(BTreeMap::from([("in".to_owned(), 8)]));
        poller.poll_once();
        poller.poll_once();
        assert_eq!(
            snapshot(&status),
            (
                StreamCounts {
                    model: 4,
                    broker: Some(8)
                },
                1,
                3,
                0
            )
        );

        *answer.lock().unwrap() = None;
        poller.poll_once();
        assert_eq!(
            snapshot(&status),
            (
                StreamCounts {
                    model: 4,
                    broker: Some(8)
                },
                1,
                3,
                1
            )
        );
        assert_eq!(status.lock().unwrap().drift().len(), 1);
    }

    #[test]
    fn refused_kafka_settings_make_the_coordinator_unready_until_a_client_can_be_made() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job-model.json");
        std::fs::write(&path, MODEL).unwrap();
        let refused = Arc::new(Mutex::new(true));
        let refusing = Arc::clone(&refused);
        let status = Arc::new(Mutex::new(Status::default()));
        let mut poller = Poller::new(
            ModelLocation::new(&path),
            Arc::clone(&status),
            Some(Duration::from_secs(1)),
            Box::new(move |_, _| {
                if *refusing.lock().unwrap() {
                    Err("No such configuration property: \"sasl.pasword\"".to_owned())
                } else {
                    let counts = Some(BTreeMap::from([("in".to_owned(), 4)]));
                    Ok(Box::new(Scripted(Arc::new(Mutex::new(counts)))) as Box<dyn PartitionWatch>)
                }
            }),
        );
        poller.poll_once();
        let reasons = status.lock().unwrap().readiness().unwrap_err();
        assert!(
            reasons[0].contains("cannot watch system kafka") && reasons[0].contains("sasl.pasword"),
            "{reasons:?}"
        );
        assert!(status
            .lock()
            .unwrap()
            .metrics()
            .contains("helm_samza_coordinator_kafka_config_rejected 1\n"));

        *refused.lock().unwrap() = false;
        poller.poll_once();
        assert_eq!(status.lock().unwrap().readiness(), Ok(()));
        assert!(status
            .lock()
            .unwrap()
            .metrics()
            .contains("helm_samza_coordinator_kafka_config_rejected 0\n"));
    }

    #[test]
    fn a_missing_model_is_reported_and_the_loop_stops_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let status = Arc::new(Mutex::new(Status::default()));
        let poller = Poller::new(
            ModelLocation::new(&dir.path().join("job-model.json")),
            Arc::clone(&status),
            Some(Duration::from_secs(3600)),
            Box::new(|_, _| Err("unused".to_owned())),
        );
        let (stop, stopped) = channel();
        let polling = std::thread::spawn(move || poller.run(&stopped));
        stop.send(()).unwrap();
        polling.join().unwrap();
        let problem = status.lock().unwrap().model_problem.clone().unwrap();
        assert!(problem.contains("no job model"), "{problem}");
    }
}
