//! The watcher against a real etcd (`MATCHMAKER_ETCD_ENDPOINTS`): a compacted start revision.

use std::time::Duration;

use super::PrefixWatcher;
use crate::cache::RegistrationCache;
use crate::test_etcd::shared_etcd_and_new_prefix;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_from_a_compacted_revision_re_lists_the_prefix_and_resumes() {
    let Some((mut client, keys, prefix)) = shared_etcd_and_new_prefix("compacted").await else {
        return;
    };
    client
        .put(keys.key("t", "before"), "{}", None)
        .await
        .unwrap();
    // A later write outside the prefix, then compaction up to it: the put of "before" is no
    // longer in the history, so no watch event can ever deliver it.
    let outside = format!("{}-outside", prefix.trim_end_matches('/'));
    let put = client.put(outside.clone(), "x", None).await.unwrap();
    let revision = put.header().unwrap().revision();
    client.compact(revision, None).await.unwrap();

    // Start watching from revision 1, long compacted: etcd cancels the watch, and the watcher
    // must re-list (the cache starts empty, so only a re-list can bring "before" in).
    let cache = RegistrationCache::new();
    let watcher = PrefixWatcher {
        client: client.clone(),
        keys: keys.clone(),
        cache: cache.clone(),
        recovered: Default::default(),
    };
    let task = tokio::spawn(watcher.run(1));
    let mut recovered = false;
    for _ in 0..100 {
        if cache.hosts("t") == ["before"] && cache.status().connected {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        recovered,
        "no re-list after the compacted watch: {:?}",
        cache.status()
    );

    // And the new watch delivers later changes.
    client
        .put(keys.key("t", "after"), "{}", None)
        .await
        .unwrap();
    let mut followed = false;
    for _ in 0..100 {
        if cache.hosts("t") == ["after", "before"] {
            followed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(followed, "the re-established watch missed a put");
    task.abort();
    let options = etcd_client::DeleteOptions::new().with_prefix();
    let _ = client.delete(prefix, Some(options)).await;
    let _ = client.delete(outside, None).await;
}
