//! What admission says about the deployed job: PodSecurity `restricted` enforced on the namespace, and the
//! ServiceMonitor accepted by its CRD.
//!
//! PodSecurity enforces on Pods only (on workloads it only warns), and pods never exist here (no controller
//! manager). So the case also creates, as a server-side dry run, a Pod from each stored workload's pod template:
//! exactly what the StatefulSet and Deployment controllers would submit.

use serde_json::{json, Value};

use super::{get_json, sets, text, Release};
use crate::envtest::with_stdin;
use crate::Env;

pub fn restricted_namespace(env: &Env, version: u8) {
    let topic = format!("restricted-h{version}-in");
    env.broker.create_topic(&topic, 2);
    let labels = [
        ("pod-security.kubernetes.io/enforce", "restricted"),
        ("pod-security.kubernetes.io/warn", "restricted"),
        ("pod-security.kubernetes.io/audit", "restricted"),
    ];
    let release = Release::samza_job(env, version, "restricted", &labels);
    let inputs = format!("{{kafka.{topic}}}");
    let args = sets(&[
        ("job.inputs", &inputs),
        ("job.bootstrapServers", &env.broker.bootstrap()),
        ("job.containerCount", "2"),
    ]);
    let out = release.deploy_ok("install", &args);
    assert!(
        !text(&out).contains("PodSecurity"),
        "the API server warned about PodSecurity: {}",
        text(&out)
    );

    let mut workloads = 0;
    for kind in ["statefulsets", "deployments"] {
        for workload in items(&get_json(env, &release.namespace, &[kind])) {
            let pod = pod_from_template(&workload);
            let out = create_dry_run(env, &release.namespace, &pod);
            assert!(
                out.status.success() && !text(&out).contains("PodSecurity"),
                "a pod of {kind}/{} is refused or warned about in a restricted namespace: {}",
                workload["metadata"]["name"],
                text(&out)
            );
            workloads += 1;
        }
    }
    assert_eq!(workloads, 2, "one worker StatefulSet and the coordinator");

    // The namespace really enforces: a privileged pod is refused.
    let privileged = json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "privileged"},
        "spec": {"serviceAccountName": "job-samza-job",
            "containers": [{"name": "c", "image": "example/x:1",
            "securityContext": {"privileged": true}}]}
    });
    let out = create_dry_run(env, &release.namespace, &privileged);
    assert!(
        !out.status.success() && text(&out).contains("violates PodSecurity \"restricted"),
        "a privileged pod passed the restricted namespace: {}",
        text(&out)
    );
}

pub fn service_monitor(env: &Env, version: u8) {
    let topic = format!("monitor-h{version}-in");
    env.broker.create_topic(&topic, 1);
    let release = Release::samza_job(env, version, "monitor", &[]);
    let inputs = format!("{{kafka.{topic}}}");
    release.deploy_ok(
        "install",
        &sets(&[
            ("job.inputs", &inputs),
            ("job.bootstrapServers", &env.broker.bootstrap()),
            ("metrics.serviceMonitor.enabled", "true"),
        ]),
    );
    let monitor = release.get("servicemonitor", "job-samza-job-coordinator");
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "http", "{monitor}");
    let service = release.get("service", "job-samza-job-coordinator");
    for (key, value) in monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("the ServiceMonitor selects by labels")
    {
        assert_eq!(
            &service["metadata"]["labels"][key], value,
            "the ServiceMonitor's selector misses the coordinator Service"
        );
    }
    let ports: Vec<&Value> = service["spec"]["ports"]
        .as_array()
        .expect("Service ports")
        .iter()
        .filter(|port| port["name"] == "http")
        .collect();
    assert_eq!(
        ports.len(),
        1,
        "the coordinator Service has one port named http"
    );
}

fn items(list: &Value) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}

/// The Pod a workload controller would create from `workload`'s template (with the claims of a StatefulSet's
/// volumeClaimTemplates as volumes, as the StatefulSet controller adds them).
pub fn pod_from_template(workload: &Value) -> Value {
    let template = &workload["spec"]["template"];
    let mut spec = template["spec"].clone();
    let name = workload["metadata"]["name"].as_str().expect("a name");
    if let Some(claims) = workload["spec"]["volumeClaimTemplates"].as_array() {
        let volumes = spec["volumes"].as_array().cloned().unwrap_or_default();
        let claimed = claims.iter().map(|claim| {
            let claim_name = claim["metadata"]["name"].as_str().expect("a claim name");
            json!({"name": claim_name,
                   "persistentVolumeClaim": {"claimName": format!("{claim_name}-{name}-0")}})
        });
        spec["volumes"] = Value::Array(volumes.into_iter().chain(claimed).collect());
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": format!("{name}-0"),
            "labels": template["metadata"]["labels"],
            "annotations": template["metadata"]["annotations"],
        },
        "spec": spec,
    })
}

fn create_dry_run(env: &Env, namespace: &str, object: &Value) -> std::process::Output {
    with_stdin(
        env.plane
            .kubectl(["create", "--dry-run=server", "-n", namespace, "-f", "-"]),
        object.to_string().as_bytes(),
    )
}
