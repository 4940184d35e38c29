//! `helm samza plan` and `helm samza lock` with the real Helm 3 and Helm 4 and a real broker.

use std::path::Path;

use serde_json::Value;

use crate::support::{
    broker::Broker,
    helm::{run_ok, HelmHome},
    run::fixture,
    tools::tool,
};

fn chart() -> std::path::PathBuf {
    fixture("charts/page-views")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn samza(home: &HelmHome, args: &[&str]) -> Run {
    let out = home
        .cmd(["samza"])
        .args(args)
        .output()
        .expect("run helm samza");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn bootstrap(broker: &Broker) -> String {
    format!("bootstrapServers={}", broker.bootstrap())
}

/// The post-rendered stream for `set` values, saved as a deploy would store it.
fn render_to(
    home: &HelmHome,
    dir: &Path,
    name: &str,
    set: &[String],
    extra: &[&str],
) -> std::path::PathBuf {
    let mut cmd = home.template(&chart(), extra);
    for s in set {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.join(name);
    std::fs::write(&path, out.stdout).unwrap();
    path
}

fn plan_json(home: &HelmHome, args: &[&str]) -> (i32, Value) {
    let chart = chart();
    let mut all = vec![
        "plan",
        "samza-test",
        chart.to_str().unwrap(),
        "--output",
        "json",
        "--detailed-exitcode",
    ];
    all.extend_from_slice(args);
    let run = samza(home, &all);
    let json = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    validate_schema(&run.stdout);
    (run.code, json)
}

/// Checks plan JSON against docs/plan.schema.json with Python's jsonschema.
fn validate_schema(json: &str) {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plan.schema.json");
    let python = tool("../venv/bin/python");
    let mut child = std::process::Command::new(python)
        .args([
            "-c",
            "import json,sys,jsonschema; jsonschema.validate(json.load(sys.stdin), json.load(open(sys.argv[1])))",
            schema.to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), json.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "plan JSON does not follow its schema: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn plan_of_partition_growth(version: u8) {
    let broker = Broker::start();
    broker.create_topic("PageViewEvent", 4);
    broker.create_topic("AdClickEvent", 4);
    let home = HelmHome::new(version);
    let dir = tempfile::tempdir().unwrap();
    let set = |stateful: bool| vec![bootstrap(&broker), format!("stateful={stateful}")];

    // First deploy: nothing to compare with.
    let run = samza(
        &home,
        &[
            "plan",
            chart().to_str().unwrap(),
            "--set",
            &bootstrap(&broker),
            "--no-color",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("tasks: 4 (first deploy)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("Plan: 1 of 1 job(s) to change"),
        "{}",
        run.stdout
    );

    let stateful = render_to(&home, dir.path(), "stateful.yaml", &set(true), &[]);
    let stateless = render_to(&home, dir.path(), "stateless.yaml", &set(false), &[]);
    // No change: exit 0 even with --detailed-exitcode.
    let (code, json) = plan_json(
        &home,
        &[
            "--set",
            &bootstrap(&broker),
            "--previous",
            stateful.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["changed"], false);

    broker.set_partitions("PageViewEvent", 8);
    // Stateful, planned as the post-renderer plans it from the same previous state: Samza's expansion proxy keeps
    // partitions 4..7 on the old tasks, so no task and no changelog partition is added; only the input changed
    // (exit 2 with --detailed-exitcode). Before plan fed --previous to the planner, it reported 4 new tasks here
    // and refused, while the post-renderer with the same --previous deployed.
    let (code, json) = plan_json(
        &home,
        &[
            "--set",
            &bootstrap(&broker),
            "--previous",
            stateful.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{json}");
    let job = &json["jobs"][0];
    assert_eq!(
        job["diff"]["inputs"][1],
        serde_json::json!({"stream": "kafka.PageViewEvent", "before": 4, "after": 8})
    );
    assert_eq!(job["diff"]["tasks_added"].as_array().unwrap().len(), 0);
    assert_eq!(job["hazards"].as_array().unwrap().len(), 0, "{json}");
    // With Samza's partition expansion off, the 4 new tasks need changelog partitions the topics do not have:
    // refused (exit 15), plan printed first.
    let (code, json) = plan_json(
        &home,
        &[
            "--set",
            &bootstrap(&broker),
            "--set",
            "inputExpansion=false",
            "--previous",
            stateful.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 15, "{json}");
    let job = &json["jobs"][0];
    assert_eq!(job["diff"]["tasks_added"].as_array().unwrap().len(), 4);
    assert_eq!(job["hazards"][0]["id"], "changelog-partitions-grow");
    // Stateless: the same change is only a change (exit 2).
    let (code, json) = plan_json(
        &home,
        &[
            "--set",
            &bootstrap(&broker),
            "--set",
            "stateful=false",
            "--previous",
            stateless.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{json}");
    assert_eq!(json["refused"], false);
    // Given the previous model, the post-renderer plans as Samza does: the expansion proxy keeps partitions 4..7
    // on the old tasks, so nothing is endangered and the deploy goes through...
    let previous_arg = format!("--previous={}", stateful.display());
    run_ok(
        home.template(&chart(), &["--post-renderer-args", &previous_arg])
            .args(["--set", &bootstrap(&broker)]),
    );
    // ...but with Samza's partition expansion switched off, new tasks need changelog partitions the topics do not
    // have: the post-renderer's gate refuses, and says how to proceed.
    let out = home
        .template(&chart(), &["--post-renderer-args", &previous_arg])
        .args([
            "--set",
            &bootstrap(&broker),
            "--set",
            "inputExpansion=false",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success() && out.stdout.is_empty());
    let last = samza(&home, &["last-error"]).stdout;
    assert!(
        last.contains("changelog-partitions-grow") && last.contains("--allow-unsafe"),
        "{last}"
    );
    let out = home
        .template(
            &chart(),
            &[
                "--post-renderer-args",
                &previous_arg,
                "--post-renderer-args",
                "--allow-unsafe",
            ],
        )
        .args([
            "--set",
            &bootstrap(&broker),
            "--set",
            "inputExpansion=false",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the gate opens with --allow-unsafe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn helm3_plan_shows_partition_growth_and_gates_stateful_jobs() {
    plan_of_partition_growth(3);
}

#[test]
fn helm4_plan_shows_partition_growth_and_gates_stateful_jobs() {
    plan_of_partition_growth(4);
}

/// 9 tasks, 2 → 4 → 3 containers with host affinity: with the lock as Samza's coordinator state, balance()
/// moves as few tasks as it can (the spec's worked examples).
#[test]
fn container_changes_with_host_affinity_show_samza_minimal_moves() {
    let broker = Broker::start();
    broker.create_topic("PageViewEvent", 9);
    broker.create_topic("AdClickEvent", 9);
    for version in [3u8, 4] {
        let home = HelmHome::new(version);
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("samza.lock");
        let sets = |n: u32| -> Vec<String> {
            [
                bootstrap(&broker),
                "hostAffinity=true".to_string(),
                format!("containerCount={n}"),
            ]
            .into_iter()
            .flat_map(|s| ["--set".to_string(), s])
            .chain(["--lock".to_string(), lock.display().to_string()])
            .collect()
        };
        let relock = |n: u32| {
            let mut args = vec![
                "lock".to_string(),
                chart().display().to_string(),
                "--file".into(),
                lock.display().to_string(),
            ];
            args.extend(sets(n).into_iter().take(6));
            let run = samza(&home, &args.iter().map(String::as_str).collect::<Vec<_>>());
            assert_eq!(run.code, 0, "{}", run.stderr);
        };
        let moves = |json: &Value| -> Vec<(String, String, String)> {
            json["jobs"][0]["diff"]["tasks_moved"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    (
                        m["task"].as_str().unwrap().into(),
                        m["from"].as_str().unwrap().into(),
                        m["to"].as_str().unwrap().into(),
                    )
                })
                .collect()
        };
        let mv = |t: &str, f: &str, to: &str| (t.to_string(), f.to_string(), to.to_string());
        relock(2);
        let (code, json) = plan_json(
            &home,
            &sets(4).iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert_eq!(code, 2, "{json}");
        assert_eq!(json["jobs"][0]["baseline"], "lock file");
        assert_eq!(
            moves(&json),
            [
                mv("Partition 5", "1", "3"),
                mv("Partition 6", "0", "2"),
                mv("Partition 7", "1", "3"),
                mv("Partition 8", "0", "2")
            ],
            "Helm {version}"
        );
        relock(4);
        let (_, json) = plan_json(
            &home,
            &sets(3).iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert_eq!(
            moves(&json),
            [mv("Partition 5", "3", "2"), mv("Partition 7", "3", "1")],
            "Helm {version}"
        );
        assert_eq!(
            json["jobs"][0]["diff"]["containers_removed"],
            serde_json::json!(["3"])
        );
        let table = samza(
            &home,
            &[
                &["plan", chart().to_str().unwrap(), "--no-color"][..],
                &sets(3).iter().map(String::as_str).collect::<Vec<_>>(),
            ]
            .concat(),
        );
        assert!(
            table.stdout.contains("~ task Partition 7: container 3 → 1"),
            "{}",
            table.stdout
        );
        assert!(
            table.stdout.contains("~ containers: 4 → 3"),
            "{}",
            table.stdout
        );
    }
}

#[test]
fn lock_round_trip_needs_no_broker_and_detects_drift() {
    let broker = Broker::start();
    broker.create_topic("PageViewEvent", 4);
    broker.create_topic("AdClickEvent", 2);
    let home = HelmHome::new(4);
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("samza.lock");
    let run = samza(
        &home,
        &[
            "lock",
            chart().to_str().unwrap(),
            "--set",
            &bootstrap(&broker),
            "--file",
            lock.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let locked: Value = serde_json::from_str(&std::fs::read_to_string(&lock).unwrap()).unwrap();
    assert_eq!(
        locked["jobs"]["page-views"]["inputs"]["kafka.PageViewEvent"],
        4
    );
    assert_eq!(
        locked["jobs"]["page-views"]["discovered"]["kafka"]["brokers"][0],
        broker.bootstrap()
    );

    let with_lock = [
        "--post-renderer-args".to_string(),
        format!("--lock={}", lock.display()),
    ];
    let servers = bootstrap(&broker);
    let render = |home: &HelmHome| {
        let out = run_ok(
            home.template(&chart(), &with_lock)
                .args(["--set", &servers]),
        );
        out.stdout
    };
    let running = render(&home);
    broker.set_partitions("PageViewEvent", 6);
    let run = samza(
        &home,
        &[
            "lock",
            chart().to_str().unwrap(),
            "--set",
            &bootstrap(&broker),
            "--file",
            lock.to_str().unwrap(),
            "--verify-live",
        ],
    );
    assert_eq!(run.code, 17, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("kafka.PageViewEvent has 6 partitions, the lock says 4"),
        "{}",
        run.stderr
    );
    drop(broker);
    let stopped = render(&home);
    assert!(
        running == stopped,
        "a render with the lock must not depend on the broker"
    );
}

/// Naming a release means comparing with it: a release that cannot be read (here: no cluster) is an error, not a
/// first deploy that would hide every hazard; `--no-cluster` plans a first deploy on purpose.
#[test]
fn an_unreadable_release_is_an_error_unless_no_cluster_is_asked_for() {
    for version in [3, 4] {
        let home = HelmHome::new(version);
        let chart = chart();
        let offline = [
            "--offline",
            "--partitions",
            "kafka.PageViewEvent=4",
            "--partitions",
            "kafka.AdClickEvent=2",
        ];
        let base = [
            &["plan", "my-release", chart.to_str().unwrap()][..],
            &offline[..],
        ]
        .concat();
        let run = samza(&home, &base);
        assert_eq!(run.code, 18, "Helm {version}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "Helm {version}: {}", run.stdout);
        for needle in [
            "get manifest my-release",
            "cluster unreachable",
            "--no-cluster",
        ] {
            assert!(
                run.stderr.to_lowercase().contains(&needle.to_lowercase()),
                "Helm {version}: {needle} not in {}",
                run.stderr
            );
        }
        let first = samza(
            &home,
            &[&base[..], &["--no-cluster", "--no-color"][..]].concat(),
        );
        assert_eq!(first.code, 0, "Helm {version}: {}", first.stderr);
        assert!(
            first.stdout.contains("Plan: 1 of 1 job(s) to change"),
            "Helm {version}: {}",
            first.stdout
        );
    }
}

/// One previous state, whatever its source: a lock written for a job with standby replicas, and the same
/// deployment's saved manifests given as --previous, plan the unchanged job identically: no change, its two
/// standby containers kept (a lock used to count them as added: "+2 standby, was 0").
#[test]
fn the_lock_and_previous_give_one_plan_standby_replicas_included() {
    let home = HelmHome::new(3);
    let chart = crate::support::tools::repo_root().join("charts/samza-job");
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("samza.lock");
    let values = [
        "--set",
        "job.containerCount=2",
        "--set",
        "job.standbyReplicationFactor=3",
        "--set",
        "job.stores.counts.changelog=kafka.counts-changelog",
        "--partitions",
        "kafka.my-input=4",
    ];
    let mut args = vec![
        "lock",
        chart.to_str().unwrap(),
        "--file",
        lock.to_str().unwrap(),
    ];
    args.extend(values);
    let run = samza(&home, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let locked = std::fs::read_to_string(&lock).unwrap();
    assert!(locked.contains("\"standby\""), "{locked}");

    let mut saved = home.cmd(["template", "samza-test"]);
    saved
        .arg(&chart)
        .args(home.post_renderer_flags())
        .args(["--post-renderer-args", "--partitions=kafka.my-input=4"]);
    saved.args(&values[..6]);
    let out = saved.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let previous = dir.path().join("deployed.yaml");
    std::fs::write(&previous, &out.stdout).unwrap();

    let plan = |baseline: &[&str]| {
        let mut args = vec![
            "plan",
            "samza-test",
            chart.to_str().unwrap(),
            "--output",
            "json",
            "--detailed-exitcode",
            "--no-cluster",
        ];
        args.extend(values);
        args.extend(baseline);
        let run = samza(&home, &args);
        let mut json: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
        (
            run.code,
            json["jobs"][0].as_object_mut().unwrap().remove("baseline"),
            json,
        )
    };
    let (code, label, with_lock) = plan(&["--lock", lock.to_str().unwrap()]);
    assert_eq!(code, 0, "{with_lock}");
    assert_eq!(label, Some(Value::from("lock file")));
    let diff = &with_lock["jobs"][0]["diff"];
    assert_eq!(
        (
            diff["standby_before"].as_u64(),
            diff["standby_after"].as_u64()
        ),
        (Some(4), Some(4)),
        "{diff}"
    );
    assert_eq!(with_lock["changed"], false, "{with_lock}");
    let (code, label, with_previous) = plan(&["--previous", previous.to_str().unwrap()]);
    assert_eq!(code, 0, "{with_previous}");
    assert_eq!(label, Some(Value::from("--previous")));
    assert_eq!(with_previous, with_lock);
}

/// A chart without any Samza job: `plan` and `lock` say so (exit 13) instead of "0 of 0 job(s)" or an empty lock
/// written over the old one.
#[test]
fn plan_and_lock_of_a_chart_without_a_job_exit_13() {
    let home = HelmHome::new(3);
    let chart = crate::support::tools::repo_root().join("charts/kafka");
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("samza.lock");
    std::fs::write(
        &lock,
        r#"{"version": 1, "jobs": {"old": {"changelog": {"Partition 0": 0}}}}"#,
    )
    .unwrap();
    for args in [
        vec!["plan", chart.to_str().unwrap(), "--no-cluster"],
        vec![
            "lock",
            chart.to_str().unwrap(),
            "--file",
            lock.to_str().unwrap(),
        ],
    ] {
        let run = samza(&home, &args);
        assert_eq!(run.code, 13, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.is_empty());
        assert!(
            run.stderr.contains("renders no Samza job"),
            "{}",
            run.stderr
        );
    }
    assert!(
        std::fs::read_to_string(&lock).unwrap().contains("\"old\""),
        "the lock is kept"
    );
}

/// Re-locking after a job was renamed would drop the old job's changelog mapping: refused unless --prune.
#[test]
fn relocking_refuses_to_drop_a_job_unless_pruned() {
    let home = HelmHome::new(3);
    let chart = crate::support::tools::repo_root().join("charts/samza-job");
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("samza.lock");
    let run_lock = |name: &str, extra: &[&str]| {
        let set = format!("job.name={name}");
        let mut args = vec![
            "lock",
            chart.to_str().unwrap(),
            "--file",
            lock.to_str().unwrap(),
            "--partitions",
            "kafka.my-input=2",
            "--set",
            &set,
        ];
        args.extend(extra);
        samza(&home, &args)
    };
    assert_eq!(run_lock("first", &[]).code, 0);
    let before = std::fs::read_to_string(&lock).unwrap();
    let run = run_lock("second", &[]);
    assert_eq!(run.code, 15, "{}", run.stderr);
    assert!(
        run.stderr.contains("'first'") && run.stderr.contains("--prune"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        before,
        "the lock is kept"
    );
    let run = run_lock("second", &["--prune"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("dropped job 'first'"), "{}", run.stderr);
    let after = std::fs::read_to_string(&lock).unwrap();
    assert!(
        after.contains("\"second\"") && !after.contains("\"first\""),
        "{after}"
    );
}

/// A Helm that cannot be run is Helm failing (18), naming the binary and how to point at another.
#[test]
fn a_missing_helm_is_exit_18_naming_the_binary() {
    let out = crate::support::run::Test::new()
        .args([
            "plan",
            chart().to_str().unwrap(),
            "--no-cluster",
            "--helm-bin",
            "/nonexistent/helm",
        ])
        .run();
    out.fails(18, &["/nonexistent/helm", "HELM_BIN"]);
}

/// A Helm that never finishes (here the real Helm, waiting to read a values file that is a FIFO no one writes)
/// is stopped after --helm-timeout, with a message naming the command (exit 18).
#[test]
fn a_helm_that_hangs_is_stopped_after_the_timeout() {
    let home = HelmHome::new(3);
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("values.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let started = std::time::Instant::now();
    let run = samza(
        &home,
        &[
            "plan",
            chart().to_str().unwrap(),
            "--no-cluster",
            "-f",
            fifo.to_str().unwrap(),
            "--helm-timeout",
            "2s",
        ],
    );
    assert_eq!(run.code, 18, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("template did not finish within 2s")
            && run.stderr.contains("--helm-timeout"),
        "{}",
        run.stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}
