//! Samza fidelity: cases where a random differential test against Samza's own classes (`JobModelCalculator`,
//! the groupers, `SSPGrouperProxy`, `SamzaObjectMapper`) once disagreed with helm-samza. Each runs through
//! `helm-samza model` and through the post-renderer, and expects Samza's answer.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::post_render::{documents, find};
use crate::support::run::{fixture, Output, Test};

const ALL_SSP: &str = "org.apache.samza.container.grouper.stream.AllSspToSingleTaskGrouperFactory";
const BY_SSP: &str =
    "org.apache.samza.container.grouper.stream.GroupBySystemStreamPartitionFactory";
const BY_IDS: &str = "org.apache.samza.container.grouper.task.GroupByContainerIdsFactory";
const SINGLE: &str = "org.apache.samza.container.grouper.task.SingleContainerGrouperFactory";
const ROCKSDB: &str =
    "stores.s.factory=org.apache.samza.storage.kv.RocksDbKeyValueStorageEngineFactory\nstores.s.changelog=kafka.s-changelog";

/// A job config: the job the post-render fixture's workers belong to, plus `lines`.
fn config(lines: &[&str]) -> String {
    let mut text = String::from("job.name=page-views\njob.default.system=kafka\n");
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// A previous job model as Samza writes it (HEAD shape): `(container, task, partitions of kafka.t, changelog)`.
fn samza_model(tasks: &[(&str, &str, &[u32], u32)]) -> String {
    let mut containers = serde_json::Map::new();
    for (container, task, partitions, changelog) in tasks {
        let ssps: Vec<Value> = partitions
            .iter()
            .map(|p| json!({"system": "kafka", "partition": p, "stream": "t", "keyBucket": -1}))
            .collect();
        let entry = containers
            .entry(container.to_string())
            .or_insert_with(|| json!({"processor-id": container, "tasks": {}}));
        entry["tasks"][*task] = json!({
            "task-name": task,
            "system-stream-partitions": ssps,
            "changelog-partition": changelog,
            "task-mode": "Active",
        });
    }
    let max = tasks.iter().map(|t| t.3 + 1).max().unwrap_or(0);
    json!({"config": {"job.name": "page-views"}, "containers": containers, "max-change-log-stream-partitions": max})
        .to_string()
}

/// One run of a case: its config, partition counts, previous model and extra flags.
struct Case<'a> {
    config: String,
    partitions: &'a [&'a str],
    previous: Option<String>,
    /// Flags for both commands.
    extra: &'a [&'a str],
    /// Flags for the post-renderer only.
    render_only: &'a [&'a str],
}

impl Case<'_> {
    fn new(config: String) -> Case<'static> {
        Case {
            config,
            partitions: &[],
            previous: None,
            extra: &[],
            render_only: &[],
        }
    }

    fn flags(&self, dir: &std::path::Path) -> Vec<String> {
        let mut flags = vec!["--offline".to_string()];
        flags.extend(self.partitions.iter().map(|p| format!("--partitions={p}")));
        if let Some(previous) = &self.previous {
            let path = dir.join("previous.json");
            std::fs::write(&path, previous).unwrap();
            flags.push(format!("--previous={}", path.display()));
        }
        flags.extend(self.extra.iter().map(|s| s.to_string()));
        flags
    }

    /// `helm-samza model --offline --partitions … [--previous P] --output json`.
    fn model(&self) -> Output {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.properties");
        std::fs::write(&path, &self.config).unwrap();
        Test::new()
            .args([
                "model",
                "--output",
                "json",
                "--config",
                path.to_str().unwrap(),
            ])
            .args(self.flags(dir.path()))
            .run()
    }

    /// The post-render fixture with this job config in its config ConfigMap.
    fn post_render(&self) -> Output {
        let fixture = std::fs::read_to_string(fixture("post-render/one-job-helm3.yaml")).unwrap();
        let (head, rest) = fixture.split_once("  job.properties: |\n").unwrap();
        let tail = &rest[rest.find("---\n").unwrap()..];
        let block: String = self.config.lines().map(|l| format!("    {l}\n")).collect();
        let dir = tempfile::tempdir().unwrap();
        Test::new()
            .args(["post-render"])
            .args(self.flags(dir.path()))
            .args(self.render_only)
            .stdin(format!("{head}  job.properties: |\n{block}{tail}"))
            .run()
    }

    /// The model each way, after checking both agree; the post-renderer's worker replicas must match it.
    fn models(&self) -> (String, Value) {
        let model = self.model().success();
        let rendered = self.post_render().success();
        let docs = documents(rendered.stdout_str());
        let (_, cm) = find(&docs, "ConfigMap", "demo-page-views-model");
        let text = cm["data"]["job-model.json"].as_str().unwrap().to_string();
        let from_model: Value = serde_json::from_str(model.stdout_str()).unwrap();
        let from_render: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            describe(&from_model),
            describe(&from_render),
            "model and post-render agree"
        );
        let (_, workers) = find(&docs, "StatefulSet", "demo-page-views");
        assert_eq!(
            workers["spec"]["replicas"],
            from_model["containers"].as_object().unwrap().len()
        );
        (model.stdout_str().to_string(), from_model)
    }
}

/// `container: task [partitions] cl N; …` per container (in id order), then `max N`.
fn describe(model: &Value) -> String {
    let mut out = Vec::new();
    let containers: BTreeMap<&String, &Value> =
        model["containers"].as_object().unwrap().iter().collect();
    for (id, container) in containers {
        let tasks: BTreeMap<&String, &Value> =
            container["tasks"].as_object().unwrap().iter().collect();
        let described: Vec<String> = tasks
            .iter()
            .map(|(name, task)| {
                let mut parts: Vec<u64> = task["system-stream-partitions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["partition"].as_u64().unwrap())
                    .collect();
                parts.sort_unstable();
                let parts: Vec<String> = parts.iter().map(|p| format!("P{p}")).collect();
                format!(
                    "{name} [{}] cl {}",
                    parts.join(","),
                    task["changelog-partition"]
                )
            })
            .collect();
        out.push(format!("{id}: {}", described.join(", ")));
    }
    out.push(format!("max {}", model["max-change-log-stream-partitions"]));
    out.join("; ")
}

/// B1: an SSP that several previous tasks had goes to the task met last in `SSPGrouperProxy`'s
/// `HashMap<TaskName, …>` iteration (`Task-1` before `Task-0`), not to the first by name.
#[test]
fn regression_previous_ssp_owner_follows_java_hashmap_order() {
    let grouper = format!("job.systemstreampartition.grouper.factory={ALL_SSP}");
    let previous = samza_model(&[("0", "Task-0", &[0], 0), ("1", "Task-1", &[0], 1)]);
    let mut case = Case::new(config(&[
        "task.inputs=kafka.t",
        &grouper,
        "job.container.count=2",
        ROCKSDB,
    ]));
    case.partitions = &["kafka.t=2"];
    case.previous = Some(previous);
    let (_, model) = case.models();
    assert_eq!(
        describe(&model),
        "0: Task-0 [P0,P1] cl 0; 1: Task-1 [P1] cl 1; max 2"
    );
}

/// B2: the same rule decides which previous task survives when the inputs shrink; GroupByContainerIds then keeps
/// it in container 0.
#[test]
fn regression_surviving_task_follows_java_hashmap_order() {
    let grouper = format!("job.systemstreampartition.grouper.factory={ALL_SSP}");
    let by_ids = format!("task.name.grouper.factory={BY_IDS}");
    let previous = samza_model(&[("0", "Task-0", &[0, 1], 0), ("1", "Task-1", &[0, 1], 1)]);
    let mut case = Case::new(config(&[
        "task.inputs=kafka.t",
        &grouper,
        "job.container.count=4",
        &by_ids,
        ROCKSDB,
    ]));
    case.partitions = &["kafka.t=1"];
    case.previous = Some(previous);
    // Task-1's state is orphaned and the input shrank: the post-renderer's safety gate wants it allowed.
    case.post_render()
        .fails(15, &["[tasks-removed]", "'Task-1' (changelog partition 1)"]);
    case.render_only = &["--allow-unsafe"];
    let (_, model) = case.models();
    assert_eq!(describe(&model), "0: Task-0 [P0] cl 0; max 1");
}

/// C: SingleContainerGrouper has no "No tasks found" check: no inputs give one empty container.
#[test]
fn regression_single_container_grouper_without_inputs_writes_an_empty_container() {
    let single = format!("task.name.grouper.factory={SINGLE}");
    let case = Case::new(config(&[&single, "processor.id=0"]));
    let (_, model) = case.models();
    assert_eq!(describe(&model), "0: ; max 0");
    assert_eq!(model["containers"]["0"]["tasks"], json!({}));
    // The check stays where Samza has it.
    Case::new(config(&["job.container.count=1"]))
        .model()
        .fails(11, &["No tasks found"]);
}

/// D: strings are escaped as Jackson escapes them, for every JSON shape (Samza version line) we write.
#[test]
fn regression_json_escapes_are_jacksons() {
    // Every character below U+0020, then `"`, `\`, `/`, U+007F and é, as `.properties` escapes.
    let mut value: String = (0..0x20).map(|c| format!("\\u{c:04x}")).collect();
    value.push_str("\"\\\\/\\u007f\\u00e9");
    let jackson = concat!(
        r#""custom.all":"\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000B\f\r\u000E\u000F"#,
        r#"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F"#,
        "\\\"\\\\/\u{7f}\u{e9}\""
    );
    let all = format!("custom.all={value}");
    let mut case = Case::new(config(&["task.inputs=kafka.t", "custom.ctl=\\u001f", &all]));
    case.partitions = &["kafka.t=1"];
    let (text, _) = case.models();
    assert!(text.contains(r#""custom.ctl":"\u001F""#), "{text}");
    assert!(text.contains(jackson), "{text}");
    for version in ["0.9", "0.10.1", "0.14", "1.0", "1.1", "1.6", "1.7", "1.8"] {
        let flags = ["--samza-version", version];
        let mut case = Case::new(case.config.clone());
        case.partitions = &["kafka.t=1"];
        case.extra = &flags;
        let out = case.model().success();
        assert!(
            out.stdout_str().contains(jackson),
            "{version}: {}",
            out.stdout_str()
        );
        let rendered = case.post_render().success();
        let docs = documents(rendered.stdout_str());
        let (_, cm) = find(&docs, "ConfigMap", "demo-page-views-model");
        let text = cm["data"]["job-model.json"].as_str().unwrap();
        assert!(text.contains(jackson), "{version}: {text}");
    }
}

/// F: only GroupByPartition and GroupBySystemStreamPartition read (and validate) `job.elasticity.factor`.
#[test]
fn regression_elasticity_factor_is_read_only_by_groupers_that_use_it() {
    let grouper = format!("job.systemstreampartition.grouper.factory={ALL_SSP}");
    for factor in ["0", "2 ", "2147483648"] {
        let elasticity = format!("job.elasticity.factor={factor}");
        let mut case = Case::new(config(&["task.inputs=kafka.t", &grouper, &elasticity]));
        case.partitions = &["kafka.t=2"];
        let (_, model) = case.models();
        assert_eq!(
            describe(&model),
            "0: Task-0 [P0,P1] cl 0; max 1",
            "factor {factor:?}"
        );
        // Nor does it count as elasticity for a Samza that predates it.
        case.extra = &["--samza-version", "1.6"];
        case.model().success();
        case.post_render().success();
    }
    // The groupers that read it still refuse what Samza refuses.
    let mut case = Case::new(config(&["task.inputs=kafka.t", "job.elasticity.factor=0"]));
    case.partitions = &["kafka.t=2"];
    case.model().fails(10, &["job.elasticity.factor"]);
    case.post_render().fails(10, &["job.elasticity.factor"]);
}

/// G: SingleContainerGrouper never reads `job.container.count`, so 0 is accepted.
#[test]
fn regression_container_count_zero_with_single_container_grouper() {
    let single = format!("task.name.grouper.factory={SINGLE}");
    let mut case = Case::new(config(&[
        "task.inputs=kafka.t",
        &single,
        "processor.id=0",
        "job.container.count=0",
    ]));
    case.partitions = &["kafka.t=1"];
    let (_, model) = case.models();
    assert_eq!(describe(&model), "0: Partition 0 [P0] cl 0; max 1");
    // GroupByContainerCount reads it and refuses.
    let mut refused = Case::new(config(&["task.inputs=kafka.t", "job.container.count=0"]));
    refused.partitions = &["kafka.t=1"];
    refused.model().fails(
        10,
        &["job.container.count", "Must have at least one container"],
    );
    refused.post_render().fails(
        10,
        &["job.container.count", "Must have at least one container"],
    );
}

/// E: a new SSP grouper under host affinity renames every task. Samza fails to start (a NullPointerException in
/// `GroupByContainerCount` for a stateless job; for a job with stores already in `SSPGrouperProxy`, which looks
/// for the SSPs' previous tasks). helm-samza writes the fresh model for a stateless job; for a job with state it
/// refuses as Samza does, and with the proxy switched off its safety gate refuses unless allowed.
#[test]
fn regression_task_rename_under_host_affinity() {
    let previous = samza_model(&[("0", "Partition 0", &[0], 0), ("1", "Partition 1", &[1], 1)]);
    let by_ssp = format!("job.systemstreampartition.grouper.factory={BY_SSP}");
    let lines = [
        "task.inputs=kafka.t",
        "job.container.count=2",
        &by_ssp,
        "job.host-affinity.enabled=true",
    ];
    let fresh = "0: SystemStreamPartition [kafka, t, 0] [P0] cl 2; \
                 1: SystemStreamPartition [kafka, t, 1] [P1] cl 3; max 4";
    let mut stateless = Case::new(config(&lines));
    stateless.partitions = &["kafka.t=2"];
    stateless.previous = Some(previous.clone());
    let (_, model) = stateless.models();
    assert_eq!(describe(&model), fresh);

    let mut stateful_lines = lines.to_vec();
    stateful_lines.push(ROCKSDB);
    let mut stateful = Case::new(config(&stateful_lines));
    stateful.partitions = &["kafka.t=2"];
    stateful.previous = Some(previous.clone());
    let refusal = [
        "belonged to task 'Partition 0' before, but that task no longer exists",
        "orphan",
        "NullPointerException",
    ];
    stateful.model().fails(11, &refusal);
    stateful.post_render().fails(11, &refusal);
    stateful.render_only = &["--allow-unsafe"];
    stateful.post_render().fails(11, &refusal);

    stateful_lines.push("job.systemstreampartition.input.expansion.enabled=false");
    let mut no_proxy = Case::new(config(&stateful_lines));
    no_proxy.partitions = &["kafka.t=2"];
    no_proxy.previous = Some(previous);
    no_proxy.post_render().fails(
        15,
        &[
            "[tasks-removed]",
            "'Partition 0' (changelog partition 0)",
            "'Partition 1' (changelog partition 1)",
            "orphaned",
            "--allow-unsafe",
        ],
    );
    no_proxy.render_only = &["--allow-unsafe"];
    let (_, model) = no_proxy.models();
    assert_eq!(describe(&model), fresh);
}

/// A: with GroupByContainerIds and host affinity Samza places tasks in `HashSet<TaskModel>` order, which differs
/// between JVMs (four fresh JVMs gave {0:[P1,P3],1:[P0,P2]} three times and {0:[P0,P2],1:[P1,P3]} once). Our
/// placement is one fixed, balanced answer; every task itself (name, SSPs, changelog partition) is Samza's.
#[test]
fn regression_group_by_container_ids_with_host_affinity_is_deterministic() {
    let by_ids = format!("task.name.grouper.factory={BY_IDS}");
    let mut case = Case::new(config(&[
        "task.inputs=kafka.t",
        "job.container.count=2",
        &by_ids,
        "job.host-affinity.enabled=true",
    ]));
    case.partitions = &["kafka.t=4"];
    let (first, model) = case.models();
    assert_eq!(
        describe(&model),
        "0: Partition 0 [P0] cl 0, Partition 1 [P1] cl 1; \
         1: Partition 2 [P2] cl 2, Partition 3 [P3] cl 3; max 4"
    );
    // Samza's placements hold the very same task models, two to a container.
    let tasks = |m: &Value| -> BTreeMap<String, Value> {
        m["containers"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|c| c["tasks"].as_object().unwrap().clone())
            .collect()
    };
    let samza = samza_model(&[
        ("0", "Partition 1", &[1], 1),
        ("0", "Partition 3", &[3], 3),
        ("1", "Partition 0", &[0], 0),
        ("1", "Partition 2", &[2], 2),
    ]);
    assert_eq!(tasks(&model), tasks(&serde_json::from_str(&samza).unwrap()));
    // Same input, same bytes.
    assert_eq!(case.model().success().stdout_str(), first);
}
