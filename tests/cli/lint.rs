//! `helm samza lint` / `helm-samza lint`: the charts lint clean, bad input fails with the check named,
//! machine formats are valid, and rendered files need no Helm.

use std::path::{Path, PathBuf};

use crate::support::{
    helm::{run_ok, HelmHome},
    run::{fixture, Test},
    tools::{repo_root, tool, CHART_COUNTS as COUNTS},
};

/// `test` with Helm's folders in `home` (a bare Helm home: no plugins; helm-samza runs the Helm it is given).
fn in_home(test: Test, home: &HelmHome) -> Test {
    ["config", "data", "cache"].iter().fold(test, |test, dir| {
        let key = format!("HELM_{}_HOME", dir.to_ascii_uppercase());
        test.env(&key, home.path().join(dir).to_str().unwrap())
    })
}

fn values_files() -> Vec<Option<PathBuf>> {
    let repo = repo_root();
    let mut files = vec![None];
    for dir in [repo.join("examples"), repo.join("charts/samza-job/ci")] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        found.sort();
        files.extend(found.into_iter().map(Some));
    }
    files
}

/// The Kafka and ZooKeeper charts hold no Samza job: lint passes them (and says so).
#[test]
fn dependency_charts_lint_clean() {
    for chart in ["kafka", "zookeeper"] {
        let dir = repo_root().join("charts").join(chart);
        let helm = tool("helm4");
        let home = HelmHome::bare(4);
        let mut test = Test::new().args([
            "lint",
            dir.to_str().unwrap(),
            "--strict",
            "--helm-bin",
            helm.to_str().unwrap(),
        ]);
        test = in_home(test, &home);
        let out = test.run();
        assert_eq!(out.code, 0, "{chart}: {}{}", out.stdout_str(), out.stderr);
    }
}

#[test]
fn samza_job_chart_with_every_values_file_lints_clean_strict_on_both_helms() {
    let chart = repo_root().join("charts/samza-job");
    for version in [3u8, 4] {
        let helm = tool(&format!("helm{version}"));
        let home = HelmHome::bare(version);
        for values in values_files() {
            let mut test = Test::new().args([
                "lint",
                chart.to_str().unwrap(),
                "--strict",
                "--partitions",
                COUNTS,
            ]);
            test = test.args(["--helm-bin", helm.to_str().unwrap()]);
            test = in_home(test, &home);
            if let Some(values) = &values {
                test = test.args(["-f", values.to_str().unwrap()]);
            }
            let out = test.run();
            assert_eq!(
                out.code,
                0,
                "Helm {version}, {values:?}:\n{}{}",
                out.stdout_str(),
                out.stderr
            );
            assert!(
                out.stdout_str().contains("lint passed"),
                "{}",
                out.stdout_str()
            );
        }
    }
}

/// The clean post-rendered stream with a JVM heap (1 GiB) above the worker's memory limit: the
/// `heap-exceeds-limit` case of the lint fixtures, written to `dir`.
fn heap_exceeds_limit(dir: &Path) -> PathBuf {
    let clean = std::fs::read_to_string(fixture("lint/clean.yaml")).expect("lint fixture");
    assert_eq!(
        clean.matches("\"-Xmx768m\"").count(),
        1,
        "clean.yaml sets the heap once"
    );
    let file = dir.join("rendered.yaml");
    std::fs::write(
        &file,
        clean.replace("\"-Xmx768m\"", "\"-Xmx1g -XX:+UseG1GC\""),
    )
    .unwrap();
    file
}

/// A post-rendered stream with its worker's memory limit below the JVM heap: the finding names check, resource
/// and field, and exits 1; disabling the check by id makes it pass.
#[test]
fn a_finding_fails_and_can_be_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let file = heap_exceeds_limit(dir.path());
    let out = Test::new().args(["lint", file.to_str().unwrap()]).run();
    assert_eq!(out.code, 1, "{}{}", out.stdout_str(), out.stderr);
    assert!(out.stdout_str().contains("SZ301"), "{}", out.stdout_str());
    let out = Test::new()
        .args([
            "lint",
            file.to_str().unwrap(),
            "--disable",
            "SZ301",
            "--disable",
            "heap-headroom",
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.stdout_str());
    Test::new()
        .args(["lint", file.to_str().unwrap(), "--disable", "SZ999"])
        .run()
        .fails(64, &["SZ999"]);
}

/// `helm-samza lint FILE` and `-` work with no Helm anywhere.
#[test]
fn rendered_files_lint_without_helm() {
    let clean = fixture("lint/clean.yaml");
    let out = Test::new()
        .args(["lint", clean.to_str().unwrap()])
        .env("PATH", "/nonexistent")
        .env("HELM_BIN", "/nonexistent/helm")
        .run();
    assert_eq!(out.code, 0, "{}{}", out.stdout_str(), out.stderr);
    let out = Test::new()
        .args(["lint", "-"])
        .stdin_file(&clean)
        .env("PATH", "/nonexistent")
        .run();
    assert_eq!(out.code, 0, "{}{}", out.stdout_str(), out.stderr);
}

fn python_check(script: &str, input: &[u8], arg: &Path) {
    let mut child = std::process::Command::new(tool("../venv/bin/python"))
        .args(["-c", script, arg.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sarif_and_junit_from_the_command_line_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let file = heap_exceeds_limit(dir.path());
    let sarif = Test::new()
        .args(["lint", file.to_str().unwrap(), "--output", "sarif"])
        .run();
    assert_eq!(sarif.code, 1);
    python_check(
        "import json,sys,jsonschema; jsonschema.validate(json.load(sys.stdin), json.load(open(sys.argv[1])))",
        &sarif.stdout,
        &tool("../schemas/sarif-2.1.0-rtm.5.json"),
    );
    let junit = Test::new()
        .args(["lint", file.to_str().unwrap(), "--output", "junit"])
        .run();
    assert_eq!(junit.code, 1);
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("lint.xml");
    std::fs::write(&xml, &junit.stdout).unwrap();
    python_check(
        "import sys; from junitparser import JUnitXml\n\
         xml = JUnitXml.fromfile(sys.argv[1])\n\
         failures = [c for s in xml for c in s if not c.is_passed]\n\
         assert failures, 'no failing test case'\n\
         assert any('SZ301' in (c.name or '') or any('SZ301' in (r.message or '') for r in c.result) for c in failures), failures",
        b"",
        &xml,
    );
}

/// Lint plans against the previous state the lock holds, as the post-renderer's gate does: a change the gate
/// would refuse at deploy time (here partition growth that needs more changelog partitions) fails lint in CI.
#[test]
fn a_change_the_gate_would_refuse_against_the_lock_fails_lint() {
    let chart = repo_root().join("charts/samza-job");
    let helm = tool("helm4");
    let home = HelmHome::bare(4);
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("samza.lock");
    let values = [
        "--set",
        "job.stores.counts.changelog=kafka.counts-changelog",
        "--set",
        "config.job.systemstreampartition.input.expansion.enabled=false",
        "--helm-bin",
        helm.to_str().unwrap(),
    ];
    let with_home = |test: Test| in_home(test, &home).run();
    let out = with_home(
        Test::new()
            .args([
                "lock",
                chart.to_str().unwrap(),
                "--file",
                lock.to_str().unwrap(),
                "--partitions",
                "kafka.my-input=4",
            ])
            .args(values),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lint = |count: &str| {
        with_home(
            Test::new()
                .args([
                    "lint",
                    chart.to_str().unwrap(),
                    "--lock",
                    lock.to_str().unwrap(),
                ])
                .args(["--partitions", &format!("kafka.my-input={count}")])
                .args(values),
        )
    };
    let out = lint("4");
    assert!(!out.stdout_str().contains("SZ206"), "{}", out.stdout_str());
    let out = lint("8");
    assert_eq!(out.code, 1, "{}{}", out.stdout_str(), out.stderr);
    assert!(
        out.stdout_str().contains("SZ206")
            && out.stdout_str().contains("changelog-partitions-grow"),
        "{}",
        out.stdout_str()
    );
}

/// A packaged chart (`helm package`) lints like its folder, as `plan` and `lock` take it.
#[test]
fn a_packaged_chart_lints_like_its_folder() {
    let helm = tool("helm4");
    let home = HelmHome::bare(4);
    let dir = tempfile::tempdir().unwrap();
    run_ok(
        std::process::Command::new(&helm)
            .args([
                "package",
                repo_root().join("charts/samza-job").to_str().unwrap(),
                "-d",
            ])
            .arg(dir.path())
            .env("HELM_CONFIG_HOME", home.path().join("config"))
            .env("HELM_DATA_HOME", home.path().join("data"))
            .env("HELM_CACHE_HOME", home.path().join("cache")),
    );
    let tgz = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .expect("a packaged chart");
    let test = Test::new().args([
        "lint",
        tgz.to_str().unwrap(),
        "--partitions",
        "kafka.my-input=4",
        "--helm-bin",
        helm.to_str().unwrap(),
    ]);
    let out = in_home(test, &home).run();
    assert_eq!(out.code, 0, "{}{}", out.stdout_str(), out.stderr);
    assert!(out.stdout_str().contains("my-job"), "{}", out.stdout_str());
}
