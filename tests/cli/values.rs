//! `helm samza values`: the chart rendered natively with the values it writes equals the chart rendered through
//! the post-renderer, for every example values file and both Helm versions; the safety gate and the drift check.
//!
//! Manifests are compared as Helm's own YAML reader (go-yaml through sigs.k8s.io/yaml: `go-yaml2json`) reads
//! them, document by document, keyed by kind, namespace and name; not as bytes. Bytes cannot be equal: the
//! post-renderer appends the model ConfigMap at the end of the stream (Helm installs by kind order anyway),
//! under its own `# Source:` line, and splices the checksum annotation and replicas where the document had room
//! for them, while the chart writes them where its templates put them. What the API server receives is the
//! parsed objects, and those must be equal, every field.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

use crate::{
    oracle::go_read,
    support::{
        helm::{run_ok, HelmHome, RELEASE},
        run::Test,
        tools::{repo_root, tool},
    },
};

/// Every input stream of every example values file: the renders need no broker.
const PARTITIONS: &str =
    "kafka.page-views=6,kafka.ad-clicks=6,kafka.wikipedia-raw=4,kafka.wikipedia-edits=8,\
kafka.my-input=6,wikipedia.#en.wikipedia=1,wikipedia.#en.wiktionary=1,wikipedia.#en.wikinews=1";

fn chart() -> PathBuf {
    repo_root().join("charts/samza-job")
}

/// `charts/samza-job/ci/*.yaml` and `examples/*.yaml`: every example values file there is.
fn example_values() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [chart().join("ci"), repo_root().join("examples")] {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(
        files.len() >= 5,
        "the example values files are missing: {files:?}"
    );
    files
}

/// The objects Helm would send to the API server, by (apiVersion, kind, namespace, name).
fn objects(stream: &[u8]) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for value in go_read(stream) {
        let key = format!(
            "{} {} {}/{}",
            value["apiVersion"].as_str().unwrap_or_default(),
            value["kind"].as_str().unwrap_or_default(),
            value["metadata"]["namespace"].as_str().unwrap_or_default(),
            value["metadata"]["name"].as_str().unwrap_or_default()
        );
        assert!(
            out.insert(key.clone(), value).is_none(),
            "{key} twice in the stream"
        );
    }
    out
}

fn assert_same_objects(post_rendered: &[u8], native: &[u8], case: &str) {
    assert_same(objects(post_rendered), objects(native), case);
}

fn assert_same(expected: BTreeMap<String, Value>, actual: BTreeMap<String, Value>, case: &str) {
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        actual.keys().collect::<Vec<_>>(),
        "{case}: the native render has other objects than the post-rendered one"
    );
    for (key, want) in &expected {
        assert_eq!(
            want, &actual[key],
            "{case}: {key} differs (left: post-rendered, right: native with the generated values)"
        );
    }
}

fn output(cmd: &mut Command) -> Vec<u8> {
    run_ok(cmd).stdout
}

/// `helm samza values` through the installed plugin (Helm sets HELM_BIN), offline with `PARTITIONS`.
fn values_cmd(home: &HelmHome, values: &Path, partitions: &str, extra: &[&str]) -> Command {
    let mut cmd = home.cmd(["samza", "values", RELEASE]);
    cmd.arg(chart())
        .arg("-f")
        .arg(values)
        .arg("--offline")
        .arg(format!("--partitions={partitions}"))
        .args(extra);
    cmd
}

/// How the generated values carry the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carried {
    /// `data.job-model.json`.
    Plain,
    /// `binaryData.job-model.json.gz`.
    Gzip,
    /// `data.job-model.inputs.json`: the coordinator computes the model again.
    Inputs,
}

impl Carried {
    fn of(text: &str) -> Carried {
        match (
            text.contains("job-model.json:"),
            text.contains("job-model.json.gz:"),
            text.contains("job-model.inputs.json:"),
        ) {
            (true, false, false) => Carried::Plain,
            (false, true, false) => Carried::Gzip,
            (false, false, true) => Carried::Inputs,
            _ => panic!("values carry no model, or several: {text}"),
        }
    }
}

/// One case: post-rendered render, generated values, native render with them; the two renders must be the same
/// objects, and post-rendering the native render must change none of them. `layout`: `--model-layout`, given to
/// every run of the post-renderer (`None`: its default).
fn check_case(
    home: &HelmHome,
    values: &Path,
    partitions: &str,
    layout: Option<&str>,
    expect: Carried,
) {
    let case = format!(
        "Helm {} with {} ({}, layout {})",
        home.version(),
        values.strip_prefix(repo_root()).unwrap_or(values).display(),
        if partitions.len() > 60 {
            "the example counts"
        } else {
            partitions
        },
        layout.unwrap_or("default")
    );
    let layout_flag: Vec<String> = layout
        .map(|l| format!("--model-layout={l}"))
        .into_iter()
        .collect();
    let layout_args: Vec<&str> = layout_flag.iter().map(String::as_str).collect();
    let generated = home.path().join("samza-values.yaml");
    let _ = std::fs::remove_file(&generated);
    run_ok(
        values_cmd(home, values, partitions, &layout_args)
            .arg("-o")
            .arg(&generated),
    );
    let text = std::fs::read_to_string(&generated).unwrap();
    assert!(text.contains("jobModel:"), "{case}: {text}");
    assert_eq!(
        Carried::of(&text),
        expect,
        "{case}: how the values carry the model"
    );

    let mut post = home.template(&chart(), &["-f".as_ref(), values.as_os_str()]);
    post.env("HELM_SAMZA_OFFLINE", "true")
        .env("HELM_SAMZA_PARTITIONS", partitions);
    if let Some(layout) = layout {
        post.env("HELM_SAMZA_MODEL_LAYOUT", layout);
    }
    let post_rendered = output(&mut post);
    let mut native = home.cmd(["template", RELEASE]);
    native
        .arg(chart())
        .arg("-f")
        .arg(values)
        .arg("-f")
        .arg(&generated);
    let native_rendered = output(&mut native);
    assert_same_objects(&post_rendered, &native_rendered, &case);

    // The model is in the stream already: a post-renderer run over it (Helmfile with the values file and the
    // post-renderer) keeps it, stable against it.
    let again = Test::new()
        .args([
            "post-render",
            "--offline",
            &format!("--partitions={partitions}"),
        ])
        .args(&layout_args)
        .stdin(native_rendered.clone())
        .run()
        .success();
    let case = format!("{case}, post-rendered again");
    let (mut before, mut after) = (objects(&native_rendered), objects(&again.stdout));
    if expect == Carried::Inputs {
        // Planned against the stream's own model, the inputs name that model as their previous state: the same
        // model digest from the same config and counts, whichever state the planner was shown.
        let model_cm = before
            .keys()
            .find(|k| k.starts_with("v1 ConfigMap ") && k.ends_with("-model"))
            .cloned()
            .unwrap_or_else(|| panic!("{case}: no model ConfigMap"));
        let inputs = |objects: &mut BTreeMap<String, Value>| {
            let data = objects.get_mut(&model_cm).unwrap()["data"]
                .as_object_mut()
                .unwrap()
                .remove("job-model.inputs.json")
                .unwrap_or_else(|| panic!("{case}: {model_cm} carries no inputs"));
            let mut inputs: Value = serde_json::from_str(data.as_str().unwrap()).unwrap();
            inputs.as_object_mut().unwrap().remove("previousState");
            inputs
        };
        assert_eq!(
            inputs(&mut before),
            inputs(&mut after),
            "{case}: the inputs changed"
        );
    }
    assert_same(before, after, &case);
}

#[test]
fn native_render_with_generated_values_equals_the_post_rendered_one() {
    let full = chart().join("ci/full-values.yaml");
    for version in [3, 4] {
        let home = HelmHome::new(version);
        for values in example_values() {
            check_case(&home, &values, PARTITIONS, None, Carried::Plain);
        }
        // A model too big for `data`: gzipped into binaryData, by the chart as by the post-renderer.
        check_case(
            &home,
            &full,
            "kafka.page-views=20000,kafka.ad-clicks=6",
            None,
            Carried::Gzip,
        );
        // The inputs layout asked for, and chosen by `auto` for a model too large for one ConfigMap even gzipped:
        // the chart renders the inputs back into the post-renderer's model ConfigMap.
        check_case(&home, &full, PARTITIONS, Some("inputs"), Carried::Inputs);
        check_case(&home, &full, LARGE, None, Carried::Inputs);
    }
}

/// Input partition counts whose model does not fit one ConfigMap gzipped (about 3 parts of 900 KiB).
const LARGE: &str = "kafka.page-views=60000,kafka.ad-clicks=6";

/// The values of a stateful job are regenerated stable against the model the file holds, and a change that would
/// move its state is refused with the post-renderer's exit code, the file left as it was.
#[test]
fn values_for_a_stateful_job_pass_the_safety_gate() {
    let home = HelmHome::new(4);
    let values = chart().join("ci/full-values.yaml");
    let generated = home.path().join("samza-values.yaml");
    run_ok(values_cmd(&home, &values, PARTITIONS, &["-o"]).arg(&generated));
    let before = std::fs::read(&generated).unwrap();

    // Another SSP grouper renames every task: the state in their changelog partitions would be orphaned. (With
    // partition-expansion stickiness on, Samza itself refuses it, exit 11; off, the gate weighs it.)
    let grouper = [
        "--set",
        "config.job\\.systemstreampartition\\.grouper\\.factory=org.apache.samza.container.grouper.stream.\
         GroupBySystemStreamPartitionFactory,config.job\\.systemstreampartition\\.input\\.expansion\\.enabled=false",
        "-o",
    ];
    let mut refused = values_cmd(&home, &values, PARTITIONS, &grouper);
    refused.arg(&generated);
    let out = refused.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(15), "{stderr}");
    assert!(
        stderr.contains("tasks-removed") && stderr.contains("--allow-unsafe"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read(&generated).unwrap(),
        before,
        "a refused run left the file alone"
    );

    // The same refusal as the post-renderer's over the chart rendered with those values.
    let mut post = home.template(
        &chart(),
        &[
            "-f".as_ref(),
            values.as_os_str(),
            "-f".as_ref(),
            generated.as_os_str(),
        ],
    );
    post.args(&grouper[..2])
        .env("HELM_SAMZA_OFFLINE", "true")
        .env("HELM_SAMZA_PARTITIONS", PARTITIONS);
    assert!(
        !post.output().unwrap().status.success(),
        "the post-renderer refuses it too"
    );

    let mut allowed = values_cmd(&home, &values, PARTITIONS, &grouper);
    allowed.arg(&generated).arg("--allow-unsafe");
    run_ok(&mut allowed);
    assert_ne!(std::fs::read(&generated).unwrap(), before);
}

/// `--check` fails (17, naming the command that regenerates the file) once Kafka's counts or the config moved on,
/// and passes after the file was regenerated.
#[test]
fn values_check_catches_drift_and_passes_after_regeneration() {
    let home = HelmHome::bare(3);
    let values = repo_root().join("examples/wikipedia-stats.yaml");
    let generated = home.path().join("samza-values.yaml");
    let helm_bin = tool("helm3");
    let run = |partitions: &str, extra: &[&str]| {
        Test::new()
            .args(["values", RELEASE])
            .args([
                chart().to_str().unwrap(),
                "-f",
                values.to_str().unwrap(),
                "--offline",
            ])
            .args([
                format!("--partitions={partitions}"),
                format!("--helm-bin={}", helm_bin.display()),
            ])
            .args(extra)
            .run()
    };
    let path = generated.to_str().unwrap();
    run("kafka.wikipedia-edits=4", &["-o", path]).success();
    run("kafka.wikipedia-edits=4", &["--check", path]).success();

    let drifted = run("kafka.wikipedia-edits=8", &["--check", path]).fails(
        17,
        &[
            "kafka.wikipedia-edits has 8 partitions, the values were computed for 4",
            "helm samza values",
            &format!("-o {path}"),
        ],
    );
    assert!(!drifted.stderr.contains("up to date"), "{}", drifted.stderr);
    run(
        "kafka.wikipedia-edits=4",
        &["--set", "config.task\\.window\\.ms=5000", "--check", path],
    )
    .fails(17, &["the job model changed"]);

    // Regenerated (stable against the committed model: 4 → 8 is a multiple, Samza maps it onto the old tasks).
    let written = run("kafka.wikipedia-edits=8", &["-o", path]).success();
    assert!(written.stderr.contains("wrote"), "{}", written.stderr);
    run("kafka.wikipedia-edits=8", &["--check", path]).success();
    // Up to date: regenerating leaves the file alone.
    let unchanged = run("kafka.wikipedia-edits=8", &["-o", path]).success();
    assert!(
        unchanged.stderr.contains("up to date"),
        "{}",
        unchanged.stderr
    );

    // A file without the values is drift too, not a pass.
    std::fs::write(&generated, "worker: {}\n").unwrap();
    run("kafka.wikipedia-edits=8", &["--check", path]).fails(17, &["holds no jobModel values"]);
}

/// Values generated for one job are refused by the chart for another, instead of deploying the wrong model.
#[test]
fn chart_refuses_values_of_another_job() {
    let home = HelmHome::bare(4);
    let values = repo_root().join("examples/wikipedia-stats.yaml");
    let generated = home.path().join("samza-values.yaml");
    let out = Test::new()
        .args([
            "values",
            RELEASE,
            chart().to_str().unwrap(),
            "-f",
            values.to_str().unwrap(),
        ])
        .args(["--offline", "--partitions=kafka.wikipedia-edits=4"])
        .args([format!("--helm-bin={}", tool("helm4").display())])
        .run()
        .success();
    std::fs::write(&generated, &out.stdout).unwrap();
    let mut native = home.cmd(["template", RELEASE]);
    native
        .arg(chart())
        .arg("-f")
        .arg(&values)
        .arg("-f")
        .arg(&generated)
        .args(["--set", "job.name=another-job"]);
    let out = native.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(r#"jobModel holds the model of job "wikipedia-stats", but this release renders job "another-job""#),
        "{stderr}"
    );
}

/// A chart that does not render `jobModel` (here samza-job inside a parent chart, whose values sit under its key)
/// would deploy no model from the values: `values` renders them back, sees it, and refuses them.
#[test]
fn values_a_chart_does_not_render_back_are_refused() {
    let home = HelmHome::bare(4);
    let parent = home.path().join("parent");
    std::fs::create_dir_all(parent.join("charts")).unwrap();
    std::fs::write(
        parent.join("Chart.yaml"),
        "apiVersion: v2\nname: parent\nversion: 0.1.0\n",
    )
    .unwrap();
    // samza-job links its kafka and zookeeper subcharts as ../../kafka and ../../zookeeper.
    for name in ["samza-job", "kafka", "zookeeper"] {
        crate::support::helm::copy_tree(
            &repo_root().join("charts").join(name),
            &parent.join("charts").join(name),
        );
    }
    std::fs::write(
        parent.join("values.yaml"),
        "samza-job:\n  job:\n    name: nested\n    taskClass: example.Task\n    inputs: [kafka.orders]\n",
    )
    .unwrap();
    let out = Test::new()
        .args(["values", RELEASE, parent.to_str().unwrap()])
        .args(["--offline", "--partitions=kafka.orders=4"])
        .args([format!("--helm-bin={}", tool("helm4").display())])
        .env(
            "HELM_CACHE_HOME",
            home.path().join("cache").to_str().unwrap(),
        )
        .env(
            "HELM_CONFIG_HOME",
            home.path().join("config").to_str().unwrap(),
        )
        .env("HELM_DATA_HOME", home.path().join("data").to_str().unwrap())
        .run();
    out.fails(
        13,
        &[
            "the chart does not deploy what the post-renderer would",
            "ConfigMap default/samza-test-samza-job-model is missing",
        ],
    );
}

/// Against a real Kafka-protocol broker: the values carry the broker's counts, `--check` passes while they hold,
/// and fails (17) once a topic grew, naming the regeneration; regenerated, the file passes again.
#[test]
fn values_check_sees_a_topic_grow_on_a_live_broker() {
    let broker = crate::support::broker::Broker::start();
    broker.create_topic("wikipedia-edits", 4);
    let home = HelmHome::bare(4);
    let values = repo_root().join("examples/wikipedia-stats.yaml");
    let generated = home.path().join("samza-values.yaml");
    let path = generated.to_str().unwrap();
    let run = |extra: &[&str]| {
        Test::new()
            .args(["values", RELEASE, chart().to_str().unwrap()])
            .args(["-f", values.to_str().unwrap()])
            .args([
                format!("--bootstrap-servers={}", broker.bootstrap()),
                format!("--helm-bin={}", tool("helm4").display()),
            ])
            .args(extra)
            .run()
    };
    run(&["-o", path]).success();
    let text = std::fs::read_to_string(&generated).unwrap();
    assert!(
        text.contains(&format!("(brokers {}", broker.bootstrap())),
        "the counts came from the broker: {text}"
    );
    run(&["--check", path]).success();

    broker.set_partitions("wikipedia-edits", 8);
    run(&["--check", path]).fails(
        17,
        &[
            "kafka.wikipedia-edits has 8 partitions, the values were computed for 4",
            &format!("--bootstrap-servers {} -o {path}`", broker.bootstrap()),
        ],
    );
    run(&["-o", path]).success();
    run(&["--check", path]).success();
}

/// `helm samza values` over the full example chart, run directly with Helm 4, offline with `partitions`.
fn run_full(partitions: &str, extra: &[&str]) -> crate::support::run::Output {
    Test::new()
        .args(["values", RELEASE, chart().to_str().unwrap()])
        .args(["-f", chart().join("ci/full-values.yaml").to_str().unwrap()])
        .args([
            "--offline".to_string(),
            format!("--partitions={partitions}"),
            format!("--helm-bin={}", tool("helm4").display()),
        ])
        .args(extra)
        .run()
}

/// Values carrying the model as its inputs read back: `--check` passes and regenerating leaves the file alone
/// (the model is computed again from them); a grown topic is drift (17). Regenerated stable against them, the
/// inputs name a previous state the file does not hold: offline, with nothing else that knows it, a plan that
/// differs is refused (16), naming the state and how to give it, never judged as drift or written.
#[test]
fn values_carrying_inputs_read_back_and_need_the_state_they_were_planned_against() {
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("samza-values.yaml");
    let path = generated.to_str().unwrap();
    let six = "kafka.page-views=6,kafka.ad-clicks=6";
    let twelve = "kafka.page-views=12,kafka.ad-clicks=6";
    let inputs = ["--model-layout", "inputs"];
    run_full(six, &[&inputs[..], &["-o", path]].concat()).success();
    let first = std::fs::read_to_string(&generated).unwrap();
    assert_eq!(Carried::of(&first), Carried::Inputs, "{first}");
    assert!(
        first.contains("--model-layout inputs -o"),
        "the regeneration command keeps the layout: {first}"
    );
    run_full(six, &[&inputs[..], &["--check", path]].concat()).success();
    let unchanged = run_full(six, &[&inputs[..], &["-o", path]].concat()).success();
    assert!(
        unchanged.stderr.contains("up to date"),
        "{}",
        unchanged.stderr
    );
    assert_eq!(std::fs::read_to_string(&generated).unwrap(), first);

    run_full(twelve, &[&inputs[..], &["--check", path]].concat()).fails(
        17,
        &["kafka.page-views has 12 partitions, the values were computed for 6"],
    );
    // Regenerated stable against the file's model (12 partitions onto the 6 tasks): the inputs now name it.
    run_full(twelve, &[&inputs[..], &["-o", path]].concat()).success();
    let second = std::fs::read_to_string(&generated).unwrap();
    assert!(
        second.contains("\"source\": \"release samza-test ("),
        "{second}"
    );
    assert!(second.contains("changelogPartitions: 6"), "{second}");

    // Offline, nothing knows that state: a plan without it differs, and is refused rather than judged.
    for mode in ["--check", "-o"] {
        run_full(
            "kafka.page-views=24,kafka.ad-clicks=6",
            &[&inputs[..], &[mode, path]].concat(),
        )
        .fails(
            16,
            &[
                "job 'page-view-counter': planned here without its previous state",
                "kafka.page-views has 24 partitions, the values were computed for 12",
                "coordinator stream (drop --offline",
                "--lock FILE",
            ],
        );
        assert_eq!(std::fs::read_to_string(&generated).unwrap(), second);
    }
}

/// A model split over several ConfigMaps cannot be values: refused with 11 before anything is written, naming the
/// job and the way out, whether the flag or the chart's job.modelLayout asked for parts.
#[test]
fn values_refuse_a_model_split_into_parts() {
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("samza-values.yaml");
    let path = generated.to_str().unwrap();
    run_full(LARGE, &["--model-layout", "parts", "-o", path]).fails(
        11,
        &[
            "job 'page-view-counter': the job model is split into",
            "parts (model layout `parts`)",
            "pass --model-layout inputs",
        ],
    );
    assert!(!generated.exists(), "nothing was written");
    run_full(LARGE, &["--set", "job.modelLayout=parts"]).fails(
        11,
        &[
            "job 'page-view-counter': the job model is split",
            "annotation samza.apache.org/model-layout: \"parts\"",
            "set job.modelLayout to inputs",
        ],
    );
    // A model that fits one ConfigMap is not split, whatever the layout: values as usual.
    let small = run_full(PARTITIONS, &["--model-layout", "parts"]).success();
    assert_eq!(Carried::of(small.stdout_str()), Carried::Plain);
    // The chart's job.modelLayout wins over the flag, as the annotation does for the post-renderer.
    let chosen = run_full(
        PARTITIONS,
        &["--model-layout", "parts", "--set", "job.modelLayout=inputs"],
    )
    .success();
    assert_eq!(Carried::of(chosen.stdout_str()), Carried::Inputs);
}
