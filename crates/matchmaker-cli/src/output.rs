//! Tables for people, JSON for scripts.

use std::borrow::Cow;
use std::io::Write;
use std::time::{Duration, SystemTime};

use matchmaker::{MembershipEvent, Registration, RegistrationInfo, Route};
use serde_json::{json, Value};

/// Renders rows under a header, columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: Vec<&str>| {
        let line: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    };
    push_row(header.to_vec());
    for row in rows {
        push_row(row.iter().map(String::as_str).collect());
    }
    out
}

/// Routes as a QUEUE / HOST table.
pub fn routes_table(routes: &[Route]) -> String {
    let rows: Vec<Vec<String>> = routes
        .iter()
        .map(|route| {
            vec![
                route.queue().to_owned(),
                route.host().unwrap_or("-").to_owned(),
            ]
        })
        .collect();
    table(&["QUEUE", "HOST"], &rows)
}

/// Routes as `[{"queue": .., "host": ..|null}]`.
pub fn routes_json(routes: &[Route]) -> Value {
    routes
        .iter()
        .map(|route| json!({ "queue": route.queue(), "host": route.host() }))
        .collect()
}

/// Registrations as a TOPIC / HOST / ALIVE table; `wide` adds TTL LEFT, INSTANCE and
/// METADATA (`key=value,...`).
pub fn registrations_table(registrations: &[RegistrationInfo], wide: bool) -> String {
    let rows: Vec<Vec<String>> = registrations
        .iter()
        .map(|info| {
            let mut row = vec![
                info.topic.clone(),
                info.host.clone(),
                if info.alive { "yes" } else { "no" }.into(),
            ];
            if wide {
                row.push(info.ttl_left.map_or_else(|| "-".into(), format_ttl));
                row.push(info.instance.clone().unwrap_or_else(|| "-".into()));
                row.push(format_metadata(&info.metadata));
            }
            row
        })
        .collect();
    if wide {
        table(
            &["TOPIC", "HOST", "ALIVE", "TTL LEFT", "INSTANCE", "METADATA"],
            &rows,
        )
    } else {
        table(&["TOPIC", "HOST", "ALIVE"], &rows)
    }
}

/// Registrations as `[{"topic", "host", "alive", "ttl_left_ms", "instance", "metadata"}]`.
pub fn registrations_json(registrations: &[RegistrationInfo]) -> Value {
    registrations
        .iter()
        .map(|info| {
            json!({
                "topic": info.topic,
                "host": info.host,
                "alive": info.alive,
                "ttl_left_ms": info.ttl_left.map(|ttl| ttl.as_millis() as u64),
                "instance": info.instance,
                "metadata": info.metadata,
            })
        })
        .collect()
}

/// Metadata as `key=value,key=value`, or `-` when there is none.
pub fn format_metadata(metadata: &matchmaker::Metadata) -> String {
    if metadata.is_empty() {
        return "-".into();
    }
    metadata
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A TTL as seconds with one decimal, e.g. `4.2s`.
pub fn format_ttl(ttl: Duration) -> String {
    format!("{:.1}s", ttl.as_secs_f64())
}

/// A duration for people, rounded to the millisecond: `2s`, `666ms`, `1s 500ms`.
pub fn format_duration(duration: Duration) -> String {
    let rounded = Duration::from_millis(duration.as_millis() as u64);
    humantime::format_duration(rounded).to_string()
}

/// `url` with its password and token values replaced by `***`, safe to print.
pub fn redact_url(url: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (url, None),
    };
    let mut redacted = match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((userinfo, hosts)) => {
                    let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
                    let hidden = if userinfo.contains(':') { ":***" } else { "" };
                    format!("{scheme}://{user}{hidden}@{hosts}{path}")
                }
                None => before_query.to_owned(),
            }
        }
        None => before_query.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if ["token", "password"].contains(&name) => format!("{name}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        redacted.push('?');
        redacted.push_str(&pairs.join("&"));
    }
    redacted
}

/// The current time as RFC 3339 with milliseconds, in UTC.
pub fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// The watch lines of one membership item: a join or a leave is one line `TIME joined|left
/// TOPIC HOST [METADATA]`; a snapshot is a `present` line per member (none when `snapshot` is
/// false); each line in its JSON form with `json`.
pub fn event_lines(event: &MembershipEvent, snapshot: bool, json: bool) -> Vec<String> {
    match event {
        MembershipEvent::Snapshot { members, .. } if snapshot => members
            .iter()
            .map(|member| present_line(member, json))
            .collect(),
        MembershipEvent::Snapshot { .. } => Vec::new(),
        MembershipEvent::Joined {
            topic,
            host,
            metadata,
        } => vec![watch_line("joined", topic, host, Some(metadata), json)],
        MembershipEvent::Left { topic, host } => {
            vec![watch_line("left", topic, host, None, json)]
        }
    }
}

/// One watch line for a registration present in a snapshot: `TIME present TOPIC HOST
/// [METADATA]`, or its JSON form, with the same fields as a join.
pub fn present_line(member: &Registration, json: bool) -> String {
    watch_line(
        "present",
        &member.topic,
        &member.host,
        Some(&member.metadata),
        json,
    )
}

/// A watch line; metadata (of a join or a present member) follows the host as
/// `key=value,...` when there is any.
fn watch_line(
    kind: &str,
    topic: &str,
    host: &str,
    metadata: Option<&matchmaker::Metadata>,
    json: bool,
) -> String {
    let time = now();
    if json {
        let mut line = json!({ "time": time, "event": kind, "topic": topic, "host": host });
        if let Some(metadata) = metadata {
            line["metadata"] = json!(metadata);
        }
        line.to_string()
    } else {
        // Padded to the longest kind, `present`, so topics line up.
        let mut line = format!("{time} {kind:<7} {topic} {host}");
        if let Some(metadata) = metadata.filter(|metadata| !metadata.is_empty()) {
            line.push(' ');
            line.push_str(&format_metadata(metadata));
        }
        line
    }
}

/// `text` with every character that could spoof a terminal (control characters other than the
/// newline, bidi controls, zero-width and other format characters) written as `\uXXXX`, which
/// is also a valid JSON string escape, so JSON output stays exact and parseable.
pub fn escape_untrusted(text: &str) -> Cow<'_, str> {
    let dangerous =
        |ch: char| (ch.is_control() && ch != '\n') || matchmaker::key::can_spoof_display(ch);
    if !text.chars().any(dangerous) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for ch in text.chars() {
        if dangerous(ch) {
            let mut units = [0_u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                escaped.push_str(&format!("\\u{unit:04X}"));
            }
        } else {
            escaped.push(ch);
        }
    }
    Cow::Owned(escaped)
}

/// Writes `text` to stdout, escaped by [`escape_untrusted`] (hosts and topics may come from
/// other writers), and flushes, so pipes see each line at once.
pub fn print(text: &str) {
    let text = escape_untrusted(text);
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = stdout.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = stdout.write_all(b"\n");
    }
    let _ = stdout.flush();
}

#[cfg(test)]
mod tests {
    #[test]
    fn untrusted_text_is_escaped_so_it_cannot_spoof_a_terminal() {
        assert_eq!(
            escape_untrusted("evil\u{202e}gnp.exe"),
            "evil\\u202Egnp.exe"
        );
        assert_eq!(
            escape_untrusted("a\u{200b}b\u{1b}[31m"),
            "a\\u200Bb\\u001B[31m"
        );
        assert_eq!(escape_untrusted("tag\u{e0041}"), "tag\\uDB40\\uDC41");
        // Ordinary Unicode and line breaks stay as they are, and borrowed.
        assert!(matches!(
            escape_untrusted("主題-é\n"),
            Cow::Borrowed("主題-é\n")
        ));
    }

    #[test]
    fn escaped_json_still_parses_to_the_exact_text() {
        let value = serde_json::json!({ "host": "evil\u{202e}gnp.exe\u{e0041}" });
        let escaped = escape_untrusted(&value.to_string()).into_owned();
        assert!(!escaped.contains('\u{202e}'), "{escaped}");
        let parsed: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(parsed, value);
    }

    use super::*;

    #[test]
    fn table_pads_columns_to_the_widest_cell() {
        let rendered = table(
            &["A", "BB"],
            &[
                vec!["long-cell".into(), "x".into()],
                vec!["y".into(), "z".into()],
            ],
        );
        assert_eq!(rendered, "A          BB\nlong-cell  x\ny          z\n");
    }

    #[test]
    fn hostless_routes_show_a_dash() {
        let rendered = routes_table(&[Route::hostless("a.b")]);
        assert!(rendered.ends_with("a.b    -\n"), "{rendered:?}");
    }

    #[test]
    fn durations_are_rounded_to_the_millisecond() {
        assert_eq!(format_duration(Duration::from_nanos(666_666_666)), "666ms");
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
    }

    #[test]
    fn passwords_and_tokens_in_urls_are_redacted() {
        assert_eq!(
            redact_url("etcd://root:secret@h1:2379,h2/pfx?ttl=5"),
            "etcd://root:***@h1:2379,h2/pfx?ttl=5"
        );
        assert_eq!(
            redact_url("consul://h:8500/ns?token=abc&ttl=5s"),
            "consul://h:8500/ns?token=***&ttl=5s"
        );
        assert_eq!(redact_url("memory://"), "memory://");
    }

    #[test]
    fn ttl_is_shown_in_seconds_with_one_decimal() {
        assert_eq!(format_ttl(Duration::from_millis(4240)), "4.2s");
    }

    #[test]
    fn watch_line_has_a_utc_timestamp_the_change_topic_and_host() {
        let event = MembershipEvent::joined("scheduler", "node1", Default::default());
        let line = event_line(&event, false);
        let (time, rest) = line.split_once(' ').unwrap();
        assert!(time.ends_with('Z') && time.contains('T'), "{line}");
        assert_eq!(rest, "joined  scheduler node1");
    }

    /// The one line of a join or a leave.
    fn event_line(event: &MembershipEvent, json: bool) -> String {
        let mut lines = event_lines(event, true, json);
        assert_eq!(lines.len(), 1, "{lines:?}");
        lines.remove(0)
    }

    #[test]
    fn a_snapshot_is_a_present_line_per_member_unless_snapshots_are_off() {
        let members = vec![Registration::new("t", "a"), Registration::new("t", "b")];
        let snapshot = MembershipEvent::Snapshot {
            members,
            lagged: false,
        };
        let lines = event_lines(&snapshot, true, false);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with(" present t b"), "{lines:?}");
        assert!(event_lines(&snapshot, false, false).is_empty());
    }

    fn info(alive: bool) -> RegistrationInfo {
        RegistrationInfo {
            topic: "scheduler".into(),
            host: "node1".into(),
            alive,
            ttl_left: Some(Duration::from_millis(1400)),
            instance: Some("17302-be52c965".into()),
            metadata: matchmaker::Metadata::from([("zone".to_owned(), "b".to_owned())]),
        }
    }

    #[test]
    fn present_lines_have_the_fields_of_a_change() {
        let zone = matchmaker::Metadata::from([("zone".to_owned(), "b".to_owned())]);
        let member = Registration::with_metadata("scheduler", "node1", zone);
        let line = present_line(&member, false);
        assert!(line.ends_with(" present scheduler node1 zone=b"), "{line}");
        let value: Value = serde_json::from_str(&present_line(&member, true)).unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["event", "host", "metadata", "time", "topic"]);
        assert_eq!(value["event"], "present");
    }

    #[test]
    fn wide_adds_ttl_left_and_instance_to_the_list_table() {
        let narrow = registrations_table(&[info(true)], false);
        assert_eq!(narrow, "TOPIC      HOST   ALIVE\nscheduler  node1  yes\n");
        let wide = registrations_table(&[info(false)], true);
        assert_eq!(
            wide,
            "TOPIC      HOST   ALIVE  TTL LEFT  INSTANCE        METADATA\n\
             scheduler  node1  no     1.4s      17302-be52c965  zone=b\n"
        );
    }

    #[test]
    fn a_join_line_shows_the_metadata_after_the_host() {
        let zone = matchmaker::Metadata::from([("zone".to_owned(), "b".to_owned())]);
        let event = MembershipEvent::joined("t", "h", std::sync::Arc::new(zone));
        assert!(event_line(&event, false).ends_with(" joined  t h zone=b"));
        let value: Value = serde_json::from_str(&event_line(&event, true)).unwrap();
        assert_eq!(value["metadata"]["zone"], "b");
    }

    #[test]
    fn watch_json_line_has_time_event_topic_and_host() {
        let event = MembershipEvent::Left {
            topic: "t".into(),
            host: "h".into(),
        };
        let value: Value = serde_json::from_str(&event_line(&event, true)).unwrap();
        assert_eq!(value["event"], "left");
        assert_eq!(value["topic"], "t");
        assert_eq!(value["host"], "h");
        assert!(value["time"].as_str().unwrap().ends_with('Z'));
    }
}
