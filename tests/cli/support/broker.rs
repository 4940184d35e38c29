//! A real Kafka-protocol broker (Tansu, from `<repo>/.tools/bin/tansu`) on a free loopback port, for tests that
//! must see what librdkafka does against a broker process rather than librdkafka's own mock. In-memory
//! storage, so every broker starts empty; dropping the handle kills the process.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a starting broker may take to accept connections; Tansu is usually ready in milliseconds.
const STARTUP: Duration = Duration::from_secs(15);

/// A closed port on loopback: advertising it reproduces `kubectl port-forward`, where only the bootstrap
/// address reaches the broker.
pub const UNREACHABLE_ADVERTISED: &str = "tcp://127.0.0.1:9";

pub struct Broker {
    child: Child,
    port: u16,
    logs: tempfile::TempDir,
}

impl Broker {
    /// A broker that advertises the address it listens on.
    pub fn start() -> Broker {
        Broker::launch(None)
    }

    /// A broker that advertises `127.0.0.1:9`, where nothing listens.
    pub fn start_with_unreachable_advertised() -> Broker {
        Broker::launch(Some(UNREACHABLE_ADVERTISED))
    }

    /// `127.0.0.1:PORT`, as bootstrap servers are written.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn url(&self) -> String {
        format!("tcp://{}", self.bootstrap())
    }

    /// Creates a topic with Tansu's own client, which talks to the listener directly.
    pub fn create_topic(&self, name: &str, partitions: u32) {
        self.topic_command(&["create", name, "--partitions", &partitions.to_string()]);
    }

    /// Gives a topic a new partition count. Tansu cannot add partitions, so the topic is deleted and created
    /// again; to a reader of metadata, which is all helm-samza is, that is the same change.
    pub fn set_partitions(&self, name: &str, partitions: u32) {
        self.topic_command(&["delete", name]);
        self.create_topic(name, partitions);
    }

    fn topic_command(&self, args: &[&str]) {
        let output = Command::new(tansu())
            .arg("topic")
            .args(args)
            .args(["--broker", &self.url()])
            .output()
            .expect("running `tansu topic`");
        assert!(
            output.status.success(),
            "`tansu topic {}` failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn launch(advertised: Option<&str>) -> Broker {
        let binary = tansu();
        let logs = tempfile::tempdir().expect("a scratch folder for broker logs");
        let port = free_port();
        let listener = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&binary)
            .args([
                "broker",
                "--listener-url",
                &listener,
                "--advertised-listener-url",
                advertised.unwrap_or(&listener),
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .current_dir(logs.path())
            .stdin(Stdio::null())
            .stdout(File::create(logs.path().join("stdout")).expect("broker stdout file"))
            .stderr(File::create(logs.path().join("stderr")).expect("broker stderr file"))
            .spawn()
            .unwrap_or_else(|error| panic!("starting {}: {error}", binary.display()));
        let mut broker = Broker { child, port, logs };
        broker.wait_until_ready();
        broker
    }

    fn wait_until_ready(&mut self) {
        let address: SocketAddr = self.bootstrap().parse().expect("a loopback address");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("polling the broker process") {
                panic!(
                    "tansu exited with {status} before accepting connections: {}",
                    self.log()
                );
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(
                started.elapsed() < STARTUP,
                "tansu did not accept connections within {STARTUP:?}: {}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        ["stdout", "stderr"]
            .iter()
            .map(|name| std::fs::read_to_string(self.logs.path().join(name)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Kills exactly the process this handle started, also when a test panicked.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `<repo>/.tools/bin/tansu`, or under `HELM_SAMZA_TOOLS`.
fn tansu() -> PathBuf {
    let tools = std::env::var_os("HELM_SAMZA_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools"));
    let binary = tools.join("bin").join("tansu");
    assert!(
        binary.is_file(),
        "the Tansu broker is missing at {}: run scripts/setup",
        binary.display()
    );
    binary
}

/// A port the kernel just handed out on loopback; released again for the broker to bind.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free loopback port");
    listener.local_addr().expect("the bound address").port()
}
