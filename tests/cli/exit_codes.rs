//! The documented exit codes (docs/exit-codes.md), each driven through every command that can produce it: the
//! same failure gets the same code whichever command meets it. `plan`, `lock` and `lint` render charts with the
//! real Helm 4; the charts are written here, each a small delta on one base job.

use std::path::{Path, PathBuf};

use crate::support::{
    helm::HelmHome,
    run::{Output, Test},
    tools::{repo_root, tool},
};

/// The base job: one stateful input job; a case changes a line or two of it.
const BASE_CONFIG: &str = "\
job.name=orders
job.default.system=kafka
job.container.count=2
task.class=example.Task
task.inputs=kafka.orders
systems.kafka.samza.factory=org.apache.samza.system.kafka.KafkaSystemFactory
stores.totals.factory=org.apache.samza.storage.kv.RocksDbKeyValueStorageEngineFactory
stores.totals.changelog=kafka.orders-totals-changelog
";

/// `BASE_CONFIG` with `key` set to `value` (added when absent).
fn config_with(key: &str, value: &str) -> String {
    let mut lines: Vec<String> = BASE_CONFIG
        .lines()
        .filter(|l| l.split_once('=').map(|(k, _)| k) != Some(key))
        .map(str::to_owned)
        .collect();
    lines.push(format!("{key}={value}"));
    lines.join("\n") + "\n"
}

/// The manifests of a job with this Samza config: its config ConfigMap and its worker StatefulSet.
fn job_stream(config: &str) -> String {
    let indented: String = config.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "---\n# Source: orders/templates/config.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: orders-config\n  \
         labels:\n    samza.apache.org/job: orders\n    samza.apache.org/role: config\ndata:\n  job.properties: |\n{indented}\
         ---\n# Source: orders/templates/workers.yaml\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: orders\n  \
         labels:\n    samza.apache.org/job: orders\n    samza.apache.org/role: worker\nspec:\n  replicas: 1\n"
    )
}

/// A document that opts into templating with an expression that cannot be evaluated.
const BROKEN_TEMPLATE: &str = "---\n# Source: orders/templates/topic.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  \
    name: orders-extra\n  labels:\n    samza.apache.org/job: orders\n  annotations:\n    samza.apache.org/template: \"true\"\n\
    data:\n  containers: \"[[ job.no_such_field ]]\"\n";

/// A scratch folder with the base job as a config file and as charts, and the files the cases name.
struct Scene {
    dir: tempfile::TempDir,
    home: HelmHome,
}

impl Scene {
    fn new() -> Scene {
        let scene = Scene {
            dir: tempfile::tempdir().expect("temp dir"),
            home: HelmHome::bare(4),
        };
        scene.file("garbage.json", "{ not a job model");
        scene.file("garbage.lock", "not a lock");
        scene
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn file(&self, name: &str, text: &str) -> String {
        std::fs::write(self.dir.path().join(name), text).expect("write a scene file");
        self.path(name)
    }

    /// A chart whose one template is `manifests` as written.
    fn chart(&self, name: &str, manifests: &str) -> String {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(dir.join("templates")).expect("chart folder");
        std::fs::write(
            dir.join("Chart.yaml"),
            format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n"),
        )
        .expect("Chart.yaml");
        std::fs::write(dir.join("templates/all.yaml"), manifests).expect("template");
        dir.display().to_string()
    }

    /// `helm-samza ARGS` with `stdin`, Helm 4 as `--helm-bin` for the commands that render charts.
    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let renders = matches!(args.first(), Some(&("plan" | "lock" | "lint" | "values")))
            && !args.contains(&"-")
            && args.iter().any(|a| Path::new(a).is_dir());
        let mut test = Test::new().args(args).stdin(stdin.to_vec());
        if renders {
            let helm: PathBuf = tool("helm4");
            test = test.args(["--helm-bin", helm.to_str().unwrap()]);
            for (k, v) in [
                ("HELM_CONFIG_HOME", "config"),
                ("HELM_DATA_HOME", "data"),
                ("HELM_CACHE_HOME", "cache"),
            ] {
                test = test.env(k, self.home.path().join(v).to_str().unwrap());
            }
        }
        test.run()
    }
}

/// One row: a failure, and the command lines (with their stdin) that meet it.
struct Row {
    code: i32,
    what: &'static str,
    runs: Vec<(Vec<String>, Vec<u8>)>,
}

fn cmd(args: &[&str]) -> (Vec<String>, Vec<u8>) {
    (args.iter().map(|a| a.to_string()).collect(), Vec::new())
}

fn piped(args: &[&str], stdin: impl Into<Vec<u8>>) -> (Vec<String>, Vec<u8>) {
    (args.iter().map(|a| a.to_string()).collect(), stdin.into())
}

#[test]
fn every_documented_failure_has_one_exit_code_on_every_command() {
    let s = Scene::new();
    let ok_config = s.file("job.properties", BASE_CONFIG);
    let bad_value = config_with("job.container.count", "two");
    let too_many = config_with("job.container.count", "9");
    let bad_value_file = s.file("bad-value.properties", &bad_value);
    let too_many_file = s.file("too-many.properties", &too_many);
    let ok_chart = s.chart("ok", &job_stream(BASE_CONFIG));
    let bad_value_chart = s.chart("badvalue", &job_stream(&bad_value));
    let too_many_chart = s.chart("toomany", &job_stream(&too_many));
    let template_chart = s.chart("template", &(job_stream(BASE_CONFIG) + BROKEN_TEMPLATE));
    let empty_chart = s.chart("empty", "# nothing to deploy\n");
    let broken_chart = s.chart("broken", "{{ .Values.unclosed\n");
    let ok_stream = job_stream(BASE_CONFIG);
    let missing = s.path("missing.yaml");
    let garbage_json = s.path("garbage.json");
    let garbage_lock = s.path("garbage.lock");
    let p4 = "--partitions=kafka.orders=4";

    // The model the base job gets with 4 partitions, and a lock pinning them: the baselines of 15 and 17.
    let model = s.run(&["model", "--config", &ok_config, p4], b"");
    let previous = s.file("previous.json", model.success().stdout_str());
    let lock = s.path("samza.lock");
    let out = s.run(&["lock", &ok_chart, p4, "--file", &lock], b"");
    assert_eq!(out.code, 0, "writing the lock: {}", out.stderr);
    let p8 = "--partitions=kafka.orders=8";
    // Without partition expansion 6 partitions make 6 tasks: the changelog topics would need 6 partitions.
    let p6 = "--partitions=kafka.orders=6";
    let no_expansion = config_with("job.systemstreampartition.input.expansion.enabled", "false");
    let no_expansion_chart = s.chart("noexpansion", &job_stream(&no_expansion));
    // samza-job values written with 4 partitions: the baseline `values --check` finds drifted with 8. (The bare
    // charts here do not render the values back: `values` refuses them, 13.)
    let samza_chart = repo_root().join("charts/samza-job").display().to_string();
    let example = repo_root()
        .join("examples/wikipedia-stats.yaml")
        .display()
        .to_string();
    let values_file = s.path("samza-values.yaml");
    let out = s.run(
        &[
            "values",
            &samza_chart,
            "-f",
            &example,
            "--partitions=kafka.wikipedia-edits=4",
            "-o",
            &values_file,
        ],
        b"",
    );
    assert_eq!(out.code, 0, "writing the values: {}", out.stderr);

    let rows = vec![
        Row {
            code: 10,
            what: "a config value Samza rejects",
            runs: vec![
                piped(&["post-render", p4], job_stream(&bad_value)),
                cmd(&["model", "--config", &bad_value_file, p4]),
                cmd(&["plan", &bad_value_chart, p4, "--no-cluster"]),
                cmd(&["lock", &bad_value_chart, p4, "--file", &s.path("10.lock")]),
                cmd(&["values", &bad_value_chart, p4]),
            ],
        },
        Row {
            code: 11,
            what: "a job model Samza refuses (more containers than tasks)",
            runs: vec![
                piped(&["post-render", p4], job_stream(&too_many)),
                cmd(&["model", "--config", &too_many_file, p4]),
                cmd(&["plan", &too_many_chart, p4, "--no-cluster"]),
                cmd(&["lock", &too_many_chart, p4, "--file", &s.path("11.lock")]),
                cmd(&["values", &too_many_chart, p4]),
            ],
        },
        Row {
            code: 12,
            what: "no partition count, offline",
            runs: vec![
                piped(&["post-render", "--offline"], ok_stream.clone()),
                cmd(&["model", "--config", &ok_config, "--offline"]),
                cmd(&["plan", &ok_chart, "--offline", "--no-cluster"]),
                cmd(&["lock", &ok_chart, "--offline", "--file", &s.path("12.lock")]),
                cmd(&["values", &ok_chart, "--offline"]),
                cmd(&["lint", &ok_chart]),
                piped(&["lint", "-"], ok_stream.clone()),
            ],
        },
        Row {
            code: 13,
            what: "an empty or unreadable manifest stream",
            runs: vec![
                piped(&["post-render", "--offline"], ""),
                piped(&["post-render", "--offline"], "# samza.apache.org/job: x\n"),
                piped(
                    &["post-render", "--offline"],
                    "---\n# only a comment\n---\n",
                ),
                piped(&["post-render", "--offline"], b"kind: \xff\n".to_vec()),
                piped(&["lint", "-"], ""),
                piped(&["lint", "-"], "# samza.apache.org/job: x\n"),
                piped(&["lint", "-"], b"kind: \xff\n".to_vec()),
                piped(&["show"], b"kind: \xff\n".to_vec()),
                piped(&["show"], ""),
                piped(&["show"], "---\n# only a comment\n"),
                cmd(&["plan", &empty_chart, "--no-cluster"]),
                cmd(&["lock", &empty_chart, "--file", &s.path("13.lock")]),
                cmd(&["lint", &empty_chart]),
                cmd(&["values", &empty_chart]),
                cmd(&["values", &ok_chart, p4]),
            ],
        },
        Row {
            code: 14,
            what: "a template that fails in an opted-in resource",
            runs: vec![
                piped(
                    &["post-render", p4],
                    job_stream(BASE_CONFIG) + BROKEN_TEMPLATE,
                ),
                piped(
                    &["lint", "-", p4],
                    job_stream(BASE_CONFIG) + BROKEN_TEMPLATE,
                ),
                cmd(&["plan", &template_chart, p4, "--no-cluster"]),
                cmd(&["lock", &template_chart, p4, "--file", &s.path("14.lock")]),
                cmd(&["lint", &template_chart, p4]),
                cmd(&["values", &template_chart, p4]),
            ],
        },
        Row {
            code: 15,
            what: "the safety gate (a stateful job grows from 4 to 6 tasks)",
            runs: vec![
                piped(
                    &["post-render", p6, "--previous", &previous],
                    job_stream(&no_expansion),
                ),
                cmd(&["values", &no_expansion_chart, p6, "--previous", &previous]),
            ],
        },
        Row {
            code: 16,
            what: "an unreadable previous model or lock",
            runs: vec![
                piped(
                    &["post-render", p4, "--previous", &garbage_json],
                    ok_stream.clone(),
                ),
                piped(&["post-render", "--lock", &garbage_lock], ok_stream.clone()),
                cmd(&[
                    "model",
                    "--config",
                    &ok_config,
                    p4,
                    "--previous",
                    &garbage_json,
                ]),
                cmd(&["model", "--config", &ok_config, "--lock", &garbage_lock]),
                cmd(&[
                    "plan",
                    &ok_chart,
                    p4,
                    "--no-cluster",
                    "--previous",
                    &garbage_json,
                ]),
                cmd(&["plan", &ok_chart, "--no-cluster", "--lock", &garbage_lock]),
                cmd(&["lock", &ok_chart, p4, "--file", &garbage_lock]),
                cmd(&["lint", &ok_chart, "--lock", &garbage_lock]),
                piped(&["lint", "-", "--lock", &garbage_lock], ok_stream.clone()),
                cmd(&["values", &ok_chart, p4, "--previous", &garbage_json]),
                cmd(&["values", &ok_chart, p4, "--check", &garbage_lock]),
            ],
        },
        Row {
            code: 17,
            what:
                "lock --verify-live, values --check: the counts drifted from the lock or the values",
            runs: vec![
                cmd(&["lock", &ok_chart, p8, "--file", &lock, "--verify-live"]),
                cmd(&[
                    "values",
                    &samza_chart,
                    "-f",
                    &example,
                    "--partitions=kafka.wikipedia-edits=8",
                    "--check",
                    &values_file,
                ]),
            ],
        },
        Row {
            code: 18,
            what: "helm template failed",
            runs: vec![
                cmd(&["plan", &broken_chart, p4, "--no-cluster"]),
                cmd(&["lock", &broken_chart, p4, "--file", &s.path("18.lock")]),
                cmd(&["lint", &broken_chart, p4]),
                cmd(&["values", &broken_chart, p4]),
            ],
        },
        Row {
            code: 64,
            what: "a bad flag value",
            runs: vec![
                piped(
                    &["post-render", "--partitions", "orders"],
                    ok_stream.clone(),
                ),
                cmd(&["model", "--config", &ok_config, "--partitions", "orders"]),
                cmd(&["plan", &ok_chart, "--no-cluster", "--partitions", "orders"]),
                cmd(&["lock", &ok_chart, "--partitions", "orders"]),
                cmd(&["lint", &ok_chart, "--partitions", "orders"]),
                cmd(&["values", &ok_chart, "--partitions", "orders"]),
                piped(
                    &[
                        "post-render",
                        "--offline",
                        "--partitions",
                        "kafka.orders=4=5",
                    ],
                    ok_stream.clone(),
                ),
                piped(
                    &["post-render", "--offline", "--kafka-timeout", "10ms"],
                    ok_stream.clone(),
                ),
                cmd(&["plan", &ok_chart, "--no-cluster", "--kafka-timeout", "10ms"]),
                piped(
                    &["post-render", "--samza-version", "one"],
                    ok_stream.clone(),
                ),
                cmd(&["model", "--config", &ok_config, "--samza-version", "one"]),
                cmd(&["plan", &ok_chart, "--samza-version", "one"]),
                cmd(&["lock", &ok_chart, "--samza-version", "one"]),
                cmd(&["lint", &ok_chart, "--samza-version", "one"]),
                cmd(&[
                    "coordinator",
                    "--model",
                    &missing,
                    "--bootstrap-servers",
                    "kafka=",
                ]),
                cmd(&["coordinator", "--model", &missing, "--poll-interval", "1ms"]),
            ],
        },
        Row {
            code: 74,
            what: "a file that cannot be read",
            runs: vec![
                piped(
                    &["post-render", p4, "--previous", &missing],
                    ok_stream.clone(),
                ),
                piped(&["post-render", "--lock", &missing], ok_stream.clone()),
                cmd(&["model", "--config", &missing, p4]),
                cmd(&["model", "--config", &ok_config, "--lock", &missing]),
                cmd(&[
                    "plan",
                    &ok_chart,
                    p4,
                    "--no-cluster",
                    "--previous",
                    &missing,
                ]),
                cmd(&["plan", &ok_chart, "--no-cluster", "--lock", &missing]),
                cmd(&["lint", &missing]),
                cmd(&["lint", &ok_chart, "--lock", &missing]),
                cmd(&["show", &missing]),
                cmd(&["values", &ok_chart, p4, "--check", &missing]),
                cmd(&["values", &ok_chart, p4, "--previous", &missing]),
            ],
        },
    ];

    let mut wrong = Vec::new();
    for row in &rows {
        for (args, stdin) in &row.runs {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = s.run(&args, stdin);
            if out.code != row.code || !out.stdout.is_empty() {
                wrong.push(format!(
                    "{} ({}): `helm-samza {}` exited {} with {} bytes on stdout; stderr: {}",
                    row.code,
                    row.what,
                    args.join(" "),
                    out.code,
                    out.stdout.len(),
                    out.stderr.trim()
                ));
            }
        }
    }
    // Every code of the table but the success codes (0, and 1 and 2 of lint and plan, checked below) has a row.
    let documented: Vec<i32> = rows.iter().map(|r| r.code).collect();
    assert_eq!(documented, [10, 11, 12, 13, 14, 15, 16, 17, 18, 64, 74]);

    // An unknown flag is a usage error on every command, whatever else is wrong.
    for command in [
        "post-render",
        "model",
        "plan",
        "lock",
        "lint",
        "coordinator",
        "show",
        "last-error",
        "values",
    ] {
        let out = s.run(&[command, "--no-such-flag"], b"");
        if out.code != 64 {
            wrong.push(format!(
                "64: `helm-samza {command} --no-such-flag` exited {}",
                out.code
            ));
        }
    }

    // The codes that are answers, not failures: lint findings (1), plan changes (2), and plan's own safety gate
    // (15, after printing the plan that explains it).
    let findings = s.run(&["lint", &too_many_chart, p4], b"");
    if findings.code != 1 {
        wrong.push(format!(
            "1: lint of a refused model exited {}",
            findings.code
        ));
    }
    let changes = s.run(
        &["plan", &ok_chart, p4, "--no-cluster", "--detailed-exitcode"],
        b"",
    );
    if changes.code != 2 {
        wrong.push(format!("2: plan of a first deploy exited {}", changes.code));
    }
    let refused = s.run(
        &[
            "plan",
            &no_expansion_chart,
            p6,
            "--no-cluster",
            "--previous",
            &previous,
        ],
        b"",
    );
    if refused.code != 15 || !refused.stdout_str().contains("REFUSED") {
        wrong.push(format!(
            "15: plan of an unsafe change exited {}: {}{}",
            refused.code,
            refused.stdout_str(),
            refused.stderr
        ));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
