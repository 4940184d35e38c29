//! Reading a coordinator stream of 100,000 `set-changelog` messages (a job with 100,000 tasks, or a long history
//! of a smaller one): folding the messages in memory, and the whole read from a real Kafka-protocol broker
//! (Tansu, from `.tools/bin/tansu` or under `HELM_SAMZA_TOOLS`; `scripts/setup` installs it). Target: < 1 s.

use std::hint::black_box;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use helm_samza::kafka::{read_stored_state, write_messages, KafkaClientSettings};
use helm_samza::samza::changelog::internal_topics;
use helm_samza::samza::coordinator_stream::{Header, Message, SET_CHANGELOG};
use helm_samza::samza::stored_state::Record;
use helm_samza::samza::{Config, StoredState};

const TASKS: u32 = 100_000;

/// One `set-changelog` message per task, with Samza's header fields.
fn messages() -> Vec<Message> {
    let header = Header {
        host: "10.1.2.4".into(),
        source: "SamzaContainer".into(),
        username: "yarn".into(),
        timestamp: 1_700_000_000_000,
    };
    (0..TASKS)
        .map(|n| {
            Message::set(
                SET_CHANGELOG,
                &format!("Partition {n}"),
                &header,
                &[("Partition", &n.to_string())],
            )
        })
        .collect()
}

fn in_memory(c: &mut Criterion) {
    let messages = messages();
    let records: Vec<Record<'_>> = messages
        .iter()
        .enumerate()
        .map(|(offset, m)| Record {
            offset: offset as i64,
            key: Some(&m.key),
            value: m.value.as_deref(),
        })
        .collect();
    c.bench_function("fold 100k set-changelog messages", |b| {
        b.iter(|| {
            let state = StoredState::decode(black_box(records.iter().copied())).expect("decodes");
            assert_eq!(state.changelog.len(), TASKS as usize);
            state
        })
    });
}

/// A Tansu broker with in-memory storage on a free loopback port; killed on drop.
struct Tansu(Child);

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_tansu() -> (Tansu, String) {
    let tools = std::env::var_os("HELM_SAMZA_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools"));
    let binary = tools.join("bin").join("tansu");
    assert!(
        binary.is_file(),
        "the Tansu broker is missing at {}: run scripts/setup",
        binary.display()
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(&binary)
        .args(["broker", "--listener-url", &url])
        .args(["--advertised-listener-url", &url])
        .args(["--storage-engine", "memory://tansu/"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting tansu");
    let tansu = Tansu(child);
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "tansu did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (tansu, format!("127.0.0.1:{port}"))
}

fn from_tansu(c: &mut Criterion) {
    let (_tansu, bootstrap) = start_tansu();
    let mut settings = KafkaClientSettings::new(vec![bootstrap]);
    settings.timeout = Duration::from_secs(60);
    let mut config = Config::default();
    config.set("job.name", "bench");
    config.set("job.default.system", "kafka");
    config.set("job.coordinator.replication.factor", "1");
    let spec = internal_topics(&config)
        .expect("valid config")
        .into_iter()
        .find(|spec| spec.name.starts_with("__samza_coordinator_"))
        .expect("a coordinator stream");
    write_messages(&settings, &spec, &messages()).expect("writes");
    let mut group = c.benchmark_group("tansu");
    group.sample_size(10);
    group.bench_function("read 100k set-changelog messages from Tansu", |b| {
        b.iter(|| {
            let state = read_stored_state(&settings, "kafka", &spec.name)
                .expect("reads")
                .expect("the topic exists");
            assert_eq!(state.changelog.len(), TASKS as usize);
            state
        })
    });
    group.finish();
}

criterion_group!(benches, in_memory, from_tansu);
criterion_main!(benches);
