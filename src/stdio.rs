//! Standard input and output for the commands: read all of stdin, write all of stdout.
//!
//! A reader that went away (a broken pipe on stdout) is not an error (ripgrep): `helm-samza show | head` must
//! not fail. Every command writes its whole answer at once, after all work is done, so a failure leaves stdout
//! empty; an answer too large to hold twice (a job model's JSON) is streamed, once nothing but writing can fail.

use std::io::{Read, Write};

use crate::error::{Error, Result};

/// All of stdin; `capacity` is a first guess of its size.
pub fn read_stdin(capacity: usize) -> Result<Vec<u8>> {
    let mut input = Vec::with_capacity(capacity);
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| Error::io("<stdin>", e))?;
    Ok(input)
}

/// Streams what `write` writes to stdout, buffered. Only for answers whose writing cannot fail but on stdout
/// itself; a reader that went away (broken pipe) is not an error.
pub fn stream_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("<stdout>", e)),
    }
}

/// Writes all of `bytes` to stdout; a reader that went away (broken pipe) is not an error.
pub fn write_stdout(bytes: &[u8]) -> Result<()> {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    match lock.write_all(bytes).and_then(|()| lock.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("<stdout>", e)),
    }
}

/// Helm pipes the whole release through the post-renderer, which can only answer once it has read everything:
/// with Linux's default 64 KiB pipe buffers that costs a context switch per 64 KiB each way. A 1 MiB buffer
/// makes it a few. Best effort: not a pipe, or not allowed, changes nothing.
pub fn widen_pipes() {
    #[cfg(target_os = "linux")]
    {
        const SIZE: usize = 1 << 20;
        let _ = rustix::pipe::fcntl_setpipe_size(std::io::stdin(), SIZE);
        let _ = rustix::pipe::fcntl_setpipe_size(std::io::stdout(), SIZE);
    }
}
