//! Interop with the `openssl` command line, both ways, and every way a user can hand us the
//! wrong file. `.ci/run` installs `openssl`; these tests fail loudly without it.

use std::path::{Path, PathBuf};
use std::process::Command;

use extract_keys::{KeyError, KeySize, PrivateKey, PublicKey, write_keypair};

fn openssl(args: &[&str]) -> Vec<u8> {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("the `openssl` command is needed for these tests (apt-get install openssl)");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().expect("tempdir"))
    }
    fn file(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
    /// Runs openssl with `{}` in the arguments replaced by the path of `name`; returns the path.
    fn openssl_to(&self, name: &str, args: &[&str]) -> PathBuf {
        let path = self.file(name);
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "{}" { path_str(&path) } else { a })
            .collect();
        openssl(&args);
        path
    }
}

fn openssl_public_pem(private: &Path) -> String {
    String::from_utf8(openssl(&["pkey", "-in", path_str(private), "-pubout"])).expect("utf-8 PEM")
}

#[test]
fn our_keys_pass_openssl_check_and_give_openssl_the_same_public_key() {
    let dir = Dir::new();
    for size in [KeySize::Rsa2048, KeySize::Rsa3072] {
        let key = PrivateKey::generate(size).expect("generates");
        let paths = write_keypair(dir.0.path(), &key, true).expect("writes");
        let check = openssl(&["rsa", "-in", path_str(&paths.private), "-check", "-noout"]);
        assert_eq!(String::from_utf8_lossy(&check).trim(), "RSA key ok");
        let text = openssl(&["rsa", "-in", path_str(&paths.private), "-noout", "-text"]);
        assert!(
            String::from_utf8_lossy(&text)
                .contains(&format!("Private-Key: ({} bit, 2 primes)", size.bits())),
            "openssl sees a {}-bit two-prime key",
            size.bits()
        );
        let pubout = openssl(&["rsa", "-in", path_str(&paths.private), "-pubout"]);
        assert_eq!(
            pubout,
            std::fs::read(&paths.public).expect("reads"),
            "byte for byte"
        );
        assert!(
            std::fs::read_to_string(&paths.private)
                .expect("reads")
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
    }
}

#[test]
fn openssl_keys_load_in_every_form_and_give_openssl_public_key() {
    let dir = Dir::new();
    let pkcs8 = dir.openssl_to("pkcs8.pem", &["genrsa", "-out", "{}", "2048"]);
    assert!(
        std::fs::read_to_string(&pkcs8)
            .expect("reads")
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let pkcs1 = dir.openssl_to(
        "pkcs1.pem",
        &["genrsa", "-traditional", "-out", "{}", "2048"],
    );
    assert!(
        std::fs::read_to_string(&pkcs1)
            .expect("reads")
            .starts_with("-----BEGIN RSA PRIVATE KEY-----")
    );
    let pkcs8_der = dir.openssl_to(
        "pkcs8.der",
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            path_str(&pkcs8),
            "-outform",
            "DER",
            "-out",
            "{}",
        ],
    );
    let pkcs1_der = dir.openssl_to(
        "pkcs1.der",
        &[
            "rsa",
            "-traditional",
            "-in",
            path_str(&pkcs1),
            "-outform",
            "DER",
            "-out",
            "{}",
        ],
    );

    for (file, source) in [
        (&pkcs8, &pkcs8),
        (&pkcs1, &pkcs1),
        (&pkcs8_der, &pkcs8),
        (&pkcs1_der, &pkcs1),
    ] {
        let key = PrivateKey::load(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(key.bits(), 2048);
        assert_eq!(
            key.public_key().to_spki_pem(),
            openssl_public_pem(source),
            "{}",
            file.display()
        );
    }

    // The public key file openssl writes loads as a public key, and equals ours.
    let public = dir.openssl_to(
        "public.pem",
        &["rsa", "-in", path_str(&pkcs8), "-pubout", "-out", "{}"],
    );
    assert_eq!(
        PublicKey::load(&public).expect("loads"),
        PrivateKey::load(&pkcs8).expect("loads").public_key()
    );
}

#[test]
fn a_4096_bit_openssl_key_loads() {
    let dir = Dir::new();
    let key = dir.openssl_to("big.pem", &["genrsa", "-out", "{}", "4096"]);
    assert_eq!(PrivateKey::load(&key).expect("loads").bits(), 4096);
}

fn load_err(path: &Path) -> KeyError {
    match PrivateKey::load(path) {
        Ok(_) => panic!("{} should not load", path.display()),
        Err(KeyError::InFile {
            path: named,
            source,
            ..
        }) => {
            assert_eq!(named, path, "the error names the file");
            *source
        }
        Err(other) => other,
    }
}

#[test]
fn encrypted_keys_are_refused_with_the_way_to_decrypt_them() {
    let dir = Dir::new();
    let pkcs8 = dir.openssl_to(
        "enc8.pem",
        &[
            "genrsa",
            "-aes256",
            "-passout",
            "pass:secret",
            "-out",
            "{}",
            "2048",
        ],
    );
    let pkcs1 = dir.openssl_to(
        "enc1.pem",
        &[
            "genrsa",
            "-traditional",
            "-aes256",
            "-passout",
            "pass:secret",
            "-out",
            "{}",
            "2048",
        ],
    );
    let der = dir.openssl_to(
        "enc8.der",
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes256",
            "-in",
            path_str(&pkcs8),
            "-passin",
            "pass:secret",
            "-passout",
            "pass:secret",
            "-outform",
            "DER",
            "-out",
            "{}",
        ],
    );
    for file in [&pkcs8, &pkcs1, &der] {
        let err = load_err(file);
        assert!(
            matches!(err, KeyError::Encrypted),
            "{}: {err}",
            file.display()
        );
        assert!(
            err.to_string()
                .contains("openssl pkey -in KEY -out decrypted.pem")
        );
    }
}

#[test]
fn public_keys_certificates_and_other_algorithms_are_named() {
    let dir = Dir::new();
    let rsa = dir.openssl_to("rsa.pem", &["genrsa", "-out", "{}", "2048"]);
    let public = dir.openssl_to(
        "pub.pem",
        &["pkey", "-in", path_str(&rsa), "-pubout", "-out", "{}"],
    );
    let public_der = dir.openssl_to(
        "pub.der",
        &[
            "pkey",
            "-in",
            path_str(&rsa),
            "-pubout",
            "-outform",
            "DER",
            "-out",
            "{}",
        ],
    );
    let cert = dir.openssl_to(
        "cert.pem",
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            path_str(&rsa),
            "-subj",
            "/CN=test",
            "-days",
            "1",
            "-out",
            "{}",
        ],
    );
    let ec_sec1 = dir.openssl_to(
        "ec1.pem",
        &[
            "ecparam",
            "-genkey",
            "-name",
            "prime256v1",
            "-noout",
            "-out",
            "{}",
        ],
    );
    let ec_pkcs8 = dir.openssl_to(
        "ec8.pem",
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "{}",
        ],
    );
    let ed = dir.openssl_to(
        "ed.pem",
        &["genpkey", "-algorithm", "ED25519", "-out", "{}"],
    );

    for file in [&public, &public_der] {
        assert!(
            matches!(
                load_err(file),
                KeyError::NotPrivate {
                    what: "public key",
                    ..
                }
            ),
            "{}",
            file.display()
        );
    }
    assert!(matches!(
        load_err(&cert),
        KeyError::NotPrivate {
            what: "certificate",
            ..
        }
    ));
    for file in [&ec_sec1, &ec_pkcs8] {
        let err = load_err(file);
        assert!(
            matches!(err, KeyError::NotRsa { ref algorithm, .. } if algorithm == "EC"),
            "{}: {err}",
            file.display()
        );
    }
    assert!(
        matches!(load_err(&ed), KeyError::NotRsa { ref algorithm, .. } if algorithm == "Ed25519")
    );
}

#[test]
fn small_keys_garbage_empty_and_missing_files_say_what_is_wrong() {
    let dir = Dir::new();
    let small = dir.openssl_to("small.pem", &["genrsa", "-out", "{}", "1024"]);
    assert!(matches!(
        load_err(&small),
        KeyError::TooSmall { bits: 1024, .. }
    ));

    let garbage = dir.file("garbage.pem");
    std::fs::write(&garbage, "this is not a key\n").expect("writes");
    assert!(matches!(load_err(&garbage), KeyError::Malformed { .. }));

    let truncated = dir.file("truncated.pem");
    let full =
        std::fs::read_to_string(dir.openssl_to("full.pem", &["genrsa", "-out", "{}", "2048"]))
            .expect("reads");
    std::fs::write(&truncated, &full[..full.len() / 2]).expect("writes");
    assert!(matches!(load_err(&truncated), KeyError::Malformed { .. }));

    let empty = dir.file("empty.pem");
    std::fs::write(&empty, "\n").expect("writes");
    assert!(matches!(load_err(&empty), KeyError::Empty));

    let missing = dir.file("missing.pem");
    let err = PrivateKey::load(&missing).expect_err("missing");
    assert!(
        matches!(err, KeyError::Io { ref source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{err}"
    );
    assert!(err.to_string().contains("missing.pem"));
}

#[test]
fn debug_and_errors_never_show_key_material() {
    let key = PrivateKey::generate(KeySize::Rsa2048).expect("generates");
    let pem = key.to_pkcs8_pem();
    let body_line = pem.lines().nth(3).expect("a base64 line");
    let debug = format!("{key:?}");
    assert!(!debug.contains(body_line));
    assert!(debug.contains("bits: 2048"));
    assert!(debug.contains(&key.public_key().thumbprint()));

    // A key that fails to parse: the error text must not echo the input.
    let mut broken = pem.to_string();
    broken.insert_str(40, "!!");
    let err = PrivateKey::from_pem_or_der(broken.as_bytes()).expect_err("broken");
    assert!(!err.to_string().contains(body_line), "{err}");
    assert!(!format!("{err:?}").contains(body_line), "{err:?}");
}

#[test]
fn a_der_key_whose_last_byte_is_white_space_loads_whole() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let der = std::fs::read(fixtures.join("pkcs8-ends-in-0a.der")).expect("fixture");
    assert_eq!(
        der.last(),
        Some(&0x0a),
        "the fixture ends in a line feed byte"
    );
    let key = PrivateKey::from_pem_or_der(&der).expect("loads");
    let expected =
        std::fs::read_to_string(fixtures.join("pkcs8-ends-in-0a.public.pem")).expect("fixture");
    assert_eq!(key.public_key().to_spki_pem().trim(), expected.trim());
}
