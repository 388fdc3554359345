//! `kensho-extract man [COMMAND]`: a man page in roff, and the list of every command's page
//! (`cargo xtask dist` writes one each into `target/dist/`).

use std::io::Write;

use clap::{Args, CommandFactory};

use crate::Failure;

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The page of one command, such as `run` or `auth verify` (default: the main page).
    command: Vec<String>,
}

/// Prints a man page (roff): `kensho-extract man | man -l -`.
pub fn run(args: ManArgs) -> Result<(), Failure> {
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
