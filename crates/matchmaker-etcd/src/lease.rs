//! `LeaseKeeper`: this process's one lease and its long-lived keep-alive stream.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use etcd_client::{Client, LeaseKeepAliveStream};
use matchmaker_core::Result;
use tokio::sync::Mutex;

use crate::errors::{from_client, is_lease_not_found, unavailable};

/// What one keep-alive found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeepAlive {
    /// The lease is alive and its countdown restarted.
    Alive,
    /// The lease with this id is gone (expired, revoked, or etcd lost its data).
    Lost(i64),
}

struct Stream {
    sender: etcd_client::LeaseKeeper,
    responses: LeaseKeepAliveStream,
}

struct State {
    /// The lease id; 0 until the first write needs one (etcd never grants id 0).
    id: i64,
    /// When the last keep-alive that found the lease alive was sent: it serves every caller
    /// that asked before that moment.
    last_alive_sent: Option<tokio::time::Instant>,
    /// The keep-alive stream; `None` until first used and after it broke.
    stream: Option<Stream>,
}

/// Owns the lease every key of this process is attached to, granted by the first write that
/// needs it: a process that only looks up never holds a lease.
///
/// Keep-alives go over ONE stream that stays open between heartbeats; a broken stream
/// (etcd restarted, connection lost) is re-opened by the next keep-alive.
pub(crate) struct LeaseKeeper {
    client: Client,
    ttl_seconds: i64,
    timeout: Duration,
    state: Mutex<State>,
    current: AtomicI64,
}

impl LeaseKeeper {
    /// A keeper of leases of `ttl_seconds`; none is granted yet.
    pub(crate) fn new(client: Client, ttl_seconds: i64, timeout: Duration) -> Self {
        LeaseKeeper {
            client,
            ttl_seconds,
            timeout,
            state: Mutex::new(State {
                id: 0,
                last_alive_sent: None,
                stream: None,
            }),
            current: AtomicI64::new(0),
        }
    }

    /// The current lease id; 0 while none was needed yet.
    pub(crate) fn id(&self) -> i64 {
        self.current.load(Ordering::Acquire)
    }

    /// The current lease id, granting the first lease now if there is none yet.
    pub(crate) async fn id_or_grant(&self) -> Result<i64> {
        let current = self.id();
        if current != 0 {
            return Ok(current);
        }
        let mut state = self.state.lock().await;
        if state.id == 0 {
            state.id = grant(&self.client, self.ttl_seconds).await?;
            self.current.store(state.id, Ordering::Release);
        }
        Ok(state.id)
    }

    /// Sends ONE keep-alive and reads its answer; re-opens the stream once if it broke.
    ///
    /// Cancellation: dropping the future mid-way drops the stream too (it is re-opened by the
    /// next call), so no stale answer is ever read.
    pub(crate) async fn keep_alive(&self) -> Result<KeepAlive> {
        let asked = tokio::time::Instant::now();
        let mut state = self.state.lock().await;
        let id = state.id;
        if id == 0 {
            // No lease yet means no key of ours to keep alive.
            return Ok(KeepAlive::Alive);
        }
        // Concurrent callers share one keep-alive: one sent after this call began restarted
        // the lease's countdown after everything this caller wrote before asking.
        if state.last_alive_sent.is_some_and(|sent| sent >= asked) {
            return Ok(KeepAlive::Alive);
        }
        let started = tokio::time::Instant::now();
        let alive = self.send_keep_alive(&mut state, id, started).await;
        if matches!(alive, Ok(KeepAlive::Alive)) {
            state.last_alive_sent = Some(started);
        }
        alive
    }

    /// One keep-alive exchange over the stream (re-opened once if it broke).
    async fn send_keep_alive(
        &self,
        state: &mut State,
        id: i64,
        started: tokio::time::Instant,
    ) -> Result<KeepAlive> {
        if let Some(mut stream) = state.stream.take() {
            let exchange = async {
                stream.sender.keep_alive().await?;
                stream.responses.message().await
            };
            // A stream to a member that died (or whose leader did) hangs: give it a share of
            // the budget and re-open the stream with the rest (see `retry`).
            let first_attempt = crate::retry::first_attempt(self.timeout);
            match tokio::time::timeout(first_attempt, exchange).await {
                Ok(Ok(Some(answer))) if answer.ttl() > 0 => {
                    state.stream = Some(stream);
                    return Ok(KeepAlive::Alive);
                }
                Ok(Ok(Some(_))) => return Ok(KeepAlive::Lost(id)),
                Ok(Ok(None)) | Ok(Err(_)) | Err(_) => {
                    tracing::debug!(lease = id, "keep-alive stream broke; re-opening it");
                }
            }
        }
        // Opening the stream sends a keep-alive and waits for its answer.
        let mut client = self.client.clone();
        let left = self.timeout.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, client.lease_keep_alive(id)).await {
            Err(_) => Err(unavailable(
                "etcd did not answer the lease keep-alive in time",
            )),
            Ok(Ok((sender, responses))) => {
                state.stream = Some(Stream { sender, responses });
                Ok(KeepAlive::Alive)
            }
            Ok(Err(error)) if is_lease_not_found(&error) => Ok(KeepAlive::Lost(id)),
            Ok(Err(error)) => Err(from_client(error)),
        }
    }

    /// Replaces the lost lease `lost` with a new one. Returns `Some(new id)` if this call
    /// replaced it, `None` if another caller already had (nothing to re-put then).
    pub(crate) async fn replace(&self, lost: i64) -> Result<Option<i64>> {
        let mut state = self.state.lock().await;
        if state.id != lost {
            return Ok(None);
        }
        let id = grant(&self.client, self.ttl_seconds).await?;
        state.id = id;
        state.stream = None;
        state.last_alive_sent = None;
        self.current.store(id, Ordering::Release);
        Ok(Some(id))
    }

    /// Revokes the lease, deleting every key attached to it, and forgets it: the next write
    /// grants a new one. A lease etcd no longer knows counts as revoked.
    pub(crate) async fn revoke_and_forget(&self) -> Result<()> {
        let mut state = self.state.lock().await;
        if state.id != 0 {
            let outcome = self.client.clone().lease_revoke(state.id).await;
            match outcome {
                Ok(_) => {}
                Err(error) if is_lease_not_found(&error) => {}
                Err(error) => return Err(from_client(error)),
            }
        }
        state.id = 0;
        state.stream = None;
        state.last_alive_sent = None;
        self.current.store(0, Ordering::Release);
        Ok(())
    }

    /// Revokes the lease (best effort), deleting every key attached to it; nothing to do when
    /// none was granted.
    pub(crate) async fn revoke(&self) -> Result<()> {
        let id = self.id();
        if id == 0 {
            return Ok(());
        }
        self.client
            .clone()
            .lease_revoke(id)
            .await
            .map(drop)
            .map_err(from_client)
    }
}

async fn grant(client: &Client, ttl_seconds: i64) -> Result<i64> {
    let granted = client
        .clone()
        .lease_grant(ttl_seconds, None)
        .await
        .map_err(from_client)?;
    tracing::debug!(
        lease = granted.id(),
        ttl = granted.ttl(),
        "etcd lease granted"
    );
    Ok(granted.id())
}
