//! Print an access token from the `KENSHO_*` environment variables:
//! `cargo run -p extract-auth --example token`.

use extract_auth::{AuthConfig, CachedTokenSource, TokenSource, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = AuthConfig::from_env();
    let source = CachedTokenSource::new(config.token_source(http::client_builder().build()?)?);
    let token = source.token().await?;
    println!(
        "{} token, expires in {:?}",
        source.method(),
        token.remaining()
    );
    Ok(())
}
