//! Behaviour of the memory backend, one test per rule, on paused tokio time.

use std::time::Duration;

use futures_util::StreamExt;
use matchmaker_core::{
    Error, HeartbeatConfig, MatchMaker, MembershipEvent, MembershipStream, Route, Strategy,
};
use matchmaker_memory::{connect, MemoryBackend, MemoryMatchMaker, MemoryRegistry};
use tokio::time::{advance, timeout, Instant};

const TTL: Duration = Duration::from_secs(3);
const JUST_UNDER_TTL: Duration = Duration::from_millis(2_999);

fn host_on(registry: &MemoryRegistry) -> MemoryMatchMaker {
    connect(registry, HeartbeatConfig::with_ttl(TTL)).unwrap()
}

fn joined(topic: &str, host: &str) -> MembershipEvent {
    MembershipEvent::joined(topic, host, Default::default())
}

fn left(topic: &str, host: &str) -> MembershipEvent {
    MembershipEvent::Left {
        topic: topic.into(),
        host: host.into(),
    }
}

async fn next_within(stream: &mut MembershipStream, limit: Duration) -> Option<MembershipEvent> {
    timeout(limit, stream.next()).await.ok().flatten()
}

/// `node`'s membership stream with its first item, the (here empty) snapshot, read: what is
/// left is the changes.
async fn changes(node: &MemoryMatchMaker, topic: Option<&str>) -> MembershipStream {
    let mut events = node.subscribe(topic).unwrap();
    let first = next_within(&mut events, Duration::from_millis(10)).await;
    let empty = MembershipEvent::Snapshot {
        members: Vec::new(),
        lagged: false,
    };
    assert_eq!(first, Some(empty));
    events
}

#[tokio::test(start_paused = true)]
async fn registration_is_visible_to_every_handle_sharing_the_registry() {
    let registry = MemoryRegistry::new();
    let (node1, node2) = (host_on(&registry), host_on(&registry));
    node1.register("scheduler", "node1").await.unwrap();
    assert!(node2.is_alive("scheduler", "node1").await.unwrap());
    assert_eq!(
        node2.queues("scheduler").await.unwrap(),
        vec![Route::new("scheduler.node1", "node1")]
    );
}

#[tokio::test(start_paused = true)]
async fn separate_registries_share_nothing() {
    let (first, second) = (MemoryRegistry::new(), MemoryRegistry::new());
    host_on(&first)
        .register("scheduler", "node1")
        .await
        .unwrap();
    assert!(host_on(&second)
        .queues("scheduler")
        .await
        .unwrap()
        .is_empty());
    assert_eq!((first.len(), second.len()), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn named_registries_are_shared_by_name_and_the_empty_name_is_global() {
    let name = "named_registries_are_shared_by_name";
    assert!(MemoryRegistry::named(name).same_as(&MemoryRegistry::named(name)));
    assert!(!MemoryRegistry::named(name).same_as(&MemoryRegistry::named("other")));
    assert!(MemoryRegistry::global().same_as(&MemoryRegistry::named("")));
    host_on(&MemoryRegistry::named(name))
        .register("t", "h")
        .await
        .unwrap();
    assert_eq!(MemoryRegistry::named(name).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn registration_is_alive_until_its_ttl_and_gone_at_it() {
    let registry = MemoryRegistry::new();
    let node = host_on(&registry);
    node.register("scheduler", "node1").await.unwrap();
    advance(JUST_UNDER_TTL).await;
    assert!(node.is_alive("scheduler", "node1").await.unwrap());
    advance(Duration::from_millis(1)).await;
    assert!(!node.is_alive("scheduler", "node1").await.unwrap());
    assert!(node.queues("fanout~scheduler").await.unwrap().is_empty());
    assert!(registry.is_empty());
}

#[tokio::test(start_paused = true)]
async fn running_heartbeat_keeps_registration_alive_past_many_ttls() {
    let registry = MemoryRegistry::new();
    let node = host_on(&registry);
    node.register("scheduler", "node1").await.unwrap();
    node.start_heartbeat().unwrap();
    tokio::time::sleep(TTL * 5).await;
    assert!(node.is_alive("scheduler", "node1").await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn stopped_heartbeat_lets_registration_expire_after_ttl() {
    let registry = MemoryRegistry::new();
    let (node, observer) = (host_on(&registry), host_on(&registry));
    node.register("scheduler", "node1").await.unwrap();
    node.start_heartbeat().unwrap();
    tokio::time::sleep(TTL * 2).await;
    node.stop_heartbeat();
    tokio::time::sleep(TTL).await;
    assert!(!observer.is_alive("scheduler", "node1").await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn dropped_matchmaker_stays_listed_until_its_ttl_like_a_crashed_process() {
    let registry = MemoryRegistry::new();
    let observer = host_on(&registry);
    let node = host_on(&registry);
    node.register("scheduler", "node1").await.unwrap();
    node.start_heartbeat().unwrap();
    drop(node);
    advance(JUST_UNDER_TTL).await;
    assert!(observer.is_alive("scheduler", "node1").await.unwrap());
    advance(Duration::from_millis(1)).await;
    assert!(!observer.is_alive("scheduler", "node1").await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn ack_alive_recreates_a_vanished_record_bug_1419718() {
    let registry = MemoryRegistry::new();
    let node = host_on(&registry);
    node.register("scheduler", "node1").await.unwrap();
    node.expire("scheduler", "node1").await.unwrap();
    assert!(!node.is_alive("scheduler", "node1").await.unwrap());
    node.ack_alive("scheduler", "node1").await.unwrap();
    assert!(node.is_alive("scheduler", "node1").await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn heartbeat_recreates_a_record_that_expired_while_paused() {
    let registry = MemoryRegistry::new();
    let node = host_on(&registry);
    node.register("scheduler", "node1").await.unwrap();
    advance(TTL * 2).await;
    assert!(!node.is_alive("scheduler", "node1").await.unwrap());
    node.send_heartbeats().await.unwrap();
    assert!(node.is_alive("scheduler", "node1").await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn expire_removes_that_pair_only() {
    let registry = MemoryRegistry::new();
    let node = host_on(&registry);
    for (topic, host) in [("a", "h1"), ("a", "h2"), ("b", "h1")] {
        node.register(topic, host).await.unwrap();
    }
    node.expire("a", "h1").await.unwrap();
    assert!(!node.is_alive("a", "h1").await.unwrap());
    assert!(node.is_alive("a", "h2").await.unwrap());
    assert!(node.is_alive("b", "h1").await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn unregister_keeps_the_hosts_other_topics_alive_and_beating() {
    let registry = MemoryRegistry::new();
    let node = host_on(&registry);
    node.register("k1", "h").await.unwrap();
    node.register("k2", "h").await.unwrap();
    node.unregister("k1", "h").await.unwrap();
    node.start_heartbeat().unwrap();
    tokio::time::sleep(TTL * 3).await;
    assert!(!node.is_alive("k1", "h").await.unwrap());
    assert!(node.is_alive("k2", "h").await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn is_alive_of_an_unknown_pair_is_false_not_an_error() {
    let node = host_on(&MemoryRegistry::new());
    assert!(!node.is_alive("nobody", "nowhere").await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn dotted_topic_can_be_registered_bug_1290772() {
    let registry = MemoryRegistry::new();
    let node = host_on(&registry);
    node.register("l3_agent.node1", "hostA").await.unwrap();
    assert!(node.is_alive("l3_agent.node1", "hostA").await.unwrap());
    assert_eq!(
        node.queues("fanout~l3_agent.node1").await.unwrap(),
        vec![Route::new("fanout~l3_agent.node1.hostA", "hostA")]
    );
}

#[tokio::test(start_paused = true)]
async fn fanout_returns_every_live_host_sorted() {
    let registry = MemoryRegistry::new();
    for host in ["node3", "node1", "node2"] {
        host_on(&registry)
            .register("scheduler", host)
            .await
            .unwrap();
    }
    let routes = host_on(&registry).queues("fanout~scheduler").await.unwrap();
    let expected: Vec<Route> = ["node1", "node2", "node3"]
        .iter()
        .map(|host| Route::new(format!("fanout~scheduler.{host}"), *host))
        .collect();
    assert_eq!(routes, expected);
}

#[tokio::test(start_paused = true)]
async fn round_robin_topic_lookup_cycles_through_live_hosts() {
    let registry = MemoryRegistry::new();
    let mut config = HeartbeatConfig::with_ttl(TTL);
    config.strategy = Strategy::RoundRobin;
    let node = connect(&registry, config).unwrap();
    node.register("scheduler", "node2").await.unwrap();
    node.register("scheduler", "node1").await.unwrap();
    let mut picked = Vec::new();
    for _ in 0..3 {
        picked.push(
            node.queues("scheduler").await.unwrap()[0]
                .queue()
                .to_owned(),
        );
    }
    assert_eq!(
        picked,
        ["scheduler.node1", "scheduler.node2", "scheduler.node1"]
    );
}

#[tokio::test(start_paused = true)]
async fn list_reports_ttl_left_and_the_registering_instance() {
    let registry = MemoryRegistry::new();
    let (node1, node2) = (host_on(&registry), host_on(&registry));
    node1.register("a", "h1").await.unwrap();
    advance(Duration::from_secs(1)).await;
    node2.register("b", "h2").await.unwrap();
    let all = node1.list(None).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!((all[0].topic.as_str(), all[0].host.as_str()), ("a", "h1"));
    assert!(all[0].alive);
    assert_eq!(all[0].ttl_left, Some(TTL - Duration::from_secs(1)));
    assert_eq!(all[0].instance.as_deref(), Some(node1.backend().instance()));
    assert_eq!(all[1].ttl_left, Some(TTL));
    assert_eq!(all[1].instance.as_deref(), Some(node2.backend().instance()));
    assert_ne!(node1.backend().instance(), node2.backend().instance());
    let only_b = node1.list(Some("b")).await.unwrap();
    assert_eq!(only_b.len(), 1);
    assert_eq!(only_b[0].host, "h2");
}

#[tokio::test(start_paused = true)]
async fn subscribe_delivers_joins_and_explicit_leaves_in_order() {
    let registry = MemoryRegistry::new();
    let node = host_on(&registry);
    let mut events = changes(&node, None).await;
    node.register("a", "h1").await.unwrap();
    node.send_heartbeats().await.unwrap();
    node.unregister("a", "h1").await.unwrap();
    node.register("b", "h2").await.unwrap();
    node.expire("b", "h2").await.unwrap();
    let limit = Duration::from_millis(10);
    assert_eq!(
        next_within(&mut events, limit).await,
        Some(joined("a", "h1"))
    );
    assert_eq!(next_within(&mut events, limit).await, Some(left("a", "h1")));
    assert_eq!(
        next_within(&mut events, limit).await,
        Some(joined("b", "h2"))
    );
    assert_eq!(next_within(&mut events, limit).await, Some(left("b", "h2")));
    assert_eq!(next_within(&mut events, limit).await, None);
}

#[tokio::test(start_paused = true)]
async fn subscribe_delivers_a_leave_by_expiry_at_the_ttl_without_other_access() {
    let registry = MemoryRegistry::new();
    let node = host_on(&registry);
    let mut events = changes(&node, Some("scheduler")).await;
    let registered_at = Instant::now();
    node.register("scheduler", "node1").await.unwrap();
    assert_eq!(
        next_within(&mut events, TTL).await,
        Some(joined("scheduler", "node1"))
    );
    let event = next_within(&mut events, TTL * 2).await;
    assert_eq!(event, Some(left("scheduler", "node1")));
    assert_eq!(registered_at.elapsed(), TTL);
}

#[tokio::test(start_paused = true)]
async fn subscriber_rearms_when_an_ack_with_a_shorter_ttl_moves_the_expiry_earlier() {
    let registry = MemoryRegistry::new();
    let long_lived = connect(&registry, HeartbeatConfig::with_ttl(TTL * 10)).unwrap();
    let short_lived = connect(&registry, HeartbeatConfig::with_ttl(TTL)).unwrap();
    let mut events = changes(&long_lived, None).await;
    long_lived.register("scheduler", "h").await.unwrap();
    assert_eq!(
        next_within(&mut events, Duration::from_millis(10)).await,
        Some(joined("scheduler", "h"))
    );
    // The subscriber now sleeps until the long expiry; this ack brings it closer without
    // any event, so only the deadline signal can wake the subscriber.
    assert_eq!(
        next_within(&mut events, Duration::from_millis(10)).await,
        None
    );
    let acked_at = Instant::now();
    short_lived.ack_alive("scheduler", "h").await.unwrap();
    assert_eq!(
        next_within(&mut events, TTL * 2).await,
        Some(left("scheduler", "h"))
    );
    assert_eq!(acked_at.elapsed(), TTL);
}

#[tokio::test(start_paused = true)]
async fn subscribe_filters_by_topic() {
    let registry = MemoryRegistry::new();
    let node = host_on(&registry);
    let mut events = changes(&node, Some("wanted")).await;
    node.register("other", "h").await.unwrap();
    node.register("wanted", "h").await.unwrap();
    assert_eq!(
        next_within(&mut events, Duration::from_millis(10)).await,
        Some(joined("wanted", "h"))
    );
}

#[tokio::test(start_paused = true)]
async fn subscription_ends_when_the_registry_is_dropped_and_stays_ended() {
    let registry = MemoryRegistry::new();
    let node = host_on(&registry);
    let mut events = changes(&node, None).await;
    drop((node, registry));
    assert_eq!(next_within(&mut events, TTL).await, None);
    assert!(
        events.next().await.is_none(),
        "the stream must end, not stall"
    );
}

#[tokio::test(start_paused = true)]
async fn subscribe_rejects_an_invalid_topic() {
    let node = host_on(&MemoryRegistry::new());
    assert!(matches!(
        node.subscribe(Some("fanout~x")),
        Err(Error::InvalidKey { .. })
    ));
}

#[test]
fn connect_rejects_an_invalid_config() {
    let mut config = HeartbeatConfig::with_ttl(TTL);
    config.interval = Some(TTL);
    assert!(matches!(
        connect(&MemoryRegistry::new(), config),
        Err(Error::InvalidConfig(_))
    ));
}

#[test]
fn backend_rejects_a_ttl_below_one_second() {
    assert!(matches!(
        MemoryBackend::new(&MemoryRegistry::new(), Duration::from_millis(500)),
        Err(Error::InvalidConfig(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn register_many_registers_every_pair_or_none_when_one_is_invalid() {
    let registry = MemoryRegistry::new();
    let a = host_on(&registry);
    let b = host_on(&registry);
    a.register_many(&[("t", "h1"), ("t", "h2"), ("u", "h1")])
        .await
        .unwrap();
    let hosts: Vec<Option<String>> = b
        .queues("fanout~t")
        .await
        .unwrap()
        .iter()
        .map(|route| route.host().map(str::to_owned))
        .collect();
    assert_eq!(hosts, [Some("h1".to_owned()), Some("h2".to_owned())]);
    assert!(b.is_alive("u", "h1").await.unwrap());
    assert_eq!(a.registrations().len(), 3);

    let error = a
        .register_many(&[("v", "h1"), ("v", "bad host")])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidKey { .. }), "{error:?}");
    assert!(
        !b.is_alive("v", "h1").await.unwrap(),
        "nothing was registered"
    );
    assert_eq!(a.registrations().len(), 3);
}
