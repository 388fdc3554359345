//! `kensho-extract completions SHELL` and `kensho-extract man`: what packagers install beside the
//! binary (`cargo xtask dist` writes them all into `target/dist/`).

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
pub fn completions(args: CompletionsArgs) -> Result<(), Failure> {
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

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The page of one command, such as `run` or `auth verify` (default: the main page).
    command: Vec<String>,
}

/// Prints a man page (roff): `kensho-extract man | man -l -`.
pub fn man(args: ManArgs) -> Result<(), Failure> {
    let mut command = crate::Cli::command();
    command.build();
    // After build(), each subcommand's display name is its page's: `kensho-extract-auth-verify`.
    let mut page = command;
    for sub in &args.command {
        let parent = page.get_bin_name().unwrap_or("kensho-extract").to_string();
        page = page
            .find_subcommand(sub)
            .cloned()
            .ok_or_else(|| format!("no command `{parent} {sub}`: see `{parent} --help`"))?;
    }
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out)?;
    std::io::stdout().lock().write_all(&out)?;
    Ok(())
}

/// Every command's name path, for writing one man page each.
pub fn command_paths() -> Vec<Vec<String>> {
    fn walk(command: &clap::Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            if sub.get_name() == "help" {
                continue;
            }
            path.push(sub.get_name().to_string());
            walk(sub, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(&crate::Cli::command(), &mut Vec::new(), &mut out);
    out
}
