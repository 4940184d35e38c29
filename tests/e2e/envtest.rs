//! A real Kubernetes control plane for the suite, the way controller-runtime's envtest makes one: `etcd` and
//! `kube-apiserver` taken only from `KUBEBUILDER_ASSETS`, on loopback ports chosen at run time, with a CA, a
//! serving certificate, an admin client certificate and a service-account key pair made by `openssl` at run
//! time, and a kubeconfig that serves `kubectl` and Helm alike.
//!
//! No scheduler, controller manager or kubelet: objects are validated (schema, admission, PodSecurity),
//! defaulted and stored, and pods never run. Without the controller manager a deleted namespace stays
//! `Terminating`, so every case gets a fresh namespace (`ControlPlane::namespace`).
//!
//! Both servers run under a small `sh` guard that reads the guard's stdin, which only this process holds: when
//! the `ControlPlane` is dropped (also while a panic unwinds) or this process dies in any way, the pipe closes
//! and the guard kills exactly the server it started. Nothing is left running.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::support::broker::free_port;
use crate::support::helm::run_ok;
use crate::support::tools::on_path;

/// The binaries an assets folder must hold, as `setup-envtest` lays it out.
const ASSETS: [&str; 3] = ["kube-apiserver", "etcd", "kubectl"];

/// How long etcd and the API server may take to become ready (about 3 s here).
const STARTUP: Duration = Duration::from_secs(60);

pub struct ControlPlane {
    assets: PathBuf,
    /// Certificates, etcd's data, logs and the kubeconfig; removed when the control plane stops.
    dir: tempfile::TempDir,
    url: String,
    etcd: Guarded,
    apiserver: Guarded,
    namespaces: AtomicU32,
    /// openssl's serial file of the CA is shared: one certificate at a time.
    pki_lock: std::sync::Mutex<()>,
}

impl ControlPlane {
    /// Starts etcd and kube-apiserver from `$KUBEBUILDER_ASSETS` and waits until the API server is ready.
    /// Panics, saying how to get the assets, when the folder is not set or lacks a binary.
    pub fn start() -> ControlPlane {
        let assets = assets_dir();
        let dir = tempfile::Builder::new()
            .prefix("envtest-")
            .tempdir()
            .expect("a scratch folder for the control plane");
        make_pki(dir.path());

        let (client, peer) = (free_port(), free_port());
        let etcd_url = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let etcd = Guarded::spawn(
            Command::new(assets.join("etcd"))
                .arg("--data-dir")
                .arg(dir.path().join("etcd"))
                .args(["--name", "default"])
                .args(["--listen-client-urls", &etcd_url])
                .args(["--advertise-client-urls", &etcd_url])
                .args(["--listen-peer-urls", &peer_url])
                .args(["--initial-advertise-peer-urls", &peer_url])
                .args(["--initial-cluster", &format!("default={peer_url}")])
                .args(["--log-level", "warn"]),
            &dir.path().join("etcd.log"),
        );
        let mut plane = ControlPlane {
            url: String::new(),
            apiserver: Guarded::none(),
            etcd,
            assets,
            dir,
            namespaces: AtomicU32::new(0),
            pki_lock: std::sync::Mutex::new(()),
        };
        plane.wait("etcd", || etcd_healthy(client));

        let port = free_port();
        plane.url = format!("https://127.0.0.1:{port}");
        let pki = |name: &str| plane.dir.path().join(name).display().to_string();
        let audience = "https://kubernetes.default.svc";
        plane.apiserver = Guarded::spawn(
            Command::new(plane.assets.join("kube-apiserver"))
                .arg(format!("--etcd-servers={etcd_url}"))
                .args(["--bind-address=127.0.0.1", "--advertise-address=127.0.0.1"])
                .arg(format!("--secure-port={port}"))
                .arg(format!("--cert-dir={}", pki("apiserver-certs")))
                .arg(format!("--tls-cert-file={}", pki("server.crt")))
                .arg(format!("--tls-private-key-file={}", pki("server.key")))
                .arg(format!("--client-ca-file={}", pki("ca.crt")))
                .arg(format!("--service-account-issuer={audience}"))
                .arg(format!("--service-account-key-file={}", pki("sa.pub")))
                .arg(format!(
                    "--service-account-signing-key-file={}",
                    pki("sa.key")
                ))
                .arg(format!("--api-audiences={audience}"))
                .args([
                    "--service-cluster-ip-range=10.96.0.0/12",
                    "--authorization-mode=RBAC",
                    "--anonymous-auth=false",
                    "--allow-privileged=true",
                ]),
            &plane.dir.path().join("kube-apiserver.log"),
        );
        plane.write_kubeconfig(&plane.kubeconfig(), "admin");
        let readyz = plane.kubectl(["get", "--raw", "/readyz"]);
        plane.wait("kube-apiserver", || {
            let mut readyz = copy_command(&readyz);
            readyz
                .output()
                .is_ok_and(|out| out.status.success() && out.stdout == b"ok")
        });
        plane
    }

    /// The kubeconfig (CA, server URL, admin certificate) for `kubectl` and Helm.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// A kubeconfig for the user `name` (a client certificate `CN=name` signed by the cluster's CA, no group),
    /// who may do nothing until a RoleBinding says otherwise.
    pub fn user_kubeconfig(&self, name: &str) -> PathBuf {
        let _one_at_a_time = self.pki_lock.lock().unwrap_or_else(|e| e.into_inner());
        let path = self.dir.path().join(format!("kubeconfig-{name}"));
        if !path.exists() {
            sign(
                self.dir.path(),
                name,
                &format!("/CN={name}"),
                "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
            );
            self.write_kubeconfig(&path, name);
        }
        path
    }

    /// Writes a kubeconfig for this server and the client certificate `<user>.crt`.
    fn write_kubeconfig(&self, path: &Path, user: &str) {
        let file = |name: &str| self.dir.path().join(name).display().to_string();
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: envtest\n  cluster:\n    server: {}\n    \
             certificate-authority: {}\nusers:\n- name: {user}\n  user:\n    client-certificate: {}\n    \
             client-key: {}\ncontexts:\n- name: envtest\n  context:\n    cluster: envtest\n    user: {user}\n\
             current-context: envtest\n",
            self.url,
            file("ca.crt"),
            file(&format!("{user}.crt")),
            file(&format!("{user}.key")),
        );
        fs::write(path, kubeconfig).expect("writing a kubeconfig");
    }

    /// `kubectl <args>` from the assets folder, against this control plane.
    pub fn kubectl<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = Command::new(self.assets.join("kubectl"));
        cmd.env("KUBECONFIG", self.kubeconfig())
            .env_remove("KUBECTL_APPLYSET")
            // Discovery is cached per run, never in the user's ~/.kube/cache.
            .env("KUBECACHEDIR", self.dir.path().join("kube-cache"))
            .args(args);
        cmd
    }

    /// `kubectl <args>`, which must succeed; its output.
    pub fn kubectl_ok(&self, args: &[&str]) -> Output {
        run_ok(&mut self.kubectl(args))
    }

    /// `kubectl apply -f -` of `yaml` with extra flags; the whole output, for the caller to judge.
    pub fn apply(&self, yaml: &[u8], flags: &[&str]) -> Output {
        let mut cmd = self.kubectl(["apply", "-f", "-"]);
        cmd.args(flags);
        with_stdin(cmd, yaml)
    }

    /// A fresh namespace `e2e-<hint>-<n>` with `labels` (e.g. a PodSecurity level), created now.
    pub fn namespace(&self, hint: &str, labels: &[(&str, &str)]) -> String {
        let n = self.namespaces.fetch_add(1, Ordering::SeqCst);
        let name = format!("e2e-{hint}-{n}");
        let mut yaml = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n");
        if !labels.is_empty() {
            yaml.push_str("  labels:\n");
            for (key, value) in labels {
                yaml.push_str(&format!("    {key}: {value:?}\n"));
            }
        }
        let out = with_stdin(self.kubectl(["create", "-f", "-"]), yaml.as_bytes());
        assert!(
            out.status.success(),
            "creating namespace {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        name
    }

    /// Installs the CRDs in `file` (a path under the envtest CRD folder) and waits until they are served.
    pub fn install_crds(&self, file: &Path) {
        let file = file.display().to_string();
        self.kubectl_ok(&["apply", "--server-side", "-f", &file]);
        // `kubectl wait` fails outright while a new CRD has no conditions yet.
        let started = Instant::now();
        loop {
            let wait = self
                .kubectl([
                    "wait",
                    "--for=condition=Established",
                    "--timeout=30s",
                    "-f",
                    &file,
                ])
                .output()
                .expect("running kubectl wait");
            if wait.status.success() {
                return;
            }
            assert!(
                started.elapsed() < STARTUP,
                "the CRDs of {file} were not established: {}",
                String::from_utf8_lossy(&wait.stderr)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Replaces the CRD named `name` with the ones in `file`: deletes it (the API server deletes its objects) and
    /// installs the new one.
    pub fn replace_crd(&self, name: &str, file: &Path) {
        self.kubectl_ok(&[
            "delete",
            "crd",
            name,
            "--ignore-not-found",
            "--wait=true",
            "--timeout=60s",
        ]);
        self.install_crds(file);
    }

    /// The API server's own log so far, for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("kube-apiserver.log")).unwrap_or_default()
    }

    fn wait(&mut self, what: &str, mut ready: impl FnMut() -> bool) {
        let started = Instant::now();
        while !ready() {
            for (name, server) in [
                ("etcd", &mut self.etcd),
                ("kube-apiserver", &mut self.apiserver),
            ] {
                if let Some(status) = server.exited() {
                    panic!(
                        "{name} exited with {status} while starting; its log:\n{}",
                        server.log()
                    );
                }
            }
            assert!(
                started.elapsed() < STARTUP,
                "{what} was not ready within {STARTUP:?}; log:\n{}",
                if what == "etcd" {
                    self.etcd.log()
                } else {
                    self.apiserver.log()
                }
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        // The API server first: it would only log errors about a vanished etcd.
        self.apiserver.stop();
        self.etcd.stop();
    }
}

/// `$KUBEBUILDER_ASSETS`, checked to hold every binary the suite runs.
fn assets_dir() -> PathBuf {
    const HOW: &str =
        "set KUBEBUILDER_ASSETS to a folder with kube-apiserver, etcd and kubectl 1.34, e.g. \
        `setup-envtest use 1.34 --bin-dir DIR -p path` (see README, \"End-to-end tests\")";
    let dir = match std::env::var_os("KUBEBUILDER_ASSETS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => panic!("KUBEBUILDER_ASSETS is not set: {HOW}"),
    };
    let missing: Vec<_> = ASSETS
        .iter()
        .filter(|name| !dir.join(name).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "KUBEBUILDER_ASSETS={} lacks {missing:?}: {HOW}",
        dir.display()
    );
    dir
}

fn etcd_healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.contains("\"health\":\"true\"")
}

/// Runs `cmd` with `input` on its stdin; its output whatever the exit status.
pub fn with_stdin(mut cmd: Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("waiting for a child");
    writer.join().expect("stdin writer");
    out
}

/// A new `Command` with `cmd`'s program, arguments and environment.
fn copy_command(cmd: &Command) -> Command {
    let mut copy = Command::new(cmd.get_program());
    copy.args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => copy.env(key, value),
            None => copy.env_remove(key),
        };
    }
    copy
}

/// A server process under a `sh` guard that kills it when the guard's stdin closes.
struct Guarded {
    child: Option<Child>,
    lifeline: Option<ChildStdin>,
    log: PathBuf,
}

impl Guarded {
    fn none() -> Guarded {
        Guarded {
            child: None,
            lifeline: None,
            log: PathBuf::new(),
        }
    }

    fn spawn(server: &mut Command, log: &Path) -> Guarded {
        // Asynchronous lists in a non-interactive shell read /dev/null, so the lifeline is handed over as fd 3.
        const GUARD: &str = r#"exec 3<&0 </dev/null
"$@" & server=$!
( read -r _ <&3; kill "$server" 2>/dev/null ) &
wait "$server""#;
        let mut cmd = Command::new(on_path("sh"));
        cmd.args(["-c", GUARD, "guard"])
            .arg(server.get_program())
            .args(server.get_args())
            .stdin(Stdio::piped())
            .stdout(File::create(log).expect("a server log file"))
            .stderr(File::create(log.with_extension("err")).expect("a server log file"));
        for (key, value) in server.get_envs() {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {:?}: {e}", server.get_program()));
        let lifeline = child.stdin.take();
        Guarded {
            child: Some(child),
            lifeline,
            log: log.to_path_buf(),
        }
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|child| child.try_wait().expect("polling a server"))
    }

    fn log(&self) -> String {
        [self.log.clone(), self.log.with_extension("err")]
            .iter()
            .map(|path| fs::read_to_string(path).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn stop(&mut self) {
        drop(self.lifeline.take());
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

const EC_KEY: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

/// `openssl <args>` in `dir`, which must succeed.
fn openssl(dir: &Path, args: &[&str]) {
    run_ok(Command::new(on_path("openssl")).args(args).current_dir(dir));
}

/// The CA, the API server's serving certificate, the admin client certificate (`system:masters`) and the
/// service-account key pair, made with `openssl` in `dir`.
fn make_pki(dir: &Path) {
    openssl(
        dir,
        &[
            &["req", "-x509", "-nodes", "-days", "2"][..],
            &EC_KEY,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-subj",
                "/CN=envtest CA",
            ],
        ]
        .concat(),
    );
    sign(
        dir,
        "server",
        "/CN=127.0.0.1",
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    );
    sign(
        dir,
        "admin",
        "/O=system:masters/CN=admin",
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    );
    openssl(dir, &["genrsa", "-out", "sa.key", "2048"]);
    openssl(dir, &["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
}

/// `<name>.key` and `<name>.crt` for `subject`, signed by the CA in `dir`, with the extensions `ext`.
fn sign(dir: &Path, name: &str, subject: &str, ext: &str) {
    let (key, csr, crt, extfile) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
        format!("{name}.ext"),
    );
    openssl(
        dir,
        &[
            &["req", "-nodes"][..],
            &EC_KEY,
            &["-keyout", &key, "-out", &csr, "-subj", subject],
        ]
        .concat(),
    );
    fs::write(dir.join(&extfile), ext).expect("writing an extensions file");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &extfile,
            "-out",
            &crt,
        ],
    );
}
