//! Completions and man pages, as a shell and `man` use them.

use std::process::Command;

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kensho-extract"))
        .args(args)
        .output()
        .expect("runs")
}

/// What bash offers after typing `line` and pressing Tab, with the generated script loaded.
fn bash_completes(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let words_array = words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let program = format!(
        "source '{}'\nCOMP_WORDS=({words_array})\nCOMP_CWORD={}\nCOMP_LINE='{}'\nCOMP_POINT=${{#COMP_LINE}}\nfunction=$(complete -p kensho-extract | sed -E 's/.*-F ([^ ]+).*/\\1/')\n\"$function\" kensho-extract '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words[words.len().saturating_sub(2)],
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", &program])
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_commands_and_global_flags() {
    let out = cli(&["completions", "bash"]);
    assert!(out.status.success());
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("kensho-extract.bash");
    std::fs::write(&script, &out.stdout).expect("writes");

    let offered = bash_completes(&script, &["kensho-extract", "ru"]);
    assert_eq!(offered, ["run"]);
    let offered = bash_completes(&script, &["kensho-extract", "auth", "ver"]);
    assert_eq!(offered, ["verify"]);
    // A connection flag, offered after a subcommand too: it is accepted anywhere.
    let offered = bash_completes(&script, &["kensho-extract", "status", "--api-"]);
    assert_eq!(offered, ["--api-url"]);
}

#[test]
fn every_shell_gets_a_script_naming_every_command() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = cli(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).expect("utf-8");
        for command in ["run", "wait", "convert", "config", "auth"] {
            assert!(script.contains(command), "{shell} lacks {command}");
        }
    }
    let out = cli(&["completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn man_pages_for_the_tool_and_each_command() {
    let out = cli(&["man"]);
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).expect("utf-8");
    assert!(page.contains(".TH kensho-extract 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS") && page.contains("kensho\\-extract\\-run(1)"));

    let out = cli(&["man", "auth", "verify"]);
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).expect("utf-8");
    assert!(page.contains(".TH kensho-extract-auth-verify 1"), "{page}");
    assert!(page.contains("\\-\\-json"), "its own flag: {page}");
    assert!(
        page.contains("\\-\\-api\\-url"),
        "and the global ones: {page}"
    );

    let out = cli(&["man", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no command `kensho-extract nope`"));

    // One page per command path the packager asks for.
    let out = cli(&["commands"]);
    let paths = String::from_utf8(out.stdout).expect("utf-8");
    assert!(paths.lines().any(|l| l == "auth verify"), "{paths}");
    assert!(
        !paths.lines().any(|l| l == "commands"),
        "hidden ones are left out"
    );
}
