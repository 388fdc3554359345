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
            crate::key_warning::warn_if_open(&private_pem);
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
