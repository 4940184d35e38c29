//! `Test`: runs the real `helm-samza` binary with arguments, stdin and a clean environment (just's `Test`).

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_helm-samza"))
}

/// Every document of a rendered manifest stream as a JSON value (what the API server would receive), empty
/// documents left out.
pub fn manifest_values(text: &str) -> Vec<serde_json::Value> {
    helm_samza::manifest::Stream::split(text)
        .documents()
        .iter()
        .filter(|d| d.head().expect("head").is_some())
        .map(|d| d.value().expect("value"))
        .collect()
}

pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

pub struct Test {
    args: Vec<String>,
    stdin: Vec<u8>,
    env: Vec<(String, String)>,
    memory_cap_kb: Option<u64>,
    tmp: tempfile::TempDir,
}

impl Default for Test {
    fn default() -> Self {
        Self::new()
    }
}

impl Test {
    pub fn new() -> Self {
        Test {
            args: Vec::new(),
            stdin: Vec::new(),
            env: Vec::new(),
            memory_cap_kb: None,
            tmp: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = bytes.into();
        self
    }

    pub fn stdin_file(self, path: impl AsRef<Path>) -> Self {
        let bytes = std::fs::read(path.as_ref())
            .unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()));
        self.stdin(bytes)
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Runs the program under `ulimit -v` (address space, in KiB): an allocation beyond it fails, so a
    /// run that tried to allocate gigabytes aborts instead of passing.
    #[allow(dead_code, reason = "used by the feature tests of big inputs")]
    pub fn memory_cap_kb(mut self, kb: u64) -> Self {
        self.memory_cap_kb = Some(kb);
        self
    }

    pub fn run(self) -> Output {
        let mut cmd = match self.memory_cap_kb {
            None => Command::new(binary()),
            Some(kb) => {
                let mut sh = Command::new("sh");
                sh.args(["-c", &format!("ulimit -v {kb} && exec \"$0\" \"$@\"")])
                    .arg(binary());
                sh
            }
        };
        cmd.args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // A developer's own HELM_SAMZA_* settings must not leak into the tests.
        for (key, _) in std::env::vars() {
            if key.starts_with("HELM_SAMZA_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("TMPDIR", self.tmp.path())
            .env("XDG_STATE_HOME", self.tmp.path());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("run helm-samza");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = self.stdin.clone();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("wait for helm-samza");
        writer.join().expect("stdin writer");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            tmp: self.tmp,
        }
    }
}

pub struct Output {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub tmp: tempfile::TempDir,
}

impl Output {
    pub fn success(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success, got exit {}; stderr:\n{}",
            self.code, self.stderr
        );
        self
    }

    /// A failure with exactly this exit code, nothing on stdout, and each of `needles` in stderr.
    pub fn fails(self, code: i32, needles: &[&str]) -> Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}; stderr:\n{}",
            self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "a failed run must print nothing on stdout, got:\n{}",
            String::from_utf8_lossy(&self.stdout)
        );
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr lacks {needle:?}:\n{}",
                self.stderr
            );
        }
        self
    }

    pub fn stdout_str(&self) -> &str {
        std::str::from_utf8(&self.stdout).expect("stdout is UTF-8")
    }
}
