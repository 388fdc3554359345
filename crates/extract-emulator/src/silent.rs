//! A server that accepts connections and never answers, nor reads: what a stuck gateway looks
//! like to a client. For testing that every wait ends.

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A silent server on an ephemeral loopback port; it stops when dropped.
#[derive(Debug)]
pub struct SilentServer {
    url: String,
    task: JoinHandle<()>,
}

impl SilentServer {
    /// Starts one (on the current tokio runtime).
    pub async fn start() -> std::io::Result<SilentServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            // Connections are held open, unread, until the server stops.
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        Ok(SilentServer { url, task })
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
