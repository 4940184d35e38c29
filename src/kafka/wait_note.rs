//! A note on a terminal while a Kafka request waits: after a second without an answer, one line says what is
//! awaited and for how long at most, so a wait for an unreachable broker (up to the client timeout) does not look
//! like a hang. Only on a terminal: in CI and under Helm, stderr is read after the fact, where the error line
//! must come first.

use std::io::IsTerminal;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a request may take before the note is shown.
const AFTER: Duration = Duration::from_secs(1);

/// Shows the note unless dropped (the request answered or failed) within [`AFTER`].
pub struct WaitNote {
    done: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl WaitNote {
    /// `what` completes "waiting for …", e.g. "Kafka system kafka at 127.0.0.1:9092 (up to 10s)".
    pub fn start(what: impl FnOnce() -> String) -> WaitNote {
        if !std::io::stderr().is_terminal() {
            return WaitNote {
                done: None,
                thread: None,
            };
        }
        let what = what();
        let (done, wait) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("wait-note".into())
            .spawn(move || {
                if wait.recv_timeout(AFTER) == Err(RecvTimeoutError::Timeout) {
                    eprintln!("helm-samza: waiting for {what} …");
                }
            })
            .ok();
        WaitNote {
            done: Some(done),
            thread,
        }
    }
}

impl Drop for WaitNote {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
