//! `kensho-extract emulator`: the local Okta + Extract stand-in as a long-running command.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use extract_emulator::{Emulator, EmulatorConfig, FaultSpec};
use extract_keys::PublicKey;

use crate::Failure;

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on. Anything but loopback exposes an unauthenticated test service.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Keep registered clients and refresh tokens here across runs.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Seconds a job stays pending.
    #[arg(long, default_value_t = 2.0)]
    job_seconds: f64,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    token_seconds: u64,
    /// Faults to inject, such as `500=0.1,429=0.05,drop=0.02,revoke-after=3,seed=7`
    /// (see docs/emulator.md).
    #[arg(long, value_parser = |s: &str| s.parse::<FaultSpec>())]
    faults: Option<FaultSpec>,
    /// Answer 429 (`Retry-After: 1`) to `/v3/` requests beyond this many a second.
    #[arg(long, value_name = "RPS")]
    rate_limit: Option<f64>,
    /// Register this public key (PEM) as a client; repeatable.
    #[arg(long = "register-key", value_name = "PUBLIC_PEM")]
    register_keys: Vec<PathBuf>,
    /// Accept this refresh token at /oauth2/refresh; repeatable.
    #[arg(long = "accept-refresh-token", value_name = "TOKEN")]
    refresh_tokens: Vec<String>,
}

pub fn run(args: EmulatorArgs) -> Result<(), Failure> {
    let job_duration = Duration::try_from_secs_f64(args.job_seconds).map_err(|_| {
        format!(
            "--job-seconds must be a number of seconds, not {}",
            args.job_seconds
        )
    })?;
    let keys = args
        .register_keys
        .iter()
        .map(PublicKey::load)
        .collect::<Result<Vec<_>, _>>()?;
    let mut config = EmulatorConfig::default()
        .with_bind(SocketAddr::new(args.host, args.port))
        .with_job_duration(job_duration)
        .with_token_lifetime(Duration::from_secs(args.token_seconds))
        .with_faults(args.faults.unwrap_or_default())
        .with_state_dir(args.state_dir);
    if let Some(rate) = args.rate_limit {
        config = config.with_rate_limit(rate);
    }
    crate::block_on(async move {
        let emulator = Emulator::start(config).await?;
        for key in keys {
            emulator.register_client(key)?;
        }
        for token in &args.refresh_tokens {
            emulator.add_refresh_token(token)?;
        }
        if args.host.is_loopback() {
            eprintln!(
                "kensho-extract emulator: a local development stand-in for Kensho's Okta and Extract, on loopback only."
            );
        } else {
            eprintln!(
                "kensho-extract emulator: WARNING: listening on {}, reachable from other machines; it is a test service with no real security.",
                args.host
            );
        }
        println!("export KENSHO_EXTRACT_API_URL={}", emulator.base_url());
        println!("export KENSHO_TOKEN_URL={}", emulator.token_url());
        for client_id in emulator.client_ids() {
            println!("export KENSHO_CLIENT_ID={client_id}");
        }
        eprintln!(
            "Serving until Ctrl-C. Stats: {}/_emulator/stats",
            emulator.base_url()
        );
        tokio::signal::ctrl_c().await?;
        eprintln!("Stopping.");
        emulator.shutdown().await;
        Ok(())
    })
}
