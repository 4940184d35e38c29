//! Workers scaled by hand (`kubectl scale`), then an upgrade that changes the model.
//!
//! Helm 4 applies server-side with field manager `helm`; `kubectl scale` took `.spec.replicas` over (manager
//! `kubectl`, subresource `scale`), so the upgrade conflicts on that field. The upgrade fails part-way: what
//! Helm applied before the StatefulSet (the model ConfigMap, the coordinator) has the new model, the StatefulSet
//! keeps the old replicas and the old model's checksum. The worker pods of that StatefulSet ask the coordinator
//! for the model by their template's digest, so they never run with the new model: the coordinator refuses them
//! (`409`, heartbeat `alive: false`) until the StatefulSet is updated too. `--force-conflicts` (or
//! `--server-side=false`) completes the upgrade. Helm 3's three-way merge resets the replicas silently.

use super::{sets, template_checksum, text, Coordinator, Release};
use crate::Env;

pub fn upgrade_after_kubectl_scale(env: &Env, version: u8) {
    let topic = format!("scaled-h{version}-in");
    env.broker.create_topic(&topic, 8);
    let release = Release::samza_job(env, version, "scaled", &[]);
    let inputs = format!("{{kafka.{topic}}}");
    let bootstrap = env.broker.bootstrap();
    let with = |containers: &str| {
        sets(&[
            ("job.inputs", &inputs),
            ("job.bootstrapServers", &bootstrap),
            ("job.containerCount", containers),
        ])
    };
    release.deploy_ok("install", &with("2"));
    let workers = "job-samza-job-worker";
    let before = release.get("statefulset", workers);
    env.plane.kubectl_ok(&[
        "scale",
        "statefulset",
        workers,
        "--replicas=5",
        "-n",
        &release.namespace,
    ]);

    let out = release.deploy("upgrade", &with("4"));
    let model = release.get("configmap", "job-samza-job-model");
    let model_digest = model["metadata"]["annotations"]["samza.apache.org/job-model-checksum"]
        .as_str()
        .unwrap()
        .to_owned();
    let coordinator = release.get("deployment", "job-samza-job-coordinator");
    let after = release.get("statefulset", workers);
    if version == 3 {
        assert!(out.status.success(), "helm3 upgrade: {}", text(&out));
        assert_eq!(after["spec"]["replicas"], 4, "Helm 3 resets the replicas");
        assert_eq!(template_checksum(&after), model_digest);
        return;
    }

    // Helm 4: the conflict, and the half-applied release it leaves.
    assert!(
        !out.status.success()
            && text(&out).contains("conflict")
            && text(&out).contains(".spec.replicas"),
        "helm4 upgrade after kubectl scale: {}",
        text(&out)
    );
    assert_ne!(
        model_digest,
        template_checksum(&before),
        "the model ConfigMap has the new model"
    );
    assert_eq!(
        template_checksum(&coordinator),
        model_digest,
        "the coordinator has the new model"
    );
    assert_eq!(
        after["spec"]["replicas"], 5,
        "the StatefulSet keeps the scaled replicas"
    );
    let worker_digest = template_checksum(&after);
    assert_eq!(
        worker_digest,
        template_checksum(&before),
        "the workers keep the old model's digest"
    );

    // Those workers ask for their model by digest; a coordinator serving the new model refuses them.
    let model_json = model["data"]["job-model.json"].as_str().unwrap();
    let coordinator = Coordinator::start(model_json);
    let (code, _) = coordinator.get(&format!("/model/{worker_digest}/"));
    assert_eq!(code, 409, "a worker of the old template got the new model");
    let (code, body) = coordinator.get(&format!(
        "/model/{worker_digest}/containerHeartbeat?executionContainerId=w-0"
    ));
    assert_eq!((code, body.as_str()), (200, r#"{"alive":false}"#));
    let (code, body) = coordinator.get(&format!("/model/{model_digest}/"));
    assert_eq!((code, body.as_str()), (200, model_json));

    // The remedy: force the conflict (Helm takes the replicas back); the StatefulSet gets the new model.
    let forced = [with("4"), vec!["--force-conflicts".to_owned()]].concat();
    release.deploy_ok("upgrade", &forced);
    let fixed = release.get("statefulset", workers);
    assert_eq!(fixed["spec"]["replicas"], 4);
    assert_eq!(template_checksum(&fixed), model_digest);
}
