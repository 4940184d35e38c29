//! The documentation's examples, run as written. README.md and docs/*.md are read when the tests run; their example
//! commands go through the real binary, the real Helm 3 and Helm 4 (plugins installed as the docs say) and a real
//! Kafka-protocol broker, and where a doc shows output, the command must print exactly that. Editing an example so
//! that it no longer works, or so that its output is no longer true, fails here.
//!
//! A doc shows commands in two ways: a `sh` block of command lines (run one by one; each must exit 0 unless the
//! test names another code), or a terminal session of `$ command` lines, each followed by the output it prints
//! (compared exactly; `...` or `…` in shown output stands for any text). Commands run under `bash` in a sandbox:
//! the working directory holds copies of the repository's `charts/`, `examples/` and plugin files (so a command may
//! write there), Helm's folders are private, and PATH starts with `helm` (Helm 3 or 4), `helm-samza` (the binary
//! under test) and the tools a doc names.
//!
//! What a doc leaves to the reader (`my-values.yaml`, `./my-chart`, `prod.yaml`) is a small stand-in written by the
//! test. Commands that need a Kubernetes cluster, GitHub, Docker or the network are skipped with the reason, and a
//! skip must match a command of the doc, so it cannot outlive its example. [`EXAMPLES`] lists every code block of
//! the docs and where it is checked, or why it cannot run here; a new block fails
//! `every_code_block_is_checked_or_listed` until it is added there.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{
    broker::Broker,
    helm::{copy_tree, HelmHome},
    run::binary,
    tools::{repo_root, tool},
};

// ---------------------------------------------------------------------------------------------------------------
// The catalogue

/// Where a code block of the docs is checked.
enum Check {
    /// Run, or compared with what a command does, by this test.
    Test(&'static str),
    /// Cannot run in these tests, for this reason.
    NotHere(&'static str),
}

use Check::{NotHere, Test};

const CLUSTER: &str = "needs a Kubernetes cluster";

/// Every fenced code block of README.md and docs/*.md, found by a text it alone contains.
const EXAMPLES: &[(&str, &str, Check)] = &[
    (
        "README.md",
        "setup-envtest use 1.34",
        NotHere("installs setup-envtest with Go and runs the end-to-end suite, which .ci/run runs"),
    ),
    (
        "README.md",
        "scripts/demo",
        NotHere(
            "build a release binary, install tools from npm and PyPI; scripts/test runs this suite",
        ),
    ),
    (
        "README.md",
        "helm plugin install ./plugins/samza-postrender   # Helm 4",
        Test("readme_install_and_use_run_on_helm4"),
    ),
    (
        "README.md",
        "# Helm 4: the post-renderer is a plugin, named.",
        Test("readme_install_and_use_run_on_helm4"),
    ),
    (
        "docs/charts.md",
        "helm install page-views",
        Test("charts_md_examples_run_on_helm4"),
    ),
    (
        "docs/charts.md",
        "# lint: every chart, both Helm versions",
        Test("charts_md_check_commands_run"),
    ),
    (
        "docs/charts.md",
        "helm template wikipedia-stats",
        Test("charts_md_examples_run_on_helm4"),
    ),
    (
        "docs/ci-example.md",
        "#!/usr/bin/env bash",
        Test("ci_example_plain_shell_script_runs"),
    ),
    (
        "docs/ci-example.md",
        "helm-samza lint rendered.yaml",
        Test("ci_example_plain_shell_script_runs"),
    ),
    (
        "docs/ci-example.md",
        "name: lint-charts",
        NotHere("a GitHub Actions workflow: needs GitHub's runners and actions"),
    ),
    (
        "docs/conventions.md",
        "kind: KafkaTopic",
        Test("conventions_md_kafka_topic_template_renders"),
    ),
    (
        "docs/coordinator.md",
        "helm-samza coordinator --model FILE",
        Test("synopses_name_only_real_flags"),
    ),
    (
        "docs/coordinator.md",
        "docker build",
        NotHere("needs a Docker daemon"),
    ),
    (
        "docs/install.md",
        "docker build --build-arg",
        NotHere("needs a Docker daemon and a registry to push to"),
    ),
    (
        "docs/install.md",
        "FROM eclipse-temurin",
        NotHere("a Dockerfile for the user's own job image: needs the job's package and a Docker daemon"),
    ),
    (
        "docs/exit-codes.md",
        "helm samza last-error",
        Test("exit_codes_md_matches_help_and_last_error_runs"),
    ),
    (
        "docs/gitops.md",
        "helm samza values [RELEASE] CHART",
        Test("synopses_name_only_real_flags"),
    ),
    (
        "docs/gitops.md",
        "--partitions kafka.wikipedia-edits=8 -o samza-values.yaml",
        Test("gitops_md_values_path_runs_on_helm4"),
    ),
    (
        "docs/gitops.md",
        "Error: samza-values.yaml: the values no longer match",
        Test("gitops_md_values_path_runs_on_helm4"),
    ),
    (
        "docs/gitops.md",
        "valueFiles:",
        NotHere("needs a cluster running Argo CD"),
    ),
    (
        "docs/gitops.md",
        "docker build -f plugins/argocd/Dockerfile",
        NotHere(
            "needs a Docker daemon, a registry and a cluster; tests/cli/argocd.rs runs the image's generate \
             script as the cmp-server does, charts/check.sh checks the Dockerfile with checkov",
        ),
    ),
    (
        "docs/gitops.md",
        "helm samza lock views charts/samza-job",
        Test("gitops_md_argocd_plugin_examples_run"),
    ),
    (
        "docs/gitops.md",
        "      name: helm-samza\n      parameters:",
        Test("gitops_md_argocd_plugin_examples_run"),
    ),
    (
        "docs/gitops.md",
        "name: HELM_SAMZA_LIVE",
        Test("gitops_md_argocd_plugin_examples_run"),
    ),
    (
        "docs/gitops.md",
        "kind: HelmRelease",
        NotHere(
            "needs a cluster running Flux; the e2e suite validates it against Flux's HelmRelease v2 CRD \
             (tests/e2e/cases/gitops.rs)",
        ),
    ),
    (
        "docs/gitops.md",
        "releases:",
        NotHere("needs Helmfile and a cluster"),
    ),
    (
        "docs/gitops.md",
        "name: samza-values",
        NotHere("a GitHub Actions workflow: needs GitHub's runners and a release archive"),
    ),
    (
        "docs/gitops.md",
        "image: $HELM_IMAGE",
        NotHere("a GitLab CI job: needs GitLab's runners and a release archive"),
    ),
    (
        "docs/install.md",
        "scripts/package                                     # unsigned: says so",
        NotHere("builds the static release binary (minutes); tests/cli/package.rs runs it with a throwaway key"),
    ),
    (
        "docs/install.md",
        "gpg --export \"helm-samza releases\" > pubring.gpg",
        NotHere("needs the publisher's key; tests/cli/package.rs installs signed archives with a throwaway key"),
    ),
    (
        "docs/install.md",
        "git clone",
        NotHere("clones from GitHub and builds a release binary"),
    ),
    (
        "docs/install.md",
        "helm plugin install .\nhelm samza --help",
        Test("install_md_runs_on_helm3"),
    ),
    (
        "docs/install.md",
        "/helm-samza/bin/helm-samza\" \\",
        Test("install_md_runs_on_helm3"),
    ),
    (
        "docs/install.md",
        "--post-renderer helm --post-renderer-args samza",
        Test("install_md_runs_on_helm3"),
    ),
    (
        "docs/install.md",
        "# --post-renderer samza-postrender",
        Test("install_md_runs_on_helm4"),
    ),
    (
        "docs/install.md",
        "helm plugin install ./plugins/samza-cli",
        Test("install_md_runs_on_helm4"),
    ),
    (
        "docs/install.md",
        "scripts/install-binary",
        Test("install_md_runs_on_helm3"),
    ),
    (
        "docs/install.md",
        "helm plugin uninstall samza",
        Test("install_md_runs_on_helm3"),
    ),
    (
        "docs/kafka.md",
        "kubectl port-forward",
        NotHere("needs a Kubernetes cluster running Strimzi"),
    ),
    (
        "docs/kafka.md",
        "export HELM_SAMZA_KAFKA_SSL_CA_LOCATION",
        NotHere("needs a Kubernetes cluster; the same settings against a TLS broker: tests/cli/secured.rs"),
    ),
    (
        "docs/kafka.md",
        "cat > client.properties",
        NotHere("needs a SASL_SSL Kafka cluster, its CA and a Kubernetes Secret"),
    ),
    (
        "docs/architecture.md",
        "render::render(manifests, options)",
        Test("architecture_md_names_every_module_and_only_real_ones"),
    ),
    (
        "docs/lint.md",
        "helm samza lint CHART",
        Test("synopses_name_only_real_flags"),
    ),
    (
        "docs/lint.md",
        "$ helm samza lint charts/samza-job",
        Test("lint_md_session_runs_on_helm4"),
    ),
    (
        "docs/migrate-from-yarn.md",
        "helm samza import [JOB.properties]",
        Test("synopses_name_only_real_flags"),
    ),
    (
        "docs/migrate-from-yarn.md",
        "# 1. Stop the job on YARN",
        Test("migrate_from_yarn_md_cutover_and_rollback_run_on_helm4"),
    ),
    (
        "docs/migrate-from-yarn.md",
        "# 1. Stop the job on Kubernetes",
        Test("migrate_from_yarn_md_cutover_and_rollback_run_on_helm4"),
    ),
    (
        "docs/model.md",
        "helm-samza model --config FILE",
        Test("synopses_name_only_real_flags"),
    ),
    (
        "docs/model.md",
        "$ cat job.properties",
        Test("model_md_session_runs"),
    ),
    (
        "docs/plan.md",
        "helm samza plan [RELEASE] CHART",
        Test("synopses_name_only_real_flags"),
    ),
    (
        "docs/plan.md",
        "$ helm samza lock charts/samza-job",
        Test("plan_md_session_and_lock_run_on_helm3"),
    ),
    (
        "docs/plan.md",
        "helm samza lock [RELEASE] CHART",
        Test("synopses_name_only_real_flags"),
    ),
    (
        "docs/plan.md",
        "helm samza lock ./chart -f prod.yaml",
        Test("plan_md_session_and_lock_run_on_helm3"),
    ),
    (
        "docs/plan.md",
        "\"version\": 1",
        Test("plan_md_session_and_lock_run_on_helm3"),
    ),
];

#[test]
fn every_code_block_is_checked_or_listed() {
    let mut docs = vec!["README.md".to_string()];
    let mut entries: Vec<String> = fs::read_dir(repo_root().join("docs"))
        .expect("list docs/")
        .map(|e| {
            e.expect("docs/ entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    entries.sort();
    docs.extend(entries);
    for doc in &docs {
        for block in blocks(doc) {
            let claims: Vec<_> = EXAMPLES
                .iter()
                .filter(|(d, needle, _)| d == doc && block.text.contains(needle))
                .collect();
            assert_eq!(
                claims.len(),
                1,
                "{}: this code block is claimed by {} entries of EXAMPLES in tests/cli/docs.rs; run it in a test \
                 (or say why it cannot run here) and list it exactly once:\n{}",
                block.location(),
                claims.len(),
                block.text
            );
        }
    }
    for (doc, needle, check) in EXAMPLES {
        assert!(
            docs.iter().any(|d| d == doc),
            "EXAMPLES names {doc}, which does not exist"
        );
        let found = blocks(doc)
            .iter()
            .filter(|b| b.text.contains(needle))
            .count();
        assert_eq!(
            found, 1,
            "{doc}: {found} code blocks contain {needle:?}; EXAMPLES needs one"
        );
        match check {
            Test(name) => assert!(
                include_str!("docs.rs").contains(&format!("fn {name}()")),
                "EXAMPLES names the test {name}, which does not exist"
            ),
            NotHere(why) => assert!(!why.is_empty(), "{doc}: say why {needle:?} cannot run here"),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the docs

/// A fenced code block of a markdown file.
struct Block {
    doc: String,
    /// 1-based line of the opening fence.
    line: usize,
    text: String,
}

/// One `$ command` of a terminal session and the output shown under it.
struct Step {
    command: String,
    output: String,
}

fn read_doc(doc: &str) -> String {
    let path = repo_root().join(doc);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn blocks(doc: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in read_doc(doc).lines().enumerate() {
        match (&mut open, line.starts_with("```")) {
            (None, true) => open = Some((i + 1, String::new())),
            (Some((start, text)), true) => {
                found.push(Block {
                    doc: doc.to_string(),
                    line: *start,
                    text: std::mem::take(text),
                });
                open = None;
            }
            (Some((_, text)), false) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, false) => {}
        }
    }
    assert!(open.is_none(), "{doc}: a code block is never closed");
    found
}

/// The one code block of `doc` that contains `needle`.
fn block(doc: &str, needle: &str) -> Block {
    let mut matching: Vec<Block> = blocks(doc)
        .into_iter()
        .filter(|b| b.text.contains(needle))
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "{doc}: {} code blocks contain {needle:?}; the example changed, update tests/cli/docs.rs",
        matching.len()
    );
    matching.remove(0)
}

/// The inline code spans (`` `...` ``) of `doc`'s prose (outside code blocks).
fn inline_spans(doc: &str) -> Vec<String> {
    let mut prose = String::new();
    let mut in_block = false;
    for line in read_doc(doc).lines() {
        if line.starts_with("```") {
            in_block = !in_block;
        } else if !in_block {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    prose
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The one inline code span of `doc` that contains `needle`.
fn inline(doc: &str, needle: &str) -> String {
    let spans: Vec<String> = inline_spans(doc)
        .into_iter()
        .filter(|span| span.contains(needle))
        .collect();
    assert_eq!(
        spans.len(),
        1,
        "{doc}: {} inline code spans contain {needle:?}; the text changed, update tests/cli/docs.rs",
        spans.len()
    );
    spans[0].clone()
}

/// A command as one line: continuations joined, runs of white space as one space (how needles are written).
fn flat(command: &str) -> String {
    command
        .replace("\\\n", " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl Block {
    fn location(&self) -> String {
        format!("{}:{}", self.doc, self.line)
    }

    /// The commands of a block of command lines: lines continued with `\` belong to their command; blank and
    /// comment lines are left out. The text is kept as written (bash reads the trailing comments).
    fn commands(&self) -> Vec<String> {
        let mut commands = Vec::new();
        let mut current = String::new();
        for line in self.text.lines() {
            if current.is_empty() && (line.trim().is_empty() || line.trim_start().starts_with('#'))
            {
                continue;
            }
            current.push_str(line);
            current.push('\n');
            if !line.ends_with('\\') {
                commands.push(std::mem::take(&mut current));
            }
        }
        assert!(
            current.is_empty(),
            "{}: the last command ends with `\\`",
            self.location()
        );
        commands
    }

    /// The steps of a terminal session: `$ command` lines and the lines shown under each.
    fn session(&self) -> Vec<Step> {
        let mut steps: Vec<Step> = Vec::new();
        for line in self.text.lines() {
            if let Some(command) = line.strip_prefix("$ ") {
                steps.push(Step {
                    command: command.to_string(),
                    output: String::new(),
                });
            } else {
                let step = steps.last_mut().unwrap_or_else(|| {
                    panic!("{}: a session block must start with `$ `", self.location())
                });
                step.output.push_str(line);
                step.output.push('\n');
            }
        }
        for step in &mut steps {
            step.output = step.output.trim_end().to_string();
        }
        steps
    }

    /// The block as one script, without the lines that contain one of `left_out`'s texts (each must match).
    fn script_without(&self, left_out: &[(&str, &str)]) -> String {
        for (needle, _why) in left_out {
            assert!(
                self.text.lines().any(|l| l.contains(needle)),
                "{}: no line contains {needle:?}; the example changed, update tests/cli/docs.rs",
                self.location()
            );
        }
        self.text
            .lines()
            .filter(|l| !left_out.iter().any(|(needle, _)| l.contains(needle)))
            .map(|l| format!("{l}\n"))
            .collect()
    }
}

/// Whether `actual` is what the doc shows: equal, where `...` and `…` in `shown` stand for any text.
fn shows(shown: &str, actual: &str) -> bool {
    let parts: Vec<&str> = shown.split("...").flat_map(|p| p.split('…')).collect();
    if parts.len() == 1 {
        return shown == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &actual[first.len()..];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Whether a JSON value a doc shows is part of `actual`: objects may leave keys out, strings may use `…`.
fn json_shows(shown: &Value, actual: &Value) -> bool {
    match (shown, actual) {
        (Value::Object(shown), Value::Object(actual)) => shown
            .iter()
            .all(|(k, v)| actual.get(k).is_some_and(|a| json_shows(v, a))),
        (Value::Array(shown), Value::Array(actual)) => {
            shown.len() == actual.len() && shown.iter().zip(actual).all(|(s, a)| json_shows(s, a))
        }
        (Value::String(shown), Value::String(actual)) => shows(shown, actual),
        _ => shown == actual,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Running the docs' commands

/// A private Helm home, a copy of the repository to work in, and a PATH with the tools the docs use.
struct Sandbox {
    home: HelmHome,
    work: PathBuf,
    bin: PathBuf,
    env: Vec<(String, String)>,
}

/// What a command printed.
struct Ran {
    command: String,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn report(&self) -> String {
        format!(
            "`{}` exited {}\n--- stdout\n{}\n--- stderr\n{}",
            self.command.trim_end(),
            self.code,
            self.stdout,
            self.stderr
        )
    }
}

impl Sandbox {
    /// `helm` is Helm `version`; no plugin is installed yet.
    fn new(version: u8) -> Sandbox {
        let home = HelmHome::bare(version);
        // The copy of the plugin files is named `helm-samza`, like a checkout, so Helm names the plugin folder the
        // way the docs do; charts/ and examples/ sit beside them, as in the repository.
        let work = home.plugin_sources();
        for dir in ["charts", "examples"] {
            copy_tree(&repo_root().join(dir), &work.join(dir));
        }
        let bin = home.path().join("bin");
        fs::create_dir(&bin).expect("create the sandbox's bin folder");
        symlink(tool(&format!("helm{version}")), bin.join("helm")).expect("link helm");
        symlink(binary(), bin.join("helm-samza")).expect("link helm-samza");
        Sandbox {
            home,
            work,
            bin,
            // The plugins' install hook links the binary under test.
            env: vec![("HELM_SAMZA_BINARY".into(), binary().display().to_string())],
        }
    }

    /// As `new`, with the plugins installed the way README.md and install.md say.
    fn with_plugins(version: u8) -> Sandbox {
        let sandbox = Sandbox::new(version);
        sandbox.ok("helm plugin install .");
        if version == 4 {
            sandbox.ok("helm plugin install ./plugins/samza-postrender");
        }
        sandbox
    }

    /// Puts installed tools (`.tools/bin/NAME`) on PATH under their own names.
    fn tools(self, names: &[&str]) -> Sandbox {
        for name in names {
            symlink(tool(name), self.bin.join(name)).expect("link a tool");
        }
        self
    }

    fn env(mut self, key: &str, value: &str) -> Sandbox {
        self.env.push((key.into(), value.into()));
        self
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.work.join(relative)
    }

    fn write(&self, relative: &str, text: &str) {
        fs::write(self.path(relative), text).unwrap_or_else(|e| panic!("write {relative}: {e}"));
    }

    fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.path(relative)).unwrap_or_else(|e| panic!("read {relative}: {e}"))
    }

    /// Runs `command` with bash (pipefail) in the working copy.
    fn sh(&self, command: &str) -> Ran {
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(format!("set -o pipefail\n{command}"))
            .current_dir(&self.work)
            .stdin(Stdio::null());
        self.home.apply_env(&mut cmd);
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", self.bin.display()));
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        let out = cmd.output().expect("run bash");
        Ran {
            command: command.to_string(),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn ok(&self, command: &str) -> Ran {
        self.exits(command, 0)
    }

    fn exits(&self, command: &str, code: i32) -> Ran {
        let ran = self.sh(command);
        assert_eq!(ran.code, code, "expected exit {code}: {}", ran.report());
        ran
    }

    /// Runs the commands of `block` in order. `skip` names commands that cannot run here (each text must match at
    /// least one command), `codes` the exit code of a command that does not exit 0 (each must match exactly one).
    /// Returns what each command that ran printed.
    fn run_commands(
        &self,
        block: &Block,
        skip: &[(&str, &str)],
        codes: &[(&str, i32)],
    ) -> Vec<Ran> {
        let commands = block.commands();
        let count = |needle: &str| commands.iter().filter(|c| flat(c).contains(needle)).count();
        for (needle, _why) in skip {
            assert!(
                count(needle) > 0,
                "{}: no command contains {needle:?}; the example changed, update tests/cli/docs.rs",
                block.location()
            );
        }
        for (needle, _) in codes {
            assert_eq!(
                count(needle),
                1,
                "{}: {} commands contain {needle:?}; the example changed, update tests/cli/docs.rs",
                block.location(),
                count(needle)
            );
        }
        let mut ran = Vec::new();
        for command in commands {
            let line = flat(&command);
            if skip.iter().any(|(needle, _)| line.contains(needle)) {
                continue;
            }
            ran.push(self.sh_expecting(block, &line, &command, codes));
        }
        ran
    }

    /// Runs one command of `block` and checks its exit code: the one `codes` gives for the first needle `text`
    /// (the command, continuation lines joined) contains, else 0.
    fn sh_expecting(&self, block: &Block, text: &str, command: &str, codes: &[(&str, i32)]) -> Ran {
        let code = codes
            .iter()
            .find(|(needle, _)| text.contains(needle))
            .map_or(0, |(_, code)| *code);
        let result = self.sh(command);
        assert_eq!(
            result.code,
            code,
            "{}: expected exit {code}: {}",
            block.location(),
            result.report()
        );
        result
    }

    /// Runs a terminal session of `block` and compares what each command prints with the output shown: stdout, or
    /// stderr when a command prints only there; nothing shown means nothing on stdout. `codes` as for
    /// `run_commands`. A `$ cat FILE` of a file the sandbox lacks is the doc showing a file the reader writes: it
    /// is written with the content shown.
    fn run_session(&self, block: &Block, codes: &[(&str, i32)]) -> Vec<Ran> {
        let steps = block.session();
        for (needle, _) in codes {
            let n = steps.iter().filter(|s| s.command.contains(needle)).count();
            assert_eq!(
                n,
                1,
                "{}: {n} commands contain {needle:?}; the example changed, update tests/cli/docs.rs",
                block.location()
            );
        }
        let mut ran = Vec::new();
        for step in steps {
            if let Some(file) = step.command.strip_prefix("cat ") {
                if !self.path(file).exists() {
                    self.write(file, &format!("{}\n", step.output));
                }
            }
            let result = self.sh_expecting(block, &step.command, &step.command, codes);
            let printed = if step.output.is_empty() || !result.stdout.is_empty() {
                &result.stdout
            } else {
                &result.stderr
            };
            assert!(
                shows(&step.output, printed.trim_end()),
                "{}: `{}` does not print what the doc shows.\n--- shown\n{}\n--- printed\n{}\n--- stderr\n{}",
                block.location(),
                step.command,
                step.output,
                printed.trim_end(),
                result.stderr
            );
            ran.push(result);
        }
        ran
    }
}

/// The one result whose command contains `needle`.
fn ran<'a>(results: &'a [Ran], needle: &str) -> &'a Ran {
    let found: Vec<&Ran> = results
        .iter()
        .filter(|r| flat(&r.command).contains(needle))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{} commands that ran contain {needle:?}",
        found.len()
    );
    found[0]
}

/// Stands in for the reader's own values file (`my-values.yaml`, `prod.yaml`): one job, `page-views`, reading
/// `kafka.PageViewEvent` from the test's broker with two containers.
fn values_for(broker: &Broker) -> String {
    format!(
        "job:\n  name: page-views\n  inputs: [kafka.PageViewEvent]\n  containerCount: 2\n  bootstrapServers: {}\n",
        broker.bootstrap()
    )
}

fn rendered_model_configmap(stream: &str) -> bool {
    stream.contains("samza.apache.org/role: model") && stream.contains("job-model.json")
}

// ---------------------------------------------------------------------------------------------------------------
// README.md

#[test]
fn readme_install_and_use_run_on_helm4() {
    let readme = "README.md";
    for command in block(readme, "scripts/demo").commands() {
        let script = command.split_whitespace().next().expect("a command");
        let meta = fs::metadata(repo_root().join(script)).unwrap_or_else(|e| {
            panic!("{readme}: quick start names {script}, which is missing: {e}")
        });
        assert!(
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0,
            "{script} is not executable"
        );
    }

    let broker = Broker::start();
    broker.create_topic("PageViewEvent", 8);
    let sandbox = Sandbox::new(4);
    sandbox.write("my-values.yaml", &values_for(&broker));
    // README's model example reads the job.properties that docs/model.md shows.
    let properties = &block("docs/model.md", "$ cat job.properties").session()[0].output;
    sandbox.write("job.properties", &format!("{properties}\n"));

    sandbox.run_commands(
        &block(readme, "helm plugin install ./plugins/samza-postrender"),
        &[(
            "cargo build --release",
            "the binary under test is built already",
        )],
        &[],
    );
    let results = sandbox.run_commands(
        &block(readme, "# Helm 4: the post-renderer is a plugin, named."),
        &[
            ("helm upgrade --install", CLUSTER),
            ("helm get manifest", CLUSTER),
        ],
        &[("helm samza plan views", 18)],
    );

    let template = ran(&results, "helm template views");
    assert!(
        rendered_model_configmap(&template.stdout),
        "{}",
        template.report()
    );
    assert!(
        template
            .stdout
            .contains("samza.apache.org/partition-source: \"kafka: flags\""),
        "{}",
        template.report()
    );
    // "Before an upgrade" compares with the installed release; with no cluster here that is an error naming
    // the ways to plan without one, never a plan that pretends the job is new.
    let plan = ran(&results, "helm samza plan views");
    assert!(
        plan.stdout.is_empty() && plan.stderr.contains("--no-cluster"),
        "{}",
        plan.report()
    );
    assert!(
        sandbox
            .read("charts/samza-job/samza.lock")
            .contains("\"kafka.PageViewEvent\": 8"),
        "`helm samza lock charts/samza-job` did not write charts/samza-job/samza.lock"
    );
    let sarif: Value =
        serde_json::from_str(&ran(&results, "--output sarif").stdout).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let model = ran(&results, "helm-samza model --config job.properties");
    assert!(
        model.stdout.contains("partition counts from: kafka: flags"),
        "{}",
        model.report()
    );

    // "Every post-render option can also be set through an environment variable ...; see post-render --help".
    let help = sandbox.ok("helm-samza post-render --help").stdout;
    let named: Vec<String> = inline_spans(readme)
        .into_iter()
        .filter(|span| span.starts_with("HELM_SAMZA_"))
        .collect();
    assert!(
        named.len() >= 4,
        "README names no HELM_SAMZA_ variables any more"
    );
    for variable in &named {
        assert!(
            help.contains(variable),
            "README names {variable}, which post-render --help does not"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// docs/model.md, docs/lint.md, docs/plan.md

#[test]
fn model_md_session_runs() {
    Sandbox::new(3).run_session(&block("docs/model.md", "$ cat job.properties"), &[]);
}

#[test]
fn lint_md_session_runs_on_helm4() {
    Sandbox::with_plugins(4).run_session(
        &block("docs/lint.md", "$ helm samza lint charts/samza-job"),
        &[("helm-samza lint rendered.yaml", 1)],
    );
}

#[test]
fn plan_md_session_and_lock_run_on_helm3() {
    let doc = "docs/plan.md";
    let sandbox = Sandbox::with_plugins(3);
    sandbox.run_session(&block(doc, "$ helm samza lock charts/samza-job"), &[]);

    // The lock example, with ./chart and prod.yaml standing in for the reader's chart and values.
    let broker = Broker::start();
    broker.create_topic("PageViewEvent", 4);
    symlink("charts/samza-job", sandbox.path("chart")).expect("link ./chart");
    sandbox.write("prod.yaml", &values_for(&broker));
    let lock_block = block(doc, "helm samza lock ./chart -f prod.yaml");
    let results = sandbox.run_commands(&lock_block, &[("helm upgrade --install", CLUSTER)], &[]);
    assert!(ran(&results, "--verify-live")
        .stderr
        .contains("matches Kafka"));

    // The lock it wrote has the format the doc shows, down to the values of this job; only where the counts were
    // discovered (brokers, time) differs.
    let shown: Value = serde_json::from_str(&block(doc, "\"version\": 1").text)
        .expect("plan.md's samza.lock is JSON");
    let written = sandbox.read("chart/samza.lock");
    let mut lock: Value = serde_json::from_str(&written).expect("samza.lock is JSON");
    let discovered = &mut lock["jobs"]["page-views"]["discovered"]["kafka"];
    assert_eq!(
        discovered["brokers"],
        serde_json::json!([broker.bootstrap()]),
        "{written}"
    );
    let at = discovered["at"]
        .as_str()
        .expect("discovered.at")
        .to_string();
    humantime::parse_rfc3339(&at)
        .unwrap_or_else(|e| panic!("discovered.at {at:?} is not RFC 3339: {e}"));
    let shown_discovered = &shown["jobs"]["page-views"]["discovered"]["kafka"];
    discovered["brokers"] = shown_discovered["brokers"].clone();
    discovered["at"] = shown_discovered["at"].clone();
    assert!(
        json_shows(&shown, &lock),
        "{doc}: the samza.lock shown is not what `helm samza lock` writes:\n{written}"
    );

    // "in CI: exit 17 when Kafka drifted from the lock".
    broker.set_partitions("PageViewEvent", 8);
    let verify = lock_block
        .commands()
        .into_iter()
        .find(|c| c.contains("--verify-live"))
        .expect("the --verify-live command");
    sandbox.exits(&verify, 17);
}

// ---------------------------------------------------------------------------------------------------------------
// docs/migrate-from-yarn.md

#[test]
fn migrate_from_yarn_md_cutover_and_rollback_run_on_helm4() {
    let doc = "docs/migrate-from-yarn.md";
    // What the job left in Kafka on YARN: its coordinator stream in Samza's format, with a changelog mapping no
    // fresh plan gives (task k writes partition 3 - k). The job's config names kafka:9092; the environment points
    // the commands at the test's broker instead.
    let broker = Broker::start();
    let file = crate::support::run::fixture("import/page-views.properties");
    crate::import::produce(
        &broker,
        "__samza_coordinator_page-views_1",
        &crate::import::stored_by_samza(&file),
    );
    let sandbox = Sandbox::with_plugins(4).env("HELM_SAMZA_BOOTSTRAP_SERVERS", &broker.bootstrap());
    sandbox.write("page-views.properties", &fs::read_to_string(&file).unwrap());

    let results = sandbox.run_commands(
        &block(doc, "# 1. Stop the job on YARN"),
        &[
            ("yarn application -kill", "needs a YARN cluster"),
            ("helm install", CLUSTER),
        ],
        &[],
    );
    let import = ran(&results, "helm samza import");
    assert!(
        import.stderr.contains("left out yarn.package.path")
            && import.stderr.contains("wrote samza.lock"),
        "{}",
        import.report()
    );
    let plan = ran(&results, "helm samza plan");
    assert!(
        plan.stdout.contains("compared with lock file")
            && plan
                .stdout
                .contains("0 task(s) to add, 0 to remove, 0 to move"),
        "{}",
        plan.report()
    );
    let stored: BTreeMap<String, u32> = (0..4u32)
        .map(|t| (format!("Partition {t}"), 3 - t))
        .collect();
    let rendered = sandbox.read("page-views.rendered.yaml");
    let model = helm_samza::model_configmap::models_in_stream(rendered.as_bytes())
        .expect("a post-rendered stream")
        .remove("page-views")
        .expect("the job's model");
    let kept: BTreeMap<String, u32> = model
        .tasks()
        .map(|t| (t.name.clone(), t.changelog_partition))
        .collect();
    assert_eq!(
        kept, stored,
        "the first deploy keeps every stored changelog partition"
    );

    let results = sandbox.run_commands(
        &block(doc, "# 1. Stop the job on Kubernetes"),
        &[
            ("helm uninstall", CLUSTER),
            ("run-app.sh", "needs a YARN cluster"),
        ],
        &[],
    );
    assert_eq!(results.len(), 1);
    assert_eq!(
        sandbox.read("rollback.lock"),
        sandbox.read("samza.lock"),
        "nothing ran on Kubernetes here, so the stream holds what it held"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// docs/charts.md, docs/conventions.md

#[test]
fn charts_md_examples_run_on_helm4() {
    let doc = "docs/charts.md";
    let broker = Broker::start();
    broker.create_topic("PageViewEvent", 8);
    broker.create_topic("wikipedia-edits", 8);
    let sandbox = Sandbox::with_plugins(4).env("HELM_SAMZA_BOOTSTRAP_SERVERS", &broker.bootstrap());
    sandbox.write("my-values.yaml", &values_for(&broker));
    // The plan compares with the installed release: with no cluster here it must say so (exit 18), not pass
    // for a first deploy.
    let plan = sandbox.run_commands(
        &block(doc, "helm install page-views"),
        &[("helm install", CLUSTER)],
        &[("helm samza plan page-views", 18)],
    );
    assert!(
        plan[0]
            .stderr
            .contains("cannot read the deployed release page-views"),
        "{}",
        plan[0].report()
    );
    // The examples point at localhost:9092; HELM_SAMZA_BOOTSTRAP_SERVERS points them at the test's broker instead.
    let results = sandbox.run_commands(&block(doc, "helm template wikipedia-stats"), &[], &[]);
    let stream = &results[0].stdout;
    assert!(rendered_model_configmap(stream), "{}", results[0].report());
    assert!(
        stream.contains(&format!("kafka: kafka (brokers {}", broker.bootstrap())),
        "the counts did not come from the broker: {}",
        results[0].report()
    );
}

// ---------------------------------------------------------------------------------------------------------------
// docs/gitops.md

/// The plugin recipe: the lock command, the Application (its plugin parameters as Argo CD passes them to
/// `generate`) and the live-discovery env, run by tests/cli/argocd.rs.
#[test]
fn gitops_md_argocd_plugin_examples_run() {
    let doc = "docs/gitops.md";
    crate::argocd::doc_examples_run(
        &block(doc, "helm samza lock views charts/samza-job").text,
        &block(doc, "      name: helm-samza\n      parameters:").text,
        &block(doc, "name: HELM_SAMZA_LIVE").text,
    );
}

#[test]
fn gitops_md_values_path_runs_on_helm4() {
    let doc = "docs/gitops.md";
    let sandbox = Sandbox::with_plugins(4);
    let results = sandbox.run_commands(
        &block(doc, "# What Argo CD, Flux or Helmfile then render"),
        &[],
        &[],
    );
    let native = ran(&results, "helm template views");
    assert!(
        rendered_model_configmap(&native.stdout),
        "the chart rendered no model ConfigMap from the values: {}",
        native.report()
    );
    // The failure the doc shows is what the check prints once the input grew to 16 partitions.
    let shown = block(doc, "Error: samza-values.yaml: the values no longer match").text;
    let drifted = sandbox.exits(
        "helm samza values views charts/samza-job -n streams -f examples/wikipedia-stats.yaml --offline \\
         --partitions kafka.wikipedia-edits=16 --check samza-values.yaml",
        17,
    );
    let first_line = drifted.stderr.lines().next().unwrap_or_default();
    assert!(
        shows(shown.trim_end(), first_line),
        "{doc} shows another message:\n--- shown\n{shown}--- printed\n{}",
        drifted.stderr
    );
    // Regenerated as the message says, the file passes the check.
    let regenerate = first_line
        .split('`')
        .nth(1)
        .expect("the message quotes the command");
    sandbox.ok(regenerate);
    sandbox.ok(
        "helm samza values views charts/samza-job -n streams -f examples/wikipedia-stats.yaml --offline \\
         --partitions kafka.wikipedia-edits=16 --check samza-values.yaml",
    );
}

#[test]
fn charts_md_check_commands_run() {
    let sandbox = Sandbox::new(3).tools(&["helm3", "helm4", "kubernetes-validate"]);
    let script = block("docs/charts.md", "# lint: every chart, both Helm versions").script_without(&[(
        "checkov",
        "slow and asks the network for its guidelines; charts/check.sh runs it (tests/cli/charts.rs)",
    )]);
    sandbox.ok(&format!("set -e\n{script}"));
}

#[test]
fn conventions_md_kafka_topic_template_renders() {
    let doc = "docs/conventions.md";
    let topic = block(doc, "kind: KafkaTopic").text;
    let sandbox = Sandbox::new(4);
    let chart = sandbox
        .ok("helm template wikipedia-stats charts/samza-job -f examples/wikipedia-stats.yaml");
    sandbox.write("stream.yaml", &format!("{}---\n{topic}", chart.stdout));
    let rendered = sandbox
        .ok("helm-samza post-render --offline --partitions kafka.wikipedia-edits=8 < stream.yaml");
    // Eight tasks, so eight changelog partitions; the value is an int.
    let expected = topic.replace("\"[[ job.changelog_partitions ]]\"", "8");
    assert_ne!(
        expected, topic,
        "{doc}: the example no longer templates spec.partitions"
    );
    assert!(
        rendered.stdout.contains(&expected),
        "{doc}: the KafkaTopic rendered as:\n{}",
        rendered.stdout
    );
    // And the topic is what lint expects of the job's changelog (SZ204).
    sandbox.ok("helm-samza lint stream.yaml --partitions kafka.wikipedia-edits=8 --strict");
}

// ---------------------------------------------------------------------------------------------------------------
// docs/install.md, docs/exit-codes.md

/// `./my-chart` stands in for the reader's chart: the samza-job chart, whose counts come from the environment.
fn with_my_chart(sandbox: Sandbox) -> Sandbox {
    symlink("charts/samza-job", sandbox.path("my-chart")).expect("link ./my-chart");
    sandbox
        .env("HELM_SAMZA_OFFLINE", "true")
        .env("HELM_SAMZA_PARTITIONS", "kafka.my-input=4")
}

#[test]
fn install_md_runs_on_helm3() {
    let doc = "docs/install.md";
    let sandbox = with_my_chart(Sandbox::new(3));
    for (needle, why) in [
        ("git clone", "clones from GitHub"),
        ("cd helm-samza", "part of the clone"),
        ("cargo build", "the binary under test is built already"),
    ] {
        assert!(
            block(doc, "git clone")
                .commands()
                .iter()
                .any(|c| c.contains(needle)),
            "{doc}: {needle:?} ({why}) is gone"
        );
    }
    let results = sandbox.run_commands(
        &block(doc, "helm plugin install .\nhelm samza --help"),
        &[],
        &[],
    );
    assert!(ran(&results, "helm samza --help")
        .stdout
        .contains("Usage: helm-samza"));
    for needle in [
        "/helm-samza/bin/helm-samza\" \\",
        "--post-renderer helm --post-renderer-args samza",
    ] {
        let results = sandbox.run_commands(&block(doc, needle), &[], &[]);
        assert!(
            rendered_model_configmap(&results[0].stdout),
            "{}",
            results[0].report()
        );
    }
    let by_hand = sandbox.ok(&inline(doc, "| helm samza post-render"));
    assert!(
        rendered_model_configmap(&by_hand.stdout),
        "{}",
        by_hand.report()
    );

    // "Do not install plugins/samza-postrender or plugins/samza-cli on Helm 3 ... Remove the link by hand".
    // Helm 3 installs it, and then says it cannot load it.
    let install = sandbox.sh("helm plugin install ./plugins/samza-postrender");
    assert!(
        install
            .stderr
            .contains("json: unknown field \"apiVersion\""),
        "{}",
        install.report()
    );
    let broken = sandbox.exits("helm samza --help", 1);
    let uninstall = sandbox.sh("helm plugin uninstall samza-postrender");
    assert_ne!(uninstall.code, 0, "{}", uninstall.report());
    for quoted in [
        "json: unknown field \"apiVersion\"",
        "unknown command \"samza\"",
    ] {
        assert!(
            read_doc(doc).contains(quoted),
            "{doc} no longer quotes {quoted}"
        );
        assert!(
            broken.stderr.contains(quoted),
            "Helm 3 does not say {quoted}: {}",
            broken.report()
        );
    }
    assert!(
        uninstall
            .stderr
            .contains("json: unknown field \"apiVersion\""),
        "{}",
        uninstall.report()
    );
    sandbox.ok(&inline(doc, "/samza-postrender\""));
    sandbox.ok("helm samza --help");

    sandbox.run_commands(&block(doc, "scripts/install-binary"), &[], &[]);
    sandbox.run_commands(&block(doc, "helm plugin uninstall samza"), &[], &[]);
    sandbox.ok("helm samza --help");
}

#[test]
fn install_md_runs_on_helm4() {
    let doc = "docs/install.md";
    let sandbox = with_my_chart(Sandbox::new(4));
    let results = sandbox.run_commands(&block(doc, "# --post-renderer samza-postrender"), &[], &[]);
    assert!(ran(&results, "helm samza --help")
        .stdout
        .contains("Usage: helm-samza"));
    let template = ran(
        &results,
        "helm template my-release ./my-chart --post-renderer samza-postrender",
    );
    assert!(
        rendered_model_configmap(&template.stdout),
        "{}",
        template.report()
    );

    // "Install the root plugin or plugins/samza-cli, not both".
    sandbox.ok("helm plugin install ./plugins/samza-cli");
    let two = sandbox.sh("helm samza --help");
    assert!(
        two.code != 0 && two.stderr.contains("unknown command \"samza\""),
        "{}",
        two.report()
    );
    let list = sandbox.sh("helm plugin list");
    assert!(
        list.stderr.contains("two plugins claim the name \"samza\""),
        "{}",
        list.report()
    );
    assert!(read_doc(doc).contains("two plugins claim the name \"samza\""));

    // plugins/samza-cli instead of the root plugin, in a fresh home.
    let fresh = with_my_chart(Sandbox::new(4));
    fresh.run_commands(
        &block(doc, "helm plugin install ./plugins/samza-cli"),
        &[],
        &[],
    );
    fresh.ok("helm samza --help");
    let template = fresh.ok("helm template my-release ./my-chart --post-renderer samza-postrender");
    assert!(
        rendered_model_configmap(&template.stdout),
        "{}",
        template.report()
    );
}

#[test]
fn exit_codes_md_matches_help_and_last_error_runs() {
    let doc = "docs/exit-codes.md";
    // The table lists exactly the codes `helm-samza --help` lists.
    let table: Vec<String> = read_doc(doc)
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" |").next())
        .filter(|code| code.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .collect();
    let sandbox = Sandbox::with_plugins(4);
    let help = sandbox.ok("helm-samza --help").stdout;
    let listed: Vec<String> = help
        .split("Exit codes:")
        .nth(1)
        .expect("--help lists exit codes")
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    assert_eq!(
        table, listed,
        "{doc}'s table and `helm-samza --help` list different exit codes"
    );

    // A failed post-render in Helm 4: Helm shows only that the plugin failed; last-error shows why.
    let failed = sandbox.exits(
        "helm template views charts/samza-job --post-renderer samza-postrender --post-renderer-args --offline",
        1,
    );
    let hidden = inline("docs/install.md", "failed to invoke post-renderer plugin");
    assert!(
        failed.stderr.contains(&hidden),
        "Helm 4 does not say {hidden:?}: {}",
        failed.report()
    );
    assert!(
        !failed.stderr.contains("no partition count"),
        "{}",
        failed.report()
    );
    let block = block(doc, "helm samza last-error");
    let commands = block.commands();
    assert_eq!(
        commands.len(),
        2,
        "{}: expected last-error and the re-run",
        block.location()
    );
    let last = sandbox.ok(&commands[0]);
    assert!(
        last.stdout.contains("no partition count for my-input")
            && last
                .stdout
                .contains("helm-samza post-render [same flags] < "),
        "{}",
        last.report()
    );
    assert!(
        commands[1].contains("[same flags]"),
        "{}: the re-run lost its [same flags]",
        block.location()
    );
    let rerun = sandbox.exits(&commands[1].replace("[same flags]", "--offline"), 12);
    assert!(
        rerun.stderr.contains("no partition count for my-input"),
        "{}",
        rerun.report()
    );
}

// ---------------------------------------------------------------------------------------------------------------
// docs/ci-example.md

#[test]
fn ci_example_plain_shell_script_runs() {
    let doc = "docs/ci-example.md";
    let sandbox = Sandbox::new(3).tools(&["kubernetes-validate"]);
    // Its first steps build helm-samza and install kubernetes-validate from PyPI: both are there already, so
    // `cargo build --release` only links the binary under test where the build would put it, and `pip install`
    // does nothing. Everything else runs as written, in a copy of this repository's charts.
    let stubs = sandbox.home.path().join("stubs");
    fs::create_dir(&stubs).unwrap();
    let stub = |name: &str, text: &str| {
        let path = stubs.join(name);
        fs::write(&path, text).unwrap();
        let mut perms = fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        fs::set_permissions(&path, perms).unwrap();
        symlink(&path, sandbox.bin.join(name)).unwrap();
    };
    stub(
        "cargo",
        "#!/bin/sh\n[ \"$*\" = 'build --release' ] || { echo \"unexpected: cargo $*\" >&2; exit 97; }\n\
         mkdir -p target/release && ln -sf \"$HELM_SAMZA_BINARY\" target/release/helm-samza\n",
    );
    stub(
        "python3",
        "#!/bin/sh\ncase \"$*\" in '-m pip install '*) exit 0;; esac\necho \"unexpected: python3 $*\" >&2; exit 97\n",
    );
    // A lock beside each samza-job values file (the script's convention), so lint needs no --partitions.
    for values in ["full-values", "yarn-properties-values"] {
        sandbox.ok(&format!(
            "helm-samza lock charts/samza-job -f charts/samza-job/ci/{values}.yaml --partitions \
             kafka.page-views=6,kafka.ad-clicks=6,kafka.wikipedia-raw=4,kafka.wikipedia-edits=8,kafka.my-input=6 \
             --file charts/samza-job/ci/{values}.samza.lock"
        ));
    }
    let checkout = sandbox.work.display().to_string();
    let sandbox = sandbox.env("HELM_SAMZA_CHECKOUT", &checkout);
    sandbox.write("lint-charts.sh", &block(doc, "#!/usr/bin/env bash").text);
    sandbox.ok("bash lint-charts.sh");
    for label in [
        "samza-job-full-values",
        "samza-job-yarn-properties-values",
        "kafka-production-values",
        "zookeeper-ensemble-values",
    ] {
        let sarif: Value =
            serde_json::from_str(&sandbox.read(&format!("lint-reports/{label}.sarif")))
                .unwrap_or_else(|e| panic!("lint-reports/{label}.sarif: {e}"));
        assert_eq!(sarif["version"], "2.1.0");
        assert!(sandbox
            .read(&format!("lint-reports/{label}.xml"))
            .contains("<testsuites"));
    }
    assert!(rendered_model_configmap(
        &sandbox.read("lint-reports/samza-job-full-values.yaml")
    ));

    // Manifests rendered elsewhere: a rendered.yaml of a job reading kafka.page-views stands in.
    sandbox.ok(
        "helm template r charts/samza-job --set 'job.inputs[0]=kafka.page-views' > rendered.yaml",
    );
    sandbox.run_commands(
        &block(doc, "helm-samza lint rendered.yaml"),
        &[("kustomize build", "needs kustomize and a kustomization")],
        &[],
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Synopses

/// The flags a usage block names: `-x` and `--name` tokens (not the bare `--` before Helm flags).
fn synopsis_flags(text: &str) -> Vec<String> {
    let mut flags = Vec::new();
    for token in text.split(|c: char| c.is_whitespace() || "[]|".contains(c)) {
        let name = token.split('=').next().unwrap_or_default();
        let dashes = name.len() - name.trim_start_matches('-').len();
        let rest = &name[dashes..];
        if (dashes == 1 && rest.len() == 1 || dashes == 2 && rest.len() > 1)
            && rest.chars().all(|c| c.is_ascii_lowercase() || c == '-')
            && !flags.iter().any(|f| f == name)
        {
            flags.push(name.to_string());
        }
    }
    flags
}

/// The flags `helm-samza <command> --help` defines.
fn help_flags(help: &str) -> Vec<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .flat_map(|l| {
            l.split_whitespace()
                .take_while(|t| t.starts_with('-') && t.len() > 1)
                .map(|t| t.trim_end_matches(',').to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn synopses_name_only_real_flags() {
    let sandbox = Sandbox::new(4);
    for (doc, needle, command) in [
        ("docs/model.md", "helm-samza model --config FILE", "model"),
        ("docs/plan.md", "helm samza plan [RELEASE] CHART", "plan"),
        ("docs/plan.md", "helm samza lock [RELEASE] CHART", "lock"),
        (
            "docs/migrate-from-yarn.md",
            "helm samza import [JOB.properties]",
            "import",
        ),
        (
            "docs/gitops.md",
            "helm samza values [RELEASE] CHART",
            "values",
        ),
        ("docs/lint.md", "helm samza lint CHART", "lint"),
        (
            "docs/coordinator.md",
            "helm-samza coordinator --model FILE",
            "coordinator",
        ),
    ] {
        let synopsis = block(doc, needle);
        let help = sandbox.ok(&format!("helm-samza {command} --help")).stdout;
        let defined = help_flags(&help);
        let named = synopsis_flags(&synopsis.text);
        assert!(
            named.len() >= 2,
            "{}: found no flags in the synopsis",
            synopsis.location()
        );
        for flag in named {
            assert!(
                defined.contains(&flag),
                "{}: `helm-samza {command}` has no flag {flag} (its flags: {defined:?})",
                synopsis.location()
            );
        }
    }
}

/// docs/architecture.md gives every source file (or, for a folder of the domain, the folder) its line, and every
/// file it names exists; the modules its picture names are modules of the library.
#[test]
fn architecture_md_names_every_module_and_only_real_ones() {
    let doc = read_doc("docs/architecture.md");
    let src = repo_root().join("src");
    let named: Vec<&str> = doc
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| t.ends_with(".rs") || t.ends_with('/'))
        .map(|t| t.strip_prefix("src/").unwrap_or(t))
        .collect();
    for name in &named {
        assert!(
            src.join(name).exists(),
            "docs/architecture.md names src/{name}, which does not exist"
        );
    }
    // A folder of the domain is described as one; each command has its own line.
    let folders = [
        "lint/",
        "coordinator/",
        "samza/",
        "kafka/",
        "manifest/",
        "command/mod.rs",
    ];
    let mut missing = Vec::new();
    for entry in walk(&src) {
        let relative = entry
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let folder = folders.iter().find(|f| relative.starts_with(*f));
        let folder_named =
            folder.is_some_and(|f| named.contains(&f.replace("mod.rs", "").as_str()));
        let covered = named.contains(&relative.as_str())
            || folder_named
            || [
                "lib.rs",
                "main.rs",
                "cli.rs",
                "command/mod.rs",
                "exit_code.rs",
            ]
            .contains(&relative.as_str())
                && doc.contains(&relative);
        if !covered {
            missing.push(relative);
        }
    }
    assert!(
        missing.is_empty(),
        "docs/architecture.md has no line for {missing:?}"
    );
    for module in [
        "job::scan",
        "facts::gather",
        "samza::plan",
        "plan::hazards",
        "render::render",
    ] {
        let (file, function) = module.split_once("::").unwrap();
        let path = src.join(format!("{file}.rs"));
        let path = if path.exists() {
            path
        } else {
            src.join(file).join("mod.rs")
        };
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            text.contains(&format!("pub fn {function}")) || text.contains(&format!("{function},")),
            "docs/architecture.md's picture names {module}, which {} does not define or export",
            path.display()
        );
    }
}

/// What docs/architecture.md promises about imports: nothing below the commands imports a command, `cli` or the
/// crate root, and no command imports another command.
#[test]
fn architecture_md_imports_run_down_and_commands_stay_in_their_rooms() {
    let src = repo_root().join("src");
    let mut wrong = Vec::new();
    for path in walk(&src) {
        let relative = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = fs::read_to_string(&path).unwrap();
        let code: Vec<&str> = text
            .lines()
            .map(str::trim_start)
            .filter(|l| !l.starts_with("//"))
            .collect();
        let names = |needle: &str| code.iter().any(|l| l.contains(needle));
        let top = ["lib.rs", "main.rs", "cli.rs"].contains(&relative.as_str());
        if !top
            && !relative.starts_with("command/")
            && (names("crate::command") || names("crate::cli"))
        {
            wrong.push(format!(
                "src/{relative} imports a command or the command line"
            ));
        }
        if relative.starts_with("command/")
            && (names("crate::command") || names("super::") && !names("use super::*"))
        {
            wrong.push(format!("src/{relative} imports another command"));
        }
        if !top && (names("crate::run") || names("crate::write_stdout")) {
            wrong.push(format!("src/{relative} reaches up into the crate root"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}
