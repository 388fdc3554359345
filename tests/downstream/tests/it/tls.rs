//! Both TLS stacks built in at once (this crate turns on `rustls-ring` and `native-tls`): the
//! features only add, the default is documented (rustls on ring), and a client gets the stack
//! it asks for. Which stack spoke is read from its ClientHello on a loopback socket: OpenSSL
//! offers CBC cipher suites, rustls never does.

use std::time::Duration;

use extract_auth::http::{Tls, client_builder, client_builder_with};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// The cipher suites a client offers in its first TLS message.
async fn offered_suites(builder: reqwest::ClientBuilder) -> Vec<u16> {
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
    assert_eq!(body[0], 0x01, "a ClientHello");
    // type (1), length (3), version (2), random (32), session id (1 + n).
    let mut at = 1 + 3 + 2 + 32;
    at += 1 + usize::from(body[at]);
    let length = usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
    body[at + 2..at + 2 + length]
        .chunks(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect()
}

/// ECDHE-RSA-AES128-SHA and friends: CBC suites OpenSSL offers by default and rustls has none of.
fn offers_cbc(suites: &[u16]) -> bool {
    suites
        .iter()
        .any(|s| matches!(s, 0xC009 | 0xC00A | 0xC013 | 0xC014 | 0x002F | 0x0035))
}

#[tokio::test]
async fn with_two_stacks_built_in_a_client_gets_the_one_it_asks_for() {
    assert_eq!(Tls::AVAILABLE, &[Tls::RustlsRing, Tls::Native]);
    assert_eq!(
        Tls::preferred(),
        Some(Tls::RustlsRing),
        "the documented default"
    );
    let rustls = offered_suites(client_builder_with(Tls::RustlsRing)).await;
    let native = offered_suites(client_builder_with(Tls::Native)).await;
    let default = offered_suites(client_builder()).await;
    assert!(!offers_cbc(&rustls), "rustls offered {rustls:04x?}");
    assert!(offers_cbc(&native), "OpenSSL offered {native:04x?}");
    assert!(!offers_cbc(&default), "the default offered {default:04x?}");
}
