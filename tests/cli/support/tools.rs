//! Where the tests find the repository, the real tools `scripts/setup` installs, and the test corpus.
//!
//! Tools live in `<repo>/.tools` (override: `HELM_SAMZA_TOOLS`), the corpus in `<repo>/tests/corpus` (real chart
//! renders and hello-samza job configs, see its README). A missing tool is a failed test with the command that fixes it, never a skipped one:
//! a green run must mean Helm and the broker were really exercised.

use std::path::PathBuf;

/// The checkout this test binary was built from.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder `scripts/setup` installs into.
pub fn tools_dir() -> PathBuf {
    match std::env::var_os("HELM_SAMZA_TOOLS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repo_root().join(".tools"),
    }
}

/// An installed tool such as `helm3`, `helm4`, `kubectl`, `tansu`, `kubernetes-validate`, `checkov` or
/// `go-yaml2json`. Panics with the fix when it is absent.
pub fn tool(name: &str) -> PathBuf {
    let path = tools_dir().join("bin").join(name);
    if !path.is_file() {
        panic!(
            "missing {name}: run scripts/setup (looked for {})",
            path.display()
        );
    }
    path
}

/// The test corpus (rendered charts, Samza job configs), part of the repository.
#[allow(dead_code, reason = "used by the feature tests that read the corpus")]
pub fn corpus_dir() -> PathBuf {
    repo_root().join("tests/corpus")
}

/// `big.yaml`: the chart renders named in `tests/corpus/charts/big.list`, concatenated in that order (12 MB;
/// built, not committed).
#[allow(dead_code, reason = "used by the feature tests that read the corpus")]
pub fn big_yaml() -> Vec<u8> {
    let dir = corpus_dir().join("charts");
    let list = std::fs::read_to_string(dir.join("big.list"))
        .unwrap_or_else(|e| panic!("{}/big.list: {e}", dir.display()));
    let mut big = Vec::new();
    for name in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let path = dir.join(name);
        big.extend(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    }
    big
}

/// A system tool found on `PATH` (`openssl`, `socat`), which `scripts/setup` installs with apt-get. Panics with
/// the fix when it is absent.
pub fn on_path(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("missing {name} on PATH: run scripts/setup"))
}
