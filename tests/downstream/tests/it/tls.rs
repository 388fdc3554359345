//! Every TLS stack built in at once (this crate turns on `rustls-ring`, `rustls-aws-lc` and
//! `native-tls`): the features only add, the default is documented (rustls on ring), and a
//! client gets the stack it asks for. Which stack spoke is read from its ClientHello on a
//! loopback socket: OpenSSL offers CBC cipher suites, rustls never does; rustls on aws-lc-rs
//! offers the post-quantum X25519MLKEM768 key exchange, rustls on ring has none.

use std::time::Duration;

use extract_auth::http::{Tls, client_builder, client_builder_with};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// What a client offers in its first TLS message.
#[derive(Debug)]
struct Hello {
    suites: Vec<u16>,
    /// The `supported_groups` extension: the key exchanges it can do.
    groups: Vec<u16>,
}

/// The ClientHello of a client built by `builder`.
async fn hello(builder: reqwest::ClientBuilder) -> Hello {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let port = listener.local_addr().expect("address").port();
    let client = builder.build().expect("a client");
    // The handshake never completes: the client's request fails once the socket closes.
    let request = tokio::spawn(async move {
        let _ = client
            .get(format!("https://127.0.0.1:{port}/"))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
    });
    let (mut socket, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .expect("the client connects")
        .expect("accepts");
    let mut hello = Vec::new();
    let mut buffer = [0u8; 4096];
    // Record header (5 bytes), then as much of the record as it says.
    while hello.len() < 5 || hello.len() < 5 + usize::from(u16::from_be_bytes([hello[3], hello[4]]))
    {
        let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buffer))
            .await
            .expect("the client says hello")
            .expect("reads");
        assert!(n > 0, "the client closed before its hello");
        hello.extend_from_slice(&buffer[..n]);
    }
    drop(socket);
    let _ = request.await;
    assert_eq!(hello[0], 0x16, "a TLS handshake record");
    let body = &hello[5..];
    assert_eq!(body.first(), Some(&0x01), "a ClientHello");
    // A short or malformed hello fails the test saying so, not with an index out of range.
    let byte = |at: usize| *body.get(at).expect("the ClientHello ends early");
    let u16_at = |at: usize| u16::from_be_bytes([byte(at), byte(at + 1)]);
    let slice = |at: usize, length: usize| {
        body.get(at..at + length)
            .expect("the ClientHello ends early")
    };
    // type (1), length (3), version (2), random (32), session id (1 + n).
    let mut at = 1 + 3 + 2 + 32;
    at += 1 + usize::from(byte(at));
    let length = usize::from(u16_at(at));
    let suites = pairs(slice(at + 2, length));
    at += 2 + length;
    // compression methods (1 + n), then the extensions (2 + n): type (2), length (2), data.
    at += 1 + usize::from(byte(at));
    let end = at + 2 + usize::from(u16_at(at));
    at += 2;
    let mut groups = Vec::new();
    while at + 4 <= end {
        let kind = u16_at(at);
        let length = usize::from(u16_at(at + 2));
        let data = slice(at + 4, length);
        if kind == 0x000a {
            groups = pairs(data.get(2..).expect("supported_groups has its length"));
        }
        at += 4 + length;
    }
    Hello { suites, groups }
}

/// Big-endian 16-bit values.
fn pairs(bytes: &[u8]) -> Vec<u16> {
    assert!(
        bytes.len().is_multiple_of(2),
        "a list of 16-bit values of odd length"
    );
    bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect()
}

/// ECDHE-RSA-AES128-SHA and friends: CBC suites OpenSSL offers by default and rustls has none of.
fn offers_cbc(suites: &[u16]) -> bool {
    suites
        .iter()
        .any(|s| matches!(s, 0xC009 | 0xC00A | 0xC013 | 0xC014 | 0x002F | 0x0035))
}

/// X25519MLKEM768: aws-lc-rs has it, ring does not.
const X25519_MLKEM768: u16 = 0x11ec;

#[tokio::test]
async fn with_every_stack_built_in_a_client_gets_the_one_it_asks_for() {
    assert_eq!(
        Tls::AVAILABLE,
        &[Tls::RustlsRing, Tls::RustlsAwsLc, Tls::Native]
    );
    assert_eq!(
        Tls::preferred(),
        Some(Tls::RustlsRing),
        "the documented default"
    );
    let ring = hello(client_builder_with(Tls::RustlsRing)).await;
    let aws_lc = hello(client_builder_with(Tls::RustlsAwsLc)).await;
    let native = hello(client_builder_with(Tls::Native)).await;
    let default = hello(client_builder()).await;
    assert!(!offers_cbc(&ring.suites), "rustls on ring: {ring:04x?}");
    assert!(
        !ring.groups.contains(&X25519_MLKEM768),
        "rustls on ring: {ring:04x?}"
    );
    assert!(
        !offers_cbc(&aws_lc.suites),
        "rustls on aws-lc-rs: {aws_lc:04x?}"
    );
    assert!(
        aws_lc.groups.contains(&X25519_MLKEM768),
        "rustls on aws-lc-rs: {aws_lc:04x?}"
    );
    assert!(offers_cbc(&native.suites), "OpenSSL: {native:04x?}");
    assert!(
        !offers_cbc(&default.suites) && !default.groups.contains(&X25519_MLKEM768),
        "the default is rustls on ring: {default:04x?}"
    );
}
