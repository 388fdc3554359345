//! Make the keypair Kensho's keypair authentication uses: `cargo run -p extract-keys --example generate -- DIR`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "kensho-keys".into());
    let key = extract_keys::PrivateKey::generate(extract_keys::KeySize::Rsa2048)?;
    let paths = extract_keys::write_keypair(dir.as_ref(), &key, false)?;
    println!(
        "{} and {}; kid {}",
        paths.private.display(),
        paths.public.display(),
        key.public_key().thumbprint()
    );
    Ok(())
}
