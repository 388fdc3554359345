//! `kensho-extract completions SHELL`: the completion script packagers install beside the binary
//! (`cargo xtask dist` writes them all into `target/dist/`).

use std::io::Write;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::Failure;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish.
    shell: Shell,
}

/// Prints the completion script: `kensho-extract completions bash > /etc/bash_completion.d/kensho-extract`.
pub fn run(args: CompletionsArgs) -> Result<(), Failure> {
    let mut command = crate::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "kensho-extract", &mut out);
    if args.shell == Shell::Bash {
        out = bash_fixed(out);
    }
    std::io::stdout().lock().write_all(&out)?;
    Ok(())
}

/// clap_complete 4.6 names the root of a hyphenated binary `kensho__extract` where it matches
/// words, but `kensho__subcmd__extract__…` where it lists each subcommand's options, so nothing
/// below the first level completed in bash (`tests/it/shell.rs` types `auth ver` and Tab). One name.
fn bash_fixed(script: Vec<u8>) -> Vec<u8> {
    match String::from_utf8(script) {
        Ok(text) => text
            .replace(
                "kensho__subcmd__extract__subcmd__",
                "kensho__extract__subcmd__",
            )
            .into_bytes(),
        Err(e) => e.into_bytes(),
    }
}
