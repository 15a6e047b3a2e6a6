//! `Discovery` against a real memory registry (some tests through `support::Faulty`), on
//! tokio's paused clock so TTLs and backoff take no wall time.

mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use matchmaker_core::{Error, MatchMaker, Metadata, Registry};
use matchmaker_memory::MemoryRegistry;
use matchmaker_tower::{Backoff, Change, Discovery, Member};
use support::{member_of, Faulty, TOPIC};
use tokio::time::{timeout, Instant};

/// The service each test makes: the member it was made for.
fn discover(registry: Arc<dyn Registry>) -> Discovery<Member> {
    Discovery::new(registry, TOPIC, Member::clone).unwrap()
}

/// The next change, as `+host` / `-host`, checking the member handed to `make`.
async fn next(discovery: &mut Discovery<Member>) -> String {
    let change = timeout(Duration::from_secs(30), discovery.next())
        .await
        .expect("no change within 30 s")
        .expect("the stream ended")
        .expect("an error item");
    match change {
        Change::Insert(host, member) => {
            assert_eq!(member, Member::new(TOPIC, host.clone()));
            format!("+{host}")
        }
        Change::Remove(host) => format!("-{host}"),
    }
}

/// Panics if a change comes within `within`.
async fn quiet(discovery: &mut Discovery<Member>, within: Duration) {
    if let Ok(item) = timeout(within, discovery.next()).await {
        let item = item.map(|item| item.map(|change| format!("{change:?}")));
        panic!("expected no change, got {item:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn starts_with_a_snapshot_of_the_hosts_already_registered() {
    let registry = MemoryRegistry::new();
    let worker = member_of(&registry);
    worker.register(TOPIC, "10.0.0.2:7000").await.unwrap();
    worker.register(TOPIC, "10.0.0.1:7000").await.unwrap();
    worker.register("other", "10.0.0.3:7000").await.unwrap();
    let mut discovery = discover(member_of(&registry));
    assert_eq!(next(&mut discovery).await, "+10.0.0.1:7000");
    assert_eq!(next(&mut discovery).await, "+10.0.0.2:7000");
    quiet(&mut discovery, Duration::from_secs(1)).await;
}

/// `zone=<zone>` as registration metadata.
fn zone(zone: &str) -> Metadata {
    Metadata::from([("zone".to_owned(), zone.to_owned())])
}

/// The member of the next insertion.
async fn next_member(discovery: &mut Discovery<Member>) -> Member {
    match timeout(Duration::from_secs(30), discovery.next()).await {
        Ok(Some(Ok(Change::Insert(_, member)))) => member,
        other => panic!(
            "expected an insertion, got {:?}",
            other.map(|item| item.map(|change| change.map(|change| format!("{change:?}"))))
        ),
    }
}

#[tokio::test(start_paused = true)]
async fn the_member_carries_the_metadata_of_a_host_already_registered() {
    let registry = MemoryRegistry::new();
    let worker = member_of(&registry);
    worker
        .register_with(TOPIC, "10.0.0.1:7000", zone("eu-1a"))
        .await
        .unwrap();
    let mut discovery = discover(member_of(&registry));
    let member = next_member(&mut discovery).await;
    assert_eq!(
        member,
        Member::new(TOPIC, "10.0.0.1:7000").with_metadata(Arc::new(zone("eu-1a")))
    );
}

#[tokio::test(start_paused = true)]
async fn the_member_carries_the_metadata_of_a_host_that_joins() {
    let registry = MemoryRegistry::new();
    let mut discovery = discover(member_of(&registry));
    quiet(&mut discovery, Duration::from_millis(100)).await;
    member_of(&registry)
        .register_with(TOPIC, "10.0.0.1:7000", zone("eu-1b"))
        .await
        .unwrap();
    let member = next_member(&mut discovery).await;
    assert_eq!(member.host, "10.0.0.1:7000");
    assert_eq!(*member.metadata, zone("eu-1b"));
}

#[tokio::test(start_paused = true)]
async fn inserts_a_host_when_it_joins() {
    let registry = MemoryRegistry::new();
    let mut discovery = discover(member_of(&registry));
    quiet(&mut discovery, Duration::from_millis(100)).await;
    member_of(&registry)
        .register(TOPIC, "10.0.0.1:7000")
        .await
        .unwrap();
    assert_eq!(next(&mut discovery).await, "+10.0.0.1:7000");
}

#[tokio::test(start_paused = true)]
async fn removes_a_host_when_it_leaves() {
    let registry = MemoryRegistry::new();
    let worker = member_of(&registry);
    worker.register(TOPIC, "10.0.0.1:7000").await.unwrap();
    let mut discovery = discover(member_of(&registry));
    assert_eq!(next(&mut discovery).await, "+10.0.0.1:7000");
    worker.unregister(TOPIC, "10.0.0.1:7000").await.unwrap();
    assert_eq!(next(&mut discovery).await, "-10.0.0.1:7000");
}

#[tokio::test(start_paused = true)]
async fn removes_a_host_whose_registration_expires() {
    let registry = MemoryRegistry::new();
    let worker = member_of(&registry);
    // Registered, never heartbeated: it expires one TTL (2 s) from now.
    worker.register(TOPIC, "10.0.0.1:7000").await.unwrap();
    let started = Instant::now();
    let mut discovery = discover(member_of(&registry));
    assert_eq!(next(&mut discovery).await, "+10.0.0.1:7000");
    assert_eq!(next(&mut discovery).await, "-10.0.0.1:7000");
    let after = started.elapsed();
    assert!(
        after >= Duration::from_secs(2) && after < Duration::from_secs(3),
        "{after:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_join_between_subscribing_and_the_first_poll_is_inserted_once() {
    let registry = MemoryRegistry::new();
    let worker = member_of(&registry);
    worker.register(TOPIC, "10.0.0.1:7000").await.unwrap();
    let mut discovery = discover(Faulty::new(&registry));
    // After the subscription, before the snapshot is read: in the snapshot, not repeated.
    worker.register(TOPIC, "10.0.0.2:7000").await.unwrap();
    assert_eq!(next(&mut discovery).await, "+10.0.0.1:7000");
    assert_eq!(next(&mut discovery).await, "+10.0.0.2:7000");
    quiet(&mut discovery, Duration::from_millis(500)).await;
    // Still tracked exactly once: its leave is one removal.
    worker.unregister(TOPIC, "10.0.0.2:7000").await.unwrap();
    assert_eq!(next(&mut discovery).await, "-10.0.0.2:7000");
}

#[tokio::test(start_paused = true)]
async fn a_leave_between_subscribing_and_the_first_poll_removes_nothing_never_inserted() {
    let registry = MemoryRegistry::new();
    let worker = member_of(&registry);
    worker.register(TOPIC, "10.0.0.1:7000").await.unwrap();
    worker.register(TOPIC, "10.0.0.2:7000").await.unwrap();
    let mut discovery = discover(Faulty::new(&registry));
    worker.unregister(TOPIC, "10.0.0.2:7000").await.unwrap();
    assert_eq!(next(&mut discovery).await, "+10.0.0.1:7000");
    quiet(&mut discovery, Duration::from_millis(500)).await;
    worker.register(TOPIC, "10.0.0.2:7000").await.unwrap();
    assert_eq!(next(&mut discovery).await, "+10.0.0.2:7000");
}

#[tokio::test(start_paused = true)]
async fn a_lagging_stream_is_reconciled_with_its_fresh_snapshot() {
    let registry = MemoryRegistry::new();
    let worker = member_of(&registry);
    worker.register(TOPIC, "10.0.0.1:7000").await.unwrap();
    let mut discovery = discover(Faulty::new(&registry));
    assert_eq!(next(&mut discovery).await, "+10.0.0.1:7000");
    // While the balancer does not poll: 10.0.0.1 leaves, 10.0.0.2 joins, and more events
    // than a subscriber may fall behind (of another topic) overflow the stream.
    worker.unregister(TOPIC, "10.0.0.1:7000").await.unwrap();
    worker.register(TOPIC, "10.0.0.2:7000").await.unwrap();
    let noise: Vec<String> = (0..matchmaker_core::SUBSCRIBER_BUFFER + 10)
        .map(|n| format!("10.1.{}.{}:7000", n / 256, n % 256))
        .collect();
    let pairs: Vec<(&str, &str)> = noise.iter().map(|host| ("noise", host.as_str())).collect();
    worker.register_many(&pairs).await.unwrap();
    assert_eq!(next(&mut discovery).await, "-10.0.0.1:7000");
    assert_eq!(next(&mut discovery).await, "+10.0.0.2:7000");
    quiet(&mut discovery, Duration::from_millis(500)).await;
}

#[tokio::test(start_paused = true)]
async fn a_second_registration_of_an_inserted_host_inserts_nothing() {
    let registry = MemoryRegistry::new();
    member_of(&registry)
        .register(TOPIC, "10.0.0.1:7000")
        .await
        .unwrap();
    let mut discovery = discover(member_of(&registry));
    assert_eq!(next(&mut discovery).await, "+10.0.0.1:7000");
    // Another process registers the same host: the registry reports a join, the set has it.
    member_of(&registry)
        .register(TOPIC, "10.0.0.1:7000")
        .await
        .unwrap();
    quiet(&mut discovery, Duration::from_millis(500)).await;
}

#[tokio::test(start_paused = true)]
async fn a_failing_resubscription_is_retried_with_backoff_and_removes_nothing_meanwhile() {
    let registry = MemoryRegistry::new();
    let worker = member_of(&registry);
    worker.register(TOPIC, "10.0.0.1:7000").await.unwrap();
    worker.register(TOPIC, "10.0.0.2:7000").await.unwrap();
    // The backoff below takes up to 1.9 s of the 2 s TTL: heartbeats keep 10.0.0.1 alive
    // through it and the quiet check after it.
    worker.start_heartbeat().unwrap();
    let client = Faulty::new(&registry);
    let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
    let mut discovery = discover(client.clone()).with_backoff(backoff);
    assert_eq!(next(&mut discovery).await, "+10.0.0.1:7000");
    assert_eq!(next(&mut discovery).await, "+10.0.0.2:7000");
    // The stream ends and the next three subscriptions fail, while 10.0.0.2 leaves.
    client.failing_subscribes.store(3, Ordering::SeqCst);
    client.pause_streams();
    worker.unregister(TOPIC, "10.0.0.2:7000").await.unwrap();
    let started = Instant::now();
    client.end_streams();
    // The first change is the leave the new stream's snapshot shows: nothing was removed
    // because of the failures, and 10.0.0.1 stays.
    assert_eq!(next(&mut discovery).await, "-10.0.0.2:7000");
    assert_eq!(client.subscribes.load(Ordering::SeqCst), 1 + 4);
    // One backoff after the end, three after the failures: 100 + 200 + 400 + 800 ms, each
    // within -25 % .. +25 % jitter.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1125) && waited <= Duration::from_millis(1875),
        "{waited:?}"
    );
    quiet(&mut discovery, Duration::from_millis(500)).await;
}

#[tokio::test(start_paused = true)]
async fn while_the_registry_is_unreachable_no_host_is_removed() {
    let registry = MemoryRegistry::new();
    let worker = member_of(&registry);
    worker.register(TOPIC, "10.0.0.1:7000").await.unwrap();
    worker.register(TOPIC, "10.0.0.2:7000").await.unwrap();
    let client = Faulty::new(&registry);
    let mut discovery = discover(client.clone());
    assert_eq!(next(&mut discovery).await, "+10.0.0.1:7000");
    assert_eq!(next(&mut discovery).await, "+10.0.0.2:7000");
    // The stream pauses, like a watch on a server that stopped answering, while one host
    // leaves and the other's registration expires. Nothing is removed.
    client.pause_streams();
    worker.unregister(TOPIC, "10.0.0.2:7000").await.unwrap();
    quiet(&mut discovery, Duration::from_secs(10)).await;
    assert!(!worker.is_alive(TOPIC, "10.0.0.1:7000").await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn an_ended_membership_stream_is_subscribed_again_and_the_difference_applied() {
    let registry = MemoryRegistry::new();
    let worker = member_of(&registry);
    worker.register(TOPIC, "10.0.0.1:7000").await.unwrap();
    worker.register(TOPIC, "10.0.0.2:7000").await.unwrap();
    let client = Faulty::new(&registry);
    let mut discovery = discover(client.clone());
    assert_eq!(next(&mut discovery).await, "+10.0.0.1:7000");
    assert_eq!(next(&mut discovery).await, "+10.0.0.2:7000");
    // Events lost while no stream is open: 10.0.0.2 leaves, 10.0.0.3 joins.
    client.pause_streams();
    worker.unregister(TOPIC, "10.0.0.2:7000").await.unwrap();
    worker.register(TOPIC, "10.0.0.3:7000").await.unwrap();
    client.end_streams();
    assert_eq!(next(&mut discovery).await, "-10.0.0.2:7000");
    assert_eq!(next(&mut discovery).await, "+10.0.0.3:7000");
    assert_eq!(client.subscribes.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_permanent_subscription_error_is_yielded_once_then_the_stream_ends() {
    let registry = MemoryRegistry::new();
    let client = Faulty::new(&registry);
    let mut discovery = discover(client.clone());
    quiet(&mut discovery, Duration::from_millis(100)).await;
    client.refuse_subscribes.store(true, Ordering::SeqCst);
    client.end_streams();
    let item = discovery.next().await.expect("an item");
    assert!(matches!(item, Err(Error::Unauthorized { .. })), "{item:?}");
    assert!(discovery.next().await.is_none());
    assert!(discovery.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn an_invalid_topic_is_rejected_at_once() {
    let registry = MemoryRegistry::new();
    for topic in ["", "fanout~echo", "a..b", "evil\u{202e}"] {
        let error = Discovery::new(member_of(&registry), topic, Member::clone).unwrap_err();
        assert!(
            matches!(error, Error::InvalidKey { .. }),
            "{topic:?}: {error}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_drops_its_subscription() {
    let registry = MemoryRegistry::new();
    let client = Faulty::new(&registry);
    // Dropped before its first poll.
    drop(discover(client.clone()));
    assert_eq!(client.live_subscriptions.load(Ordering::SeqCst), 0);
    // Dropped while waiting for events.
    let mut discovery = discover(client.clone());
    quiet(&mut discovery, Duration::from_millis(100)).await;
    assert_eq!(client.live_subscriptions.load(Ordering::SeqCst), 1);
    drop(discovery);
    assert_eq!(client.live_subscriptions.load(Ordering::SeqCst), 0);
    // Dropped in a backoff sleep between failed subscriptions.
    let mut discovery = discover(client.clone());
    quiet(&mut discovery, Duration::from_millis(100)).await;
    client
        .failing_subscribes
        .store(usize::MAX, Ordering::SeqCst);
    let before = client.subscribes.load(Ordering::SeqCst);
    client.end_streams();
    quiet(&mut discovery, Duration::from_secs(2)).await;
    assert!(client.subscribes.load(Ordering::SeqCst) >= before + 2);
    drop(discovery);
    assert_eq!(client.live_subscriptions.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_p2c_balancer_spreads_calls_over_the_hosts_and_stops_calling_a_removed_one() {
    use std::collections::BTreeMap;
    use std::convert::Infallible;
    use tower::{balance::p2c::Balance, load::Constant, service_fn, Service, ServiceExt};

    let registry = MemoryRegistry::new();
    let worker = member_of(&registry);
    for host in ["10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"] {
        worker.register(TOPIC, host).await.unwrap();
    }
    let client: Arc<dyn Registry> = member_of(&registry);
    let discovery = Discovery::new(client, TOPIC, |member: &Member| {
        let host = member.host.clone();
        let answer = move |_: ()| {
            let host = host.clone();
            async move { Ok::<_, Infallible>(host) }
        };
        Constant::new(service_fn(answer), 0)
    })
    .unwrap();
    let mut balance = Balance::new(discovery);
    let mut answered = BTreeMap::<String, usize>::new();
    for _ in 0..300 {
        let host = balance.ready().await.unwrap().call(()).await.unwrap();
        *answered.entry(host).or_default() += 1;
    }
    assert_eq!(answered.len(), 3, "{answered:?}");
    assert!(answered.values().all(|&count| count >= 50), "{answered:?}");

    worker.unregister(TOPIC, "10.0.0.3:7000").await.unwrap();
    let mut after = BTreeMap::<String, usize>::new();
    for _ in 0..300 {
        let host = balance.ready().await.unwrap().call(()).await.unwrap();
        *after.entry(host).or_default() += 1;
    }
    assert!(!after.contains_key("10.0.0.3:7000"), "{after:?}");
    assert_eq!(after.len(), 2, "{after:?}");
}
