//! The `helm-samza` binary: parse arguments, run, map the error to a documented exit code.

use std::io::IsTerminal;

use clap::Parser;

fn main() {
    let args = helm_samza::cli::implied_post_render(
        std::env::args_os().collect(),
        std::io::stdin().is_terminal(),
    );
    let is_post_render = args.get(1).is_some_and(|a| a == "post-render");
    let cli = match helm_samza::cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout and usage errors to stderr; usage errors get our code.
            let code = if err.use_stderr() {
                helm_samza::exit_code::USAGE
            } else {
                0
            };
            let _ = err.print();
            // Helm 4 hides a post-renderer's stderr: a bad flag or HELM_SAMZA_* value must reach
            // `helm samza last-error` like every other post-render failure (docs/exit-codes.md).
            if code != 0 && is_post_render {
                helm_samza::diagnostics::record_failure(
                    log_file_arg().as_deref(),
                    err.render().to_string().trim_end(),
                    code,
                    &[],
                );
                if let Some(note) = helm_samza::diagnostics::recorded_note() {
                    eprintln!("{note}");
                }
            }
            std::process::exit(code);
        }
    };
    let code = match helm_samza::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("Error: {err}");
            if let Some(note) = helm_samza::diagnostics::recorded_note() {
                eprintln!("{note}");
            }
            err.exit_code()
        }
    };
    std::process::exit(code);
}

/// `--log-file PATH` or `--log-file=PATH` from arguments clap could not parse as a whole.
fn log_file_arg() -> Option<std::path::PathBuf> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    args.iter().enumerate().rev().find_map(|(i, arg)| {
        let text = arg.to_str()?;
        if text == "--log-file" {
            args.get(i + 1).map(std::path::PathBuf::from)
        } else {
            text.strip_prefix("--log-file=")
                .map(std::path::PathBuf::from)
        }
    })
}
