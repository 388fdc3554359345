//! Extract a folder of PDFs into `out/`, resumably:
//! `cargo run -p extract-poll --example folder -- DIR` (credentials from `KENSHO_*`).

use extract_api::Client;
use extract_auth::AuthConfig;
use extract_batch::BatchRunner;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: folder DIR")?;
    let client = Client::builder()
        .auth_config(&AuthConfig::from_env())?
        .build()?;
    let extract_batch::BatchReport { summary, .. } = BatchRunner::new(client, "out")
        .concurrency(8)
        .run(&[dir.into()])
        .await?;
    println!("{summary:?}");
    Ok(())
}
