//! `helm-samza last-error` (`helm samza last-error`): prints the last post-render failure that Helm 4 hid, with
//! the command that re-runs the same input visibly (`diagnostics` keeps both).

use clap::Args;

use crate::{diagnostics, error::Result, exit_code, stdio};

/// Print the last post-render error, with the command that re-runs the same input visibly.
#[derive(Debug, Args)]
pub struct LastErrorArgs {}

pub fn run(_args: &LastErrorArgs) -> Result<i32> {
    let text = diagnostics::last_failure()?;
    stdio::write_stdout(text.as_bytes()).map(|()| exit_code::OK)
}
