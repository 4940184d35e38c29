//! Writing a file that a user or the tool names (a log, the saved last input, a lock, a report), without ever
//! deleting, following or half-writing what the path names.
//!
//! The usual way to switch a log off is to point it at `/dev/null`. A writer that unlinks the path and creates a
//! fresh file there would, run as root, replace `/dev/null` with a regular file and break the machine; one that
//! truncates in place leaves a half-written file when it is interrupted. So: a regular file (or nothing) at the
//! path is replaced atomically, by a temporary file beside it renamed over it; a character device such as
//! `/dev/null` is written into, never replaced; anything else (a link, a folder, a FIFO, a socket) is refused.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` as described above. `mode` is the new file's permission bits on Unix (a replaced
/// file gets them too: `0o600` for anything that may hold a user's data).
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => replace(path, bytes, mode),
        Ok(meta) if is_char_device(&meta) => {
            // Opened without create or truncate: nothing happens to the device node itself.
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)?
                .write_all(bytes)
        }
        Ok(meta) => Err(io::Error::other(format!(
            "{} is {}; helm-samza writes only regular files and devices such as /dev/null",
            path.display(),
            describe(&meta)
        ))),
        Err(error) if error.kind() == io::ErrorKind::NotFound => replace(path, bytes, mode),
        Err(error) => Err(error),
    }
}

/// A temporary file in the same folder, renamed over `path`: readers see the old content or the new, never a
/// part; a link already at `path` would be replaced, not followed (callers refuse links before this).
fn replace(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let temporary = temporary_beside(path)?;
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        #[cfg(not(unix))]
        let _ = mode;
        let mut file = options.open(&temporary)?;
        file.write_all(bytes)?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// `.NAME.helm-samza-PID-N` beside `path`, a name no other writer uses.
fn temporary_beside(path: &Path) -> io::Result<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{} does not name a file", path.display())))?;
    let mut temporary = std::ffi::OsString::from(".");
    temporary.push(name);
    temporary.push(format!(
        ".helm-samza-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    Ok(path.with_file_name(temporary))
}

#[cfg(unix)]
fn is_char_device(meta: &std::fs::Metadata) -> bool {
    std::os::unix::fs::FileTypeExt::is_char_device(&meta.file_type())
}

#[cfg(not(unix))]
fn is_char_device(_meta: &std::fs::Metadata) -> bool {
    false
}

fn describe(meta: &std::fs::Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_symlink() {
        return "a symbolic link";
    }
    if kind.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a named pipe";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() {
            return "a block device";
        }
    }
    "not a regular file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_replaced_whole_and_nothing_is_left_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("samza.lock");
        std::fs::write(&path, "old and longer than the new content").unwrap();
        write(&path, b"new", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "a temporary file was left: {names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn links_folders_and_pipes_are_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        let folder = dir.path().join("folder");
        std::fs::create_dir(&folder).unwrap();
        let mut refused = vec![(folder.clone(), "a folder")];
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            refused.push((link, "a symbolic link"));
            let fifo = dir.path().join("fifo");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            assert!(made.is_ok_and(|s| s.success()), "mkfifo is needed");
            refused.push((fifo, "a named pipe"));
        }
        for (path, what) in refused {
            let error = write(&path, b"x", 0o600).unwrap_err().to_string();
            assert!(error.contains(what), "{}: {error}", path.display());
            assert!(
                std::fs::symlink_metadata(&path).is_ok(),
                "{what} was removed"
            );
        }
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert!(folder.is_dir());
    }

    /// A character device made in a temporary folder (never the machine's own `/dev/null`): written into, left a
    /// device. Needs root, as `mknod` does; tests run as root in CI.
    #[cfg(unix)]
    #[test]
    fn a_character_device_is_written_into_and_stays_a_device() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let null = dir.path().join("null");
        // 1,3 is the null device.
        let made = std::process::Command::new("mknod")
            .arg(&null)
            .args(["c", "1", "3"])
            .status()
            .expect("mknod runs");
        assert!(made.success(), "mknod needs root; the tests run as root");
        write(&null, b"a failed run's message", 0o600).unwrap();
        let meta = std::fs::symlink_metadata(&null).unwrap();
        assert!(meta.file_type().is_char_device(), "the device was replaced");
    }
}
