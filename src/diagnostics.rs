//! Making a failed post-render's message reachable when Helm hides it.
//!
//! Helm 4 captures a post-renderer's stderr and never prints it; the user sees only "plugin exited with
//! error". So a failed run also writes its message, and the exact input it got, to a documented place
//! (`$TMPDIR/helm-samza/last-error.log` and `last-input.yaml`, or `--log-file`), and `helm samza last-error`
//! prints the message with the command that re-runs the same input visibly.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The folder for the last failure's files: `$TMPDIR/helm-samza`.
pub fn state_dir() -> PathBuf {
    std::env::temp_dir().join("helm-samza")
}

pub fn default_log_file() -> PathBuf {
    state_dir().join("last-error.log")
}

pub fn last_input_file() -> PathBuf {
    state_dir().join("last-input.yaml")
}

/// Best effort: a failure to record a failure must not hide the original error.
pub fn record_failure(log_file: Option<&Path>, err: &Error, input: &[u8]) {
    let dir = state_dir();
    let _ = std::fs::create_dir_all(&dir);
    let input_path = last_input_file();
    let saved_input = std::fs::write(&input_path, input).is_ok();
    let mut text = format!(
        "helm-samza post-render failed (exit code {}):\n{err}\n",
        err.exit_code()
    );
    if saved_input {
        text.push_str(&format!(
            "\nThe input it got is saved; re-run the same pipeline visibly with:\n  helm-samza post-render [same flags] < {}\n",
            input_path.display()
        ));
    }
    let log = log_file
        .map(Path::to_path_buf)
        .unwrap_or_else(default_log_file);
    if std::fs::write(&log, &text).is_ok() {
        eprintln!(
            "(this message is also in {}; `helm samza last-error` prints it)",
            log.display()
        );
    }
}

pub fn last_failure() -> Result<String> {
    let path = default_log_file();
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
