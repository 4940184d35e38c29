//! The end-to-end suite: helm-samza, real Helm 3 and Helm 4 and a real Tansu broker against a real
//! kube-apiserver with etcd (see `envtest`). Built and run only with the `e2e` feature:
//!
//! ```sh
//! export KUBEBUILDER_ASSETS=DIR    # kube-apiserver, etcd, kubectl 1.34 (README, "End-to-end tests")
//! cargo test --features e2e --test e2e [-- FILTER...]
//! ```
//!
//! Its own small harness rather than libtest's: one API server is shared by every case of a run (it takes
//! seconds to start), which libtest cannot give its tests and still stop at the end. Cases run on a few threads,
//! each in its own namespace; a failing case is reported and the others go on; the control plane and the broker
//! are stopped before the process exits, whatever happened. Arguments that do not start with `-` select the
//! cases whose names contain one of them; `--list` prints the names.

mod cases;
mod envtest;
#[path = "../cli/support/mod.rs"]
#[allow(dead_code, reason = "the suite uses part of the shared test support")]
mod support;

use std::ffi::OsStr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use envtest::ControlPlane;
use support::broker::Broker;
use support::helm::HelmHome;

/// One end-to-end case: a name and what it does with the shared environment.
pub struct Case {
    pub name: String,
    pub run: Box<dyn Fn(&Env) + Send + Sync>,
    /// Changes what the whole cluster serves (e.g. swaps a CRD): runs before the others, alone.
    pub exclusive: bool,
}

/// What every case shares: the control plane, the broker, and a Helm home per Helm version.
pub struct Env {
    pub plane: ControlPlane,
    pub broker: Broker,
    homes: [HelmHome; 2],
}

impl Env {
    /// The Helm home (plugins installed) for Helm 3 or 4.
    pub fn home(&self, version: u8) -> &HelmHome {
        &self.homes[usize::from(version == 4)]
    }

    /// `helm <args>` on Helm `version`, against the control plane.
    pub fn helm<I, S>(&self, version: u8, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.home(version).cmd(args);
        cmd.env("KUBECONFIG", self.plane.kubeconfig());
        cmd
    }

    /// A CRD file from `tests/e2e/crds` (Strimzi's KafkaTopic, prometheus-operator's ServiceMonitor).
    pub fn crd(&self, file: &str) -> PathBuf {
        let path = support::tools::repo_root()
            .join("tests/e2e/crds")
            .join(file);
        assert!(path.is_file(), "missing CRD file {}", path.display());
        path
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    let all = cases::all();
    let selected: Vec<&Case> = all
        .iter()
        .filter(|case| filters.is_empty() || filters.iter().any(|f| case.name.contains(f)))
        .collect();
    if args.iter().any(|a| a == "--list") {
        for case in &selected {
            println!("{}: test", case.name);
        }
        return;
    }

    let started = Instant::now();
    let env = Env {
        plane: ControlPlane::start(),
        broker: Broker::start(),
        homes: [HelmHome::new(3), HelmHome::new(4)],
    };
    // The CRDs every case may need; the Strimzi case swaps the KafkaTopic CRD and puts this one back.
    env.plane
        .install_crds(&env.crd("monitoring.coreos.com_servicemonitors.yaml"));
    env.plane
        .install_crds(&env.crd("043-Crd-kafkatopic-strimzi-0.51.0.yaml"));
    eprintln!(
        "e2e: control plane, broker and Helm homes ready in {:.1?}; {} case(s)",
        started.elapsed(),
        selected.len()
    );

    let threads = std::env::var("E2E_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3usize)
        .max(1);
    // Cases that change what the whole cluster serves (CRDs) run first, alone; then the others, side by side.
    let (alone, together): (Vec<&Case>, Vec<&Case>) =
        selected.iter().partition(|case| case.exclusive);
    let failed = Mutex::new(Vec::new());
    run_cases(&env, &alone, 1, &failed);
    run_cases(&env, &together, threads, &failed);
    let failed = failed.into_inner().unwrap();
    let total = started.elapsed();
    drop(env);
    eprintln!(
        "e2e: {} passed, {} failed in {} (servers stopped after {})",
        selected.len() - failed.len(),
        failed.len(),
        secs(total),
        secs(started.elapsed())
    );
    if !failed.is_empty() {
        eprintln!("e2e: FAILED: {}", failed.join(", "));
        std::process::exit(101);
    }
}

/// Runs `cases` on `threads` threads, each case in a thread named after it, and collects the names that failed.
fn run_cases(env: &Env, cases: &[&Case], threads: usize, failed: &Mutex<Vec<String>>) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let Some(case) = cases.get(next.fetch_add(1, Ordering::SeqCst)) else {
                    return;
                };
                let begun = Instant::now();
                let result = std::thread::Builder::new()
                    .name(case.name.clone())
                    .spawn_scoped(scope, || catch_unwind(AssertUnwindSafe(|| (case.run)(env))))
                    .expect("a thread for a case")
                    .join()
                    .expect("a case thread");
                let took = secs(begun.elapsed());
                match result {
                    Ok(()) => eprintln!("test {} ... ok ({took})", case.name),
                    Err(_) => {
                        eprintln!("test {} ... FAILED ({took})", case.name);
                        failed.lock().unwrap().push(case.name.clone());
                    }
                }
            });
        }
    });
}

fn secs(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}
