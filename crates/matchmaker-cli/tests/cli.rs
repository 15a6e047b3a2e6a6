//! The `matchmaker` binary end to end on the backends that need no server: memory,
//! localhost, stub and ring.

mod support;

use std::io::Write;

use serde_json::Value;
use support::{outcome, run, run_with, Running, PATIENCE};

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
    assert!(
        stderr.contains("write 10 (seconds), 10s, 1500ms or 1m"),
        "{stderr}"
    );
}

#[test]
fn ttl_below_the_minimum_exits_3_and_hints_at_the_ttl_flag() {
    let (code, _, stderr) = outcome(&run(&["register", "t", "h", "--ttl", "1ms"]));
    assert_eq!(code, Some(3));
    assert!(stderr.contains("the minimum is"), "{stderr}");
    assert!(stderr.contains("hint: set the TTL with --ttl"), "{stderr}");
    assert!(stderr.contains("at least 1s"), "{stderr}");
    assert!(!stderr.contains("check the registry URL"), "{stderr}");
}

#[test]
fn etcd_ttl_out_of_range_hints_at_the_ttl_flag_and_etcds_limits() {
    // Checked before connecting: nothing needs to listen on port 1.
    for (url, ttl) in [
        ("etcd://127.0.0.1:1", "1"),
        ("etcd://127.0.0.1:1", "2500ms"),
        ("etcd://127.0.0.1:1?ttl=1500ms", "3"),
    ] {
        let args = if url.contains("ttl=") {
            vec!["--url", url, "register", "t", "h"]
        } else {
            vec!["--url", url, "register", "t", "h", "--ttl", ttl]
        };
        let (code, _, stderr) = outcome(&run(&args));
        assert_eq!(code, Some(3), "{args:?}: {stderr}");
        assert!(stderr.contains("hint: set the TTL with --ttl"), "{stderr}");
        assert!(
            stderr.contains("etcd leases are whole seconds, at least 2s"),
            "{stderr}"
        );
        assert!(!stderr.contains("check the registry URL"), "{stderr}");
    }
}

#[test]
fn ttl_is_a_bare_number_of_seconds_or_a_duration_with_a_unit() {
    for (ttl, millis) in [("2", 2000), ("2.5", 2500), ("1500ms", 1500), ("1m", 60_000)] {
        let (code, stdout, stderr) = outcome(&run(&["--json", "register", "t", "h", "--ttl", ttl]));
        assert_eq!(code, Some(0), "--ttl {ttl}: {stderr}");
        let value: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(value["ttl_ms"], millis, "--ttl {ttl}");
    }
    // The same forms in the backends' URLs: these parse, so the command gets as far as
    // connecting (nothing listens on port 1).
    for url in [
        "etcd://127.0.0.1:1?ttl=10&interval=1500ms",
        "etcd://127.0.0.1:1?ttl=1m",
        "consul://127.0.0.1:1?ttl=10&interval=2",
        "consul://127.0.0.1:1?ttl=1500ms",
    ] {
        let (code, _, stderr) = outcome(&run(&["--url", url, "queues", "t"]));
        assert_eq!(code, Some(4), "{url}: {stderr}");
    }
}

#[test]
fn list_on_a_static_backend_exits_7_and_suggests_a_registry() {
    let (code, _, stderr) = outcome(&run(&["--url", "localhost://", "list"]));
    assert_eq!(code, Some(7));
    assert!(stderr.contains("use memory://"), "{stderr}");
}

#[test]
fn list_of_an_empty_registry_exits_0() {
    let (code, stdout, _) = outcome(&run(&["--url", "memory://", "--json", "list", "scheduler"]));
    assert_eq!(code, Some(0));
    assert_eq!(stdout.trim(), "[]");
    let (code, stdout, stderr) = outcome(&run(&["--url", "memory://", "list", "scheduler"]));
    assert_eq!(code, Some(0));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("nothing is registered for scheduler"),
        "{stderr}"
    );
}

#[test]
fn list_watch_expire_and_unregister_without_a_registry_exit_3_with_a_hint() {
    for args in [
        &["list"][..],
        &["watch"],
        &["watch", "scheduler"],
        &["expire", "t", "h"],
        &["unregister", "t", "h"],
    ] {
        // Bounded by the harness: `watch` used to wait silently forever here.
        let (code, stdout, stderr) = outcome(&run(args));
        assert_eq!(code, Some(3), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(stderr.contains("no registry given"), "{stderr}");
        for named in [
            "--url",
            "MATCHMAKER_URL",
            "ETCDCTL_ENDPOINTS",
            "CONSUL_HTTP_ADDR",
        ] {
            assert!(stderr.contains(named), "{named} missing: {stderr}");
        }
    }
}

#[test]
fn queues_and_register_keep_working_on_the_default_memory_registry() {
    let (code, _, stderr) = outcome(&run(&["queues", "scheduler"]));
    assert_eq!(code, Some(5), "{stderr}");
    let (code, stdout, stderr) = outcome(&run(&["register", "t", "h"]));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("registered h for t on memory://"),
        "{stdout}"
    );
}

#[test]
fn output_json_and_the_json_flag_print_the_same() {
    let flag = outcome(&run(&["--url", "localhost://n", "--json", "queues", "t"]));
    let option = outcome(&run(&[
        "--url",
        "localhost://n",
        "-o",
        "json",
        "queues",
        "t",
    ]));
    assert_eq!(flag, option);
    assert_eq!(flag.0, Some(0));
    let (code, _, stderr) = outcome(&run(&["-o", "wide", "--json", "queues", "t"]));
    assert_eq!(code, Some(2), "{stderr}");
    let (code, _, stderr) = outcome(&run(&["-o", "yaml", "queues", "t"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("table") && stderr.contains("wide"),
        "{stderr}"
    );
}

#[test]
fn output_wide_is_the_table_for_queues() {
    let table = outcome(&run(&["--url", "localhost://n", "queues", "t"]));
    let wide = outcome(&run(&[
        "--url",
        "localhost://n",
        "-o",
        "wide",
        "queues",
        "t",
    ]));
    assert_eq!(table, wide);
}

#[test]
fn completions_print_a_script_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, stdout, stderr) = outcome(&run(&["completions", shell]));
        assert_eq!(code, Some(0), "{shell}: {stderr}");
        assert!(stdout.contains("matchmaker"), "{shell}: {stdout}");
        assert!(stdout.contains("no-snapshot"), "{shell} lacks watch's flag");
    }
    let (code, _, _) = outcome(&run(&["completions", "tcsh"]));
    assert_eq!(code, Some(2));
}

#[test]
fn help_documents_the_registry_order_durations_and_exit_codes() {
    let (code, stdout, _) = outcome(&run(&["--help"]));
    assert_eq!(code, Some(0));
    let at = |needle: &str| {
        stdout
            .find(needle)
            .unwrap_or_else(|| panic!("--help lacks {needle:?}:\n{stdout}"))
    };
    assert!(at("--url URL") < at("MATCHMAKER_URL      a matchmaker URL"));
    assert!(at("MATCHMAKER_URL      a matchmaker URL") < at("ETCDCTL_ENDPOINTS   host"));
    assert!(at("ETCDCTL_ENDPOINTS   host") < at("CONSUL_HTTP_ADDR    host"));
    at("etcd is used (-v says so)");
    at("CONSUL_HTTP_TOKEN");
    at("a bare number is\nseconds (10), or 10s, 1500ms, 1m");
    for code in 0..=7 {
        at(&format!("\n  {code}  "));
    }
    at("0  success (also an empty list)");
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
    let (code, _, stderr) = outcome(&run(&["--url", "memory://", "unregister", "t", "h"]));
    assert_eq!(code, Some(5));
    assert!(stderr.contains("h is not registered for t"), "{stderr}");
}

#[test]
fn expire_of_an_unknown_pair_exits_5() {
    let (code, _, _) = outcome(&run(&["--url", "memory://", "expire", "t", "h"]));
    assert_eq!(code, Some(5));
}

#[test]
fn url_is_read_from_matchmaker_url() {
    let (code, stdout, _) = outcome(&run_with(
        &["queues", "t"],
        &[("MATCHMAKER_URL", "localhost://from-env")],
    ));
    assert_eq!(code, Some(0));
    assert!(stdout.contains("t.from-env"), "{stdout}");
}

#[test]
fn the_url_flag_comes_before_every_variable() {
    let (_, stdout, _) = outcome(&run_with(
        &["--url", "localhost://flag", "queues", "t"],
        &[
            ("MATCHMAKER_URL", "localhost://env"),
            ("ETCDCTL_ENDPOINTS", "127.0.0.1:1"),
            ("CONSUL_HTTP_ADDR", "127.0.0.1:1"),
        ],
    ));
    assert!(stdout.contains("t.flag"), "{stdout}");
}

#[test]
fn matchmaker_url_comes_before_etcdctl_endpoints_and_consul_http_addr() {
    let (code, stdout, _) = outcome(&run_with(
        &["queues", "t"],
        &[
            ("MATCHMAKER_URL", "localhost://env"),
            ("ETCDCTL_ENDPOINTS", "127.0.0.1:1"),
            ("CONSUL_HTTP_ADDR", "127.0.0.1:1"),
        ],
    ));
    assert_eq!(code, Some(0));
    assert!(stdout.contains("t.env"), "{stdout}");
}

#[test]
fn etcdctl_endpoints_become_an_etcd_url_with_or_without_http() {
    let (code, _, stderr) = outcome(&run_with(
        &["list"],
        &[("ETCDCTL_ENDPOINTS", "http://127.0.0.1:1,127.0.0.1:2")],
    ));
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("etcd://127.0.0.1:1,127.0.0.1:2 (from ETCDCTL_ENDPOINTS)"),
        "{stderr}"
    );
}

#[test]
fn consul_http_addr_becomes_a_consul_url_and_https_means_consuls() {
    for (address, url) in [
        (
            "127.0.0.1:1",
            "consul://127.0.0.1:1 (from CONSUL_HTTP_ADDR)",
        ),
        (
            "http://127.0.0.1:1",
            "consul://127.0.0.1:1 (from CONSUL_HTTP_ADDR)",
        ),
        (
            "https://127.0.0.1:1",
            "consuls://127.0.0.1:1 (from CONSUL_HTTP_ADDR)",
        ),
    ] {
        let (code, _, stderr) = outcome(&run_with(
            &["list"],
            &[
                ("CONSUL_HTTP_ADDR", address),
                ("CONSUL_HTTP_TOKEN", "t0ken"),
            ],
        ));
        assert_eq!(code, Some(4), "{address}: {stderr}");
        assert!(stderr.contains(url), "{address}: {stderr}");
        assert!(!stderr.contains("t0ken"), "{stderr}");
    }
}

#[test]
fn with_etcdctl_endpoints_and_consul_http_addr_both_set_etcd_wins_and_v_says_so() {
    let both = [
        ("ETCDCTL_ENDPOINTS", "127.0.0.1:1"),
        ("CONSUL_HTTP_ADDR", "127.0.0.1:2"),
    ];
    let (code, _, stderr) = outcome(&run_with(&["-v", "list"], &both));
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("etcd://127.0.0.1:1 (from ETCDCTL_ENDPOINTS)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("both ETCDCTL_ENDPOINTS and CONSUL_HTTP_ADDR are set: using etcd"),
        "{stderr}"
    );
    let (_, _, quiet) = outcome(&run_with(&["list"], &both));
    assert!(!quiet.contains("both ETCDCTL_ENDPOINTS"), "{quiet}");
}

#[test]
fn a_bad_registry_variable_exits_3_naming_it() {
    let (code, _, stderr) = outcome(&run_with(
        &["list"],
        &[("CONSUL_HTTP_ADDR", "unix:///run/consul.sock")],
    ));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("CONSUL_HTTP_ADDR="), "{stderr}");
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
    let mut watcher = Running::start(&["--url", "memory://", "watch", "t"]);
    watcher.wait_stderr("watching t on memory://", PATIENCE);
    watcher.signal("TERM");
    assert_eq!(watcher.wait_exit(PATIENCE), Some(0));
}

#[test]
fn watch_of_an_empty_registry_prints_no_snapshot_line() {
    for extra in [&[][..], &["--no-snapshot"]] {
        let mut args = vec!["--url", "memory://", "--json", "watch", "t"];
        args.extend_from_slice(extra);
        let mut watcher = Running::start(&args);
        watcher.wait_stderr("watching t on memory://", PATIENCE);
        watcher.signal("TERM");
        assert_eq!(watcher.wait_exit(PATIENCE), Some(0));
        assert!(watcher.stdout_seen.is_empty(), "{:?}", watcher.stdout_seen);
    }
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

/// Stderr shows one-line causes, never a library type's `Debug` dump.
fn assert_no_debug_dump(stderr: &str) {
    for dump in ["source:", "Os {", "tonic::", "{"] {
        assert!(!stderr.contains(dump), "{dump:?} in {stderr}");
    }
}

#[test]
fn unreachable_etcd_exits_4_with_a_hint() {
    let (code, _, stderr) = outcome(&run(&["--url", "etcd://127.0.0.1:1", "list"]));
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("error: etcd is unavailable: 127.0.0.1:1: connection refused\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: is the registry at etcd://127.0.0.1:1 running"),
        "{stderr}"
    );
    assert_no_debug_dump(&stderr);
}

#[test]
fn unreachable_consul_exits_4_with_a_hint() {
    let (code, _, stderr) = outcome(&run(&["--url", "consul://127.0.0.1:1", "queues", "t"]));
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("error: consul is unavailable: 127.0.0.1:1: connection refused\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: is the registry at consul://127.0.0.1:1 running"),
        "{stderr}"
    );
    assert_no_debug_dump(&stderr);
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
