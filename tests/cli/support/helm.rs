//! A private Helm home per test, with our plugins installed, for Helm 3 and Helm 4.
//!
//! Helm reads its config, data, cache and plugin folders from `HELM_*_HOME`/`HELM_PLUGINS`; each `HelmHome` points
//! all of them into its own temporary folder so tests never see the developer's plugins or each other's. Helm 4
//! installs plugins under `$HELM_DATA_HOME/plugins` whatever `HELM_PLUGINS` says, so `HELM_PLUGINS` is set to that
//! same folder; Helm 3 cannot read Helm 4 plugin.yaml files and then loads no plugin at all, so each version
//! gets its own home.
//!
//! The plugins are installed the way users install them (`helm plugin install <dir>`) from a copy of the
//! repository's plugin files, not from the checkout itself: Helm links a local plugin directory and our install
//! hook then writes `bin/helm-samza` inside it, which would point the developer's own installed plugin at the
//! test build and race between tests running in parallel. `HELM_SAMZA_BINARY` makes the hook link the binary
//! under test.
//!
//! How the post-renderer is named differs (spec: Helm integration 1.1, 1.2): Helm 3 takes an executable path
//! plus `--post-renderer-args`, Helm 4 only a plugin name of type `postrenderer/v1`, whose plugin.yaml already
//! passes `post-render`.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::tools::{repo_root, tool};

/// The release name `HelmHome::template` renders with.
pub const RELEASE: &str = "samza-test";

/// Plugin files copied from the repository: the legacy top-level plugin and everything under `plugins/`.
const PLUGIN_FILES: &[&str] = &["plugin.yaml", "scripts/install-binary", "plugins"];

/// Name of the copied repository folder; Helm names the installed plugin link after it.
const SOURCE_NAME: &str = "helm-samza";

pub struct HelmHome {
    version: u8,
    helm: PathBuf,
    dir: tempfile::TempDir,
}

impl HelmHome {
    /// A fresh home for Helm `version` (3 or 4) with `samza` installed, and on Helm 4 also `samza-postrender`.
    pub fn new(version: u8) -> HelmHome {
        let home = HelmHome::bare(version);
        let source = home.plugin_sources();
        home.install_plugin(&source);
        if version == 4 {
            home.install_plugin(&source.join("plugins/samza-postrender"));
        }
        home
    }

    /// A fresh home for Helm `version` without any plugin.
    pub fn bare(version: u8) -> HelmHome {
        let helm = match version {
            3 => tool("helm3"),
            4 => tool("helm4"),
            other => panic!("HelmHome for Helm {other}: only Helm 3 and Helm 4 are supported"),
        };
        let dir = tempfile::Builder::new()
            .prefix(&format!("helm{version}-home-"))
            .tempdir()
            .expect("create a temporary Helm home");
        fs::create_dir(dir.path().join("tmp")).expect("create the Helm home's TMPDIR");
        HelmHome { version, helm, dir }
    }

    pub fn version(&self) -> u8 {
        self.version
    }

    /// The temporary folder holding this home (and anything a test wants to put beside it).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where Helm keeps plugins in this home.
    pub fn plugins_dir(&self) -> PathBuf {
        self.path().join("data/plugins")
    }

    /// The binary the installed `samza` plugin runs; on Helm 3 this is also the post-renderer path.
    pub fn plugin_binary(&self) -> PathBuf {
        self.plugins_dir().join(SOURCE_NAME).join("bin/helm-samza")
    }

    /// `helm <args>` against this home, with no cluster configured.
    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(&self.helm);
        cmd.args(args);
        self.apply_env(&mut cmd);
        cmd
    }

    /// Points `cmd` (Helm, or a shell that runs Helm) at this home: Helm's folders, no cluster, a private
    /// TMPDIR, and none of the developer's `HELM_SAMZA_*` settings.
    pub fn apply_env(&self, cmd: &mut Command) {
        let home = self.path();
        cmd.env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"))
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_PLUGINS", self.plugins_dir())
            // A kubeconfig that does not exist: nothing a test runs may reach a developer's cluster.
            .env("KUBECONFIG", home.join("no-kubeconfig"))
            // helm-samza writes its last error under $TMPDIR: one per home keeps parallel tests apart.
            .env("TMPDIR", home.join("tmp"))
            .env("XDG_STATE_HOME", home.join("tmp"))
            .env_remove("HELM_NAMESPACE")
            .env_remove("HELM_KUBECONTEXT")
            .env_remove("HELM_DEBUG");
        // The post-renderer inherits Helm's environment, and every helm-samza flag has a HELM_SAMZA_* variable:
        // a developer's settings must not leak into tests. The tools location is not a flag.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("HELM_SAMZA_") && key != "HELM_SAMZA_TOOLS" {
                cmd.env_remove(&*key);
            }
        }
    }

    /// The flags that run our post-renderer on this Helm version; callers append their own
    /// `--post-renderer-args`, which both versions pass after `post-render`.
    pub fn post_renderer_flags(&self) -> Vec<String> {
        match self.version {
            3 => vec![
                "--post-renderer".into(),
                self.plugin_binary().display().to_string(),
                "--post-renderer-args".into(),
                "post-render".into(),
            ],
            _ => vec!["--post-renderer".into(), "samza-postrender".into()],
        }
    }

    /// `helm template samza-test <chart> <post-renderer flags> <extra_args>`.
    pub fn template<S: AsRef<OsStr>>(&self, chart_dir: &Path, extra_args: &[S]) -> Command {
        let mut cmd = self.cmd(["template", RELEASE]);
        cmd.arg(chart_dir)
            .args(self.post_renderer_flags())
            .args(extra_args);
        cmd
    }

    /// A copy of the repository's plugin files (top-level plugin.yaml, its hook, `plugins/`) inside this home,
    /// made on first use; `helm plugin install` it, or its `plugins/samza-postrender`.
    pub fn plugin_sources(&self) -> PathBuf {
        let source = self.path().join("src").join(SOURCE_NAME);
        if !source.exists() {
            for file in PLUGIN_FILES {
                copy_tree(&repo_root().join(file), &source.join(file));
            }
        }
        source
    }

    /// `helm plugin install <dir>` with the install hook linking the binary under test.
    pub fn install_plugin(&self, dir: &Path) {
        let mut cmd = self.cmd([OsStr::new("plugin"), OsStr::new("install"), dir.as_os_str()]);
        cmd.env("HELM_SAMZA_BINARY", env!("CARGO_BIN_EXE_helm-samza"));
        run_ok(&mut cmd);
    }
}

/// Runs `cmd`, panics with its stderr unless it exits 0, and returns its output.
pub fn run_ok(cmd: &mut Command) -> Output {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !output.status.success() {
        panic!(
            "{cmd:?} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}

/// Copies a file or folder, keeping symlinks as symlinks (the post-renderer plugin links its install hook, the
/// samza-job chart its subcharts) and skipping `bin/` folders, which install hooks create.
pub fn copy_tree(from: &Path, to: &Path) {
    let meta = fs::symlink_metadata(from)
        .unwrap_or_else(|e| panic!("plugin file {} is missing: {e}", from.display()));
    fs::create_dir_all(to.parent().expect("copy target has a parent"))
        .expect("create plugin folder");
    if meta.file_type().is_symlink() {
        let target = fs::read_link(from).expect("read plugin symlink");
        std::os::unix::fs::symlink(target, to).expect("recreate plugin symlink");
    } else if meta.is_dir() {
        for entry in fs::read_dir(from).expect("list plugin folder") {
            let entry = entry.expect("read plugin folder entry");
            if entry.file_name() != "bin" {
                copy_tree(&entry.path(), &to.join(entry.file_name()));
            }
        }
    } else {
        fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}
