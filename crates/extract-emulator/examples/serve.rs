//! Run the emulator with one registered key until Ctrl-C:
//! `cargo run -p extract-emulator --example serve -- public.pem`.

use extract_emulator::{Emulator, EmulatorConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::start(EmulatorConfig::default()).await?;
    if let Some(path) = std::env::args().nth(1) {
        println!(
            "client id {}",
            emulator.register_client(extract_keys::PublicKey::load(path)?)?
        );
    }
    println!(
        "API {} token URL {}",
        emulator.base_url(),
        emulator.token_url()
    );
    tokio::signal::ctrl_c().await?;
    emulator.shutdown().await;
    Ok(())
}
