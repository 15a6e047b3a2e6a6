//! A worker: a real gRPC server (the standard health service) that registers its listening
//! address with the matchmaker and names itself in an `x-worker` response header.
//!
//! Each worker runs on a thread with its own tokio runtime, so `kill` can end it the way
//! `kill -9` ends a process: dropping the runtime drops its server, its open connections and
//! its heartbeat at once, and nothing unregisters.

use std::net::SocketAddr;
use std::time::Duration;

use matchmaker::{ConnectConfig, HeartbeatConfig, MatchMaker, Registry};
use tokio::sync::oneshot;
use tonic::codegen::http::{HeaderValue, Response};
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;
use tower::util::MapResponseLayer;

use super::{AnyError, TOPIC};

/// The response header in which a worker names itself (its registered host).
pub const WORKER_HEADER: &str = "x-worker";

/// How long a stopping worker waits for its registration to be removed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

enum Ending {
    Kill,
    Drain,
}

/// A running worker, on its own thread and runtime.
pub struct Worker {
    /// The registered host: the worker's `ip:port`, so clients need no address map.
    pub host: String,
    end: oneshot::Sender<Ending>,
    done: oneshot::Receiver<Result<(), AnyError>>,
}

/// Connects to the registry at `url` with heartbeat TTL `ttl`.
pub async fn connect(url: &str, ttl: Duration) -> matchmaker::Result<Box<dyn Registry>> {
    let config = ConnectConfig::new(url).with_heartbeat(HeartbeatConfig::with_ttl(ttl));
    matchmaker::connect_with(&config).await
}

impl Worker {
    /// Binds `bind` (port 0 picks a free one), serves gRPC health there, registers
    /// [`TOPIC`] -> `ip:port` in the registry at `url` and starts heartbeating.
    pub async fn start(url: &str, ttl: Duration, bind: SocketAddr) -> Result<Worker, AnyError> {
        let (ready_tx, ready) = oneshot::channel();
        let (end, end_rx) = oneshot::channel();
        let (done_tx, done) = oneshot::channel();
        let url = url.to_owned();
        std::thread::Builder::new()
            .name("worker".into())
            .spawn(move || {
                let outcome = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(run(url, ttl, bind, ready_tx, end_rx)),
                    Err(error) => Err(error.into()),
                };
                // The runtime is gone here: every task of this worker has been dropped.
                let _ = done_tx.send(outcome);
            })?;
        let host = ready.await.map_err(|_| "worker thread ended early")??;
        Ok(Worker { host, end, done })
    }

    /// Dies without saying goodbye, like `kill -9`: its server, connections and heartbeat
    /// stop, its registration stays until its TTL runs out.
    pub async fn kill(self) -> Result<(), AnyError> {
        let _ = self.end.send(Ending::Kill);
        self.done.await.map_err(|_| "worker thread panicked")?
    }

    /// Stops cleanly: drains (its registration is gone from every other process's lookups
    /// when this returns), then stops serving.
    pub async fn stop(self) -> Result<(), AnyError> {
        let _ = self.end.send(Ending::Drain);
        self.done.await.map_err(|_| "worker thread panicked")?
    }
}

async fn run(
    url: String,
    ttl: Duration,
    bind: SocketAddr,
    ready: oneshot::Sender<Result<String, AnyError>>,
    end: oneshot::Receiver<Ending>,
) -> Result<(), AnyError> {
    let started = async {
        let registry = connect(&url, ttl).await?;
        let incoming = TcpIncoming::bind(bind)?;
        let host = incoming.local_addr()?.to_string();
        let server = tokio::spawn(serve(incoming, HeaderValue::from_str(&host)?));
        registry.register(TOPIC, &host).await?;
        registry.start_heartbeat()?;
        Ok::<_, AnyError>((registry, server, host))
    };
    let (registry, server, host) = match started.await {
        Ok(started) => started,
        Err(error) => {
            let _ = ready.send(Err(error));
            return Ok(());
        }
    };
    let _ = ready.send(Ok(host));
    // A dropped handle counts as a kill.
    match end.await.unwrap_or(Ending::Kill) {
        Ending::Kill => Ok(()),
        Ending::Drain => {
            let drained = registry.drain(DRAIN_TIMEOUT).await;
            server.abort();
            Ok(drained?)
        }
    }
}

/// Serves the gRPC health service (`grpc.health.v1.Health`, always SERVING) and adds the
/// worker's name to every response.
async fn serve(incoming: TcpIncoming, name: HeaderValue) {
    let (_reporter, health) = tonic_health::server::health_reporter();
    let name_responses = MapResponseLayer::new(move |mut response: Response<_>| {
        response.headers_mut().insert(WORKER_HEADER, name.clone());
        response
    });
    let served = Server::builder()
        .layer(name_responses)
        .serve_with_incoming(health, incoming)
        .await;
    if let Err(error) = served {
        eprintln!("worker: gRPC server failed: {error}");
    }
}
