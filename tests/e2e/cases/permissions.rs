//! The commands against a deployed release, each run as a user with only the permissions docs/plan.md states:
//! `plan RELEASE` reads the release through `helm get manifest`, which needs `get` and `list` on Secrets in the
//! release namespace (Helm's release storage) and nothing else; `lint` and `lock` (also `--verify-live`) need
//! no access to the cluster at all.

use serde_json::{json, Value};

use super::{sets, text, Release};
use crate::envtest::with_stdin;
use crate::Env;

pub fn commands_with_minimal_rbac(env: &Env, version: u8) {
    let topic = format!("rbac-h{version}-in");
    env.broker.create_topic(&topic, 4);
    let release = Release::samza_job(env, version, "rbac", &[]);
    let inputs = format!("{{kafka.{topic}}}");
    let args = sets(&[
        ("job.inputs", &inputs),
        ("job.bootstrapServers", &env.broker.bootstrap()),
    ]);
    release.deploy_ok("install", &args);

    let planner = format!("planner-h{version}");
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "helm-samza-plan", "namespace": release.namespace},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}],
    });
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "helm-samza-plan", "namespace": release.namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "helm-samza-plan"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": planner}],
    });
    for object in [role, binding] {
        let out = with_stdin(
            env.plane.kubectl(["create", "-f", "-"]),
            object.to_string().as_bytes(),
        );
        assert!(out.status.success(), "{}", text(&out));
    }

    let as_user = |user: &str, command: &[&str], extra: &[String]| {
        let mut cmd = env.helm(version, ["samza"]);
        cmd.args(command)
            .arg(&release.chart)
            .args(["--namespace", &release.namespace])
            .args(&args)
            .args(extra)
            .env("KUBECONFIG", env.plane.user_kubeconfig(user));
        cmd.output().expect("running helm samza")
    };

    // plan: with get/list on Secrets it reads the deployed release; without, it fails (exit 18) rather than
    // planning a first deploy.
    let out = as_user(
        &planner,
        &["plan", release.name],
        &["--output".into(), "json".into()],
    );
    assert!(out.status.success(), "plan as {planner}: {}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["jobs"][0]["first_deploy"], false, "{plan}");
    assert_eq!(plan["changed"], false, "{plan}");
    let nobody = format!("nobody-h{version}");
    let out = as_user(&nobody, &["plan", release.name], &[]);
    assert_eq!(
        out.status.code(),
        Some(18),
        "plan as {nobody}: {}",
        text(&out)
    );
    assert!(text(&out).contains("forbidden"), "{}", text(&out));
    assert!(
        out.stdout.is_empty(),
        "a failed plan printed: {}",
        text(&out)
    );

    // lint and lock ask Kafka (or nothing), never the cluster: a user without any permission runs them.
    let counts = format!("kafka.{topic}=4");
    let out = as_user(&nobody, &["lint"], &["--partitions".into(), counts]);
    assert!(out.status.success(), "lint as {nobody}: {}", text(&out));
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("samza.lock");
    let file = ["--file".to_owned(), lock.display().to_string()];
    let out = as_user(&nobody, &["lock", release.name], &file);
    assert!(out.status.success(), "lock as {nobody}: {}", text(&out));
    let verify = [file.to_vec(), vec!["--verify-live".to_owned()]].concat();
    let out = as_user(&nobody, &["lock", release.name], &verify);
    assert!(
        out.status.success(),
        "lock --verify-live as {nobody}: {}",
        text(&out)
    );
}
