//! Records the git commit the binary is built from, for `helm-samza --version`: `HELM_SAMZA_COMMIT` when set (a
//! build from a source archive), else `git rev-parse` of the checkout, else "unknown".

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=HELM_SAMZA_COMMIT");
    let commit = std::env::var("HELM_SAMZA_COMMIT")
        .ok()
        .filter(|commit| !commit.trim().is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=HELM_SAMZA_COMMIT={}", commit.trim());
}

fn git_commit() -> Option<String> {
    // Rebuild when the checked-out commit moves: HEAD, and the branch it points at.
    let git = Path::new(".git");
    if git.is_dir() {
        println!("cargo:rerun-if-changed=.git/HEAD");
        if let Ok(head) = std::fs::read_to_string(git.join("HEAD")) {
            if let Some(reference) = head.trim().strip_prefix("ref: ") {
                println!("cargo:rerun-if-changed=.git/{reference}");
            }
        }
        println!("cargo:rerun-if-changed=.git/packed-refs");
    }
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|commit| !commit.is_empty())
}
