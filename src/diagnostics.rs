//! Making a failed post-render's message reachable when Helm hides it.
//!
//! Helm 4 captures a post-renderer's stderr and never prints it; the user sees only "plugin exited with
//! error". So a failed run also writes its message, and the input it got, to a documented place of the user's
//! own (`$XDG_STATE_HOME/helm-samza/`, else `~/.local/state/helm-samza/`, else `$TMPDIR/helm-samza/`:
//! `last-error.log` and `last-input.yaml`; or `--log-file`), and `helm samza last-error` prints the message with
//! the command that re-runs the same input visibly.
//!
//! The folder is private (0700, and not used when someone else owns it), the files are written with mode 0600
//! through `output_file` (a regular file replaced atomically, a device such as `/dev/null` written into, a link
//! or anything else refused: never deleted, never followed), and the saved input has the `data` and
//! `stringData` of every Secret removed: a diagnostic must not become a leak.

use std::path::{Path, PathBuf};

use crate::{
    error::{Error, Result},
    manifest::{write_document, Stream},
};

/// Where `--log-file` may also be given.
pub const ENV_LOG_FILE: &str = "HELM_SAMZA_LOG_FILE";

/// The folder for the last failure's files, the user's own: `$XDG_STATE_HOME/helm-samza`, else
/// `$HOME/.local/state/helm-samza` (the XDG default), else `$TMPDIR/helm-samza`. Not a shared `/tmp` folder
/// first: there the first user to fail would own it and nobody else's failures could be recorded.
pub fn state_dir() -> PathBuf {
    let set = |key: &str| {
        std::env::var_os(key)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    set("XDG_STATE_HOME")
        .or_else(|| set("HOME").map(|home| home.join(".local/state")))
        .unwrap_or_else(std::env::temp_dir)
        .join("helm-samza")
}

/// The log `last-error` reads: `$HELM_SAMZA_LOG_FILE`, else `last-error.log` in [`state_dir`].
pub fn log_file() -> PathBuf {
    std::env::var_os(ENV_LOG_FILE)
        .map(PathBuf::from)
        .unwrap_or_else(|| state_dir().join("last-error.log"))
}

pub fn last_input_file() -> PathBuf {
    state_dir().join("last-input.yaml")
}

/// The log a failure was recorded in by this process, for the pointer printed after the error line.
static RECORDED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// The log this run writes to: `--log-file`, else `HELM_SAMZA_LOG_FILE`, else the private default; `None` when
/// the default folder cannot be made private (nothing is written then).
fn log_target(log_file: Option<&Path>) -> Option<PathBuf> {
    let log = log_file
        .map(Path::to_path_buf)
        .unwrap_or_else(self::log_file);
    if log.starts_with(state_dir()) && private_state_dir().is_none() {
        return None;
    }
    Some(log)
}

fn stamp() -> humantime::Rfc3339Timestamp {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now())
}

/// Marks the start of a post-render in the log, so that a run killed or crashed before it could write its error
/// (Helm's timeout, the OOM killer) reads as that, not as the older failure the log held; and records a panic's
/// message the same way as an error. Best effort, like everything here.
pub fn record_start(log_file: Option<&Path>) {
    let Some(log) = log_target(log_file) else {
        return;
    };
    let started = stamp().to_string();
    let _ = write_private(
        &log,
        format!(
            "helm-samza post-render started at {started} (process {}) and did not finish: it was killed (a \
             timeout, the out-of-memory killer) or crashed before it could write its error.\n",
            std::process::id()
        )
        .as_bytes(),
    );
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = write_private(
            &log,
            format!(
                "helm-samza post-render started at {started} crashed (exit code 101): {info}\n\
                 This is a bug in helm-samza: please report it with this message.\n"
            )
            .as_bytes(),
        );
        previous(info);
    }));
}

/// Replaces the start mark once a post-render has written its output: the last run did not fail.
pub fn record_success(log_file: Option<&Path>) {
    if let Some(log) = log_target(log_file) {
        let _ = write_private(
            &log,
            format!(
                "helm-samza post-render at {} succeeded: there is no error to show.\n",
                stamp()
            )
            .as_bytes(),
        );
    }
}

/// Best effort: a failure to record a failure must not hide the original error. The pointer to the log is not
/// printed here but by `recorded_note`, after the error line, so that the error is the first line of stderr (CI
/// summaries show only that).
pub fn record_failure(log_file: Option<&Path>, message: &str, code: i32, input: &[u8]) {
    let private_dir = private_state_dir();
    let saved_input = !input.is_empty()
        && private_dir.is_some()
        && write_private(&last_input_file(), &without_secrets(input)).is_ok();
    let mut text = format!(
        "helm-samza post-render{} failed at {} (exit code {code}):\n{message}\n",
        release_of(input)
            .map(|(release, namespace)| match namespace {
                Some(ns) => format!(" of release {release} (namespace {ns})"),
                None => format!(" of release {release}"),
            })
            .unwrap_or_default(),
        stamp()
    );
    if saved_input {
        text.push_str(&format!(
            "\nThe input it got is saved (Secrets' data left out); re-run the same pipeline visibly with:\n  \
             helm-samza post-render [same flags] < {}\n",
            last_input_file().display()
        ));
    }
    if let Some(log) = log_target(log_file) {
        if write_private(&log, text.as_bytes()).is_ok() {
            let _ = RECORDED.set(log);
        }
    }
}

/// The release the manifests were rendered for, as far as they say: the first `app.kubernetes.io/instance` label
/// (Helm's convention, which charts set to `.Release.Name`) and the first `namespace:`. A post-renderer is not told
/// the release; this lets `last-error` show whose failure it is. Plain names only (no quotes or spaces).
fn release_of(input: &[u8]) -> Option<(String, Option<String>)> {
    let text = std::str::from_utf8(input).ok()?;
    let value_of = |key: &str| {
        text.lines().find_map(|line| {
            let value = line.trim_start().strip_prefix(key)?.trim();
            let value = value.trim_matches(|c| c == '"' || c == '\'');
            (!value.is_empty()
                && value.len() <= 253
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)))
            .then(|| value.to_owned())
        })
    };
    let release = value_of("app.kubernetes.io/instance:")?;
    Some((release, value_of("namespace:")))
}

/// The line that says where the failure just recorded can be read again, if one was recorded.
pub fn recorded_note() -> Option<String> {
    RECORDED.get().map(|log| {
        format!(
            "(this message is also in {}; `helm samza last-error` prints it)",
            log.display()
        )
    })
}

pub fn last_failure() -> Result<String> {
    let path = log_file();
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text),
        // Nothing recorded is an answer, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(format!(
            "no post-render has been recorded yet: {} does not exist (a post-render writes it when it runs).\n",
            path.display()
        )),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// [`state_dir`], created 0700 (with its parents); `None` when it exists but is not ours or not private.
fn private_state_dir() -> Option<PathBuf> {
    let dir = state_dir();
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        let _ = std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(&dir);
        let meta = std::fs::symlink_metadata(&dir).ok()?;
        let ours = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
        if !meta.is_dir()
            || ours.is_some_and(|uid| uid != meta.uid())
            || meta.permissions().mode() & 0o077 != 0
        {
            return None;
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

/// Writes `path` readable by its owner only, as `output_file::write` does: a regular file is replaced whole, a
/// device such as `/dev/null` written into, anything else refused; nothing at the path is ever deleted.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::output_file::write(path, bytes, 0o600)
}

/// The input with every Secret's `data` and `stringData` removed, whatever the YAML style: each document is
/// read as Kubernetes reads it (flow or JSON style, quoted keys, escapes), and a Secret found at any depth (a
/// `kind: List`'s `items`, nested Lists) loses its data; such a document is written anew. A document that
/// cannot be read is saved only if it cannot hold a Secret's data either (no `secret` in any case, no escape).
fn without_secrets(input: &[u8]) -> Vec<u8> {
    let Ok(mut stream) = Stream::from_bytes(input) else {
        return b"# helm-samza: the input was not UTF-8 and is not saved\n".to_vec();
    };
    let mut edits = Vec::new();
    for (index, doc) in stream.documents().iter().enumerate() {
        match doc.value() {
            Ok(mut value) => {
                if scrub(&mut value) {
                    let text = write_document(&value).unwrap_or_else(|_| {
                        "# helm-samza: a document holding a Secret is not saved\n".to_owned()
                    });
                    edits.push((index, text));
                }
            }
            Err(_) => {
                let raw = doc.raw();
                if raw.to_ascii_lowercase().contains("secret") || raw.contains('\\') {
                    edits.push((
                        index,
                        "# helm-samza: a document that could not be read is not saved\n".to_owned(),
                    ));
                }
            }
        }
    }
    for (index, text) in edits {
        stream.replace(index, text);
    }
    let mut out = Vec::with_capacity(input.len());
    let _ = stream.write(&mut out);
    out
}

/// Removes `data` and `stringData` from every object of kind `Secret` in `value`, at any depth; whether any
/// was found.
fn scrub(value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(object) => {
            let mut found = false;
            if object.get("kind").and_then(serde_json::Value::as_str) == Some("Secret") {
                object.shift_remove("data");
                object.shift_remove("stringData");
                found = true;
            }
            for child in object.values_mut() {
                found |= scrub(child);
            }
            found
        }
        serde_json::Value::Array(items) => items
            .iter_mut()
            .fold(false, |found, item| scrub(item) | found),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_release_is_read_from_the_manifests() {
        use super::release_of;
        let input = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: streams\n  labels:\n    app.kubernetes.io/instance: views\n";
        assert_eq!(
            release_of(input),
            Some(("views".to_owned(), Some("streams".to_owned())))
        );
        assert_eq!(release_of(b"kind: ConfigMap\n"), None);
        assert_eq!(
            release_of(b"  app.kubernetes.io/instance: \"a b\"\n"),
            None,
            "not a plain name"
        );
    }

    /// Every way a Secret can be written that Kubernetes reads as one; none may reach the saved input.
    #[test]
    fn secrets_lose_their_data_in_every_style() {
        let cases = [
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  password: c2VjcmV0\nstringData:\n  token: hunter2\n",
            r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"password":"c2VjcmV0"},"stringData":{"token":"hunter2"}}"#,
            "apiVersion: v1\n\"kind\": \"Secret\"\nmetadata: {name: s}\nstringData: {token: hunter2}\ndata: {password: c2VjcmV0}\n",
            "apiVersion: v1\nkind: \"Secr\\x65t\"\nmetadata: {name: s}\nstringData: {token: hunter2}\ndata: {password: c2VjcmV0}\n",
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n  - {apiVersion: v1, kind: Secret, metadata: {name: s}, stringData: {token: hunter2}, data: {password: c2VjcmV0}}\n",
            "apiVersion: v1\nmetadata:\n  name: s\nstringData:\n  token: hunter2\n  password: c2VjcmV0\nkind:   'Secret'  # last\n",
        ];
        for case in cases {
            let input = format!("---\n{case}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  password: visible\n");
            let out = String::from_utf8(super::without_secrets(input.as_bytes())).unwrap();
            assert!(
                !out.contains("c2VjcmV0") && !out.contains("hunter2"),
                "{case}\nsaved as:\n{out}"
            );
            assert!(out.contains("visible"), "{case}\nsaved as:\n{out}");
        }
    }
}
