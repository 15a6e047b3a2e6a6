//! Talking only to the members that answer: etcd-client's balanced channel fails a share of
//! requests as long as any one of its endpoints refuses connections (etcdv3/etcd-client#39), so
//! the backend connects through the members that answer with a leader, and keeps the balancer
//! to the live members while it runs.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use etcd_client::{Client, ConnectOptions};
use futures_util::future::join_all;
use matchmaker_core::Result;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::errors::{from_client, unavailable};

/// How often the members are probed while the backend runs.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// One configured member and its own single-endpoint client for probes.
struct Member {
    url: String,
    probe: Option<Client>,
}

impl Member {
    /// Asks the member for its status; Ok when it answers and knows a leader.
    async fn probe(
        &mut self,
        options: &ConnectOptions,
        timeout: Duration,
    ) -> std::result::Result<(), String> {
        if self.probe.is_none() {
            let connect = Client::connect([self.url.as_str()], Some(options.clone()));
            match tokio::time::timeout(timeout, connect).await {
                Ok(Ok(client)) => self.probe = Some(client),
                Ok(Err(error)) => return Err(crate::errors::one_line(&error)),
                Err(_) => return Err(format!("no answer within {timeout:?}")),
            }
        }
        let Some(client) = self.probe.as_mut() else {
            return Err("no client".to_owned());
        };
        match tokio::time::timeout(timeout, client.status()).await {
            Ok(Ok(status)) if status.leader() != 0 => Ok(()),
            Ok(Ok(_)) => Err("it has no leader".to_owned()),
            Ok(Err(error)) => Err(crate::errors::one_line(&error)),
            Err(_) => Err(format!("no answer within {timeout:?}")),
        }
    }
}

/// A client over the members that answer, and the task that keeps it so (none for a single
/// endpoint, which has nothing to fall over to).
///
/// `recovered` is notified whenever members come back (into the balancer, or a leader
/// again after a quorum loss), so the watch can retry at once instead of at the end of its
/// backoff.
pub(crate) async fn connect_to_live_members(
    urls: &[String],
    options: ConnectOptions,
    probe_timeout: Duration,
    recovered: Arc<Notify>,
) -> Result<(Client, Option<JoinHandle<()>>)> {
    if urls.len() == 1 {
        let client = Client::connect(urls, Some(options))
            .await
            .map_err(from_client)?;
        return Ok((client, None));
    }
    let mut members: Vec<Member> = urls
        .iter()
        .map(|url| Member {
            url: url.clone(),
            probe: None,
        })
        .collect();
    let answers = join_all(
        members
            .iter_mut()
            .map(|member| member.probe(&options, probe_timeout)),
    )
    .await;
    let mut failures = Vec::new();
    let mut live = Vec::new();
    for (member, answer) in members.iter().zip(answers) {
        match answer {
            Ok(()) => live.push(member.url.clone()),
            Err(why) => failures.push(format!("{}: {why}", member.url)),
        }
    }
    if live.is_empty() {
        return Err(unavailable(format!(
            "no etcd member answered with a leader ({})",
            failures.join("; ")
        )));
    }
    if !failures.is_empty() {
        tracing::warn!(
            unreachable = %failures.join("; "),
            "some etcd members do not answer; using the others"
        );
    }
    let client = Client::connect(&live, Some(options.clone()))
        .await
        .map_err(from_client)?;
    let keeper = tokio::spawn(keep_live_members(
        client.clone(),
        members,
        live.into_iter().collect(),
        options,
        probe_timeout,
        recovered,
    ));
    Ok((client, Some(keeper)))
}

/// Every [`PROBE_INTERVAL`], adds members that answer again to the balancer and removes those
/// that stopped answering (never the last one), notifying `recovered` when members come
/// back. Runs until aborted.
async fn keep_live_members(
    client: Client,
    mut members: Vec<Member>,
    mut in_balancer: BTreeSet<String>,
    options: ConnectOptions,
    probe_timeout: Duration,
    recovered: Arc<Notify>,
) {
    let mut had_a_leader = true;
    loop {
        tokio::time::sleep(PROBE_INTERVAL).await;
        let answers = join_all(
            members
                .iter_mut()
                .map(|member| member.probe(&options, probe_timeout)),
        )
        .await;
        let live: BTreeSet<String> = members
            .iter()
            .zip(&answers)
            .filter(|(_, answer)| answer.is_ok())
            .map(|(member, _)| member.url.clone())
            .collect();
        let mut came_back = false;
        for url in live.difference(&in_balancer.clone()) {
            if client.add_endpoint(url).await.is_ok() {
                tracing::info!(member = %url, "etcd member answers again; sending requests to it");
                in_balancer.insert(url.clone());
                came_back = true;
            }
        }
        if live.is_empty() {
            // Nothing answers: keep the balancer as it is, the requests report the outage.
            had_a_leader = false;
            continue;
        }
        if came_back || !had_a_leader {
            tracing::info!("etcd members answer with a leader again");
            recovered.notify_one();
        }
        had_a_leader = true;
        let dead: Vec<String> = in_balancer.difference(&live).cloned().collect();
        for url in dead {
            if client.remove_endpoint(&url).await.is_ok() {
                tracing::warn!(member = %url, "etcd member stopped answering; sending requests to the others");
                in_balancer.remove(&url);
            }
        }
    }
}

/// `host:port` as a URL with the scheme the client will use, so the balancer's keys (which
/// `remove_endpoint` must match) are the same strings everywhere.
pub(crate) fn member_url(endpoint: &str, tls: bool) -> String {
    if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
        endpoint.to_owned()
    } else if tls {
        format!("https://{endpoint}")
    } else {
        format!("http://{endpoint}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_get_the_scheme_of_the_connection() {
        assert_eq!(member_url("127.0.0.1:2379", false), "http://127.0.0.1:2379");
        assert_eq!(member_url("h:1", true), "https://h:1");
        assert_eq!(member_url("https://h:1", false), "https://h:1");
    }

    #[tokio::test]
    async fn no_member_answering_is_unavailable_and_names_each_member() {
        let urls = vec![
            member_url("127.0.0.1:1", false),
            member_url("127.0.0.1:2", false),
        ];
        let options = ConnectOptions::new().with_connect_timeout(Duration::from_millis(200));
        let error =
            connect_to_live_members(&urls, options, Duration::from_millis(300), Arc::default())
                .await
                .err()
                .expect("nothing listens on ports 1 and 2");
        assert!(error.is_transient(), "{error}");
        let text = error.to_string();
        assert!(
            text.contains("127.0.0.1:1") && text.contains("127.0.0.1:2"),
            "{text}"
        );
    }
}
