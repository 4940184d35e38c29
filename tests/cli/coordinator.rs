//! The coordinator against a real broker (Tansu) on loopback: the model is served byte for byte with Samza's
//! content type, 404 before it exists, metrics are exposed, and a partition-count change on the broker is seen
//! within the poll interval.
//!
//! The coordinator is started in-process through the library (the same `start` that `helm-samza coordinator`
//! runs) so that the test can bind port 0 and learn the address.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use helm_samza::coordinator::{start, RunningCoordinator, Settings};
use helm_samza::kafka::Overrides;

use crate::support::broker::Broker;

const POLL: Duration = Duration::from_millis(400);

struct Reply {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A plain HTTP/1.0 GET, as Samza's HttpURLConnection does it (one request per connection).
fn get(addr: SocketAddr, path: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let content_type = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    Reply {
        status,
        content_type,
        body: raw[split + 4..].to_vec(),
    }
}

/// A HEAD-shaped job model: `stream` with `partitions` partitions, one task per partition, one container, task
/// `p` with changelog partition `p`; a job with a store whose coordinator stream is on the broker.
fn model(broker: &Broker, stream: &str, partitions: u32) -> String {
    let changelogs: Vec<u32> = (0..partitions).collect();
    job_model(&broker.bootstrap(), "coordinator-test", stream, &changelogs)
}

/// A job model of job `job` on the Kafka cluster at `bootstrap`: one task per partition of `stream`, task `p`
/// with changelog partition `changelogs[p]`, and a store with a changelog.
fn job_model(bootstrap: &str, job: &str, stream: &str, changelogs: &[u32]) -> String {
    let tasks: Vec<String> = changelogs
        .iter()
        .enumerate()
        .map(|(p, changelog)| {
            format!(
                r#""Partition {p}":{{"task-name":"Partition {p}","system-stream-partitions":[{{"system":"kafka","partition":{p},"stream":"{stream}","keyBucket":-1}}],"changelog-partition":{changelog},"task-mode":"Active"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"config":{{"job.name":"{job}","job.default.system":"kafka","job.coordinator.replication.factor":"1","task.inputs":"kafka.{stream}","stores.counts.factory":"org.apache.samza.storage.kv.RocksDbKeyValueStorageEngineFactory","stores.counts.changelog":"kafka.counts-changelog","systems.kafka.samza.factory":"org.apache.samza.system.kafka.KafkaSystemFactory","systems.kafka.consumer.bootstrap.servers":"{bootstrap}"}},"containers":{{"0":{{"processor-id":"0","tasks":{{{}}}}}}},"max-change-log-stream-partitions":{}}}"#,
        tasks.join(","),
        changelogs.len()
    )
}

fn coordinator(model: &Path) -> RunningCoordinator {
    coordinator_writing(model, true)
}

/// A coordinator that writes the coordinator stream (`--coordinator-stream write`) or not (`off`).
fn coordinator_writing(model: &Path, write: bool) -> RunningCoordinator {
    let args = Settings {
        model: model.to_owned(),
        listen: "127.0.0.1:0".to_owned(),
        kafka: Overrides {
            timeout: Some(Duration::from_secs(5)),
            ..Overrides::default()
        }
        .with_process_env(),
        poll_interval: Some(POLL),
        write_coordinator_stream: write,
    };
    start(&args).expect("the coordinator starts on loopback")
}

/// Polls `check` until it holds or `within` has passed; returns how long it took.
fn eventually(
    within: Duration,
    what: &str,
    mut check: impl FnMut() -> Result<(), String>,
) -> Duration {
    let started = Instant::now();
    loop {
        match check() {
            Ok(()) => return started.elapsed(),
            Err(last) if started.elapsed() > within => {
                panic!("{what} not seen within {within:?}; last: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(25)),
        }
    }
}

#[test]
fn coordinator_serves_404_until_the_model_exists_then_the_model_byte_for_byte() {
    let broker = Broker::start();
    broker.create_topic("page-views", 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job-model.json");
    let running = coordinator(&path);
    let addr = running.addr();

    let before = get(addr, "/");
    assert_eq!(before.status, 404, "{}", before.text());
    assert_eq!(get(addr, "/readyz").status, 503);
    assert_eq!(get(addr, "/healthz").status, 200);

    // Bytes as the post-renderer may write them, spacing included: nothing may re-serialize them.
    let written = model(&broker, "page-views", 3).replace(r#""config":"#, "\"config\" :\n ");
    std::fs::write(&path, &written).unwrap();
    let served = get(addr, "/");
    assert_eq!(served.status, 200);
    assert_eq!(served.content_type, "application/json;charset=UTF-8");
    assert_eq!(served.body, written.as_bytes());

    eventually(
        Duration::from_secs(10),
        "the broker's partition count in /metrics",
        || {
            let metrics = get(addr, "/metrics").text();
            let line = r#"helm_samza_coordinator_input_partitions{system="kafka",stream="page-views",source="broker"} 3"#;
            metrics.contains(line).then_some(()).ok_or(metrics)
        },
    );
    let metrics = get(addr, "/metrics");
    assert!(
        metrics
            .content_type
            .starts_with("text/plain; version=0.0.4"),
        "{}",
        metrics.content_type
    );
    let text = metrics.text();
    for line in [
        "helm_samza_coordinator_model_available 1",
        r#"helm_samza_coordinator_model_requests_total{code="404"} 1"#,
        r#"helm_samza_coordinator_model_requests_total{code="200"} 1"#,
        r#"helm_samza_coordinator_input_partitions{system="kafka",stream="page-views",source="model"} 3"#,
        "helm_samza_coordinator_partition_count_drift 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // Ready once the model is also written to the job's coordinator stream, which happens on a thread of its
    // own after the model appeared.
    eventually(Duration::from_secs(20), "readiness", || {
        let ready = get(addr, "/readyz");
        (ready.status == 200).then_some(()).ok_or(ready.text())
    });
    let metrics = get(addr, "/metrics").text();
    assert!(
        metrics
            .lines()
            .any(|l| l == "helm_samza_coordinator_stream_written 1"),
        "{metrics}"
    );

    // Samza containers with EXECUTION_ENV_CONTAINER_ID shut down unless their heartbeat is answered alive.
    let heartbeat = get(
        addr,
        "/containerHeartbeat?executionContainerId=job-worker-0",
    );
    assert_eq!(
        (heartbeat.status, heartbeat.text()),
        (200, r#"{"alive":true}"#.to_owned())
    );
    assert_eq!(get(addr, "/containerHeartbeat").status, 400);
    let metrics = get(addr, "/metrics").text();
    assert!(
        metrics
            .lines()
            .any(|l| l == "helm_samza_coordinator_container_heartbeats_total 1"),
        "{metrics}"
    );
    running.shutdown();
}

#[test]
fn coordinator_serves_a_gzipped_model_uncompressed() {
    use flate2::{write::GzEncoder, Compression};
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let written = model(&broker, "edits", 2);
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(written.as_bytes()).unwrap();
    std::fs::write(
        dir.path().join("job-model.json.gz"),
        encoder.finish().unwrap(),
    )
    .unwrap();
    let running = coordinator(&dir.path().join("job-model.json"));
    let served = get(running.addr(), "/");
    assert_eq!((served.status, served.body), (200, written.into_bytes()));
    running.shutdown();
}

#[test]
fn coordinator_sees_a_partition_count_change_within_the_poll_interval() {
    let broker = Broker::start();
    broker.create_topic("wikipedia-edits", 2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job-model.json");
    std::fs::write(&path, model(&broker, "wikipedia-edits", 2)).unwrap();
    let running = coordinator(&path);
    let addr = running.addr();
    eventually(Duration::from_secs(10), "a first successful poll", || {
        let ready = get(addr, "/readyz");
        let polled = running.with_status(|status| status.polls_ok > 0);
        (ready.status == 200 && polled)
            .then_some(())
            .ok_or(ready.text())
    });

    broker.set_partitions("wikipedia-edits", 4);
    let took = eventually(
        POLL * 2 + Duration::from_secs(5),
        "the drift on /readyz",
        || {
            let ready = get(addr, "/readyz");
            (ready.status == 503)
                .then_some(())
                .ok_or(format!("{} {}", ready.status, ready.text()))
        },
    );
    // One poll interval, plus the metadata round trip and this loop's own step.
    assert!(
        took <= POLL + Duration::from_secs(1),
        "drift seen after {took:?}, poll interval {POLL:?}"
    );

    let reasons = get(addr, "/readyz").text();
    assert!(
        reasons
            .contains("kafka.wikipedia-edits has 4 partitions, the job model was computed for 2"),
        "{reasons}"
    );
    let metrics = get(addr, "/metrics").text();
    for line in [
        r#"helm_samza_coordinator_input_partitions{system="kafka",stream="wikipedia-edits",source="broker"} 4"#,
        "helm_samza_coordinator_partition_count_drift 1",
        "helm_samza_coordinator_partition_changes_total 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?} in\n{metrics}"
        );
    }
    // The model is still served: containers restarting meanwhile must not be locked out.
    assert_eq!(get(addr, "/").status, 200);
    running.shutdown();
}

/// Clients that ask for a big model and never read it (each holds a connection whose writes cannot progress)
/// must not hold up the probes or each other: `/healthz`, `/readyz` and `/` answer while 50 such clients stall.
/// The old single-threaded server stalled every probe as long as one such client stayed connected.
#[test]
fn regression_stalled_readers_do_not_stall_the_probes() {
    let broker = Broker::start();
    broker.create_topic("page-views", 20_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job-model.json");
    let json = model(&broker, "page-views", 20_000);
    assert!(json.len() > 3_000_000, "a model larger than socket buffers");
    std::fs::write(&path, &json).unwrap();
    // Only the probes matter here: writing 80,000 coordinator stream messages meanwhile would only load the
    // machine the timings are taken on.
    let running = coordinator_writing(&path, false);
    let addr = running.addr();
    let stalled: Vec<TcpStream> = (0..50)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).unwrap();
            write!(stream, "GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
            stream
        })
        .collect();
    // Let the server fill their socket buffers and block on writing to them.
    std::thread::sleep(Duration::from_millis(300));
    let mut slowest = Duration::ZERO;
    for path in ["/healthz", "/readyz", "/metrics", "/healthz"] {
        let started = Instant::now();
        let reply = get(addr, path);
        slowest = slowest.max(started.elapsed());
        assert!(
            reply.status == 200 || path == "/readyz",
            "{path}: {}",
            reply.status
        );
    }
    let started = Instant::now();
    let whole = get(addr, "/");
    assert_eq!(whole.body, json.as_bytes());
    // Generous for a loaded 2-core machine; the stall this guards against lasted as long as the clients stayed.
    assert!(slowest < Duration::from_secs(3), "a probe took {slowest:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the model took {:?}",
        started.elapsed()
    );
    drop(stalled);
    running.shutdown();
}

/// More connections than the cap at once: the one over it is answered 503 at once, not queued behind them.
#[test]
fn connections_over_the_cap_are_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let running = coordinator(&dir.path().join("job-model.json"));
    let addr = running.addr();
    // Each sends half a request head and waits: it holds a connection until the server's read timeout.
    let held: Vec<TcpStream> = (0..helm_samza::coordinator::MAX_CONNECTIONS)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).unwrap();
            write!(stream, "GET / HTTP/1.1\r\n").unwrap();
            stream
        })
        .collect();
    let started = Instant::now();
    let refused = loop {
        let reply = get(addr, "/healthz");
        if reply.status == 503 {
            break reply;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "never refused: {}",
            reply.status
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        refused.text().contains("too many connections"),
        "{}",
        refused.text()
    );
    drop(held);
    // Once they are gone, probes are answered again.
    eventually(
        Duration::from_secs(10),
        "healthz after the held connections closed",
        || match get(addr, "/healthz").status {
            200 => Ok(()),
            other => Err(other.to_string()),
        },
    );
    running.shutdown();
}

/// Workers ask by the digest of their pod template's model: only that model is served to them, and a worker of
/// another model is told by its heartbeat to stop.
#[test]
fn coordinator_serves_a_worker_only_the_model_of_its_own_digest() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job-model.json");
    let written = model(&broker, "page-views", 2);
    std::fs::write(&path, &written).unwrap();
    let running = coordinator(&path);
    let addr = running.addr();
    let digest = helm_samza::model_configmap::digest(&written);
    let other = helm_samza::model_configmap::digest("another model");

    for own in [
        format!("/model/{digest}/"),
        format!("/model/{}/", digest.replace(':', "%3A")),
    ] {
        let served = get(addr, &own);
        assert_eq!(
            (served.status, served.body.as_slice()),
            (200, written.as_bytes())
        );
    }
    let refused = get(addr, &format!("/model/{other}/"));
    assert_eq!(refused.status, 409, "{}", refused.text());
    assert!(
        refused.text().contains(&other) && refused.text().contains(&digest),
        "{}",
        refused.text()
    );
    for (wanted, alive) in [(&digest, "true"), (&other, "false")] {
        let heartbeat = get(
            addr,
            &format!("/model/{wanted}/containerHeartbeat?executionContainerId=job-worker-0"),
        );
        assert_eq!(
            (heartbeat.status, heartbeat.text()),
            (200, format!(r#"{{"alive":{alive}}}"#))
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The coordinator stream: written on start, as Samza's coordinator writes it

/// The job's coordinator stream as Samza would read it on its next start; `None`: the topic does not exist.
fn stored_state(bootstrap: &str, topic: &str) -> Option<helm_samza::samza::StoredState> {
    let mut settings = helm_samza::kafka::KafkaClientSettings::new(vec![bootstrap.to_owned()]);
    settings.timeout = Duration::from_secs(10);
    helm_samza::kafka::read_stored_state(&settings, "kafka", topic).expect("the stream is readable")
}

fn changelog_of(pairs: &[(&str, u32)]) -> std::collections::BTreeMap<String, u32> {
    pairs
        .iter()
        .map(|(task, partition)| ((*task).to_owned(), *partition))
        .collect()
}

/// The value of the one sample `name` (a metric with its labels) in `metrics`.
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        line.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|value| value.parse().ok())
    })
}

fn ready(addr: SocketAddr) -> Result<(), String> {
    let ready = get(addr, "/readyz");
    (ready.status == 200)
        .then_some(())
        .ok_or(format!("{} {}", ready.status, ready.text()))
}

/// First deploy of a stateful job: no stream yet. The coordinator creates it and writes the model's changelog
/// mapping (here not the identity, so a fresh plan could not have guessed it), and is ready only then.
#[test]
fn coordinator_writes_the_models_mapping_to_a_new_coordinator_stream() {
    let broker = Broker::start();
    broker.create_topic("page-views", 3);
    let topic = "__samza_coordinator_coordinator-test_1";
    assert!(stored_state(&broker.bootstrap(), topic).is_none());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job-model.json");
    std::fs::write(
        &path,
        job_model(
            &broker.bootstrap(),
            "coordinator-test",
            "page-views",
            &[2, 0, 1],
        ),
    )
    .unwrap();
    let running = coordinator(&path);
    let addr = running.addr();
    eventually(Duration::from_secs(20), "readiness", || ready(addr));

    let stored = stored_state(&broker.bootstrap(), topic).expect("the stream was created");
    assert_eq!(
        stored.changelog,
        changelog_of(&[("Partition 0", 2), ("Partition 1", 0), ("Partition 2", 1)])
    );
    assert_eq!(stored.task_container.len(), 3);
    let metrics = get(addr, "/metrics").text();
    for (name, value) in [
        ("helm_samza_coordinator_stream_written", 1.0),
        ("helm_samza_coordinator_stream_changelog_entries", 3.0),
        ("helm_samza_coordinator_stream_changelog_conflicts", 0.0),
        (
            r#"helm_samza_coordinator_stream_writes_total{result="ok"}"#,
            1.0,
        ),
        (
            r#"helm_samza_coordinator_stream_writes_total{result="error"}"#,
            0.0,
        ),
    ] {
        assert_eq!(sample(&metrics, name), Some(value), "{name} in\n{metrics}");
    }
    running.shutdown();
}

/// The stream holds Samza's record (written by the test in Samza's own bytes) with a mapping the model does not
/// have, as after a render that could not read the stream. The stored entries win and stay; the coordinator
/// still serves the model, but is not ready and says which tasks disagree.
#[test]
fn coordinator_keeps_samzas_stored_mapping_and_reports_the_disagreement() {
    let broker = Broker::start();
    broker.create_topic("PageViewEvent", 3);
    let topic = "__samza_coordinator_page-view-counter_1";
    broker.create_topic(topic, 1);
    // Samza stored Partition 0 → 1 and Partition 1 → 0.
    broker.produce_raw(topic, crate::coordinator_stream::SAMZA_STREAM);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job-model.json");
    let written = job_model(
        &broker.bootstrap(),
        "page_view_counter",
        "PageViewEvent",
        &[0, 1, 2],
    );
    std::fs::write(&path, &written).unwrap();
    let running = coordinator(&path);
    let addr = running.addr();
    let reasons = std::cell::RefCell::new(String::new());
    eventually(
        Duration::from_secs(20),
        "the disagreement on /readyz",
        || {
            let answer = get(addr, "/readyz");
            *reasons.borrow_mut() = answer.text();
            (answer.status == 503 && answer.text().contains("disagrees"))
                .then_some(())
                .ok_or(answer.text())
        },
    );
    let reasons = reasons.into_inner();
    for expected in [
        "the served job model disagrees with Samza's record in coordinator stream `__samza_coordinator_page-view-counter_1`",
        "2 task(s)",
        "Partition 0: stored 1, model 0; Partition 1: stored 0, model 1",
    ] {
        assert!(reasons.contains(expected), "{expected} in {reasons}");
    }
    assert_eq!(
        reasons.lines().count(),
        1,
        "written, so the disagreement is the only reason: {reasons}"
    );

    let stored = stored_state(&broker.bootstrap(), topic).unwrap();
    assert_eq!(
        stored.changelog,
        changelog_of(&[("Partition 0", 1), ("Partition 1", 0), ("Partition 2", 2)]),
        "stored entries win; the new task gets the model's"
    );
    let metrics = get(addr, "/metrics").text();
    for (name, value) in [
        ("helm_samza_coordinator_stream_written", 1.0),
        ("helm_samza_coordinator_stream_changelog_entries", 3.0),
        ("helm_samza_coordinator_stream_changelog_conflicts", 2.0),
    ] {
        assert_eq!(sample(&metrics, name), Some(value), "{name} in\n{metrics}");
    }
    // Kept serving: containers that restart meanwhile still get their model.
    let served = get(addr, "/");
    assert_eq!((served.status, served.body), (200, written.into_bytes()));
    running.shutdown();
}

/// `helm-samza coordinator` as the chart runs it (with a 2s Kafka timeout and no partition polls), its stderr
/// kept in a file; stopped when dropped.
struct CoordinatorProcess {
    child: std::process::Child,
    addr: SocketAddr,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl CoordinatorProcess {
    fn start(model: &Path, env: &[(&str, &str)]) -> CoordinatorProcess {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stderr");
        let port = crate::support::broker::free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = std::process::Command::new(crate::support::run::binary())
            .args(["coordinator", "--model"])
            .arg(model)
            .args(["--listen", &addr.to_string()])
            .args(["--poll-interval", "1h", "--kafka-timeout", "2s"])
            .env_clear()
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("helm-samza coordinator starts");
        let process = CoordinatorProcess {
            child,
            addr,
            log,
            _dir: dir,
        };
        eventually(Duration::from_secs(20), "the coordinator listening", || {
            TcpStream::connect(addr)
                .map(drop)
                .map_err(|error| error.to_string())
        });
        process
    }
}

impl Drop for CoordinatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `helm-samza coordinator` started before its Kafka cluster: not ready, naming the stream and the error, the
/// model served all the same, the failure logged once however often it is retried; once the broker is up the
/// stream is written and the coordinator becomes ready. Run as the binary, with the flags' defaults.
#[test]
fn coordinator_retries_the_write_until_the_broker_answers() {
    let kafka_port = crate::support::broker::free_port();
    let bootstrap = format!("127.0.0.1:{kafka_port}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job-model.json");
    let written = job_model(&bootstrap, "late_broker", "page-views", &[1, 0]);
    std::fs::write(&path, &written).unwrap();
    let coordinator = CoordinatorProcess::start(&path, &[]);
    let (addr, log) = (coordinator.addr, coordinator.log.clone());
    let topic = "__samza_coordinator_late-broker_1";
    eventually(Duration::from_secs(20), "two failed writes", || {
        let metrics = get(addr, "/metrics").text();
        (sample(
            &metrics,
            r#"helm_samza_coordinator_stream_writes_total{result="error"}"#,
        ) >= Some(2.0))
        .then_some(())
        .ok_or(metrics)
    });
    let reasons = get(addr, "/readyz");
    assert_eq!(reasons.status, 503);
    assert!(
        reasons.text().contains(&format!(
            "the job model is not written to its coordinator stream: coordinator stream `{topic}`"
        )) && reasons.text().contains("no broker answered"),
        "{}",
        reasons.text()
    );
    let metrics = get(addr, "/metrics").text();
    assert_eq!(
        sample(&metrics, "helm_samza_coordinator_stream_written"),
        Some(0.0),
        "{metrics}"
    );
    let served = get(addr, "/");
    assert_eq!((served.status, served.body), (200, written.into_bytes()));
    let failures = |log: &str| {
        log.lines()
            .filter(|line| line.contains("the job model is not written to it"))
            .count()
    };
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert_eq!(failures(&stderr), 1, "logged once:\n{stderr}");
    assert!(
        stderr.contains(&format!("coordinator stream `{topic}`")),
        "{stderr}"
    );

    let broker = Broker::builder().port(kafka_port).start();
    eventually(
        Duration::from_secs(60),
        "readiness once the broker is up",
        || ready(addr),
    );
    assert_eq!(
        stored_state(&broker.bootstrap(), topic)
            .expect("written")
            .changelog,
        changelog_of(&[("Partition 0", 1), ("Partition 1", 0)])
    );
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert_eq!(failures(&stderr), 1, "logged once:\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "coordinator stream `{topic}` on system kafka written (created: a first deploy)"
        )),
        "{stderr}"
    );
}

/// `--coordinator-stream off`: ready without it, and nothing is written (the topic is never created).
#[test]
fn coordinator_with_the_stream_off_writes_nothing() {
    let broker = Broker::start();
    broker.create_topic("page-views", 2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job-model.json");
    std::fs::write(&path, model(&broker, "page-views", 2)).unwrap();
    let running = coordinator_writing(&path, false);
    let addr = running.addr();
    eventually(Duration::from_secs(20), "readiness after a poll", || {
        ready(addr)?;
        running
            .with_status(|status| status.polls_ok > 1)
            .then_some(())
            .ok_or("not polled twice yet".to_owned())
    });
    assert!(
        stored_state(
            &broker.bootstrap(),
            "__samza_coordinator_coordinator-test_1"
        )
        .is_none(),
        "the coordinator stream was created"
    );
    let metrics = get(addr, "/metrics").text();
    assert!(!metrics.contains("stream_written"), "{metrics}");
    assert_eq!(
        sample(
            &metrics,
            r#"helm_samza_coordinator_stream_writes_total{result="ok"}"#
        ),
        Some(0.0)
    );
    running.shutdown();
}

/// A write refused by the broker (here a SASL login that fails) is reported on `/readyz` and in the log without
/// the password the coordinator was given.
#[test]
fn coordinator_stream_failures_show_no_password() {
    const PASSWORD: &str = "wr0ng-Passw0rd-51c2";
    let broker = Broker::builder().authentication().start();
    broker.create_user("samza", "right-Passw0rd-7e0a", "scram512");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job-model.json");
    std::fs::write(
        &path,
        job_model(&broker.bootstrap(), "secured", "page-views", &[0]),
    )
    .unwrap();
    let coordinator = CoordinatorProcess::start(
        &path,
        &[
            ("HELM_SAMZA_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
            ("HELM_SAMZA_KAFKA_SASL_MECHANISMS", "SCRAM-SHA-512"),
            ("HELM_SAMZA_KAFKA_SASL_USERNAME", "samza"),
            ("HELM_SAMZA_KAFKA_SASL_PASSWORD", PASSWORD),
        ],
    );
    let addr = coordinator.addr;
    eventually(Duration::from_secs(20), "a failed write", || {
        let metrics = get(addr, "/metrics").text();
        (sample(
            &metrics,
            r#"helm_samza_coordinator_stream_writes_total{result="error"}"#,
        ) >= Some(1.0))
        .then_some(())
        .ok_or(metrics)
    });
    let reasons = get(addr, "/readyz").text();
    assert!(
        reasons.contains("coordinator stream `__samza_coordinator_secured_1`"),
        "{reasons}"
    );
    let stderr = std::fs::read_to_string(&coordinator.log).unwrap();
    assert!(
        stderr.contains("coordinator stream `__samza_coordinator_secured_1`"),
        "{stderr}"
    );
    for text in [&reasons, &stderr, &get(addr, "/metrics").text()] {
        assert!(!text.contains(PASSWORD), "{text}");
    }
}
