//! The key grammar and the validation every backend runs before touching anything.
//!
//! - A **bare topic** has no `.`: `scheduler`.
//! - A **directed key** is `topic.host`; the host is everything after the *first* `.`, so
//!   hosts may contain dots (`a.b.c` has topic `a` and host `b.c`).
//! - A **fanout key** starts with [`FANOUT_PREFIX`]: `fanout~scheduler`.
//!
//! # Deviations from the original
//! The original matchmaker accepted any string. We reject, with [`Error::InvalidKey`]:
//! empty keys; empty parts (`fanout~` alone, `.host`, `topic.`, `a..b` in a topic);
//! NUL and other control characters anywhere; bidi controls, zero-width and other Unicode
//! format (Cf) characters anywhere (they make a key display differently from what it is);
//! topics made only of whitespace; keys over [`MAX_KEY_LEN`], topics over
//! [`MAX_TOPIC_LEN`] and hosts over [`MAX_HOST_LEN`] bytes; hosts containing `/`, `\` or
//! whitespace, or starting with `.`; and topics to register that start with `fanout~`.
//! Topics may contain `/` and other characters: backends must encode them so they cannot
//! escape their namespace.
//!
//! The text after `fanout~` is validated exactly like a topic to register, so every topic that
//! can be registered can be fanned out to. A directed key is split at its first `.`, so the
//! part after it must be a valid host: the own direct queue of a dotted topic whose later part
//! is not a valid host (`a/./b`) cannot be looked up as a directed key.

use crate::error::{Error, InvalidKeyReason, Result};

/// The prefix that marks a fanout key.
pub const FANOUT_PREFIX: &str = "fanout~";
/// Maximum length of a lookup key, in bytes.
pub const MAX_KEY_LEN: usize = 512;
/// Maximum length of a topic, in bytes.
pub const MAX_TOPIC_LEN: usize = 255;
/// Maximum length of a host, in bytes (the DNS limit for a name).
pub const MAX_HOST_LEN: usize = 253;

/// What a lookup key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind<'a> {
    /// A bare topic: one host serving it.
    Topic(&'a str),
    /// `topic.host`: that host, directly.
    Direct {
        /// Text before the first `.`.
        topic: &'a str,
        /// Text after the first `.`.
        host: &'a str,
    },
    /// `fanout~topic`: every host serving `topic` (which may itself contain dots).
    Fanout(&'a str),
}

/// Validates a lookup key and tells what it asks for.
///
/// ```
/// use matchmaker_core::key::{parse_key, KeyKind};
/// assert_eq!(parse_key("a.b.c").unwrap(), KeyKind::Direct { topic: "a", host: "b.c" });
/// assert_eq!(parse_key("fanout~t").unwrap(), KeyKind::Fanout("t"));
/// assert!(parse_key("topic.").is_err());
/// ```
pub fn parse_key(key: &str) -> Result<KeyKind<'_>> {
    if key.is_empty() {
        return Err(Error::invalid_key(key, InvalidKeyReason::Empty));
    }
    check_len(key, key, MAX_KEY_LEN)?;
    check_no_control(key, key)?;
    if let Some(topic) = key.strip_prefix(FANOUT_PREFIX) {
        // Validated exactly like a topic to register: whatever can be registered can be
        // fanned out to, dotted topics such as `l3_agent.node1` included.
        check_len(key, topic, MAX_TOPIC_LEN)?;
        check_topic_segments(key, topic)?;
        check_not_only_whitespace(key, topic)?;
        if topic.starts_with(FANOUT_PREFIX) {
            return Err(Error::invalid_key(key, InvalidKeyReason::TopicIsFanoutKey));
        }
        return Ok(KeyKind::Fanout(topic));
    }
    match key.split_once('.') {
        None => {
            check_len(key, key, MAX_TOPIC_LEN)?;
            check_not_only_whitespace(key, key)?;
            Ok(KeyKind::Topic(key))
        }
        Some((topic, host)) => {
            // Each part within the limit of what could be registered, or it can never match.
            check_len(key, topic, MAX_TOPIC_LEN)?;
            check_len(key, host, MAX_HOST_LEN)?;
            check_dotted_parts(key, key)?;
            check_not_only_whitespace(key, topic)?;
            Ok(KeyKind::Direct { topic, host })
        }
    }
}

/// Validates a topic to register (it may contain dots, e.g. `l3_agent.node1`).
pub fn validate_topic(topic: &str) -> Result<()> {
    if topic.is_empty() {
        return Err(Error::invalid_key(topic, InvalidKeyReason::EmptyTopic));
    }
    check_len(topic, topic, MAX_TOPIC_LEN)?;
    check_no_control(topic, topic)?;
    if topic.starts_with(FANOUT_PREFIX) {
        return Err(Error::invalid_key(
            topic,
            InvalidKeyReason::TopicIsFanoutKey,
        ));
    }
    check_not_only_whitespace(topic, topic)?;
    check_topic_segments(topic, topic)
}

/// Validates a host name.
pub fn validate_host(host: &str) -> Result<()> {
    if host.is_empty() {
        return Err(Error::invalid_key(host, InvalidKeyReason::EmptyHost));
    }
    check_len(host, host, MAX_HOST_LEN)?;
    check_no_control(host, host)?;
    check_host_chars(host, host)
}

/// Validates a `(topic, host)` pair to register, expire or check.
pub fn validate_pair(topic: &str, host: &str) -> Result<()> {
    validate_topic(topic)?;
    validate_host(host)
}

/// True for a character that can make text display differently from what it is: a bidi
/// control, a zero-width character or another Unicode format (Cf) character. Keys may not
/// contain one; printers of text from elsewhere should escape them.
pub fn can_spoof_display(ch: char) -> bool {
    crate::display_spoofing::spoofing(ch).is_some()
}

/// Joins a pair into its direct queue name, `topic.host`.
pub fn join(topic: &str, host: &str) -> String {
    let mut queue = String::with_capacity(topic.len() + 1 + host.len());
    queue.push_str(topic);
    queue.push('.');
    queue.push_str(host);
    queue
}

/// Checks a (possibly dotted) topic: non-empty, no empty `.`-separated segment.
fn check_topic_segments(shown: &str, topic: &str) -> Result<()> {
    if topic.is_empty() || topic.starts_with('.') {
        return Err(Error::invalid_key(shown, InvalidKeyReason::EmptyTopic));
    }
    if topic.split('.').any(str::is_empty) {
        return Err(Error::invalid_key(
            shown,
            InvalidKeyReason::EmptyTopicSegment,
        ));
    }
    Ok(())
}

/// Checks a directed key `topic.host`: non-empty topic, valid host.
fn check_dotted_parts(key: &str, dotted: &str) -> Result<()> {
    let Some((topic, host)) = dotted.split_once('.') else {
        return Ok(());
    };
    if topic.is_empty() {
        return Err(Error::invalid_key(key, InvalidKeyReason::EmptyTopic));
    }
    if host.is_empty() {
        return Err(Error::invalid_key(key, InvalidKeyReason::EmptyHost));
    }
    check_host_chars(key, host)
}

fn check_host_chars(shown: &str, host: &str) -> Result<()> {
    if host.starts_with('.') {
        return Err(Error::invalid_key(
            shown,
            InvalidKeyReason::HostStartsWithDot,
        ));
    }
    match host
        .chars()
        .find(|&ch| ch == '/' || ch == '\\' || ch.is_whitespace())
    {
        Some(ch) => Err(Error::invalid_key(
            shown,
            InvalidKeyReason::ForbiddenHostCharacter { ch },
        )),
        None => Ok(()),
    }
}

fn check_len(shown: &str, text: &str, max: usize) -> Result<()> {
    if text.len() > max {
        return Err(Error::invalid_key(
            shown,
            InvalidKeyReason::TooLong {
                len: text.len(),
                max,
            },
        ));
    }
    Ok(())
}

/// No control character, and no character that can spoof a display (see
/// [`InvalidKeyReason::SpoofingCharacter`]).
fn check_no_control(shown: &str, text: &str) -> Result<()> {
    for (at, ch) in text.char_indices() {
        if ch.is_control() {
            return Err(Error::invalid_key(
                shown,
                InvalidKeyReason::ControlCharacter { at },
            ));
        }
        if can_spoof_display(ch) {
            return Err(Error::invalid_key(
                shown,
                InvalidKeyReason::SpoofingCharacter { ch, at },
            ));
        }
    }
    Ok(())
}

/// A topic that is only whitespace would print as nothing at all.
fn check_not_only_whitespace(shown: &str, topic: &str) -> Result<()> {
    if !topic.is_empty() && topic.chars().all(char::is_whitespace) {
        return Err(Error::invalid_key(shown, InvalidKeyReason::OnlyWhitespace));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(result: Result<impl std::fmt::Debug>) -> InvalidKeyReason {
        match result {
            Err(Error::InvalidKey { reason, .. }) => reason,
            other => panic!("expected InvalidKey, got {other:?}"),
        }
    }

    #[test]
    fn host_is_everything_after_the_first_dot() {
        assert_eq!(
            parse_key("a.b.c").unwrap(),
            KeyKind::Direct {
                topic: "a",
                host: "b.c"
            }
        );
    }

    #[test]
    fn fanout_keys_may_contain_dots() {
        assert_eq!(
            parse_key("fanout~fantasy.unicorn").unwrap(),
            KeyKind::Fanout("fantasy.unicorn")
        );
    }

    #[test]
    fn empty_parts_are_rejected() {
        assert_eq!(reason(parse_key("")), InvalidKeyReason::Empty);
        assert_eq!(reason(parse_key("fanout~")), InvalidKeyReason::EmptyTopic);
        assert_eq!(reason(parse_key(".host")), InvalidKeyReason::EmptyTopic);
        assert_eq!(reason(parse_key("topic.")), InvalidKeyReason::EmptyHost);
        assert_eq!(reason(parse_key("fanout~.h")), InvalidKeyReason::EmptyTopic);
        assert_eq!(
            reason(validate_topic("a..b")),
            InvalidKeyReason::EmptyTopicSegment
        );
    }

    #[test]
    fn control_characters_are_rejected_with_their_offset() {
        assert_eq!(
            reason(parse_key("ab\0c")),
            InvalidKeyReason::ControlCharacter { at: 2 }
        );
        assert_eq!(
            reason(validate_host("h\n")),
            InvalidKeyReason::ControlCharacter { at: 1 }
        );
    }

    #[test]
    fn bidi_zero_width_and_format_characters_are_rejected_with_name_and_offset() {
        for (text, ch, at) in [
            ("evil\u{202e}gnp.exe", '\u{202E}', 4),
            ("a\u{200b}b", '\u{200B}', 1),
            ("\u{feff}topic", '\u{FEFF}', 0),
            ("x\u{2066}y", '\u{2066}', 1),
            ("soft\u{ad}hyphen", '\u{AD}', 4),
            ("tag\u{e0041}", '\u{E0041}', 3),
        ] {
            assert_eq!(
                reason(validate_topic(text)),
                InvalidKeyReason::SpoofingCharacter { ch, at },
                "{text:?}"
            );
            assert_eq!(
                reason(parse_key(text)),
                InvalidKeyReason::SpoofingCharacter { ch, at },
                "{text:?}"
            );
        }
        assert!(matches!(
            reason(validate_host("evil\u{202e}gnp.exe")),
            InvalidKeyReason::SpoofingCharacter { .. }
        ));
        let message = validate_topic("evil\u{202e}gnp.exe")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("U+202E RIGHT-TO-LEFT OVERRIDE at byte 4"),
            "{message}"
        );
        assert!(
            !message.contains('\u{202e}'),
            "the message must not carry it: {message}"
        );
    }

    #[test]
    fn topics_made_only_of_whitespace_are_rejected() {
        for topic in [" ", "   ", "\u{3000}", "\u{a0}"] {
            assert_eq!(
                reason(validate_topic(topic)),
                InvalidKeyReason::OnlyWhitespace,
                "{topic:?}"
            );
            assert_eq!(
                reason(parse_key(topic)),
                InvalidKeyReason::OnlyWhitespace,
                "{topic:?}"
            );
            assert_eq!(
                reason(parse_key(&format!("fanout~{topic}"))),
                InvalidKeyReason::OnlyWhitespace
            );
        }
        assert_eq!(
            reason(parse_key(" .host")),
            InvalidKeyReason::OnlyWhitespace
        );
        assert!(validate_topic("a b").is_ok());
    }

    #[test]
    fn lengths_are_bounded() {
        let long = "t".repeat(MAX_KEY_LEN + 1);
        assert_eq!(
            reason(parse_key(&long)),
            InvalidKeyReason::TooLong {
                len: MAX_KEY_LEN + 1,
                max: MAX_KEY_LEN
            }
        );
        assert!(validate_topic(&"t".repeat(MAX_TOPIC_LEN)).is_ok());
        assert!(validate_topic(&"t".repeat(MAX_TOPIC_LEN + 1)).is_err());
        assert!(validate_host(&"h".repeat(MAX_HOST_LEN + 1)).is_err());
    }

    #[test]
    fn hosts_may_not_contain_slashes_or_whitespace_or_start_with_a_dot() {
        for bad in ["a/b", "a\\b", "a b", "..", ".", ".hidden"] {
            assert!(validate_host(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_key("topic.a/b").is_err());
        assert!(validate_host("node-1.example.com").is_ok());
    }

    #[test]
    fn every_registrable_topic_can_be_fanned_out_to() {
        for topic in ["l3_agent.node1", "a/./b", "x.y z", "t.%2F"] {
            assert!(validate_topic(topic).is_ok(), "{topic:?}");
            let key = format!("{FANOUT_PREFIX}{topic}");
            assert_eq!(parse_key(&key).unwrap(), KeyKind::Fanout(topic));
        }
        assert_eq!(
            reason(parse_key("fanout~t.")),
            InvalidKeyReason::EmptyTopicSegment
        );
        assert_eq!(
            reason(parse_key("fanout~fanout~t")),
            InvalidKeyReason::TopicIsFanoutKey
        );
    }

    #[test]
    fn dotted_topics_can_be_registered() {
        assert!(validate_pair("l3_agent.node1", "hostA").is_ok());
        assert_eq!(
            reason(validate_topic("fanout~x")),
            InvalidKeyReason::TopicIsFanoutKey
        );
    }

    #[test]
    fn long_inputs_are_truncated_in_the_message() {
        let err = parse_key(&"x".repeat(10_000)).unwrap_err();
        assert!(err.to_string().len() < 300, "{err}");
    }
}
