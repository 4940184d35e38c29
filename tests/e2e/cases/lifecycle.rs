//! A job's life on a real API server, with Helm 3 (three-way merge) and Helm 4 (server-side apply), each through
//! its post-renderer path with the partition counts discovered live from the broker: install, an unchanged
//! upgrade, `helm samza plan` against the deployed release, an upgrade to more containers, rollback, uninstall.

use serde_json::Value;

use super::{sets, template_checksum, text, Release};
use crate::Env;

pub fn lifecycle(env: &Env, version: u8) {
    let topic = format!("life-h{version}-in");
    env.broker.create_topic(&topic, 4);
    let release = Release::samza_job(env, version, "life", &[]);
    let inputs = format!("{{kafka.{topic}}}");
    let bootstrap = env.broker.bootstrap();
    let base = sets(&[
        ("job.inputs", &inputs),
        ("job.bootstrapServers", &bootstrap),
    ]);
    let with = |extra: &[(&str, &str)]| [base.clone(), sets(extra)].concat();

    // Install: the model from the broker's 4 partitions, one container.
    release.deploy_ok("install", &base);
    let installed = Deployed::read(&release);
    assert_eq!(installed.workers["spec"]["replicas"], 1);
    assert_eq!(installed.containers(), 1);
    assert_eq!(installed.tasks(), 4, "one task per input partition");
    assert_eq!(
        installed.checksum,
        template_checksum(&installed.coordinator)
    );

    // An unchanged upgrade changes no pod template: nothing restarts.
    release.deploy_ok("upgrade", &base);
    let unchanged = Deployed::read(&release);
    assert_eq!(unchanged.checksum, installed.checksum);
    assert_eq!(
        unchanged.workers["spec"]["template"], installed.workers["spec"]["template"],
        "an unchanged upgrade rewrote the worker pod template"
    );
    for (before, after) in [
        (&installed.workers, &unchanged.workers),
        (&installed.coordinator, &unchanged.coordinator),
    ] {
        assert_eq!(
            before["metadata"]["generation"], after["metadata"]["generation"],
            "an unchanged upgrade bumped the generation of {}",
            after["metadata"]["name"]
        );
    }
    assert_eq!(unchanged.model_json, installed.model_json);

    // `helm samza plan` reads the deployed release: nothing to change, then the container change.
    let plan = plan(&release, &base);
    assert_eq!(plan["changed"], false, "{plan}");
    assert_eq!(plan["jobs"][0]["first_deploy"], false, "{plan}");
    let growing = with(&[("job.containerCount", "2")]);
    let plan = self::plan(&release, &growing);
    assert_eq!(plan["changed"], true, "{plan}");
    assert_eq!(plan["jobs"][0]["diff"]["containers_before"], 1, "{plan}");
    assert_eq!(plan["jobs"][0]["diff"]["containers_after"], 2, "{plan}");

    // More containers: a new model, a new checksum on every pod template that reads it.
    release.deploy_ok("upgrade", &growing);
    let grown = Deployed::read(&release);
    assert_eq!(grown.workers["spec"]["replicas"], 2);
    assert_eq!(grown.containers(), 2);
    assert_ne!(grown.checksum, installed.checksum);
    assert_eq!(template_checksum(&grown.workers), grown.checksum);
    assert_eq!(template_checksum(&grown.coordinator), grown.checksum);

    // Rollback to the first revision: its model and its checksum come back.
    release.helm_ok(&["rollback", release.name, "1"]);
    let rolled_back = Deployed::read(&release);
    assert_eq!(rolled_back.workers["spec"]["replicas"], 1);
    assert_eq!(rolled_back.checksum, installed.checksum);
    assert_eq!(rolled_back.model_json, installed.model_json);
    let history = release.helm_ok(&["history", release.name, "-o", "json"]);
    let history: Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(history.as_array().map(Vec::len), Some(4), "{history}");

    // Uninstall removes every object the release made.
    release.helm_ok(&["uninstall", release.name]);
    for (kind, name) in [
        ("statefulset", "job-samza-job-worker"),
        ("deployment", "job-samza-job-coordinator"),
        ("configmap", "job-samza-job-model"),
        ("configmap", "job-samza-job-config"),
    ] {
        assert!(
            !release.exists(kind, name),
            "{kind}/{name} is still there after uninstall"
        );
    }
}

/// `helm samza plan RELEASE CHART -n NS --output json` with the release's flags.
fn plan(release: &Release, args: &[String]) -> Value {
    let mut cmd = release
        .env
        .helm(release.version, ["samza", "plan", release.name]);
    cmd.arg(&release.chart)
        .args(["--namespace", &release.namespace, "--output", "json"])
        .args(args);
    let out = cmd.output().expect("running helm samza plan");
    assert!(out.status.success(), "helm samza plan: {}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("plan JSON: {e}: {}", text(&out)))
}

/// The job's objects as the API server stored them.
struct Deployed {
    workers: Value,
    coordinator: Value,
    checksum: String,
    model_json: String,
}

impl Deployed {
    fn read(release: &Release) -> Deployed {
        let workers = release.get("statefulset", "job-samza-job-worker");
        let coordinator = release.get("deployment", "job-samza-job-coordinator");
        let model = release.get("configmap", "job-samza-job-model");
        let checksum = model["metadata"]["annotations"]["samza.apache.org/job-model-checksum"]
            .as_str()
            .expect("a model checksum on the model ConfigMap")
            .to_owned();
        assert_eq!(template_checksum(&workers), checksum);
        let model_json = model["data"]["job-model.json"]
            .as_str()
            .expect("a plain job model")
            .to_owned();
        Deployed {
            workers,
            coordinator,
            checksum,
            model_json,
        }
    }

    fn model(&self) -> Value {
        serde_json::from_str(&self.model_json).expect("the job model is JSON")
    }

    fn containers(&self) -> usize {
        self.model()["containers"]
            .as_object()
            .map_or(0, |c| c.len())
    }

    fn tasks(&self) -> usize {
        self.model()["containers"]
            .as_object()
            .into_iter()
            .flat_map(|c| c.values())
            .map(|c| c["tasks"].as_object().map_or(0, |t| t.len()))
            .sum()
    }
}

/// A stateful job on the default deploy path (live counts, no lock, no `--previous`): its previous state is its
/// coordinator stream. Before any coordinator wrote it, an upgrade is refused (`no-previous-state`); once it is
/// written (here by the coordinator's own write-back, run as its pod would on start), an unchanged upgrade goes
/// through, and an input grown past what the changelog topics have is refused by `helm samza plan` (exit 15) and
/// by `helm upgrade` itself (the release stays where it was); with the gate open every task keeps its partition.
pub fn upgrade_and_plan_keep_a_stateful_jobs_stored_state(env: &Env, version: u8) {
    let topic = format!("stateful-h{version}-in");
    env.broker.create_topic(&topic, 4);
    let release = Release::samza_job(env, version, "stateful", &[]);
    let inputs = format!("{{kafka.{topic}}}");
    let bootstrap = env.broker.bootstrap();
    // Its own job name: jobs of one name (and id) share a coordinator stream on a Kafka cluster, as in Samza.
    let job = format!("stateful-h{version}");
    let args = sets(&[
        ("job.name", &job),
        ("job.inputs", &inputs),
        ("job.bootstrapServers", &bootstrap),
        (
            "job.stores.counts.changelog",
            "kafka.stateful-counts-changelog",
        ),
        // Without Samza's partition expansion, grown inputs make new tasks that need new changelog partitions.
        (
            "config.job.systemstreampartition.input.expansion.enabled",
            "false",
        ),
    ]);
    release.deploy_ok("install", &args);
    assert_eq!(plan(&release, &args)["changed"], false);
    let log = tempfile::NamedTempFile::new().expect("a temporary file");
    let upgrade = |extra: &[&str]| {
        let home = release.env.home(release.version);
        let mut cmd = release.env.helm(release.version, ["upgrade", release.name]);
        cmd.env("HELM_SAMZA_LOG_FILE", log.path())
            .arg(&release.chart)
            .args(["--namespace", &release.namespace])
            .args(home.post_renderer_flags());
        for arg in extra {
            cmd.args(["--post-renderer-args", arg]);
        }
        let out = cmd.args(&args).output().expect("running helm upgrade");
        let message = text(&out) + &std::fs::read_to_string(log.path()).unwrap_or_default();
        (out.status.success(), message)
    };
    let revision = || {
        let status = release.helm_ok(&["status", release.name, "-o", "json"]);
        let status: Value = serde_json::from_slice(&status.stdout).expect("helm status JSON");
        (
            status["version"].as_u64(),
            status["info"]["status"].as_str().map(str::to_owned),
        )
    };

    // No coordinator has written the stream yet: nothing says what Samza stored, so the upgrade is refused.
    let stream = &format!("__samza_coordinator_{job}_1");
    let (ok, message) = upgrade(&[]);
    assert!(
        !ok && message.contains("no-previous-state") && message.contains(stream),
        "{message}"
    );
    assert_eq!(revision(), (Some(1), Some("deployed".into())));

    // The coordinator starts on the deployed model (as its pod would: the model ConfigMap mounted) and writes the
    // model's mapping to the stream, as Samza's does.
    let deployed = Deployed::read(&release);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mounted = dir.path().join("job-model.json");
    std::fs::write(&mounted, &deployed.model_json).expect("the model mounted");
    let coordinator = helm_samza::coordinator::start(&helm_samza::coordinator::Settings {
        model: mounted,
        listen: "127.0.0.1:0".into(),
        kafka: helm_samza::kafka::Overrides::default(),
        poll_interval: None,
        write_coordinator_stream: true,
    })
    .expect("the coordinator starts");
    let settings = helm_samza::kafka::KafkaClientSettings::new(vec![bootstrap.clone()]);
    let started = std::time::Instant::now();
    while helm_samza::kafka::read_stored_state(&settings, "kafka", stream)
        .ok()
        .flatten()
        .is_none_or(|stored| stored.changelog.is_empty())
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the coordinator did not write {stream}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    coordinator.shutdown();
    let (ok, message) = upgrade(&[]);
    assert!(
        ok,
        "an unchanged upgrade with the stream written: {message}"
    );
    assert_eq!(Deployed::read(&release).model_json, deployed.model_json);

    env.broker.set_partitions(&topic, 8);
    let mut cmd = release
        .env
        .helm(release.version, ["samza", "plan", release.name]);
    cmd.arg(&release.chart)
        .args(["--namespace", &release.namespace, "--output", "json"])
        .args(&args);
    let out = cmd.output().expect("running helm samza plan");
    assert_eq!(
        out.status.code(),
        Some(15),
        "plan of a grown stateful input: {}",
        text(&out)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("the plan is printed first");
    assert_eq!(report["refused"], true, "{report}");
    assert!(
        report.to_string().contains("changelog-partitions-grow")
            && report["jobs"][0]["baseline"]
                .as_str()
                .is_some_and(|b| b.starts_with(&format!("coordinator stream {stream}"))),
        "{report}"
    );

    // helm upgrade itself refuses: nothing is applied, the release stays at its revision.
    let before = revision();
    let (ok, message) = upgrade(&[]);
    assert!(
        !ok && message.contains("changelog-partitions-grow"),
        "{message}"
    );
    assert_eq!(revision(), before);
    assert_eq!(Deployed::read(&release).model_json, deployed.model_json);

    // With the gate open the change deploys, and every task keeps the changelog partition Samza stored.
    let (ok, message) = upgrade(&["--allow-unsafe"]);
    assert!(ok, "{message}");
    let grown = Deployed::read(&release);
    assert_eq!(grown.tasks(), 8);
    let partitions = |model: &Value| -> std::collections::BTreeMap<String, u64> {
        model["containers"]
            .as_object()
            .into_iter()
            .flat_map(|c| c.values())
            .flat_map(|c| c["tasks"].as_object().into_iter().flatten())
            .map(|(task, t)| (task.clone(), t["changelog-partition"].as_u64().unwrap()))
            .collect()
    };
    let (old, new) = (partitions(&deployed.model()), partitions(&grown.model()));
    for (task, partition) in &old {
        assert_eq!(
            new.get(task),
            Some(partition),
            "{task} kept its changelog partition"
        );
    }
}
