//! A real Kafka-protocol broker (Tansu, from `<repo>/.tools/bin/tansu`) on a free loopback port, for tests that
//! must see what librdkafka does against a broker process rather than librdkafka's own mock. In-memory
//! storage, so every broker starts empty; dropping the handle kills the process.
//!
//! `Broker::builder()` also makes secured brokers:
//! - `.authentication()` starts Tansu with `--authentication`: every connection must log in with SASL SCRAM.
//! - `.tls()` puts a TLS listener in front (`socat`, with a CA and a server certificate for 127.0.0.1 made
//!   by `openssl` in a scratch folder). Tansu 0.6 accepts `--cert`/`--key` but ignores them (it even starts
//!   with a certificate file that does not exist, and refuses the two together) and serves plaintext on a
//!   `tls://` listener, so TLS has to come from a front; the broker advertises the front's address.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::support::tools::on_path;

/// How long a starting broker may take to accept connections; Tansu is usually ready in milliseconds.
const STARTUP: Duration = Duration::from_secs(15);

/// Runs its arguments and kills that process when its own stdin (the lifeline, held only by the test process)
/// closes. Asynchronous lists in a non-interactive shell read /dev/null, so the lifeline is handed over as fd 3.
const GUARD: &str = r#"exec 3<&0 </dev/null
"$@" & server=$!
( read -r _ <&3; kill "$server" 2>/dev/null ) &
wait "$server""#;

/// A closed port on loopback: advertising it reproduces `kubectl port-forward`, where only the bootstrap
/// address reaches the broker.
pub const UNREACHABLE_ADVERTISED: &str = "tcp://127.0.0.1:9";

pub struct Broker {
    /// The `sh` guard running Tansu (see [`GUARD`]).
    child: Child,
    /// The guard's stdin: when it closes — on drop, or when the test process dies, even by `kill -9` — the guard
    /// kills Tansu, so no broker outlives its test.
    lifeline: Option<std::process::ChildStdin>,
    port: u16,
    logs: tempfile::TempDir,
    /// The TLS listener in front of the broker, when there is one; clients are given its port.
    tls: Option<TlsFront>,
    /// The way in for Tansu's own CLI when the broker wants a login.
    door: Option<Door>,
}

/// How to start a broker; `Broker::start()` is `Broker::builder().start()`.
#[derive(Default)]
pub struct BrokerBuilder {
    advertised: Option<String>,
    authentication: bool,
    tls: bool,
    port: Option<u16>,
}

impl BrokerBuilder {
    /// Every client must log in with SASL SCRAM (SHA-256 or SHA-512).
    pub fn authentication(mut self) -> Self {
        self.authentication = true;
        self
    }

    /// Clients reach the broker only through TLS, with a certificate signed by the broker's own CA
    /// (`Broker::ca_file`).
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Listens on `port` (e.g. one a client was pointed at before the broker existed).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    pub fn start(self) -> Broker {
        let binary = tansu();
        let logs = tempfile::tempdir().expect("a scratch folder for broker logs");
        let port = self.port.unwrap_or_else(free_port);
        let listener = format!("tcp://127.0.0.1:{port}");
        let tls_port = self.tls.then(free_port);
        let advertised = match (self.advertised, tls_port) {
            (Some(advertised), _) => advertised,
            (None, Some(tls_port)) => format!("tcp://127.0.0.1:{tls_port}"),
            (None, None) => listener.clone(),
        };
        let mut command = Command::new(on_path("sh"));
        command
            .args(["-c", GUARD, "guard"])
            .arg(&binary)
            .args(["broker", "--listener-url", &listener])
            .args(["--advertised-listener-url", &advertised])
            .args(["--storage-engine", "memory://tansu/"]);
        if self.authentication {
            // Tansu logs each login's user name and mechanism at debug level: what tests check arrived.
            command
                .arg("--authentication")
                .env("RUST_LOG", "warn,tansu_auth=debug")
                .env("NO_COLOR", "1");
        }
        let mut child = command
            .current_dir(logs.path())
            .stdin(Stdio::piped())
            .stdout(File::create(logs.path().join("stdout")).expect("broker stdout file"))
            .stderr(File::create(logs.path().join("stderr")).expect("broker stderr file"))
            .spawn()
            .unwrap_or_else(|error| panic!("starting {}: {error}", binary.display()));
        let lifeline = child.stdin.take();
        let mut broker = Broker {
            child,
            lifeline,
            port,
            logs,
            tls: None,
            door: None,
        };
        broker.wait_until_ready(port, "tansu");
        if let Some(tls_port) = tls_port {
            broker.tls = Some(TlsFront::start(tls_port, port));
            broker.wait_until_ready(tls_port, "the TLS front");
        }
        if self.authentication {
            broker.door = Some(Door::open(port));
        }
        broker
    }
}

impl Broker {
    /// Produces raw key/value bytes to partition 0 of `topic` (a `None` value is a tombstone) with a plain
    /// librdkafka producer, the way any Kafka client, Samza's included, puts them on a topic.
    pub fn produce_raw(&self, topic: &str, messages: &[(&[u8], Option<&[u8]>)]) {
        use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
        let producer: BaseProducer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .set("max.in.flight.requests.per.connection", "1")
            .create()
            .expect("a producer for the test broker");
        for (key, value) in messages {
            let mut record = BaseRecord::<[u8], [u8]>::to(topic).partition(0).key(*key);
            if let Some(value) = value {
                record = record.payload(*value);
            }
            producer.send(record).map_err(|(e, _)| e).expect("queued");
        }
        producer
            .flush(Duration::from_secs(10))
            .expect("every message acknowledged");
    }

    pub fn builder() -> BrokerBuilder {
        BrokerBuilder::default()
    }

    /// A broker that advertises the address it listens on.
    pub fn start() -> Broker {
        Broker::builder().start()
    }

    /// A broker that advertises `127.0.0.1:9`, where nothing listens.
    pub fn start_with_unreachable_advertised() -> Broker {
        BrokerBuilder {
            advertised: Some(UNREACHABLE_ADVERTISED.to_owned()),
            ..BrokerBuilder::default()
        }
        .start()
    }

    /// `127.0.0.1:PORT`, as bootstrap servers are written: the TLS front's port when there is one.
    pub fn bootstrap(&self) -> String {
        let port = self.tls.as_ref().map_or(self.port, |tls| tls.port);
        format!("127.0.0.1:{port}")
    }

    /// The CA certificate (PEM) that signed the TLS front's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.tls
            .as_ref()
            .expect("a broker started with .tls()")
            .pki
            .path()
            .join("ca.crt")
    }

    /// Where Tansu's own CLI reaches the broker: the plaintext listener, or the door when a login is needed.
    fn admin_url(&self) -> String {
        let port = self.door.as_ref().map_or(self.port, |door| door.port);
        format!("tcp://127.0.0.1:{port}")
    }

    /// Creates a topic with Tansu's own client, which talks to the plaintext listener (through the door when the
    /// broker wants a login).
    pub fn create_topic(&self, name: &str, partitions: u32) {
        self.tansu(
            "topic",
            &["create", name, "--partitions", &partitions.to_string()],
        );
    }

    /// Gives a topic a new partition count. Tansu cannot add partitions, so the topic is deleted and created
    /// again; to a reader of metadata, which is all helm-samza is, that is the same change.
    pub fn set_partitions(&self, name: &str, partitions: u32) {
        self.tansu("topic", &["delete", name]);
        self.create_topic(name, partitions);
    }

    /// Creates a SCRAM user (`mechanism`: `scram256` or `scram512`) with Tansu's own CLI.
    pub fn create_user(&self, name: &str, password: &str, mechanism: &str) {
        self.tansu(
            "user",
            &["create", name, password, "--mechanism", mechanism],
        );
    }

    fn tansu(&self, command: &str, args: &[&str]) {
        let output = Command::new(tansu())
            .arg(command)
            .args(args)
            .args(["--broker", &self.admin_url()])
            .output()
            .expect("running `tansu`");
        assert!(
            output.status.success(),
            "`tansu {command} {}` failed: {}{}\nbroker log:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
    }

    fn wait_until_ready(&mut self, port: u16, what: &str) {
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("polling the broker process") {
                panic!(
                    "tansu exited with {status} before accepting connections: {}",
                    self.log()
                );
            }
            if let Some(tls) = self.tls.as_mut() {
                if let Some(status) = tls.child.try_wait().expect("polling socat") {
                    panic!("socat exited with {status}: {}", tls.log());
                }
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(
                started.elapsed() < STARTUP,
                "{what} did not accept connections within {STARTUP:?}: {}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The broker's own output so far.
    pub fn log(&self) -> String {
        ["stdout", "stderr"]
            .iter()
            .map(|name| std::fs::read_to_string(self.logs.path().join(name)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Kills exactly the processes this handle started, also when a test panicked.
        if let Some(door) = self.door.as_mut() {
            door.close();
        }
        if let Some(tls) = self.tls.as_mut() {
            let _ = tls.child.kill();
            let _ = tls.child.wait();
        }
        // Closing the lifeline makes the guard kill Tansu; the guard then exits.
        drop(self.lifeline.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `socat` terminating TLS on `port` and passing the bytes on to the broker's plaintext listener.
struct TlsFront {
    child: Child,
    port: u16,
    /// `ca.crt`, and `server.pem` with the server certificate and its key; deleted with the broker.
    pki: tempfile::TempDir,
}

impl TlsFront {
    fn start(port: u16, broker_port: u16) -> TlsFront {
        let pki = make_pki();
        let socat = on_path("socat");
        let listen = format!(
            "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,verify=0,cert={}",
            pki.path().join("server.pem").display()
        );
        let child = Command::new(&socat)
            .args([listen, format!("TCP:127.0.0.1:{broker_port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(pki.path().join("socat.log")).expect("socat log file"))
            .spawn()
            .unwrap_or_else(|error| panic!("starting {}: {error}", socat.display()));
        TlsFront { child, port, pki }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.pki.path().join("socat.log")).unwrap_or_default()
    }
}

/// A throwaway CA and a certificate for 127.0.0.1 signed by it, made with the `openssl` CLI.
fn make_pki() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a scratch folder for certificates");
    let openssl = on_path("openssl");
    let run = |args: &[&str]| {
        crate::support::helm::run_ok(Command::new(&openssl).args(args).current_dir(dir.path()));
    };
    let ec_key = "ec_paramgen_curve:prime256v1";
    run(&[
        "req",
        "-x509",
        "-nodes",
        "-days",
        "2",
        "-newkey",
        "ec",
        "-pkeyopt",
        ec_key,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-subj",
        "/CN=helm-samza test CA",
    ]);
    run(&[
        "req",
        "-nodes",
        "-newkey",
        "ec",
        "-pkeyopt",
        ec_key,
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.path().join("server.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .expect("writing server.ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt",
    ]);
    let pem = [
        read(&dir.path().join("server.crt")),
        read(&dir.path().join("server.key")),
    ]
    .concat();
    std::fs::write(dir.path().join("server.pem"), pem).expect("writing server.pem");
    dir
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The way in for Tansu's CLI (`tansu user create`, `tansu topic create`) to a broker started with
/// `--authentication`, where it cannot log in. Tansu 0.6 needs a login even to create the first user, which a
/// fresh in-memory broker cannot have; but it counts any completed SCRAM exchange as a login, even one whose
/// last answer is `e=unknown-user`. The door makes such an exchange on each connection it opens to the broker,
/// then passes bytes through both ways. The clients under test never use it, and librdkafka reads `e=` as the
/// failed login it is.
struct Door {
    port: u16,
    closed: Arc<AtomicBool>,
    accepter: Option<JoinHandle<()>>,
}

impl Door {
    fn open(broker_port: u16) -> Door {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the door");
        let port = listener.local_addr().expect("the door's address").port();
        let closed = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&closed);
        let accepter = thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                thread::spawn(move || {
                    if let Err(error) = pass_through_after_login(client, broker_port) {
                        eprintln!("broker door: {error}");
                    }
                });
            }
        });
        Door {
            port,
            closed,
            accepter: Some(accepter),
        }
    }

    fn close(&mut self) {
        self.closed.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accepter) = self.accepter.take() {
            let _ = accepter.join();
        }
    }
}

fn pass_through_after_login(client: TcpStream, broker_port: u16) -> io::Result<()> {
    let mut broker = TcpStream::connect(("127.0.0.1", broker_port))?;
    let mechanism = b"SCRAM-SHA-512";
    let handshake = request(&mut broker, 17, 1, &string(mechanism))?;
    expect_no_error("SaslHandshake", &handshake)?;
    let first = request(&mut broker, 36, 1, &bytes(b"n,,n=door,r=helm-samza-door"))?;
    let server_first = String::from_utf8_lossy(&auth_bytes(&first)?).into_owned();
    let nonce = server_first
        .split(',')
        .find_map(|field| field.strip_prefix("r="))
        .ok_or_else(|| io::Error::other(format!("no nonce in `{server_first}`")))?;
    // Any proof of the right length will do: the exchange only has to finish.
    let last = format!("c=biws,r={nonce},p={}==", "A".repeat(86));
    let answer = request(&mut broker, 36, 1, &bytes(last.as_bytes()))?;
    expect_no_error("SaslAuthenticate", &answer)?;

    let (mut client_in, mut broker_in) = (client.try_clone()?, broker.try_clone()?);
    let upstream = thread::spawn(move || {
        let _ = io::copy(&mut client_in, &mut broker);
        let _ = broker.shutdown(Shutdown::Both);
    });
    let mut client_out = client;
    let _ = io::copy(&mut broker_in, &mut client_out);
    let _ = client_out.shutdown(Shutdown::Both);
    let _ = upstream.join();
    Ok(())
}

/// Sends one request (header v1, client id `door`) and returns the response after its correlation id.
fn request(stream: &mut TcpStream, api_key: i16, version: i16, body: &[u8]) -> io::Result<Vec<u8>> {
    let mut frame = Vec::new();
    frame.extend(api_key.to_be_bytes());
    frame.extend(version.to_be_bytes());
    frame.extend(1_i32.to_be_bytes());
    frame.extend(string(b"door"));
    frame.extend(body);
    stream.write_all(&(frame.len() as i32).to_be_bytes())?;
    stream.write_all(&frame)?;
    let mut size = [0; 4];
    stream.read_exact(&mut size)?;
    let mut response = vec![0; i32::from_be_bytes(size) as usize];
    stream.read_exact(&mut response)?;
    Ok(response.split_off(4))
}

fn string(text: &[u8]) -> Vec<u8> {
    [&(text.len() as i16).to_be_bytes()[..], text].concat()
}

fn bytes(data: &[u8]) -> Vec<u8> {
    [&(data.len() as i32).to_be_bytes()[..], data].concat()
}

fn expect_no_error(what: &str, response: &[u8]) -> io::Result<()> {
    match response
        .get(..2)
        .map(|code| i16::from_be_bytes([code[0], code[1]]))
    {
        Some(0) => Ok(()),
        code => Err(io::Error::other(format!("{what} answered error {code:?}"))),
    }
}

/// The auth bytes of a SaslAuthenticate v1 response: error code, nullable error message, then the bytes.
fn auth_bytes(response: &[u8]) -> io::Result<Vec<u8>> {
    expect_no_error("SaslAuthenticate", response)?;
    let short = || io::Error::other("short SaslAuthenticate response");
    let message_len = i16::from_be_bytes(response.get(2..4).ok_or_else(short)?.try_into().unwrap());
    let at = 4 + usize::try_from(message_len).unwrap_or(0);
    let len = i32::from_be_bytes(
        response
            .get(at..at + 4)
            .ok_or_else(short)?
            .try_into()
            .unwrap(),
    );
    let data = response
        .get(at + 4..at + 4 + usize::try_from(len).unwrap_or(0))
        .ok_or_else(short)?;
    Ok(data.to_vec())
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
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free loopback port");
    listener.local_addr().expect("the bound address").port()
}
