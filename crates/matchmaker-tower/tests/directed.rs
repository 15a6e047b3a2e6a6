//! `directed` against a real memory registry, on tokio's paused clock.

mod support;

use std::time::Duration;

use matchmaker_core::{Error, MatchMaker, Metadata};
use matchmaker_memory::MemoryRegistry;
use matchmaker_tower::{directed, Member};
use support::{member_of, TOPIC};

#[tokio::test(start_paused = true)]
async fn a_registered_host_gives_its_service() {
    let registry = MemoryRegistry::new();
    member_of(&registry)
        .register(TOPIC, "10.0.0.1:7000")
        .await
        .unwrap();
    let client = member_of(&registry);
    let member = directed(&*client, "echo.10.0.0.1:7000", Member::clone)
        .await
        .unwrap();
    assert_eq!(member, Some(Member::new(TOPIC, "10.0.0.1:7000")));
}

#[tokio::test(start_paused = true)]
async fn the_member_carries_the_hosts_metadata() {
    let registry = MemoryRegistry::new();
    let metadata = Metadata::from([("weight".to_owned(), "3".to_owned())]);
    member_of(&registry)
        .register_with(TOPIC, "10.0.0.1:7000", metadata.clone())
        .await
        .unwrap();
    let client = member_of(&registry);
    let member = directed(&*client, "echo.10.0.0.1:7000", Member::clone)
        .await
        .unwrap()
        .expect("a registered host");
    assert_eq!(*member.metadata, metadata);
}

#[tokio::test(start_paused = true)]
async fn a_host_that_is_not_registered_gives_none() {
    let registry = MemoryRegistry::new();
    member_of(&registry)
        .register(TOPIC, "10.0.0.1:7000")
        .await
        .unwrap();
    let client = member_of(&registry);
    let made = directed(&*client, "echo.10.0.0.2:7000", |_| {
        unreachable!("made a service")
    })
    .await
    .unwrap();
    assert_eq!(made, None::<()>);
    // Registered for another topic only: not this one's.
    let made = directed(&*client, "other.10.0.0.1:7000", |_| ())
        .await
        .unwrap();
    assert_eq!(made, None);
}

#[tokio::test(start_paused = true)]
async fn an_expired_host_gives_none() {
    let registry = MemoryRegistry::new();
    member_of(&registry)
        .register(TOPIC, "10.0.0.1:7000")
        .await
        .unwrap();
    let client = member_of(&registry);
    tokio::time::sleep(Duration::from_secs(3)).await; // TTL 2 s, no heartbeat
    let made = directed(&*client, "echo.10.0.0.1:7000", |_| ())
        .await
        .unwrap();
    assert_eq!(made, None);
}

#[tokio::test(start_paused = true)]
async fn a_key_that_is_not_directed_is_an_error() {
    let client = member_of(&MemoryRegistry::new());
    for key in ["echo", "fanout~echo"] {
        let error = directed(&*client, key, |_| ()).await.unwrap_err();
        assert!(matches!(error, Error::InvalidConfig(_)), "{key}: {error}");
        assert!(error.to_string().contains("not a directed key"), "{error}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_invalid_key_is_an_error() {
    let client = member_of(&MemoryRegistry::new());
    for key in ["", "echo.", ".host", "echo.bad host"] {
        let error = directed(&*client, key, |_| ()).await.unwrap_err();
        assert!(
            matches!(error, Error::InvalidKey { .. }),
            "{key:?}: {error}"
        );
    }
}
