//! `matchmaker::connect` and the `brokerless_rpc` example against real etcd and Consul.
//!
//! Needs `MATCHMAKER_ETCD_ENDPOINTS` / `MATCHMAKER_CONSUL_ADDR` (as `cargo xtask test` sets).
//! Without them each test is reported as ignored, or fails when
//! `MATCHMAKER_TEST_REQUIRED=1`. Every test uses its own key prefix or namespace.

#[path = "../examples/brokerless_rpc.rs"]
#[allow(dead_code)]
mod brokerless_rpc;

use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use libtest_mimic::{Arguments, Failed, Trial};
use matchmaker::{connect, connect_with, ConnectConfig, MembershipEvent, Registry};

const PATIENCE: Duration = Duration::from_secs(20);

/// One registry under test: how to build its URL and its config-file table.
#[derive(Clone, Copy)]
struct Backend {
    name: &'static str,
    variable: &'static str,
    url: fn(&str, &str) -> String,
    table: fn(&str, &str) -> String,
}

const BACKENDS: [Backend; 2] = [
    Backend {
        name: "etcd",
        variable: "MATCHMAKER_ETCD_ENDPOINTS",
        url: |endpoints, space| format!("etcd://{endpoints}/mm-connect-{space}?ttl=2"),
        table: |endpoints, space| {
            let endpoints: Vec<String> = endpoints.split(',').map(|e| format!("{e:?}")).collect();
            format!(
                "[etcd]\nendpoints = [{}]\nprefix = \"/mm-connect-{space}/\"\nheartbeat = {{ ttl = \"2s\" }}\n",
                endpoints.join(", ")
            )
        },
    },
    Backend {
        name: "consul",
        variable: "MATCHMAKER_CONSUL_ADDR",
        url: |address, space| format!("consul://{address}/mm-connect-{space}?ttl=2s"),
        table: |address, space| {
            format!(
                "[consul]\naddress = {address:?}\nnamespace = \"mm-connect-{space}\"\nheartbeat = {{ ttl = \"2s\" }}\n"
            )
        },
    },
];

type Scenario = fn(Backend, String) -> Result<(), Failed>;

const SCENARIOS: [(&str, Scenario); 4] = [
    (
        "url_connections_share_the_registry",
        url_connections_share_the_registry,
    ),
    (
        "subscribe_sees_join_and_leave",
        subscribe_sees_join_and_leave,
    ),
    ("config_file_table_connects", config_file_table_connects),
    (
        "example_demo_forgets_a_killed_worker",
        example_demo_forgets_a_killed_worker,
    ),
];

fn main() {
    let arguments = Arguments::from_args();
    let required = std::env::var("MATCHMAKER_TEST_REQUIRED").as_deref() == Ok("1");
    let mut trials = Vec::new();
    for backend in BACKENDS {
        let server = std::env::var(backend.variable)
            .ok()
            .filter(|v| !v.is_empty());
        for (scenario_name, scenario) in SCENARIOS {
            let name = format!("{}::{scenario_name}", backend.name);
            trials.push(match (&server, required) {
                (Some(server), _) => {
                    let server = server.clone();
                    Trial::test(name, move || scenario(backend, server))
                }
                (None, true) => {
                    let variable = backend.variable;
                    Trial::test(name, move || {
                        Err(format!("{variable} is not set and MATCHMAKER_TEST_REQUIRED=1").into())
                    })
                }
                (None, false) => Trial::test(name, || Ok(())).with_ignored_flag(true),
            });
        }
        if server.is_none() && !required {
            eprintln!(
                "connect_registries: {} tests ignored: {} is not set",
                backend.name, backend.variable
            );
        }
    }
    libtest_mimic::run(&arguments, trials).exit();
}

fn unique_space() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!("{}-{:x}", std::process::id(), nanos)
}

fn block_on(test: impl Future<Output = Result<(), Failed>>) -> Result<(), Failed> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(test)
}

fn check(condition: bool, message: impl FnOnce() -> String) -> Result<(), Failed> {
    if condition {
        Ok(())
    } else {
        Err(message().into())
    }
}

/// Polls `hosts_of(topic)` on `registry` until it equals `expected` (bounded).
async fn wait_for_hosts(
    registry: &dyn Registry,
    topic: &str,
    expected: &[&str],
) -> Result<(), Failed> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let routes = registry.queues(&format!("fanout~{topic}")).await?;
        let hosts: Vec<String> = routes.hosts().map(str::to_owned).collect();
        if hosts == expected {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("hosts of {topic} are {hosts:?}, expected {expected:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn url_connections_share_the_registry(backend: Backend, server: String) -> Result<(), Failed> {
    let url = (backend.url)(&server, &unique_space());
    block_on(async move {
        let node1 = connect(&url).await?;
        let observer = connect(&url).await?;
        check(observer.backend_name() == backend.name, || {
            format!("backend_name is {}", observer.backend_name())
        })?;
        let ttl = observer.heartbeat_config().map(|config| config.ttl);
        check(ttl == Some(Duration::from_secs(2)), || {
            format!("ttl from the URL is {ttl:?}")
        })?;
        node1.register("scheduler", "node1").await?;
        wait_for_hosts(observer.as_ref(), "scheduler", &["node1"]).await?;
        let listed = observer.list(Some("scheduler")).await?;
        check(
            listed.iter().any(|info| info.host == "node1" && info.alive),
            || format!("list shows {listed:?}"),
        )?;
        node1.unregister("scheduler", "node1").await?;
        wait_for_hosts(observer.as_ref(), "scheduler", &[]).await
    })
}

fn subscribe_sees_join_and_leave(backend: Backend, server: String) -> Result<(), Failed> {
    let url = (backend.url)(&server, &unique_space());
    block_on(async move {
        let watcher = connect(&url).await?;
        let mut events = watcher.subscribe(Some("conductor"))?;
        // The stream starts with the topic's members (none yet in this fresh namespace): once
        // it is read, a registration can only arrive as a join.
        let first = tokio::time::timeout(PATIENCE, events.next()).await;
        let snapshot_is_empty = matches!(
            &first,
            Ok(Some(MembershipEvent::Snapshot { members, lagged: false })) if members.is_empty()
        );
        check(snapshot_is_empty, || {
            format!("the first item is {first:?}, not an empty snapshot")
        })?;
        let node = connect(&url).await?;
        node.register("conductor", "node2").await?;
        node.start_heartbeat()?;
        let mut seen = Vec::new();
        let outcome = tokio::time::timeout(PATIENCE, async {
            while let Some(event) = events.next().await {
                if event == (MembershipEvent::joined("conductor", "node2", Default::default())) {
                    // Dropping the matchmaker stops its heartbeat without unregistering.
                    drop(node);
                    break;
                }
                seen.push(event);
            }
            while let Some(event) = events.next().await {
                if let MembershipEvent::Left { host, .. } = &event {
                    if host == "node2" {
                        return Ok(());
                    }
                }
                seen.push(event);
            }
            Err("the stream ended")
        })
        .await;
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(format!("{why}; saw {seen:?}").into()),
            Err(_) => Err(format!("no join and leave in {PATIENCE:?}; saw {seen:?}").into()),
        }
    })
}

fn config_file_table_connects(backend: Backend, server: String) -> Result<(), Failed> {
    let table = (backend.table)(&server, &unique_space());
    block_on(async move {
        let config = ConnectConfig::from_toml_str(&table)?;
        let registry = connect_with(&config).await?;
        check(registry.backend_name() == backend.name, || {
            format!("backend_name is {}", registry.backend_name())
        })?;
        registry.register("compute", "node3").await?;
        wait_for_hosts(registry.as_ref(), "compute", &["node3"]).await?;
        registry.unregister("compute", "node3").await?;
        Ok(())
    })
}

fn example_demo_forgets_a_killed_worker(backend: Backend, server: String) -> Result<(), Failed> {
    let url = (backend.url)(&server, &unique_space());
    block_on(async move {
        let options = brokerless_rpc::parse_args(["--url".to_owned(), url])?;
        let report = brokerless_rpc::run_demo(&options, |_| {}).await?;
        check(report.fanout_answered_by.len() == 3, || {
            format!("{report:?}")
        })?;
        check(!report.routed_after_ttl.contains(&report.killed), || {
            format!("{report:?}")
        })?;
        check(report.routed_after_ttl.len() == 2, || format!("{report:?}"))
    })
}
