//! Making a failed post-render's message reachable when Helm hides it.
//!
//! Helm 4 captures a post-renderer's stderr and never prints it; the user sees only "plugin exited with
//! error". So a failed run also writes its message, and the input it got, to a documented place
//! (`$TMPDIR/helm-samza/last-error.log` and `last-input.yaml`, or `--log-file`), and `helm samza last-error`
//! prints the message with the command that re-runs the same input visibly.
//!
//! The folder is private (0700, and not used when someone else owns it), the files are created afresh with mode
//! 0600 (an existing file or link is removed, never followed), and the saved input has the `data` and
//! `stringData` of every Secret removed: a diagnostic must not become a leak.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use crate::{
    error::{Error, Result},
    manifest::{apply, Patch, Stream},
};

/// Where `--log-file` may also be given.
pub const ENV_LOG_FILE: &str = "HELM_SAMZA_LOG_FILE";

/// The folder for the last failure's files: `$TMPDIR/helm-samza`.
pub fn state_dir() -> PathBuf {
    std::env::temp_dir().join("helm-samza")
}

/// The log `last-error` reads: `$HELM_SAMZA_LOG_FILE`, else `$TMPDIR/helm-samza/last-error.log`.
pub fn log_file() -> PathBuf {
    std::env::var_os(ENV_LOG_FILE)
        .map(PathBuf::from)
        .unwrap_or_else(|| state_dir().join("last-error.log"))
}

pub fn last_input_file() -> PathBuf {
    state_dir().join("last-input.yaml")
}

/// Best effort: a failure to record a failure must not hide the original error.
pub fn record_failure(log_file: Option<&Path>, message: &str, code: i32, input: &[u8]) {
    let private_dir = private_state_dir();
    let saved_input = !input.is_empty()
        && private_dir.is_some()
        && write_private(&last_input_file(), &without_secrets(input)).is_ok();
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let mut text =
        format!("helm-samza post-render failed at {stamp} (exit code {code}):\n{message}\n");
    if saved_input {
        text.push_str(&format!(
            "\nThe input it got is saved (Secrets' data left out); re-run the same pipeline visibly with:\n  \
             helm-samza post-render [same flags] < {}\n",
            last_input_file().display()
        ));
    }
    let log = log_file
        .map(Path::to_path_buf)
        .unwrap_or_else(self::log_file);
    let logged = if log.starts_with(state_dir()) {
        private_dir.is_some() && write_private(&log, text.as_bytes()).is_ok()
    } else {
        write_private(&log, text.as_bytes()).is_ok()
    };
    if logged {
        eprintln!(
            "(this message is also in {}; `helm samza last-error` prints it)",
            log.display()
        );
    }
}

pub fn last_failure() -> Result<String> {
    let path = log_file();
    std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Usage(format!(
                "no post-render has failed yet ({} does not exist)",
                path.display()
            ))
        } else {
            Error::io(path, e)
        }
    })
}

/// `$TMPDIR/helm-samza`, created 0700; `None` when it exists but is not ours or not private.
fn private_state_dir() -> Option<PathBuf> {
    let dir = state_dir();
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
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

/// Creates `path` anew (a file or link already there is removed, not followed), readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// The input with every Secret's `data` and `stringData` removed (a Secret that cannot be edited is left out).
fn without_secrets(input: &[u8]) -> Vec<u8> {
    let Ok(mut stream) = Stream::from_bytes(input) else {
        return b"# helm-samza: the input was not UTF-8 and is not saved\n".to_vec();
    };
    let mut edits = Vec::new();
    for (index, doc) in stream.documents().iter().enumerate() {
        if doc.kind_hint() != Some("Secret") && !doc.mentions("kind: Secret") {
            continue;
        }
        let mut patch = Patch::new();
        patch.remove(["data"]).remove(["stringData"]);
        edits.push((index, apply(doc, &patch).unwrap_or_default()));
    }
    for (index, text) in edits {
        stream.replace(index, text);
    }
    let mut out = Vec::with_capacity(input.len());
    let _ = stream.write(&mut out);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_lose_their_data() {
        let input = b"---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  password: c2VjcmV0\nstringData:\n  token: hunter2\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  password: visible\n";
        let out = String::from_utf8(super::without_secrets(input)).unwrap();
        assert!(
            !out.contains("c2VjcmV0") && !out.contains("hunter2"),
            "{out}"
        );
        assert!(out.contains("name: s") && out.contains("visible"), "{out}");
    }
}
