//! helm-samza: computes Apache Samza job models for Kubernetes deployments made with Helm.
//!
//! The binary (`src/main.rs`) only parses arguments and maps errors to exit codes; everything else lives
//! here so that tests and benchmarks call the same code. Data flows one way: manifests in → find jobs
//! (`job`) → gather partition facts (`facts`, `kafka`) → compute models (`samza`) → patch (`manifest`,
//! `template`) → manifests out (`render`).
#![forbid(unsafe_code)]

pub mod cli;
pub mod coordinator;
pub mod diagnostics;
pub mod error;
pub mod exit_code;
pub mod facts;
pub mod helm;
pub mod job;
pub mod kafka;
pub mod lint;
pub mod lock;
pub mod manifest;
pub mod model;
pub mod output_file;
pub mod plan;
pub mod render;
pub mod samza;
pub mod template;

use std::io::{Read, Write};

use cli::{Cli, Command};
use error::{Error, Result};

/// Runs one command; returns the exit code for success paths that are not 0 (e.g. plan changes).
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::PostRender(args) => {
            diagnostics::record_start(args.log_file.as_deref());
            widen_pipes();
            let mut input = Vec::with_capacity(1 << 20);
            std::io::stdin()
                .read_to_end(&mut input)
                .map_err(|e| Error::io("<stdin>", e))?;
            let outcome = render::run_post_render(&args, &input);
            match outcome {
                Ok(output) => {
                    write_stdout(&output)?;
                    diagnostics::record_success(args.log_file.as_deref());
                    Ok(exit_code::OK)
                }
                Err(err) => {
                    // Helm 4 discards our stderr: leave the message and the input where the user can find them.
                    diagnostics::record_failure(
                        args.log_file.as_deref(),
                        &err.to_string(),
                        err.exit_code(),
                        &input,
                    );
                    Err(err)
                }
            }
        }
        Command::Model(args) => {
            let output = model::run(&args)?;
            write_stdout(output.as_bytes()).map(|()| exit_code::OK)
        }
        Command::Plan(args) => plan::command::run(&args),
        Command::Lock(args) => lock::command::run(&args),
        Command::Lint(args) => lint::command::run(&args),
        Command::Coordinator(args) => coordinator::run(&args)
            .map(|()| exit_code::OK)
            .map_err(Error::from),
        Command::Show { file } => {
            let input = if file.as_os_str() == "-" {
                let mut input = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut input)
                    .map_err(|e| Error::io("<stdin>", e))?;
                input
            } else {
                std::fs::read(&file).map_err(|e| Error::io(&file, e))?
            };
            let text = render::show(&input).map_err(|e| match e {
                Error::Manifest(e) => Error::Job {
                    origin: error::JobOrigin(if file.as_os_str() == "-" {
                        "<stdin>".to_owned()
                    } else {
                        file.display().to_string()
                    }),
                    message: e.to_string(),
                },
                other => other,
            })?;
            write_stdout(text.as_bytes()).map(|()| exit_code::OK)
        }
        Command::LastError => {
            let text = diagnostics::last_failure()?;
            write_stdout(text.as_bytes()).map(|()| exit_code::OK)
        }
    }
}

/// Helm pipes the whole release through the post-renderer, which can only answer once it has read everything:
/// with Linux's default 64 KiB pipe buffers that costs a context switch per 64 KiB each way. A 1 MiB buffer
/// makes it a few. Best effort: not a pipe, or not allowed, changes nothing.
fn widen_pipes() {
    #[cfg(target_os = "linux")]
    {
        const SIZE: usize = 1 << 20;
        let _ = rustix::pipe::fcntl_setpipe_size(std::io::stdin(), SIZE);
        let _ = rustix::pipe::fcntl_setpipe_size(std::io::stdout(), SIZE);
    }
}

/// Writes all of `bytes` to stdout; a reader that went away (broken pipe) is not an error (ripgrep).
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<()> {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    match lock.write_all(bytes).and_then(|()| lock.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("<stdout>", e)),
    }
}
