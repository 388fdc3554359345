//! Submit a PDF and print its status: `cargo run -p extract-api --example submit -- FILE.pdf`
//! (credentials from the `KENSHO_*` environment variables).

use extract_api::{Client, ExtractionOptions};
use extract_auth::AuthConfig;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = std::env::args().nth(1).ok_or("usage: submit FILE.pdf")?;
    let client = Client::builder()
        .auth_config(&AuthConfig::from_env())?
        .build()?;
    let submission = client
        .submit_file(file.as_ref(), &ExtractionOptions::new())
        .await?;
    println!("{} ({:?})", submission.request_id, submission.mode);
    Ok(())
}
