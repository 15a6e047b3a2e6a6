//! Building the etcd client from an [`EtcdConfig`].

use std::sync::Arc;
use std::time::Duration;

use etcd_client::{Certificate, Client, ConnectOptions, Identity, TlsOptions};
use matchmaker_core::{Error, Result};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::config::{EtcdConfig, EtcdTls};
use crate::members::{connect_to_live_members, member_url};

/// HTTP/2 pings detect a dead connection that sends no RST (etcd refuses pings more often
/// than every 5 s by default).
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects (and authenticates, when a user is configured) through the members that answer
/// with a leader; with several endpoints, also returns the task that keeps the client's
/// balancer to the live members (see [`crate::members`]).
///
/// One client serves the whole backend: its channel reconnects by itself for unary calls
/// after etcd restarts; only the streams (watch, keep-alive) must be re-opened.
///
/// `recovered` is notified when members come back (see [`connect_to_live_members`]).
pub(crate) async fn connect_client(
    config: &EtcdConfig,
    recovered: Arc<Notify>,
) -> Result<(Client, Option<JoinHandle<()>>)> {
    let mut options = ConnectOptions::new()
        .with_connect_timeout(config.connect_timeout)
        .with_timeout(config.request_timeout)
        .with_keep_alive(KEEP_ALIVE_INTERVAL, KEEP_ALIVE_TIMEOUT)
        // A member cut off from the leader fails requests (and watches) instead of
        // silently serving an old view: the watch loop then reconnects.
        .with_require_leader(true);
    if let Some(user) = &config.user {
        let password = config.password.clone().unwrap_or_default();
        // Tokens expire (5 min by default) and die with an etcd restart: refresh them.
        options = options
            .with_user(user.clone(), password)
            .with_auto_token_refresh(true);
    }
    if let Some(tls) = &config.tls {
        options = options.with_tls(tls_options(tls)?);
    }
    let urls: Vec<String> = config
        .endpoints
        .iter()
        .map(|endpoint| member_url(endpoint.trim(), config.tls.is_some()))
        .collect();
    connect_to_live_members(&urls, options, config.connect_timeout, recovered).await
}

fn tls_options(tls: &EtcdTls) -> Result<TlsOptions> {
    let mut options = TlsOptions::new();
    if let Some(ca) = &tls.ca {
        options = options.ca_certificate(Certificate::from_pem(read(ca)?));
    }
    if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
        options = options.identity(Identity::from_pem(read(cert)?, read(key)?));
    }
    if let Some(domain) = &tls.domain {
        options = options.domain_name(domain.clone());
    }
    Ok(options)
}

fn read(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|error| Error::File {
        path: path.to_owned(),
        message: format!("cannot read TLS file: {error}"),
    })
}
