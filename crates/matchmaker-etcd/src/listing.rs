//! Listing the prefix in pages at one pinned revision, so no single response has to fit in
//! gRPC's 4 MiB message limit (one Range of 25k registrations did not: "decoded message length
//! too large") and the whole listing is one consistent snapshot. Pages are sized by
//! [`crate::paging`].

use etcd_client::{Client, GetOptions, KeyValue};
use matchmaker_core::Result;

use crate::cache::CachedEntry;
use crate::errors::{from_client, is_compacted, is_too_large, BACKEND};
use crate::naming::{foreign_key, KeySpace};
use crate::paging::{self, FIRST_PAGE_KEYS, PAGE_BYTES};
use crate::wire::RegistrationRecord;

/// How many times a listing starts over when etcd compacted its pinned revision meanwhile.
const COMPACTED_RETRIES: usize = 3;

/// Every registration under the prefix: `(entries, revision of the listing)`.
pub(crate) async fn list_prefix(
    client: &Client,
    keys: &KeySpace,
) -> Result<(Vec<(String, String, CachedEntry)>, i64)> {
    list_in_pages_of(client, keys, FIRST_PAGE_KEYS, PAGE_BYTES).await
}

/// [`list_prefix`] in pages of about `page_bytes` after a first of `first_page_keys`, starting
/// over (a few times) when etcd compacted the pinned revision between two pages.
async fn list_in_pages_of(
    client: &Client,
    keys: &KeySpace,
    first_page_keys: i64,
    page_bytes: usize,
) -> Result<(Vec<(String, String, CachedEntry)>, i64)> {
    let mut attempt = 0;
    loop {
        match list_pages(client, keys, first_page_keys, page_bytes).await {
            Err(error) if is_compacted(&error) && attempt < COMPACTED_RETRIES => {
                attempt += 1;
                tracing::debug!(backend = BACKEND, %error, "listing outlived its revision; starting over");
            }
            Err(error) => return Err(from_client(error)),
            Ok(listed) => return Ok(listed),
        }
    }
}

/// Pages of about `page_bytes` after a first of `first_page_keys`: the first at the current
/// revision, the rest pinned to it.
async fn list_pages(
    client: &Client,
    keys: &KeySpace,
    first_page_keys: i64,
    page_bytes: usize,
) -> std::result::Result<(Vec<(String, String, CachedEntry)>, i64), etcd_client::Error> {
    let prefix = keys.prefix().as_bytes().to_vec();
    let end = range_end(&prefix);
    let mut entries = Vec::new();
    let mut start = prefix;
    let (mut revision, mut page_keys) = (0, first_page_keys);
    loop {
        let mut options = GetOptions::new()
            .with_range(end.clone())
            .with_limit(page_keys);
        if revision != 0 {
            options = options.with_revision(revision);
        }
        let response = match client.clone().get(start.clone(), Some(options)).await {
            Err(error) if is_too_large(&error) => match paging::smaller_page(page_keys) {
                // The same page again, half as long.
                Some(smaller) => {
                    page_keys = smaller;
                    continue;
                }
                None => return Err(error),
            },
            outcome => outcome?,
        };
        if revision == 0 {
            revision = response.header().map_or(0, |header| header.revision());
        }
        let kvs = response.kvs();
        entries.extend(kvs.iter().filter_map(|kv| decode(keys, kv)));
        page_keys = paging::next_page_keys(kvs, page_bytes);
        match kvs.last() {
            Some(last) if response.more() => {
                // The next page starts just after the last key of this one.
                start = last.key().to_vec();
                start.push(0);
            }
            _ => return Ok((entries, revision)),
        }
    }
}

/// The end of the range of keys that start with `prefix` (the prefix with its last byte below
/// 0xff incremented, as etcd's `WithPrefix` does).
fn range_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte was 0xff: everything from the prefix on ("\0" means "to the end").
    vec![0]
}

pub(crate) fn decode(keys: &KeySpace, kv: &KeyValue) -> Option<(String, String, CachedEntry)> {
    let Some((topic, host)) = keys.parse(kv.key()) else {
        tracing::debug!(error = %foreign_key(kv.key()), "skipping a foreign key");
        return None;
    };
    let record = RegistrationRecord::parse(kv.value());
    let (instance, metadata) = match record {
        Some(record) => (
            Some(std::sync::Arc::from(record.instance)),
            record
                .metadata
                .filter(|metadata| !metadata.is_empty())
                .map(std::sync::Arc::new),
        ),
        None => (None, None),
    };
    let entry = CachedEntry {
        lease: kv.lease(),
        instance,
        mod_revision: kv.mod_revision(),
        metadata,
    };
    Some((topic, host, entry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_etcd::{delete_prefix, shared_etcd_and_new_prefix};

    /// Against the shared etcd: pages of one key each (the first of one, the rest aiming at one
    /// byte) list all 10 keys of the prefix, at the revision of the first page, and nothing
    /// outside it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pages_list_every_key_at_one_revision() {
        let Some((mut client, keys, prefix)) = shared_etcd_and_new_prefix("pages").await else {
            return;
        };
        for index in 0..10 {
            let host = format!("h{index}");
            client.put(keys.key("t", &host), "{}", None).await.unwrap();
        }
        // Right after the prefix's range end: must not be listed.
        let outside = format!("{}0", prefix.trim_end_matches('/'));
        client.put(outside.clone(), "x", None).await.unwrap();
        let written = client
            .get("x", None)
            .await
            .unwrap()
            .header()
            .unwrap()
            .revision();

        // Other tests compact the shared etcd: the listing starts over then, as it does in use.
        let (entries, revision) = list_in_pages_of(&client, &keys, 1, 1).await.unwrap();
        assert_eq!(entries.len(), 10);
        assert!(revision >= written, "{revision} < {written}");
        let mut hosts: Vec<&str> = entries.iter().map(|(_, host, _)| host.as_str()).collect();
        hosts.sort();
        assert_eq!(
            hosts,
            ["h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9"]
        );

        delete_prefix(&mut client, &prefix).await;
        client.delete(outside, None).await.unwrap();
    }

    /// Against the shared etcd: 200 keys of 30 KB each (6 MB) do not fit in one 4 MiB response,
    /// nor in pages of 1000, 500 or 250; the listing asks again with half the page until one
    /// fits, sizes the rest by their bytes, and lists them all.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_page_too_large_for_one_message_is_asked_again_half_as_long() {
        let Some((mut client, keys, prefix)) = shared_etcd_and_new_prefix("large").await else {
            return;
        };
        let value = "x".repeat(30_000);
        for index in 0..200 {
            let key = keys.key("t", &format!("h{index:03}"));
            client.put(key, value.as_str(), None).await.unwrap();
        }

        let listed = list_prefix(&client, &keys).await;
        delete_prefix(&mut client, &prefix).await;
        let (entries, _) = listed.expect("lists keys too large for one response");
        assert_eq!(entries.len(), 200);
    }

    #[test]
    fn the_range_end_is_the_prefix_with_its_last_byte_incremented() {
        assert_eq!(range_end(b"/mm/"), b"/mm0".to_vec());
        assert_eq!(range_end(b"a\xff"), b"b".to_vec());
        assert_eq!(range_end(b"\xff\xff"), vec![0]);
    }
}
