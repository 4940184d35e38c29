//! The `helm-samza` binary: parse arguments, run, map the error to a documented exit code.

use clap::Parser;

fn main() {
    let cli = match helm_samza::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout and usage errors to stderr; usage errors get our code.
            let code = if err.use_stderr() {
                helm_samza::exit_code::USAGE
            } else {
                0
            };
            let _ = err.print();
            std::process::exit(code);
        }
    };
    let code = match helm_samza::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("Error: {err}");
            err.exit_code()
        }
    };
    std::process::exit(code);
}
