//! The warning for a private key file its group or others can open (as ssh gives), for every
//! command that loads one.

/// Says once per process, on stderr, that the private key at `path` is open to its group or
/// others, and how to close it (as ssh does); the key is used all the same. A key that cannot
/// be read is left to the loading that follows, which says why.
pub fn warn_if_open(path: &std::path::Path) {
    #[cfg(unix)]
    {
        static WARNED: std::sync::Once = std::sync::Once::new();
        if let Ok(Some(mode)) = extract_keys::open_to_others(path) {
            WARNED.call_once(|| eprintln!("{}", open_key_warning(path, mode)));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// The warning for a private key whose mode lets its group or others in.
#[cfg(unix)]
fn open_key_warning(path: &std::path::Path, mode: u32) -> String {
    let how = if mode & 0o044 != 0 {
        "readable"
    } else {
        "writable or usable"
    };
    let shown = extract_batch::names::printable(&path.display().to_string());
    // Quoted for a shell when it needs to be, so the advice can be pasted as it is.
    let pasted = if shown
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%=~".contains(c))
    {
        shown.clone()
    } else {
        format!("'{}'", shown.replace('\'', r"'\''"))
    };
    format!(
        "warning: private key {shown} is {how} by group or others (mode {mode:04o}): run chmod 600 {pasted}"
    )
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_warning_names_the_file_and_the_fix() {
        assert_eq!(
            open_key_warning(std::path::Path::new("/keys/key.pem"), 0o644),
            "warning: private key /keys/key.pem is readable by group or others (mode 0644): run chmod 600 /keys/key.pem"
        );
        assert_eq!(
            open_key_warning(std::path::Path::new("/my keys/it's.pem"), 0o620),
            "warning: private key /my keys/it's.pem is writable or usable by group or others (mode 0620): run chmod 600 '/my keys/it'\\''s.pem'"
        );
    }
}
