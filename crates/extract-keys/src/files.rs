//! Putting a keypair on disk safely: private key 0600 from its first byte, atomic, no silent
//! overwrite.

use std::path::{Path, PathBuf};

use crate::{KeyError, PrivateKey};

/// The file name of the private key inside a key directory.
pub const PRIVATE_KEY_FILE: &str = "private.pem";
/// The file name of the public key inside a key directory.
pub const PUBLIC_KEY_FILE: &str = "public.pem";

/// Where [`write_keypair`] put the two files.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyPaths {
    /// The private key, PKCS#8 PEM, mode 0600.
    pub private: PathBuf,
    /// The public key, SPKI PEM, mode 0644.
    pub public: PathBuf,
}

/// Writes `dir/private.pem` (PKCS#8, mode 0600) and `dir/public.pem` (SPKI, mode 0644).
///
/// Each file is written to a temporary file in `dir` (which the `tempfile` crate creates with
/// mode 0600, so the private key is never readable by others, not even for a moment), synced,
/// then renamed into place. Unless `overwrite` is set, existing files are left alone and
/// [`KeyError::Exists`] is returned; the check and the rename are one atomic step, so a
/// concurrent writer cannot be overwritten either. If the second file cannot be placed, the
/// first is removed again: either both files are new, or nothing changed (when overwriting, a
/// failure can leave the new private key beside the old public key, which the error reports).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use extract_keys::{KeySize, PrivateKey, write_keypair};
///
/// let dir = tempfile::tempdir()?;
/// let key = PrivateKey::generate(KeySize::Rsa2048)?;
/// let paths = write_keypair(dir.path(), &key, false)?;
/// assert_eq!(PrivateKey::load(&paths.private)?.public_key(), key.public_key());
/// # Ok(())
/// # }
/// ```
pub fn write_keypair(dir: &Path, key: &PrivateKey, overwrite: bool) -> Result<KeyPaths, KeyError> {
    let paths = KeyPaths {
        private: dir.join(PRIVATE_KEY_FILE),
        public: dir.join(PUBLIC_KEY_FILE),
    };
    if !overwrite {
        for path in [&paths.private, &paths.public] {
            if path.exists() {
                return Err(KeyError::Exists { path: path.clone() });
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| KeyError::io(dir, e))?;

    let private_pem = key.to_pkcs8_pem();
    write(&paths.private, private_pem.as_bytes(), overwrite, 0o600)?;
    if let Err(e) = write(
        &paths.public,
        key.public_key().to_spki_pem().as_bytes(),
        overwrite,
        0o644,
    ) {
        if !overwrite {
            let _ = std::fs::remove_file(&paths.private);
        }
        return Err(e);
    }
    Ok(paths)
}

/// The permission bits (`mode & 0o777`) of the key file at `path` when they let its group or
/// others in (any bit of `0o077`, as ssh judges a private key), else `None`. Symbolic links
/// are followed: the mode is the key's own.
///
/// A private key others can read is a private key no longer; a program should say so before
/// using it. Only on Unix, where file modes mean that.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::os::unix::fs::PermissionsExt;
/// use extract_keys::{KeySize, PrivateKey, open_to_others, write_keypair};
///
/// let dir = tempfile::tempdir()?;
/// let paths = write_keypair(dir.path(), &PrivateKey::generate(KeySize::Rsa2048)?, false)?;
/// assert_eq!(open_to_others(&paths.private)?, None);
/// std::fs::set_permissions(&paths.private, std::fs::Permissions::from_mode(0o644))?;
/// assert_eq!(open_to_others(&paths.private)?, Some(0o644));
/// # Ok(())
/// # }
/// ```
#[cfg(unix)]
pub fn open_to_others(path: &Path) -> std::io::Result<Option<u32>> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    Ok((mode & 0o077 != 0).then_some(mode))
}

/// One key file, whole, with `mode` from its first byte ([`extract_fs::write_atomic`]).
fn write(target: &Path, contents: &[u8], overwrite: bool, mode: u32) -> Result<(), KeyError> {
    extract_fs::write_bytes_atomic(target, contents, overwrite.into(), Some(mode)).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists {
                path: target.to_path_buf(),
            }
        } else {
            KeyError::io(target, e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeySize;

    fn key() -> PrivateKey {
        PrivateKey::generate(KeySize::Rsa2048).expect("generates")
    }

    #[cfg(unix)]
    #[test]
    fn private_key_is_0600_and_public_key_0644() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = write_keypair(dir.path(), &key(), false).expect("writes");
        let mode = |p: &Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode(&paths.private), 0o600);
        assert_eq!(mode(&paths.public), 0o644);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("lists")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "no temporary files left: {leftovers:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_key_open_to_group_or_others_is_told_apart() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = write_keypair(dir.path(), &key(), false).expect("writes");
        for (mode, open) in [
            (0o600, None),
            (0o400, None),
            (0o700, None),
            (0o644, Some(0o644)),
            (0o640, Some(0o640)),
            (0o604, Some(0o604)),
            (0o620, Some(0o620)),
            (0o601, Some(0o601)),
        ] {
            std::fs::set_permissions(&paths.private, std::fs::Permissions::from_mode(mode))
                .expect("chmod");
            assert_eq!(
                open_to_others(&paths.private).expect("stat"),
                open,
                "{mode:o}"
            );
        }
        assert!(open_to_others(&dir.path().join("missing.pem")).is_err());
    }

    #[test]
    fn existing_keys_are_never_overwritten_unless_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = key();
        write_keypair(dir.path(), &first, false).expect("writes");
        let before = std::fs::read(dir.path().join(PRIVATE_KEY_FILE)).expect("reads");

        let err = write_keypair(dir.path(), &key(), false).expect_err("refuses");
        assert!(matches!(err, KeyError::Exists { .. }), "{err}");
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(
            std::fs::read(dir.path().join(PRIVATE_KEY_FILE)).expect("reads"),
            before
        );

        let second = key();
        let paths = write_keypair(dir.path(), &second, true).expect("overwrites");
        assert_eq!(
            PrivateKey::load(&paths.private)
                .expect("loads")
                .public_key(),
            second.public_key()
        );
        assert_eq!(
            crate::PublicKey::load(&paths.public).expect("loads"),
            second.public_key()
        );
    }

    #[test]
    fn a_lone_public_key_also_blocks_writing() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(PUBLIC_KEY_FILE), "someone's key").expect("writes");
        let err = write_keypair(dir.path(), &key(), false).expect_err("refuses");
        assert!(matches!(err, KeyError::Exists { ref path } if path.ends_with(PUBLIC_KEY_FILE)));
        assert!(!dir.path().join(PRIVATE_KEY_FILE).exists());
    }

    #[test]
    fn creates_a_missing_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let nested = dir.path().join("a/b");
        let paths = write_keypair(&nested, &key(), false).expect("writes");
        assert!(paths.private.starts_with(&nested));
    }
}
