//! `helm-samza completion SHELL` and `helm-samza man`: shell completions and the man page, generated from the
//! command-line definitions themselves (`clap_complete`, `clap_mangen`), so they never drift from the flags.
//! `cli` hands the assembled command in: a command does not reach up into the command line.

use clap::{Args, ValueEnum};
use clap_complete::Shell;

use crate::{
    error::{Error, Result},
    exit_code, stdio,
};

/// Print shell completions for helm-samza (bash, zsh, fish, elvish, powershell).
#[derive(Debug, Args)]
#[command(
    after_long_help = "Examples:\n  helm-samza completion bash > ~/.local/share/bash-completion/completions/helm-samza\n  \
    helm-samza completion zsh > \"${fpath[1]}/_helm-samza\"\n  \
    helm-samza completion fish > ~/.config/fish/completions/helm-samza.fish"
)]
pub struct CompletionArgs {
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

/// Print the man page (roff) of helm-samza and its subcommands.
#[derive(Debug, Args)]
#[command(after_long_help = "Example:\n  helm-samza man > helm-samza.1 && man ./helm-samza.1")]
pub struct ManArgs {}

pub fn run_completion(args: &CompletionArgs, mut command: clap::Command) -> Result<i32> {
    let shell = match args.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
        CompletionShell::Elvish => Shell::Elvish,
        CompletionShell::Powershell => Shell::PowerShell,
    };
    let name = command.get_name().to_owned();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut out);
    stdio::write_stdout(&out).map(|()| exit_code::OK)
}

/// The man page of the program and one section per subcommand, in one roff document.
pub fn run_man(_args: &ManArgs, command: clap::Command) -> Result<i32> {
    let mut out = Vec::new();
    let render = |cmd: clap::Command, out: &mut Vec<u8>| {
        clap_mangen::Man::new(cmd)
            .render(out)
            .map_err(|e| Error::io("<man page>", e))
    };
    render(command.clone(), &mut out)?;
    for sub in command.get_subcommands() {
        let name = format!("{}-{}", command.get_name(), sub.get_name());
        render(sub.clone().name(name), &mut out)?;
    }
    stdio::write_stdout(&out).map(|()| exit_code::OK)
}
