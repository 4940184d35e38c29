//! The cases, and what they share: a release of a chart in a fresh namespace, deployed with Helm 3 or Helm 4
//! through the helm-samza post-renderer, and a look at what the API server stored.

mod admission;
mod deploy_paths;
mod gitops;
mod large_models;
mod lifecycle;
mod limits;
mod permissions;
mod scaled;
mod strimzi;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output};

use base64::Engine as _;

use serde_json::Value;

use crate::support::helm::run_ok;
use crate::support::tools::repo_root;
use crate::{Case, Env};

/// Every case of the suite, in the order they start.
pub fn all() -> Vec<Case> {
    let case = |name: &str, run: Box<dyn Fn(&Env) + Send + Sync>| Case {
        name: name.to_owned(),
        run,
        exclusive: false,
    };
    let mut cases = vec![Case {
        name: "strimzi_api_version_follows_the_served_kafkatopic_crd".to_owned(),
        run: Box::new(strimzi::api_version_follows_the_served_crd),
        exclusive: true,
    }];
    // The longest first, so that the threads finish together.
    for version in [3, 4] {
        cases.push(case(
            &format!(
                "helm{version}_install_upgrade_of_a_200000_partition_job_carried_as_its_inputs"
            ),
            Box::new(move |env| large_models::inputs_through_helm(env, version)),
        ));
    }
    cases.extend([
        case(
            "model_of_200000_partitions_in_parts_applies_server_side_and_the_coordinator_joins_them",
            Box::new(large_models::parts_server_side),
        ),
        case(
            "helm3_refuses_a_200000_partition_model_inline_before_applying_anything",
            Box::new(|env| large_models::model_in_the_manifest_through_helm(env, 3, "inline")),
        ),
        case(
            "helm4_cannot_store_a_200000_partition_model_in_parts_in_its_release_secret",
            Box::new(|env| large_models::model_in_the_manifest_through_helm(env, 4, "parts")),
        ),
        case(
            "flux_helm_release_of_the_docs_passes_the_crds_schema",
            Box::new(gitops::flux_helm_release_of_the_docs_passes_the_crds_schema),
        ),
        case(
            "release_secret_limit_1048576_bytes_and_lint_fails_first",
            Box::new(limits::release_secret_limit),
        ),
        case(
            "largest_model_configmap_75601_partitions_at_500_containers_and_lint_agrees",
            Box::new(limits::largest_model_configmap),
        ),
        case(
            "annotation_limit_262144_bytes_for_client_side_apply_and_lint_agrees",
            Box::new(limits::annotation_limit),
        ),
        case(
            "configmap_limit_1048576_bytes_and_lint_agrees",
            Box::new(limits::configmap_limit),
        ),
        case(
            "request_body_limit_3145728_bytes",
            Box::new(limits::request_body_limit),
        ),
        case(
            "job_model_too_big_for_client_side_apply_is_linted_and_deploys_with_helm_and_server_side",
            Box::new(limits::model_too_big_for_client_side_apply),
        ),
    ]);
    for version in [3, 4] {
        let h = format!("helm{version}");
        cases.extend([
            case(
                &format!("{h}_install_upgrade_plan_rollback_uninstall"),
                Box::new(move |env| lifecycle::lifecycle(env, version)),
            ),
            case(
                &format!("{h}_restricted_pod_security"),
                Box::new(move |env| admission::restricted_namespace(env, version)),
            ),
            case(
                &format!("{h}_upgrade_and_plan_keep_a_stateful_jobs_stored_state"),
                Box::new(move |env| {
                    lifecycle::upgrade_and_plan_keep_a_stateful_jobs_stored_state(env, version)
                }),
            ),
            case(
                &format!("{h}_plan_lint_lock_as_users_with_minimal_rbac"),
                Box::new(move |env| permissions::commands_with_minimal_rbac(env, version)),
            ),
            case(
                &format!("{h}_upgrade_after_kubectl_scale"),
                Box::new(move |env| scaled::upgrade_after_kubectl_scale(env, version)),
            ),
            case(
                &format!("{h}_service_monitor_with_its_crd"),
                Box::new(move |env| admission::service_monitor(env, version)),
            ),
        ]);
    }
    for config in deploy_paths::configs() {
        cases.push(case(
            &format!("every_deploy_path_accepts_{}", config.name),
            Box::new(move |env| deploy_paths::every_path(env, &config)),
        ));
    }
    cases
}

/// One of the repository's charts.
pub fn chart(name: &str) -> PathBuf {
    repo_root().join("charts").join(name)
}

/// A Helm release in its own namespace, deployed through the post-renderer on Helm `version`.
pub struct Release<'a> {
    pub env: &'a Env,
    pub version: u8,
    pub name: &'static str,
    pub namespace: String,
    pub chart: PathBuf,
}

impl<'a> Release<'a> {
    /// The samza-job chart as release `job` in a fresh namespace named after `hint`, on Helm `version`.
    pub fn samza_job(env: &'a Env, version: u8, hint: &str, labels: &[(&str, &str)]) -> Self {
        Release {
            env,
            version,
            name: "job",
            namespace: env.plane.namespace(&format!("{hint}-h{version}"), labels),
            chart: chart("samza-job"),
        }
    }

    /// `helm <verb> RELEASE CHART -n NS <post-renderer> <args>` (install, upgrade), to run.
    pub fn deploy_cmd(&self, verb: &str, args: &[String]) -> Command {
        let home = self.env.home(self.version);
        let mut cmd = self.env.helm(self.version, [verb, self.name]);
        cmd.arg(&self.chart)
            .args(["--namespace", &self.namespace])
            .args(home.post_renderer_flags())
            .args(args);
        cmd
    }

    /// `deploy_cmd`, run; the output whatever the exit status.
    pub fn deploy(&self, verb: &str, args: &[String]) -> Output {
        self.deploy_cmd(verb, args).output().expect("running helm")
    }

    /// `deploy`, which must succeed.
    pub fn deploy_ok(&self, verb: &str, args: &[String]) -> Output {
        let out = self.deploy(verb, args);
        assert!(
            out.status.success(),
            "helm{} {verb} {} failed: {}\n{}",
            self.version,
            self.name,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        out
    }

    /// `helm <args> -n NS`, which must succeed.
    pub fn helm_ok(&self, args: &[&str]) -> Output {
        run_ok(
            self.env
                .helm(self.version, args)
                .args(["--namespace", &self.namespace]),
        )
    }

    /// No release (Helm keeps every revision, pending or failed, as a Secret), and no object in the release's
    /// namespace.
    pub fn assert_nothing_applied(&self) {
        let status = self
            .env
            .helm(self.version, ["status", self.name])
            .args(["--namespace", &self.namespace])
            .output()
            .expect("running helm status");
        assert!(
            !status.status.success() && text(&status).contains("not found"),
            "a release was recorded: {}",
            text(&status)
        );
        let objects = self.env.plane.kubectl_ok(&[
            "get",
            "configmaps,secrets,services,serviceaccounts,deployments,statefulsets,roles,rolebindings,\
             networkpolicies,poddisruptionbudgets",
            "-n",
            &self.namespace,
            "-o",
            "name",
        ]);
        let objects = String::from_utf8_lossy(&objects.stdout);
        let made: Vec<&str> = objects
            .lines()
            .filter(|o| !["serviceaccount/default", "configmap/kube-root-ca.crt"].contains(o))
            .collect();
        assert!(made.is_empty(), "objects were applied: {made:?}");
    }

    /// The stored object `kind/name` in the release namespace.
    pub fn get(&self, kind: &str, name: &str) -> Value {
        get_json(self.env, &self.namespace, &[kind, name])
    }

    /// Whether `kind/name` exists in the release namespace.
    pub fn exists(&self, kind: &str, name: &str) -> bool {
        let out = self
            .env
            .plane
            .kubectl([
                "get",
                kind,
                name,
                "-n",
                &self.namespace,
                "--ignore-not-found",
                "-o",
                "name",
            ])
            .output()
            .expect("running kubectl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        !out.stdout.is_empty()
    }
}

/// `kubectl get <what> -n NS -o json`, parsed.
pub fn get_json(env: &Env, namespace: &str, what: &[&str]) -> Value {
    let mut args = vec!["get"];
    args.extend(what);
    args.extend(["-n", namespace, "-o", "json"]);
    let out = env.plane.kubectl_ok(&args);
    serde_json::from_slice(&out.stdout).expect("kubectl prints JSON")
}

/// `--set K=V` pairs as Helm arguments.
pub fn sets(pairs: &[(&str, &str)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(k, v)| ["--set".to_owned(), format!("{k}={v}")])
        .collect()
}

/// The model checksum annotation on a workload's pod template.
pub fn template_checksum(workload: &Value) -> String {
    workload["spec"]["template"]["metadata"]["annotations"]["samza.apache.org/job-model-checksum"]
        .as_str()
        .unwrap_or_else(|| panic!("no model checksum on the pod template of {workload}"))
        .to_owned()
}

/// stderr then stdout of a command, for messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    )
}

/// `helm-samza coordinator` on a loopback port with its model mounted from a folder, as the kubelet mounts the
/// model ConfigMap (and any parts) into the coordinator's pod; stopped when dropped.
pub struct Coordinator {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Coordinator {
    /// The coordinator with `model_json` mounted as its model (`job-model.json`).
    pub fn start(model_json: &str) -> Coordinator {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("job-model.json"), model_json).unwrap();
        Coordinator::serve(dir)
    }

    /// The coordinator with `configmaps` mounted as one volume (a projected volume when there are several): every
    /// key of `data` a file of its text, every key of `binaryData` a file of its decoded bytes.
    pub fn mounted(configmaps: &[Value]) -> Coordinator {
        let dir = tempfile::tempdir().unwrap();
        for configmap in configmaps {
            for (field, decode) in [("data", false), ("binaryData", true)] {
                let entries = configmap[field].as_object().into_iter().flatten();
                for (key, value) in entries {
                    let text = value.as_str().expect("ConfigMap values are strings");
                    let bytes = if decode {
                        base64::engine::general_purpose::STANDARD
                            .decode(text)
                            .unwrap_or_else(|e| panic!("binaryData {key} is not base64: {e}"))
                    } else {
                        text.as_bytes().to_vec()
                    };
                    let file = dir.path().join(key);
                    // A projected volume refuses two sources with the same key.
                    assert!(!file.exists(), "{key} is mounted twice");
                    std::fs::write(file, bytes).unwrap();
                }
            }
        }
        Coordinator::serve(dir)
    }

    fn serve(dir: tempfile::TempDir) -> Coordinator {
        let model = dir.path().join("job-model.json");
        let port = crate::support::broker::free_port();
        let child = Command::new(crate::support::run::binary())
            .arg("coordinator")
            .arg("--model")
            .arg(&model)
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--poll-interval",
                "1h",
                // Only the model routes matter here; the rendered job's Kafka cluster does not exist.
                "--coordinator-stream",
                "off",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting helm-samza coordinator");
        let started = std::time::Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed().as_secs() < 20,
                "the coordinator did not listen"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Coordinator {
            child,
            port,
            _dir: dir,
        }
    }

    /// `GET path`: the status code and the body as text.
    pub fn get(&self, path: &str) -> (u16, String) {
        let (code, body) = self.get_bytes(path);
        (code, String::from_utf8(body).expect("a text body"))
    }

    /// `GET path` (HTTP/1.0, no `Accept-Encoding`, as Samza's containers ask): the status code and the body.
    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: coordinator\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let split = answer
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .expect("a header block");
        let code = String::from_utf8_lossy(&answer[9..12]).parse().unwrap();
        (code, answer.split_off(split + 4))
    }
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
