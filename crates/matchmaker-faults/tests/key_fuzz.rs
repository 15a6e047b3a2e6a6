//! Key parsing and validation fuzz (stable Rust, so a proptest instead of cargo-fuzz): over
//! arbitrary Unicode and over strings biased toward `.`, `/`, `\`, `%`, `~`, `fanout~`,
//! whitespace, bidi controls, zero-width and other format characters and over-long inputs,
//! validation never panics, every rejection is `Error::InvalidKey` with a reason that points at
//! the input, everything accepted respects the documented limits and carries no character that
//! can spoof a display, a memory matchmaker agrees with the validators, and accepted pairs
//! round-trip through the etcd key encoding and the Consul naming without leaving their
//! namespace.
//!
//! 20 000 cases by default; `MATCHMAKER_FUZZ_CASES` (or `PROPTEST_CASES`) overrides.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use matchmaker_core::key::{
    can_spoof_display, join, parse_key, validate_host, validate_pair, validate_topic, KeyKind,
    FANOUT_PREFIX, MAX_HOST_LEN, MAX_KEY_LEN, MAX_TOPIC_LEN,
};
use matchmaker_core::{Error, HeartbeatConfig, InvalidKeyReason, MatchMaker, Route};
use matchmaker_faults::record;
use matchmaker_memory::{connect, MemoryRegistry};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const DEFAULT_CASES: u32 = 20_000;

/// Characters that have broken key handling somewhere: separators, escapes, whitespace,
/// controls, bidi controls, zero-width and other format (Cf) characters, and a few invisible
/// characters that are *not* Cf (so they are accepted; they check we do not over-reject).
const DANGEROUS: &str = concat!(
    "./\\%~-_ \t\n\r\0\u{7f}\u{85}\u{a0}\u{1680}\u{2028}\u{2029}\u{3000}", // whitespace, controls
    "\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}\u{2066}\u{2067}\u{2068}\u{2069}", // bidi
    "\u{200e}\u{200f}\u{61c}",                                             // bidi marks
    "\u{200b}\u{200c}\u{200d}\u{2060}\u{feff}",                            // zero-width
    "\u{ad}\u{600}\u{605}\u{6dd}\u{70f}\u{890}\u{8e2}\u{180e}\u{2061}\u{2064}", // other Cf
    "\u{206a}\u{206f}\u{fff9}\u{fffb}\u{110bd}\u{110cd}\u{13430}\u{1343f}\u{1bca0}",
    "\u{1d173}\u{1d17a}\u{e0001}\u{e0020}\u{e007f}",
    "\u{115f}\u{3164}\u{34f}\u{fe0f}\u{2800}\u{e0100}", // invisible, not Cf, rejected too
    "aZ0é雪😀",
);

const FRAGMENTS: &[&str] = &[
    "fanout~",
    "fanout",
    "fanout~fanout~",
    "~",
    "..",
    ".",
    "/",
    "/../",
    "../",
    "\\..",
    "%2F",
    "%2f",
    "%25",
    "%",
    "%%",
    "-2f",
    "--",
    "mm-",
    "mmh-",
    "a",
    "node1",
    "l3_agent",
    "é",
    "雪",
    "A",
    " ",
    "  ",
];

/// Units repeated to build long strings: one to four bytes each, some with dots.
const LONG_UNITS: &[&str] = &["a", "é", "雪", "😀", "a.", "ab.c", "h-"];

fn dangerous_chars() -> Vec<char> {
    DANGEROUS.chars().collect()
}

fn cases() -> u32 {
    std::env::var("MATCHMAKER_FUZZ_CASES")
        .or_else(|_| std::env::var("PROPTEST_CASES"))
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// Any Unicode scalar values (proptest's `char` strategy covers the whole range, including
/// the Cc/Cf/Co/Cn categories that `any::<String>()` leaves out).
fn arbitrary_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..48).prop_map(String::from_iter)
}

/// Concatenated dangerous characters, fragments and short words.
fn dangerous_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        3 => prop::sample::select(dangerous_chars()).prop_map(String::from),
        2 => prop::sample::select(FRAGMENTS).prop_map(String::from),
        2 => "[a-z0-9_-]{1,8}",
    ];
    (any::<bool>(), prop::collection::vec(token, 0..16)).prop_map(|(fanout, tokens)| {
        let text = tokens.concat();
        if fanout {
            format!("{FANOUT_PREFIX}{text}")
        } else {
            text
        }
    })
}

/// Names like the ones people use, most of them valid.
fn plausible_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_][a-zA-Z0-9_.~/%-]{0,24}"
}

/// Strings around and over the limits (253, 255, 512 bytes), with one optional dangerous
/// character somewhere.
fn long_text() -> impl Strategy<Value = String> {
    let target = prop_oneof![240usize..=260, 500usize..=520, 0usize..=2_000];
    (
        prop::sample::select(LONG_UNITS),
        target,
        proptest::option::of((
            prop::sample::select(dangerous_chars()),
            any::<prop::sample::Index>(),
        )),
    )
        .prop_map(|(unit, target, inserted)| {
            let mut text = String::new();
            while text.len() + unit.len() <= target {
                text.push_str(unit);
            }
            if let Some((ch, at)) = inserted {
                let boundaries: Vec<usize> = text
                    .char_indices()
                    .map(|(index, _)| index)
                    .chain([text.len()])
                    .collect();
                text.insert(*at.get(&boundaries), ch);
            }
            text
        })
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => plausible_text(),
        3 => dangerous_text(),
        2 => arbitrary_text(),
        2 => long_text(),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => text(),
        1 => text().prop_map(|topic| format!("{FANOUT_PREFIX}{topic}")),
        1 => (text(), text()).prop_map(|(topic, host)| join(&topic, &host)),
    ]
}

#[derive(Debug, Clone)]
struct Input {
    topic: String,
    host: String,
    key: String,
    /// A second pair, to check that distinct pairs never share an etcd key or a Consul ID.
    other: (String, String),
}

/// Host-like names, most of them valid.
fn plausible_host() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_][a-zA-Z0-9_.~%-]{0,24}"
}

fn pair() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        1 => (plausible_text(), plausible_host()),
        3 => (text(), text()),
    ]
}

fn input() -> impl Strategy<Value = Input> {
    (pair(), key(), pair()).prop_map(|((topic, host), key, (t2, h2))| Input {
        topic,
        host,
        key,
        other: (t2, h2),
    })
}

/// What the run saw, for the report: how much of the input was accepted.
#[derive(Default)]
struct Counts {
    accepted_pairs: AtomicU64,
    accepted_keys: AtomicU64,
    /// How often each kind of rejection was seen.
    reasons: Mutex<BTreeMap<String, u64>>,
}

impl Counts {
    fn rejected(&self, reason: &InvalidKeyReason) {
        let debug = format!("{reason:?}");
        let kind = debug
            .split(|ch: char| !ch.is_alphanumeric())
            .next()
            .unwrap_or_default()
            .to_owned();
        *self
            .reasons
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(kind)
            .or_default() += 1;
    }
}

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

fn has_spoofing_or_control(text: &str) -> Option<char> {
    text.chars()
        .find(|&ch| ch.is_control() || can_spoof_display(ch))
}

/// The `key` an `InvalidKey` carries: the input, truncated to 80 characters plus `…`.
fn shown(input: &str) -> String {
    if input.chars().count() > 80 {
        let mut shown: String = input.chars().take(80).collect();
        shown.push('…');
        shown
    } else {
        input.to_owned()
    }
}

/// A rejection must be `InvalidKey` carrying the (truncated) input and a reason that is true
/// of it; the message must not carry a control or spoofing character. `max_len` is the limit
/// the validator applies to the whole of `input`.
fn check_rejection(
    what: &str,
    input: &str,
    max_len: usize,
    error: &Error,
    counts: &Counts,
) -> Result<InvalidKeyReason, TestCaseError> {
    let Error::InvalidKey { key, reason } = error else {
        return Err(fail(format!(
            "{what}({input:?}) failed with {error:?}, not InvalidKey"
        )));
    };
    if *key != shown(input) {
        return Err(fail(format!(
            "{what}({input:?}): the error carries {key:?}"
        )));
    }
    let message = error.to_string();
    if let Some(ch) = has_spoofing_or_control(&message) {
        return Err(fail(format!(
            "{what}({input:?}): the message {message:?} carries {ch:?}"
        )));
    }
    if reason.to_string().is_empty() {
        return Err(fail(format!("{what}({input:?}): empty reason")));
    }
    let char_at = |at: usize| input.get(at..).and_then(|rest| rest.chars().next());
    let true_of_input = match reason {
        InvalidKeyReason::Empty => input.is_empty(),
        InvalidKeyReason::TooLong { len, max } => {
            len > max
                && ((*len == input.len() && *max == max_len)
                    || (what == "parse_key" && part_over_its_limit(input, *len, *max)))
        }
        InvalidKeyReason::ControlCharacter { at } => {
            char_at(*at).is_some_and(char::is_control)
                && has_spoofing_or_control(&input[..*at]).is_none()
        }
        InvalidKeyReason::SpoofingCharacter { ch, at } => {
            char_at(*at) == Some(*ch)
                && can_spoof_display(*ch)
                && has_spoofing_or_control(&input[..*at]).is_none()
        }
        InvalidKeyReason::ForbiddenHostCharacter { ch } => {
            input.contains(*ch) && (*ch == '/' || *ch == '\\' || ch.is_whitespace())
        }
        _ => true,
    };
    if !true_of_input {
        return Err(fail(format!(
            "{what}({input:?}) was rejected for {reason:?}, which is not true of it"
        )));
    }
    counts.rejected(reason);
    Ok(reason.clone())
}

/// A key's topic (255) or host (253) part of `len` bytes is over its limit `max`: the parts
/// `parse_key` measures (after `fanout~`; the whole bare topic; each side of the first dot).
fn part_over_its_limit(key: &str, len: usize, max: usize) -> bool {
    let parts: Vec<(&str, usize)> = if let Some(topic) = key.strip_prefix(FANOUT_PREFIX) {
        vec![(topic, MAX_TOPIC_LEN)]
    } else if let Some((topic, host)) = key.split_once('.') {
        vec![(topic, MAX_TOPIC_LEN), (host, MAX_HOST_LEN)]
    } else {
        vec![(key, MAX_TOPIC_LEN)]
    };
    parts
        .iter()
        .any(|(part, limit)| part.len() == len && *limit == max)
}

fn check_accepted_topic(topic: &str) -> Result<(), TestCaseError> {
    let problem = if topic.is_empty() {
        Some("is empty".to_owned())
    } else if topic.len() > MAX_TOPIC_LEN {
        Some(format!("is {} bytes long", topic.len()))
    } else if let Some(ch) = has_spoofing_or_control(topic) {
        Some(format!("contains {ch:?}"))
    } else if topic.starts_with(FANOUT_PREFIX) {
        Some("starts with fanout~".to_owned())
    } else if topic.chars().all(char::is_whitespace) {
        Some("is only whitespace".to_owned())
    } else if topic.split('.').any(str::is_empty) {
        Some("has an empty segment".to_owned())
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(fail(format!("accepted topic {topic:?} {problem}")));
    }
    let fanout = format!("{FANOUT_PREFIX}{topic}");
    match parse_key(&fanout) {
        Ok(KeyKind::Fanout(parsed)) if parsed == topic => Ok(()),
        other => Err(fail(format!(
            "accepted topic {topic:?}, but {fanout:?} parses as {other:?}"
        ))),
    }
}

fn check_accepted_host(host: &str) -> Result<(), TestCaseError> {
    let problem = if host.is_empty() {
        Some("is empty".to_owned())
    } else if host.len() > MAX_HOST_LEN {
        Some(format!("is {} bytes long", host.len()))
    } else if let Some(ch) = has_spoofing_or_control(host) {
        Some(format!("contains {ch:?}"))
    } else if let Some(ch) = host
        .chars()
        .find(|&ch| ch == '/' || ch == '\\' || ch.is_whitespace())
    {
        Some(format!("contains {ch:?}"))
    } else if host.starts_with('.') {
        Some("starts with '.'".to_owned())
    } else {
        None
    };
    match problem {
        Some(problem) => Err(fail(format!("accepted host {host:?} {problem}"))),
        None => Ok(()),
    }
}

/// `part` of an accepted key passes `validate` (the limits included: a key whose topic or
/// host part could never be registered is rejected, not looked up).
fn check_part(
    key: &str,
    part: &str,
    validate: fn(&str) -> matchmaker_core::Result<()>,
) -> Result<(), TestCaseError> {
    match validate(part) {
        Ok(()) => Ok(()),
        Err(error) => Err(fail(format!(
            "parse_key accepted {key:?}, but its part {part:?} is rejected: {error}"
        ))),
    }
}

fn check_key(key: &str, counts: &Counts) -> Result<Option<InvalidKeyReason>, TestCaseError> {
    let kind = match parse_key(key) {
        Ok(kind) => kind,
        Err(error) => {
            return check_rejection("parse_key", key, MAX_KEY_LEN, &error, counts).map(Some)
        }
    };
    counts.accepted_keys.fetch_add(1, Ordering::Relaxed);
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(fail(format!("accepted key of {} bytes", key.len())));
    }
    if let Some(ch) = has_spoofing_or_control(key) {
        return Err(fail(format!("accepted key {key:?} contains {ch:?}")));
    }
    match kind {
        KeyKind::Fanout(topic) => {
            if key.strip_prefix(FANOUT_PREFIX) != Some(topic) {
                return Err(fail(format!("{key:?} parsed as Fanout({topic:?})")));
            }
            check_part(key, topic, validate_topic)?;
        }
        KeyKind::Direct { topic, host } => {
            if key.split_once('.') != Some((topic, host)) || key.starts_with(FANOUT_PREFIX) {
                return Err(fail(format!(
                    "{key:?} parsed as Direct({topic:?}, {host:?})"
                )));
            }
            check_part(key, topic, validate_topic)?;
            check_part(key, host, validate_host)?;
        }
        KeyKind::Topic(topic) => {
            if topic != key || key.contains('.') || key.starts_with(FANOUT_PREFIX) {
                return Err(fail(format!("{key:?} parsed as Topic({topic:?})")));
            }
            check_part(key, topic, validate_topic)?;
        }
    }
    Ok(None)
}

/// Accepted pairs round-trip through the etcd key encoding and stay one level below the
/// prefix; distinct pairs get distinct keys.
fn check_etcd_key(
    topic: &str,
    host: &str,
    other: Option<(&str, &str)>,
) -> Result<(), TestCaseError> {
    use matchmaker_etcd::naming::{decode_segment, registration_key, validate_prefix};
    for prefix in ["/matchmaker/", "/mm/fuzz/", "/é %2F/x/"] {
        assert!(validate_prefix(prefix).is_ok());
        let key = registration_key(prefix, topic, host);
        let escaped = || fail(format!("({topic:?}, {host:?}) under {prefix:?} is {key:?}"));
        let rest = key.strip_prefix(prefix).ok_or_else(escaped)?;
        let (encoded_topic, encoded_host) = rest.split_once('/').ok_or_else(escaped)?;
        let segment_ok = |segment: &str| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._~-%".contains(&b))
        };
        if !segment_ok(encoded_topic) || !segment_ok(encoded_host) {
            return Err(escaped());
        }
        if decode_segment(encoded_topic).as_deref() != Some(topic)
            || decode_segment(encoded_host).as_deref() != Some(host)
        {
            return Err(fail(format!(
                "({topic:?}, {host:?}) does not round-trip through {key:?}"
            )));
        }
        if let Some((t2, h2)) = other {
            if (t2, h2) != (topic, host) && registration_key(prefix, t2, h2) == key {
                return Err(fail(format!(
                    "({topic:?}, {host:?}) and ({t2:?}, {h2:?}) share {key:?}"
                )));
            }
        }
    }
    Ok(())
}

/// Accepted pairs get DNS-label service names that read back to the topic in their own
/// namespace only, and service IDs whose host part reads back exactly (as lookups read it).
fn check_consul_names(
    topic: &str,
    host: &str,
    other: Option<(&str, &str)>,
) -> Result<(), TestCaseError> {
    use matchmaker_consul::naming::{
        decode, service_id, service_name, topic_of_service_name, MAX_SERVICE_NAME_LEN,
    };
    for (namespace, neighbour) in [
        ("prod", "prod-2"),
        ("a", "a-"),
        ("Billing/v1", "billing/v1"),
    ] {
        let name = service_name(namespace, topic);
        let label = name.len() <= MAX_SERVICE_NAME_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !label || !(name.starts_with("mm-") || name.starts_with("mmh-")) {
            return Err(fail(format!(
                "{topic:?} in {namespace:?} has the service name {name:?}"
            )));
        }
        if name.starts_with("mm-")
            && topic_of_service_name(namespace, &name).as_deref() != Some(topic)
        {
            return Err(fail(format!(
                "{name:?} does not read back to {topic:?} in {namespace:?}"
            )));
        }
        if let Some(read) = topic_of_service_name(neighbour, &name) {
            return Err(fail(format!(
                "{name:?} of {namespace:?} reads as topic {read:?} in {neighbour:?}"
            )));
        }
        let id = service_id(namespace, topic, host);
        let read_host = id
            .strip_prefix(name.as_str())
            .and_then(|rest| rest.strip_prefix("--"))
            .and_then(decode);
        if read_host.as_deref() != Some(host) {
            return Err(fail(format!(
                "service ID {id:?} of ({topic:?}, {host:?}) reads back as host {read_host:?}"
            )));
        }
        if let Some((t2, h2)) = other {
            if (t2, h2) != (topic, host) && service_id(namespace, t2, h2) == id {
                return Err(fail(format!(
                    "({topic:?}, {host:?}) and ({t2:?}, {h2:?}) share the ID {id:?}"
                )));
            }
        }
    }
    Ok(())
}

fn reason_of<T>(result: matchmaker_core::Result<T>) -> Option<InvalidKeyReason> {
    match result {
        Err(Error::InvalidKey { reason, .. }) => Some(reason),
        _ => None,
    }
}

/// A fresh memory matchmaker agrees with the validators: lookups fail exactly when
/// `parse_key` does, an accepted pair registers and is found, a rejected one changes nothing.
async fn check_memory(
    input: &Input,
    key_rejection: Option<InvalidKeyReason>,
    pair_rejection: Option<InvalidKeyReason>,
) -> Result<(), TestCaseError> {
    let Input {
        topic, host, key, ..
    } = input;
    let registry = MemoryRegistry::new();
    let matchmaker = connect(&registry, HeartbeatConfig::default()).expect("valid config");

    // Err(None): failed, but not with InvalidKey.
    let lookup: Result<(), Option<InvalidKeyReason>> = match matchmaker.queues(key).await {
        Ok(_) => Ok(()),
        Err(error) => Err(reason_of::<()>(Err(error))),
    };
    let agrees = match (&key_rejection, &lookup) {
        (None, Ok(())) => true,
        (Some(expected), Err(Some(reason))) => reason == expected,
        _ => false,
    };
    if !agrees {
        return Err(fail(format!(
            "queues({key:?}) failed with {lookup:?}, parse_key said {key_rejection:?}"
        )));
    }
    if !registry.is_empty() {
        return Err(fail(format!("queues({key:?}) changed the registry")));
    }

    let registered = matchmaker.register(topic, host).await;
    let Some(expected) = pair_rejection else {
        registered.map_err(|error| fail(format!("register({topic:?}, {host:?}): {error}")))?;
        let fanout = format!("{FANOUT_PREFIX}{topic}");
        let routes = matchmaker
            .queues(&fanout)
            .await
            .map_err(|error| fail(format!("queues({fanout:?}): {error}")))?;
        let direct = join(topic, host);
        if routes != [Route::new(format!("{fanout}.{host}"), host.as_str())] {
            return Err(fail(format!(
                "queues({fanout:?}) after register gave {routes:?}"
            )));
        }
        if !topic.contains('.') {
            let routes = matchmaker.queues(topic).await;
            if routes.as_deref().ok() != Some(&[Route::new(direct.as_str(), host.as_str())][..]) {
                return Err(fail(format!(
                    "queues({topic:?}) after register gave {routes:?}"
                )));
            }
        }
        if let Ok(KeyKind::Direct {
            host: direct_host, ..
        }) = parse_key(&direct)
        {
            let routes = matchmaker.queues(&direct).await;
            if routes.as_deref().ok() != Some(&[Route::new(direct.as_str(), direct_host)][..]) {
                return Err(fail(format!("queues({direct:?}) gave {routes:?}")));
            }
        }
        if !matchmaker.is_alive(topic, host).await.unwrap_or(false) || registry.len() != 1 {
            return Err(fail(format!(
                "({topic:?}, {host:?}) registered but not alive"
            )));
        }
        matchmaker
            .unregister(topic, host)
            .await
            .map_err(|error| fail(format!("unregister({topic:?}, {host:?}): {error}")))?;
        if !registry.is_empty() {
            return Err(fail(format!("({topic:?}, {host:?}) outlived unregister")));
        }
        return Ok(());
    };
    let calls = [
        ("register", reason_of(registered)),
        (
            "is_alive",
            reason_of(matchmaker.is_alive(topic, host).await),
        ),
        ("expire", reason_of(matchmaker.expire(topic, host).await)),
        (
            "ack_alive",
            reason_of(matchmaker.ack_alive(topic, host).await),
        ),
        (
            "unregister",
            reason_of(matchmaker.unregister(topic, host).await),
        ),
    ];
    for (call, reason) in calls {
        if reason.as_ref() != Some(&expected) {
            return Err(fail(format!(
                "{call}({topic:?}, {host:?}) gave {reason:?}, validate_pair said {expected:?}"
            )));
        }
    }
    if !registry.is_empty() || !matchmaker.registrations().is_empty() {
        return Err(fail(format!(
            "rejected ({topic:?}, {host:?}) changed the registry"
        )));
    }
    Ok(())
}

fn check_case(
    input: &Input,
    runtime: &tokio::runtime::Runtime,
    counts: &Counts,
) -> Result<(), TestCaseError> {
    let Input {
        topic,
        host,
        key,
        other,
    } = input;
    let topic_ok = match validate_topic(topic) {
        Ok(()) => {
            check_accepted_topic(topic)?;
            true
        }
        Err(error) => {
            check_rejection("validate_topic", topic, MAX_TOPIC_LEN, &error, counts)?;
            false
        }
    };
    let host_ok = match validate_host(host) {
        Ok(()) => {
            check_accepted_host(host)?;
            true
        }
        Err(error) => {
            check_rejection("validate_host", host, MAX_HOST_LEN, &error, counts)?;
            false
        }
    };
    let pair_rejection = match validate_pair(topic, host) {
        Ok(()) if topic_ok && host_ok => None,
        Ok(()) => {
            return Err(fail(format!(
                "validate_pair accepted ({topic:?}, {host:?}) that a part validator rejected"
            )))
        }
        Err(error) if !topic_ok => Some(check_rejection(
            "validate_pair",
            topic,
            MAX_TOPIC_LEN,
            &error,
            counts,
        )?),
        Err(error) if !host_ok => Some(check_rejection(
            "validate_pair",
            host,
            MAX_HOST_LEN,
            &error,
            counts,
        )?),
        Err(error) => {
            return Err(fail(format!(
                "validate_pair rejected valid ({topic:?}, {host:?}): {error}"
            )))
        }
    };
    let key_rejection = check_key(key, counts)?;
    // The texts themselves, the joined pair and its fanout key are keys too.
    for text in [topic, host] {
        check_key(text, counts)?;
    }
    check_key(&join(topic, host), counts)?;
    check_key(&format!("{FANOUT_PREFIX}{topic}"), counts)?;

    if pair_rejection.is_none() {
        counts.accepted_pairs.fetch_add(1, Ordering::Relaxed);
        let other = validate_pair(&other.0, &other.1)
            .is_ok()
            .then_some((other.0.as_str(), other.1.as_str()));
        check_etcd_key(topic, host, other)?;
        check_consul_names(topic, host, other)?;
    }
    runtime.block_on(check_memory(input, key_rejection, pair_rejection))
}

#[test]
fn key_validation_never_panics_and_accepts_only_what_the_limits_allow() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    let cases = config.cases;
    let counts = Counts::default();
    let mut runner = TestRunner::new(config);
    let started = std::time::Instant::now();
    let outcome = runner.run(&input(), |input| check_case(&input, &runtime, &counts));
    if let Err(error) = outcome {
        panic!("{error}");
    }
    eprintln!(
        "key fuzz: {cases} cases in {:?}; {} accepted pairs, {} accepted keys",
        started.elapsed(),
        counts.accepted_pairs.load(Ordering::Relaxed),
        counts.accepted_keys.load(Ordering::Relaxed),
    );
    eprintln!(
        "key fuzz: rejections by reason: {:?}",
        counts.reasons.lock().expect("not poisoned")
    );
    record(
        "key validation fuzz",
        "cases / panics / escapes",
        format!("{cases} / 0 / 0"),
    );
}
