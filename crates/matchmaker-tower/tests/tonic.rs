//! `tonic::balance_channel` with real gRPC health servers on loopback and a memory registry.
#![cfg(feature = "tonic")]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use matchmaker_core::{Error, MatchMaker, Registry};
use matchmaker_memory::MemoryRegistry;
use matchmaker_tower::tonic::{balance_channel, http_endpoint};
use matchmaker_tower::Member;
use support::{member_of, TOPIC};
use tokio::task::JoinHandle;
use tonic::codegen::http::{HeaderValue, Response};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tower::util::MapResponseLayer;

/// A health server on a free loopback port that names itself in an `x-worker` header.
fn serve() -> (String, JoinHandle<()>) {
    let incoming = TcpIncoming::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let host = incoming.local_addr().unwrap().to_string();
    let name = HeaderValue::from_str(&host).unwrap();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let server = Server::builder()
        .layer(MapResponseLayer::new(move |mut response: Response<_>| {
            response.headers_mut().insert("x-worker", name.clone());
            response
        }))
        .serve_with_incoming(health, incoming);
    let task = tokio::spawn(async move {
        server.await.unwrap();
    });
    (host, task)
}

/// The worker that answered one health check.
async fn call(channel: &Channel) -> Result<String, tonic::Status> {
    let response = HealthClient::new(channel.clone())
        .check(HealthCheckRequest::default())
        .await?;
    Ok(response
        .metadata()
        .get("x-worker")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned())
}

async fn calls(channel: &Channel, count: usize) -> BTreeMap<String, usize> {
    let mut answered = BTreeMap::new();
    for _ in 0..count {
        let worker = call(channel)
            .await
            .unwrap_or_else(|status| format!("error: {status}"));
        *answered.entry(worker).or_default() += 1;
    }
    answered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_balanced_over_the_live_hosts_and_follow_joins_and_leaves() {
    let registry = MemoryRegistry::new();
    let worker = member_of(&registry);
    let (first, _a) = serve();
    let (second, _b) = serve();
    worker.register(TOPIC, &first).await.unwrap();
    worker.register(TOPIC, &second).await.unwrap();
    let client: Arc<dyn Registry> = member_of(&registry);
    let channel = balance_channel(client, TOPIC, http_endpoint).unwrap();

    let answered = calls(&channel, 60).await;
    let both = BTreeSet::from([&first, &second]);
    assert_eq!(
        answered.keys().collect::<BTreeSet<_>>(),
        both,
        "{answered:?}"
    );

    let (third, _c) = serve();
    worker.register(TOPIC, &third).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while call(&channel).await.unwrap() != third {
        assert!(Instant::now() < deadline, "{third} never answered");
    }

    // Unregistered (still serving): no call reaches it once the leave is applied.
    worker.unregister(TOPIC, &first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answered = calls(&channel, 60).await;
    assert!(!answered.contains_key(&first), "{answered:?}");
    assert_eq!(answered.len(), 2, "{answered:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_whose_endpoint_cannot_be_made_is_left_out() {
    let registry = MemoryRegistry::new();
    let worker = member_of(&registry);
    let (good, _server) = serve();
    worker.register(TOPIC, &good).await.unwrap();
    worker.register(TOPIC, "127.0.0.1:1").await.unwrap();
    let client: Arc<dyn Registry> = member_of(&registry);
    let channel = balance_channel(client, TOPIC, |member: &Member| {
        if member.host.ends_with(":1") {
            return Err("refused by the test");
        }
        Ok(http_endpoint(member).unwrap())
    })
    .unwrap();
    let answered = calls(&channel, 20).await;
    assert_eq!(answered.get(&good), Some(&20), "{answered:?}");
    worker.unregister(TOPIC, "127.0.0.1:1").await.unwrap();
    assert_eq!(calls(&channel, 5).await.get(&good), Some(&5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_channel_ends_its_feeding_task() {
    let registry = MemoryRegistry::new();
    let worker = member_of(&registry);
    let (host, _server) = serve();
    worker.register(TOPIC, &host).await.unwrap();
    let client: Arc<dyn Registry> = member_of(&registry);
    // The task owns the discovery, which owns `make_endpoint`, which holds `token`.
    let token = Arc::new(());
    let held = token.clone();
    let channel = balance_channel(client, TOPIC, move |member: &Member| {
        let _held = &held;
        http_endpoint(member)
    })
    .unwrap();
    assert_eq!(call(&channel).await.unwrap(), host);
    assert_eq!(Arc::strong_count(&token), 2);
    let clone = channel.clone();
    drop(channel);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        Arc::strong_count(&token),
        2,
        "ended while a clone was alive"
    );
    drop(clone);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Arc::strong_count(&token) > 1 {
        assert!(
            Instant::now() < deadline,
            "the feeding task outlived the channel"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn outside_a_runtime_it_is_an_error_not_a_panic() {
    let registry = MemoryRegistry::new();
    let client: Arc<dyn Registry> =
        Arc::new(matchmaker_memory::connect(&registry, support::config()).unwrap());
    let error = balance_channel(client, TOPIC, http_endpoint).unwrap_err();
    assert!(matches!(error, Error::NoRuntime(_)), "{error}");
}

#[tokio::test]
async fn an_invalid_topic_is_an_error() {
    let client: Arc<dyn Registry> = member_of(&MemoryRegistry::new());
    let error = balance_channel(client, "fanout~echo", http_endpoint).unwrap_err();
    assert!(matches!(error, Error::InvalidKey { .. }), "{error}");
}
