//! For unit tests against the shared etcd (`MATCHMAKER_ETCD_ENDPOINTS`): a client and a new
//! prefix of their own.

use etcd_client::Client;

use crate::naming::KeySpace;

/// A client of the shared etcd and a new prefix under `/matchmaker-test/`; `None` (the test
/// skips, or fails where servers are required) without one.
pub(crate) async fn shared_etcd_and_new_prefix(test: &str) -> Option<(Client, KeySpace, String)> {
    let endpoints = matchmaker_testkit::etcd::shared_endpoints_or_skip(test)?;
    let prefix = format!("/matchmaker-test/{test}-{:016x}/", fastrand::u64(..));
    let keys = KeySpace::new(&prefix).unwrap();
    let client = Client::connect(&endpoints, None).await.unwrap();
    Some((client, keys, prefix))
}

/// Deletes every key under `prefix`.
pub(crate) async fn delete_prefix(client: &mut Client, prefix: &str) {
    let options = etcd_client::DeleteOptions::new().with_prefix();
    client.delete(prefix, Some(options)).await.unwrap();
}
