//! The Argo CD Config Management Plugin (`plugins/argocd/`): `generate` run exactly as Argo CD's cmp-server runs
//! it, in a copy of the Application's source directory with the `ARGOCD_*`, `PARAM_*` and `KUBE_*` environment
//! and `helm` and `helm-samza` on PATH, prints what `helm template … | helm-samza post-render --lock … --offline`
//! prints; its errors reach stderr with nothing on stdout. The plugin definition follows the structure Argo CD's
//! source gives it, and the argo-cd chart values and the sidecar image carry the same definition and paths.

use std::{
    fs,
    os::unix::fs::symlink,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use serde_json::{json, Value};

use crate::{
    oracle::go_read,
    support::{
        broker::Broker,
        helm::{copy_tree, run_ok, HelmHome},
        run::binary,
        tools::{repo_root, tool},
    },
};

pub(crate) const RELEASE: &str = "views";
pub(crate) const NAMESPACE: &str = "streams";
/// The Application's `spec.source.path` within the repository.
pub(crate) const SOURCE_PATH: &str = "charts/samza-job";
/// The `values-files` parameter, relative to the source directory as Argo CD's Helm support takes them.
const VALUES_FILES: &[&str] = &[
    "../../jobs/views/values.yaml",
    "../../jobs/views/strimzi.yaml",
];
pub(crate) const API_VERSIONS: &str =
    "v1,apps/v1,policy/v1,networking.k8s.io/v1,rbac.authorization.k8s.io/v1";

/// A repository as Argo CD checks it out: the charts, a job's values, and `samza.lock` in the source directory,
/// written by `helm-samza lock`; plus a PATH folder with `helm` (Helm `version`, the samza plugins installed in
/// its private home) and `helm-samza`.
pub(crate) struct App {
    home: HelmHome,
    helm: PathBuf,
}

impl App {
    pub(crate) fn new(version: u8) -> App {
        let app = App::without_lock(version);
        let mut lock = app.command(&binary());
        lock.args(["lock", RELEASE, "."])
            .arg("--helm-bin")
            .arg(&app.helm)
            .args(VALUES_FILES.iter().flat_map(|f| ["-f", f]))
            .args([
                "--offline",
                "--partitions",
                "kafka.wikipedia-edits=8",
                "--",
                "-n",
                NAMESPACE,
            ]);
        run_ok(&mut lock);
        assert!(app.source().join("samza.lock").is_file());
        app
    }

    pub(crate) fn without_lock(version: u8) -> App {
        let home = HelmHome::new(version);
        let repo = home.path().join("repo");
        for chart in ["samza-job", "kafka", "zookeeper"] {
            copy_tree(
                &repo_root().join("charts").join(chart),
                &repo.join("charts").join(chart),
            );
        }
        let job = repo.join("jobs/views");
        fs::create_dir_all(&job).unwrap();
        fs::copy(
            repo_root().join("examples/wikipedia-stats.yaml"),
            job.join("values.yaml"),
        )
        .unwrap();
        fs::write(
            job.join("strimzi.yaml"),
            "strimzi:\n  changelogTopics: true\n",
        )
        .unwrap();
        let bin = home.path().join("bin");
        fs::create_dir_all(&bin).unwrap();
        let helm = tool(&format!("helm{version}"));
        symlink(&helm, bin.join("helm")).unwrap();
        symlink(binary(), bin.join("helm-samza")).unwrap();
        App { home, helm }
    }

    /// The repository's root.
    pub(crate) fn repo(&self) -> PathBuf {
        self.home.path().join("repo")
    }

    pub(crate) fn source(&self) -> PathBuf {
        self.repo().join(SOURCE_PATH)
    }

    /// A command in the source directory with a clean environment: PATH (`helm`, `helm-samza`, the system's),
    /// Helm's folders, TMPDIR, HOME.
    pub(crate) fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.source()).env_clear();
        self.home.apply_env(&mut cmd);
        let bin = self.home.path().join("bin");
        cmd.env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display()),
        )
        .env("HOME", self.home.path().join("tmp"))
        .stdin(Stdio::null());
        cmd
    }

    /// `plugins/argocd/generate` with the environment Argo CD's cmp-server gives it: the build environment
    /// (ARGOCD_APP_*, KUBE_*), the Application's plugin env prefixed ARGOCD_ENV_, and its parameters both as
    /// ARGOCD_APP_PARAMETERS JSON and as PARAM_* variables.
    pub(crate) fn generate(
        &self,
        values_files: &[&str],
        api_versions: &str,
        env: &[(&str, &str)],
    ) -> Output {
        let mut cmd = self.command(&repo_root().join("plugins/argocd/generate"));
        let parameters = json!([{"name": "values-files", "array": values_files}]);
        cmd.env("ARGOCD_APP_NAME", RELEASE)
            .env("ARGOCD_APP_NAMESPACE", NAMESPACE)
            .env("ARGOCD_APP_PROJECT_NAME", "default")
            .env(
                "ARGOCD_APP_REVISION",
                "0123456789abcdef0123456789abcdef01234567",
            )
            .env("ARGOCD_APP_SOURCE_PATH", SOURCE_PATH)
            .env(
                "ARGOCD_APP_SOURCE_REPO_URL",
                "https://git.example.com/streams/deploy.git",
            )
            .env("ARGOCD_APP_SOURCE_TARGET_REVISION", "main")
            .env("KUBE_VERSION", "1.34.0")
            .env("KUBE_API_VERSIONS", api_versions)
            .env("ARGOCD_APP_PARAMETERS", parameters.to_string());
        for (i, file) in values_files.iter().enumerate() {
            cmd.env(format!("PARAM_VALUES_FILES_{i}"), file);
        }
        for (name, value) in env {
            cmd.env(name, value);
        }
        cmd.output().unwrap()
    }

    /// What the plugin stands for, run directly: `helm template` piped into `helm-samza post-render`.
    pub(crate) fn expected(&self, values_files: &[&str], api_versions: &str) -> Vec<u8> {
        let mut template = self.command(&self.helm);
        template
            .args([
                "template",
                RELEASE,
                ".",
                "-n",
                NAMESPACE,
                "--kube-version",
                "1.34.0",
            ])
            .args(
                api_versions
                    .split(',')
                    .flat_map(|api| ["--api-versions", api]),
            )
            .args(values_files.iter().flat_map(|f| ["-f", f]));
        let rendered = run_ok(&mut template).stdout;
        let mut post = self.command(&binary());
        post.args(["post-render", "--lock", "samza.lock", "--offline"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = post.spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), &rendered).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "post-render: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

pub(crate) fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "generate failed with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn refused(out: &Output, reason: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "generate succeeded: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "generate printed on stdout although it failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains(reason),
        "stderr does not say '{reason}': {stderr}"
    );
}

fn kafka_topic_api_versions(stream: &str) -> Vec<String> {
    go_read(stream.as_bytes())
        .into_iter()
        .filter(|doc| doc["kind"] == "KafkaTopic")
        .map(|doc| doc["apiVersion"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn generate_prints_what_the_post_renderer_prints_on_helm3_and_helm4() {
    for version in [3, 4] {
        let app = App::new(version);
        let strimzi_v1 = format!("{API_VERSIONS},kafka.strimzi.io/v1/KafkaTopic");
        for (apis, topic_api) in [
            (strimzi_v1.as_str(), "kafka.strimzi.io/v1"),
            (API_VERSIONS, "kafka.strimzi.io/v1beta2"),
        ] {
            let out = app.generate(VALUES_FILES, apis, &[]);
            let stdout = ok(&out);
            let expected = String::from_utf8(app.expected(VALUES_FILES, apis)).unwrap();
            assert!(
                stdout == expected,
                "Helm {version}, KUBE_API_VERSIONS={apis}: generate differs from helm template | helm-samza \
                 post-render\n--- generate\n{stdout}\n--- expected\n{expected}"
            );
            assert!(
                stdout.contains("samza.apache.org/job-model-checksum"),
                "no job model in the output"
            );
            let topics = kafka_topic_api_versions(&stdout);
            assert!(
                !topics.is_empty(),
                "Helm {version}: no changelog KafkaTopic rendered"
            );
            assert!(
                topics.iter().all(|api| api == topic_api),
                "Helm {version}, KUBE_API_VERSIONS={apis}: KafkaTopic apiVersions {topics:?}, want {topic_api}"
            );
        }
    }
}

#[test]
fn generate_refuses_with_the_reason_on_stderr_and_nothing_on_stdout() {
    let app = App::new(4);
    let source = app.source();

    // A bad values file: Helm's own message, with the file's error.
    let job = source.join("../../jobs/views");
    fs::write(job.join("broken.yaml"), "worker: [unclosed\n").unwrap();
    refused(
        &app.generate(&["../../jobs/views/broken.yaml"], API_VERSIONS, &[]),
        "broken.yaml",
    );
    refused(
        &app.generate(&["../../jobs/views/missing.yaml"], API_VERSIONS, &[]),
        "values-files: ../../jobs/views/missing.yaml: no such file",
    );
    refused(
        &app.generate(&["/etc/hostname"], API_VERSIONS, &[]),
        "not an absolute one",
    );
    let outside = app.home.path().join("outside.yaml");
    fs::write(&outside, "{}\n").unwrap();
    refused(
        &app.generate(&["../../../outside.yaml"], API_VERSIONS, &[]),
        "outside the repository",
    );
    refused(
        &app.generate(
            VALUES_FILES,
            API_VERSIONS,
            &[("ARGOCD_ENV_HELM_SAMZA_LIVE", "maybe")],
        ),
        "HELM_SAMZA_LIVE must be true or false",
    );

    // No lock: the default is offline, so there is nothing to compute the model from.
    fs::remove_file(source.join("samza.lock")).unwrap();
    refused(
        &app.generate(VALUES_FILES, API_VERSIONS, &[]),
        "no samza.lock in the source directory charts/samza-job",
    );
    // Live discovery with no lock and no broker: helm-samza's own error, still nothing on stdout.
    refused(
        &app.generate(
            VALUES_FILES,
            API_VERSIONS,
            &[
                ("ARGOCD_ENV_HELM_SAMZA_LIVE", "true"),
                ("ARGOCD_ENV_HELM_SAMZA_BOOTSTRAP_SERVERS", "127.0.0.1:1"),
                ("HELM_SAMZA_KAFKA_TIMEOUT", "2s"),
            ],
        ),
        "helm-samza post-render failed",
    );
}

/// One YAML document read as Helm (Go) reads it.
fn yaml_file(path: &Path) -> Value {
    let text = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut docs = go_read(&text);
    assert_eq!(docs.len(), 1, "{}: one document", path.display());
    docs.remove(0)
}

#[test]
fn plugin_definition_follows_argo_cds_structure_and_matches_the_sidecar_recipe() {
    let dir = repo_root().join("plugins/argocd");
    let plugin = yaml_file(&dir.join("plugin.yaml"));

    let schema = repo_root().join("tests/fixtures/argocd/config-management-plugin.schema.json");
    let validate = |doc: &Value| {
        let mut child = Command::new(tool("../venv/bin/python"))
            .args([
                "-c",
                "import json,sys,jsonschema; jsonschema.validate(json.load(sys.stdin), json.load(open(sys.argv[1])))",
            ])
            .arg(&schema)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), doc.to_string().as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = validate(&plugin);
    assert!(
        out.status.success(),
        "plugin.yaml does not follow the ConfigManagementPlugin structure: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The schema can fail: a misspelt field, a missing generate command.
    let mut misspelt = plugin.clone();
    misspelt["spec"]["discover"] = json!({"filename": "samza.lock"});
    assert!(
        !validate(&misspelt).status.success(),
        "a misspelt field passed"
    );
    let mut no_command = plugin.clone();
    no_command["spec"]["generate"] = json!({"command": []});
    assert!(
        !validate(&no_command).status.success(),
        "an empty generate command passed"
    );

    assert_eq!(plugin["metadata"]["name"], "helm-samza");
    assert_eq!(
        plugin["spec"]["discover"],
        json!({"fileName": "samza.lock"})
    );
    let command = plugin["spec"]["generate"]["command"][0].as_str().unwrap();

    // The image puts generate where plugin.yaml runs it.
    let dockerfile = fs::read_to_string(dir.join("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains(&format!("COPY plugins/argocd/generate {command}\n")),
        "plugins/argocd/Dockerfile does not install generate as {command}"
    );
    assert!(
        dockerfile.contains("\nUSER 999:999\n"),
        "the sidecar image must run as 999"
    );

    // The argo-cd chart values: the same definition, mounted where the cmp-server reads it, its entrypoint.
    let values = yaml_file(&dir.join("argocd-values.yaml"));
    assert_eq!(
        values["configs"]["cmp"]["plugins"]["helm-samza"], plugin["spec"],
        "argocd-values.yaml's configs.cmp.plugins.helm-samza differs from plugin.yaml's spec"
    );
    let sidecar = &values["repoServer"]["extraContainers"][0];
    assert_eq!(
        sidecar["command"],
        json!(["/var/run/argocd/argocd-cmp-server"])
    );
    assert_eq!(sidecar["securityContext"]["runAsUser"], 999);
    assert_eq!(sidecar["securityContext"]["readOnlyRootFilesystem"], true);
    let mounts: Vec<(&str, &str)> = sidecar["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap(),
                m["mountPath"].as_str().unwrap(),
            )
        })
        .collect();
    for want in [
        ("var-files", "/var/run/argocd"),
        ("plugins", "/home/argocd/cmp-server/plugins"),
        (
            "argocd-cmp-cm",
            "/home/argocd/cmp-server/config/plugin.yaml",
        ),
        ("helm-samza-tmp", "/tmp"),
    ] {
        assert!(
            mounts.contains(&want),
            "sidecar mounts {mounts:?} lack {want:?}"
        );
    }
}

/// The `job-model.json` of every model ConfigMap in a stream.
fn models(stream: &str) -> Vec<Value> {
    go_read(stream.as_bytes())
        .into_iter()
        .filter(|doc| doc["kind"] == "ConfigMap" && doc["data"]["job-model.json"].is_string())
        .map(|doc| serde_json::from_str(doc["data"]["job-model.json"].as_str().unwrap()).unwrap())
        .collect()
}

/// docs/gitops.md's recipe, run: the lock command in the repository's root, the Application's plugin and
/// parameters turned into the environment Argo CD gives `generate`, and the live-discovery env against a real
/// broker (the doc's broker address replaced by the test broker's).
pub(crate) fn doc_examples_run(lock_block: &str, application_block: &str, live_block: &str) {
    let app = App::without_lock(4);
    let lock_line = lock_block.trim();
    assert!(!lock_line.contains('\n'), "one lock command: {lock_block}");
    let mut lock = app.command(Path::new("bash"));
    lock.current_dir(app.repo())
        .args(["-c", lock_line])
        .env("HELM_SAMZA_OFFLINE", "true")
        .env("HELM_SAMZA_PARTITIONS", "kafka.wikipedia-edits=8");
    run_ok(&mut lock);
    assert!(
        app.source().join("samza.lock").is_file(),
        "{lock_line} wrote no {SOURCE_PATH}/samza.lock"
    );

    let application = &go_read(application_block.as_bytes())[0];
    let plugin = yaml_file(&repo_root().join("plugins/argocd/plugin.yaml"));
    let source = &application["spec"]["source"];
    assert_eq!(source["path"], SOURCE_PATH);
    assert_eq!(source["plugin"]["name"], plugin["metadata"]["name"]);
    assert_eq!(application["metadata"]["name"], RELEASE);
    assert_eq!(application["spec"]["destination"]["namespace"], NAMESPACE);
    assert!(
        application["spec"]["syncPolicy"]["syncOptions"]
            .as_array()
            .unwrap()
            .contains(&json!("ServerSideApply=true")),
        "the Application must sync with server-side apply"
    );
    let parameters = source["plugin"]["parameters"].as_array().unwrap();
    let values: Vec<&str> = parameters
        .iter()
        .find(|p| p["name"] == "values-files")
        .expect("a values-files parameter")["array"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let stdout = ok(&app.generate(&values, API_VERSIONS, &[]));
    let expected = String::from_utf8(app.expected(&values, API_VERSIONS)).unwrap();
    assert!(
        stdout == expected,
        "the doc's Application: generate differs from the pipeline"
    );
    let offline_models = models(&stdout);
    assert_eq!(offline_models.len(), 1, "one model in {stdout}");

    // Live discovery as the doc sets it, without a lock: the counts come from the broker.
    let live = &go_read(live_block.as_bytes())[0]["plugin"];
    assert_eq!(live["name"], plugin["metadata"]["name"]);
    let broker = Broker::start();
    broker.create_topic("wikipedia-edits", 8);
    let mut env: Vec<(String, String)> = Vec::new();
    for var in live["env"].as_array().unwrap() {
        let name = var["name"].as_str().unwrap();
        let value = match name {
            "HELM_SAMZA_BOOTSTRAP_SERVERS" => broker.bootstrap(),
            _ => var["value"].as_str().unwrap().to_string(),
        };
        env.push((format!("ARGOCD_ENV_{name}"), value));
    }
    assert!(
        env.iter()
            .any(|(name, value)| name == "ARGOCD_ENV_HELM_SAMZA_LIVE" && value == "true"),
        "the doc's live env does not turn live discovery on: {env:?}"
    );
    fs::remove_file(app.source().join("samza.lock")).unwrap();
    let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let live_out = ok(&app.generate(&values, API_VERSIONS, &env));
    assert_eq!(
        models(&live_out),
        offline_models,
        "live discovery of 8 partitions planned another model than the lock"
    );
    assert!(
        live_out.contains(&broker.bootstrap()),
        "the partition source does not name the broker asked: {live_out}"
    );
}
