//! `kensho-extract keys`: generate a keypair, print a public key.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use extract_keys::{KeySize, PrivateKey, write_keypair};

use crate::Failure;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate an RSA keypair: DIR/private.pem (PKCS#8, mode 0600) and DIR/public.pem (SPKI).
    Generate {
        /// Key size in bits: 2048, 3072 or 4096.
        #[arg(long, default_value_t = 2048)]
        bits: usize,
        /// Directory to write the two files to (created if missing).
        #[arg(long, default_value = ".")]
        out_dir: PathBuf,
        /// Replace existing key files.
        #[arg(long)]
        force: bool,
    },
    /// Print the public key of a private key file, as SPKI PEM or as a JWK.
    Public {
        /// The private key: PKCS#8 or PKCS#1, PEM or DER.
        private_pem: PathBuf,
        /// Print a JSON Web Key (with its RFC 7638 thumbprint as `kid`) instead of PEM.
        #[arg(long)]
        jwk: bool,
    },
}

pub fn run(command: KeysCommand) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match command {
        KeysCommand::Generate {
            bits,
            out_dir,
            force,
        } => {
            let size = KeySize::try_from(bits)?;
            let key = PrivateKey::generate(size)?;
            let paths = write_keypair(&out_dir, &key, force)?;
            writeln!(
                out,
                "Wrote {} (RSA-{bits} private key, mode 0600: keep it on this machine)",
                paths.private.display()
            )?;
            writeln!(out, "Wrote {} (public key)", paths.public.display())?;
            writeln!(out, "Thumbprint (kid): {}", key.public_key().thumbprint())?;
            writeln!(
                out,
                "Next: send {} to Kensho to get a Client ID. Never send the private key.",
                paths.public.display()
            )?;
        }
        KeysCommand::Public { private_pem, jwk } => {
            warn_if_open(&private_pem);
            let public = PrivateKey::load(&private_pem)?.public_key();
            if jwk {
                serde_json::to_writer_pretty(&mut out, &public.to_jwk())?;
                writeln!(out)?;
            } else {
                write!(out, "{}", public.to_spki_pem())?;
            }
        }
    }
    Ok(())
}

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
