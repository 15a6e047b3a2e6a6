//! The `matchmaker` binary end to end on the backends that need no server: memory,
//! localhost, stub and ring.

mod support;

use std::io::Write;
use std::process::Command;

use serde_json::Value;
use support::{outcome, run, Running, BIN, PATIENCE};

#[test]
fn queues_on_localhost_prints_a_queue_and_host_table() {
    let (code, stdout, _) = outcome(&run(&["--url", "localhost://node1", "queues", "scheduler"]));
    assert_eq!(code, Some(0));
    assert_eq!(stdout, "QUEUE            HOST\nscheduler.node1  node1\n");
}

#[test]
fn queues_json_is_an_array_of_queue_and_host() {
    let (code, stdout, _) = outcome(&run(&["--url", "stub://", "--json", "queues", "fanout~t"]));
    assert_eq!(code, Some(0));
    let value: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        value,
        serde_json::json!([{ "queue": "fanout~t", "host": null }])
    );
}

#[test]
fn queues_with_no_host_exits_5_and_says_where_to_look() {
    let (code, stdout, stderr) = outcome(&run(&["queues", "scheduler"]));
    assert_eq!(code, Some(5));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("no host serves \"scheduler\""), "{stderr}");
    assert!(stderr.contains("matchmaker list"), "{stderr}");
}

#[test]
fn queues_with_no_host_in_json_still_prints_an_empty_array() {
    let (code, stdout, _) = outcome(&run(&["--json", "queues", "scheduler"]));
    assert_eq!(code, Some(5));
    assert_eq!(stdout.trim(), "[]");
}

#[test]
fn invalid_key_exits_3_and_explains_the_key_grammar() {
    let (code, _, stderr) = outcome(&run(&["--url", "stub://", "queues", "topic."]));
    assert_eq!(code, Some(3));
    assert!(stderr.contains("invalid key \"topic.\""), "{stderr}");
    assert!(stderr.contains("hint: keys are"), "{stderr}");
}

#[test]
fn invalid_host_to_register_exits_3() {
    let (code, _, stderr) = outcome(&run(&["register", "scheduler", "bad/host"]));
    assert_eq!(code, Some(3));
    assert!(stderr.contains("may not contain '/'"), "{stderr}");
}

#[test]
fn bidi_and_zero_width_characters_exit_3_and_are_shown_escaped() {
    for (topic, host, shown) in [
        (
            "svc",
            "evil\u{202e}gnp.exe",
            "U+202E RIGHT-TO-LEFT OVERRIDE",
        ),
        ("zero\u{200b}width", "h", "U+200B ZERO WIDTH SPACE"),
        ("\u{feff}svc", "h", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        (" ", "h", "only whitespace"),
    ] {
        let (code, _, stderr) = outcome(&run(&["register", topic, host]));
        assert_eq!(code, Some(3), "{topic:?} {host:?}: {stderr}");
        assert!(stderr.contains(shown), "{stderr}");
        for raw in ['\u{202e}', '\u{200b}', '\u{feff}'] {
            assert!(
                !stderr.contains(raw),
                "raw {raw:?} reached the terminal: {stderr}"
            );
        }
    }
}

#[test]
fn unknown_scheme_exits_3_and_lists_the_known_schemes() {
    let (code, _, stderr) = outcome(&run(&["--url", "redis://127.0.0.1", "list"]));
    assert_eq!(code, Some(3));
    assert!(
        stderr.contains("unknown matchmaker scheme \"redis\""),
        "{stderr}"
    );
    assert!(stderr.contains("etcd://host:port"), "{stderr}");
}

#[test]
fn usage_error_exits_2() {
    let (code, _, stderr) = outcome(&run(&["register", "only-a-topic"]));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("Usage"), "{stderr}");
}

#[test]
fn unparsable_ttl_is_a_usage_error_with_an_example() {
    let (code, _, stderr) = outcome(&run(&["register", "t", "h", "--ttl", "soon"]));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("write e.g. 10s"), "{stderr}");
}

#[test]
fn ttl_below_the_minimum_exits_3() {
    let (code, _, stderr) = outcome(&run(&["register", "t", "h", "--ttl", "10ms"]));
    assert_eq!(code, Some(3));
    assert!(stderr.contains("the minimum is"), "{stderr}");
}

#[test]
fn list_on_a_static_backend_exits_7_and_suggests_a_registry() {
    let (code, _, stderr) = outcome(&run(&["--url", "localhost://", "list"]));
    assert_eq!(code, Some(7));
    assert!(stderr.contains("use memory://"), "{stderr}");
}

#[test]
fn list_of_an_empty_registry_exits_5() {
    let (code, stdout, stderr) = outcome(&run(&["--json", "list", "scheduler"]));
    assert_eq!(code, Some(5));
    assert_eq!(stdout.trim(), "[]");
    assert!(
        stderr.contains("nothing is registered for scheduler"),
        "{stderr}"
    );
}

#[test]
fn register_json_reports_topic_host_backend_and_ttl() {
    let (code, stdout, _) = outcome(&run(&["--json", "register", "t", "h", "--ttl", "2s"]));
    assert_eq!(code, Some(0));
    let value: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "event": "registered", "topic": "t", "host": "h", "backend": "memory", "ttl_ms": 2000
        })
    );
}

#[test]
fn unregister_of_an_unknown_pair_exits_5() {
    let (code, _, stderr) = outcome(&run(&["unregister", "t", "h"]));
    assert_eq!(code, Some(5));
    assert!(stderr.contains("h is not registered for t"), "{stderr}");
}

#[test]
fn expire_of_an_unknown_pair_exits_5() {
    let (code, _, _) = outcome(&run(&["expire", "t", "h"]));
    assert_eq!(code, Some(5));
}

#[test]
fn url_is_read_from_matchmaker_url() {
    let output = Command::new(BIN)
        .env("MATCHMAKER_URL", "localhost://from-env")
        .args(["queues", "t"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("t.from-env"));
}

#[test]
fn ring_file_answers_round_robin_and_fanout() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(br#"{"scheduler": ["node1", "node2"]}"#)
        .unwrap();
    let url = format!("ring://{}", file.path().display());
    let (code, stdout, _) = outcome(&run(&[
        "--url",
        &url,
        "--json",
        "queues",
        "fanout~scheduler",
    ]));
    assert_eq!(code, Some(0));
    let value: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(value.as_array().unwrap().len(), 2);
    assert_eq!(value[1]["host"], "node2");
}

#[test]
fn missing_ring_file_exits_3_naming_the_file() {
    let (code, _, stderr) = outcome(&run(&[
        "--url",
        "ring:///nonexistent/ring.json",
        "queues",
        "t",
    ]));
    assert_eq!(code, Some(3));
    assert!(stderr.contains("/nonexistent/ring.json"), "{stderr}");
}

#[test]
fn register_hold_unregisters_and_exits_0_on_sigterm() {
    let mut holder = Running::start(&["register", "t", "h", "--ttl", "2s", "--hold"]);
    holder.wait_stdout("registered h for t", PATIENCE);
    holder.wait_stderr("holding: heartbeating every", PATIENCE);
    holder.signal("TERM");
    assert_eq!(holder.wait_exit(PATIENCE), Some(0));
    assert!(
        holder
            .stdout_seen
            .iter()
            .any(|line| line.contains("unregistered h for t")),
        "{:?}",
        holder.stdout_seen
    );
}

#[test]
fn register_hold_also_stops_on_ctrl_c() {
    let mut holder = Running::start(&["--json", "register", "t", "h", "--hold"]);
    holder.wait_stderr("holding", PATIENCE);
    holder.signal("INT");
    assert_eq!(holder.wait_exit(PATIENCE), Some(0));
    let last: Value = serde_json::from_str(holder.stdout_seen.last().unwrap()).unwrap();
    assert_eq!(last["event"], "unregistered");
}

#[test]
fn watch_runs_until_sigterm_then_exits_0() {
    let mut watcher = Running::start(&["watch", "t"]);
    watcher.wait_stderr("watching t on memory://", PATIENCE);
    watcher.signal("TERM");
    assert_eq!(watcher.wait_exit(PATIENCE), Some(0));
}

#[test]
fn watch_on_a_static_backend_exits_7() {
    let (code, _, _) = outcome(&run(&["--url", "stub://", "watch"]));
    assert_eq!(code, Some(7));
}

#[test]
fn verbose_flag_shows_the_library_events_on_stderr() {
    let (code, _, stderr) = outcome(&run(&["-vv", "register", "t", "h"]));
    assert_eq!(code, Some(0));
    assert!(stderr.contains("matchmaker connected"), "{stderr}");
    assert!(stderr.contains("matchmaker registered"), "{stderr}");
}

#[test]
fn unreachable_etcd_exits_4_with_a_hint() {
    let (code, _, stderr) = outcome(&run(&["--url", "etcd://127.0.0.1:1", "list"]));
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("is the registry at etcd://127.0.0.1:1 running"),
        "{stderr}"
    );
}

#[test]
fn unreachable_consul_exits_4_with_a_hint() {
    let (code, _, stderr) = outcome(&run(&["--url", "consul://127.0.0.1:1", "queues", "t"]));
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("consul is unavailable"), "{stderr}");
}

#[test]
fn passwords_in_the_url_are_not_printed() {
    let (code, _, stderr) = outcome(&run(&["--url", "etcd://root:hunter2@127.0.0.1:1", "list"]));
    assert_eq!(code, Some(4), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(stderr.contains("root:***@"), "{stderr}");
}

#[test]
fn metrics_flag_prints_the_library_counters_at_exit() {
    let (code, _, stderr) = outcome(&run(&[
        "--metrics",
        "--url",
        "memory://",
        "queues",
        "fanout~t",
    ]));
    assert_eq!(code, Some(5), "{stderr}");
    assert!(
        stderr.contains("matchmaker_lookups_total{backend=\"memory\"} 1\n"),
        "{stderr}"
    );
}

#[test]
fn metrics_flag_counts_heartbeats_of_a_held_registration() {
    let mut holder = Running::start(&["--metrics", "register", "t", "h", "--ttl", "1s", "--hold"]);
    holder.wait_stderr("holding", PATIENCE);
    // Lower bound only: the first heartbeat is sent as the task starts, then every 333 ms.
    std::thread::sleep(std::time::Duration::from_millis(800));
    holder.signal("TERM");
    assert_eq!(holder.wait_exit(PATIENCE), Some(0));
    let line = holder
        .stderr_seen
        .iter()
        .find(|line| line.starts_with("matchmaker_heartbeats_sent_total{backend=\"memory\"}"))
        .unwrap_or_else(|| panic!("{:?}", holder.stderr_seen));
    let count: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 1, "{line}");
}
