//! The wire protocol and the worker: newline-delimited JSON over plain TCP.
//!
//! One request per connection: the client writes one JSON line, the worker answers one JSON
//! line and closes. No broker: the client finds the worker's address with the matchmaker.

use std::net::SocketAddr;
use std::sync::Arc;

use matchmaker::{MatchMaker, Registry};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How long a stopping worker waits for its registrations to be removed.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How the client addressed a request, echoed back in the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// To one worker of a topic, picked by the matchmaker.
    Cast,
    /// To one named worker, `topic.host`.
    Call,
    /// To every worker of a topic, `fanout~topic`.
    Fanout,
}

impl Pattern {
    /// The name used on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Cast => "cast",
            Pattern::Call => "call",
            Pattern::Fanout => "fanout",
        }
    }
}

/// Sends one request to `address` and returns the worker's reply line, parsed.
pub async fn request(address: &str, pattern: Pattern, body: &str) -> std::io::Result<Value> {
    let stream = TcpStream::connect(address).await?;
    let (read, mut write) = stream.into_split();
    let line = json!({ "pattern": pattern.name(), "body": body }).to_string();
    write.write_all(line.as_bytes()).await?;
    write.write_all(b"\n").await?;
    let mut reply = String::new();
    BufReader::new(read).read_line(&mut reply).await?;
    serde_json::from_str(&reply).map_err(|error| std::io::Error::other(error.to_string()))
}

/// A worker: a TCP listener that serves a topic and a matchmaker registration that says so.
pub struct Worker {
    /// The registered host: the worker's `ip:port`, so clients need no address map.
    pub host: String,
    server: JoinHandle<()>,
    matchmaker: Arc<Box<dyn Registry>>,
}

impl Worker {
    /// Binds `bind` (port 0 picks a free one), registers `topic` -> `ip:port` with
    /// `matchmaker` and starts its heartbeat.
    pub async fn start(
        matchmaker: Box<dyn Registry>,
        topic: &str,
        bind: SocketAddr,
    ) -> Result<Worker, Box<dyn std::error::Error + Send + Sync>> {
        let listener = TcpListener::bind(bind).await?;
        let host = listener.local_addr()?.to_string();
        let server = tokio::spawn(serve(listener, host.clone()));
        matchmaker.register(topic, &host).await?;
        matchmaker.start_heartbeat()?;
        Ok(Worker {
            host,
            server,
            matchmaker: Arc::new(matchmaker),
        })
    }

    /// Dies without saying goodbye, like `kill -9`: stops serving and heartbeating but does
    /// NOT unregister, so the registry forgets it only when its TTL runs out.
    pub fn kill(self) {
        self.server.abort();
        self.matchmaker.stop_heartbeat();
    }

    /// Stops cleanly: drains (its registrations are removed, and gone from every other
    /// process's lookups, before it returns), then stops serving.
    pub async fn stop(self) -> matchmaker::Result<()> {
        let outcome = self.matchmaker.drain(DRAIN_TIMEOUT).await;
        self.server.abort();
        outcome
    }
}

async fn serve(listener: TcpListener, host: String) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let host = host.clone();
        tokio::spawn(async move {
            if let Err(error) = answer(stream, &host).await {
                eprintln!("worker {host}: request failed: {error}");
            }
        });
    }
}

async fn answer(stream: TcpStream, host: &str) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let request: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
    let reply = json!({
        "worker": host,
        "pattern": request["pattern"],
        "reply": format!("done: {}", request["body"].as_str().unwrap_or("?")),
    });
    write.write_all(reply.to_string().as_bytes()).await?;
    write.write_all(b"\n").await
}
