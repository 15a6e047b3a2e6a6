//! The etcd key of a registration: `<prefix><enc(topic)>/<enc(host)>`.
//!
//! `enc` percent-encodes every byte outside `[A-Za-z0-9._~-]` as `%XX` (upper-case hex), so
//! the encoded parts never contain `/` and a topic or host can neither leave the prefix nor
//! collide with another pair: `a/b` becomes `a%2Fb`, `%2F` becomes `%252F`, `..` stays `..`
//! but is only ever one segment below the prefix, and decoding is exact.

use matchmaker_core::escape::ByteEscape;
use matchmaker_core::{Error, Result};

use crate::config::invalid;

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'~' | b'-')
}

/// Key segments: `[A-Za-z0-9._~-]` kept, every other byte `%XX`.
const SEGMENT: ByteEscape = ByteEscape::new(is_unreserved, b'%', true);

/// Percent-encodes every byte of `text` outside `[A-Za-z0-9._~-]`.
///
/// ```
/// use matchmaker_etcd::naming::encode_segment;
/// assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
/// assert_eq!(encode_segment("%2F"), "%252F");
/// ```
pub fn encode_segment(text: &str) -> String {
    SEGMENT.encode(text)
}

/// Reverses [`encode_segment`]; `None` for text it cannot have produced.
pub fn decode_segment(encoded: &str) -> Option<String> {
    SEGMENT.decode(encoded)
}

/// The full etcd key of `(topic, host)` under `prefix`.
///
/// ```
/// use matchmaker_etcd::naming::registration_key;
/// assert_eq!(registration_key("/mm/", "a/b", "h1"), "/mm/a%2Fb/h1");
/// ```
pub fn registration_key(prefix: &str, topic: &str, host: &str) -> String {
    format!("{prefix}{}/{}", encode_segment(topic), encode_segment(host))
}

/// Checks a key prefix: non-empty, starts and ends with `/`, no `.`/`..` segment, no control
/// characters, at most 512 bytes.
pub fn validate_prefix(prefix: &str) -> Result<()> {
    let problem = if !prefix.starts_with('/') || !prefix.ends_with('/') {
        Some("must start and end with '/'")
    } else if prefix.len() > 512 {
        Some("is longer than 512 bytes")
    } else if prefix.chars().any(char::is_control) {
        Some("contains a control character")
    } else if prefix
        .split('/')
        .any(|segment| segment == ".." || segment == ".")
    {
        Some("contains a '.' or '..' segment")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(invalid(format!("key prefix {prefix:?} {problem}"))),
        None => Ok(()),
    }
}

/// Maps registrations to keys and back under one validated prefix.
#[derive(Debug, Clone)]
pub(crate) struct KeySpace {
    prefix: String,
}

impl KeySpace {
    pub(crate) fn new(prefix: &str) -> Result<Self> {
        validate_prefix(prefix)?;
        Ok(KeySpace {
            prefix: prefix.to_owned(),
        })
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn key(&self, topic: &str, host: &str) -> String {
        registration_key(&self.prefix, topic, host)
    }

    /// The `(topic, host)` of a key under the prefix; `None` for foreign keys.
    pub(crate) fn parse(&self, key: &[u8]) -> Option<(String, String)> {
        let rest = key.strip_prefix(self.prefix.as_bytes())?;
        let rest = std::str::from_utf8(rest).ok()?;
        let (topic, host) = rest.split_once('/')?;
        if topic.is_empty() || host.is_empty() {
            return None;
        }
        Some((decode_segment(topic)?, decode_segment(host)?))
    }
}

/// A key whose topic or host does not decode is not ours: skipped, never an error for lookups.
pub(crate) fn foreign_key(key: &[u8]) -> Error {
    invalid(format!(
        "key {:?} under the prefix is not a matchmaker registration",
        String::from_utf8_lossy(key)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_segments_are_encoded_without_slashes() {
        for hostile in [
            "/",
            "..",
            "%2F",
            "a/../../b",
            "sp ace",
            "tab\t",
            "ümlaut",
            "\u{0}",
        ] {
            let encoded = encode_segment(hostile);
            assert!(!encoded.contains('/'), "{hostile:?} -> {encoded}");
            assert!(
                encoded.bytes().all(|b| is_unreserved(b) || b == b'%'),
                "{encoded}"
            );
            assert_eq!(decode_segment(&encoded).as_deref(), Some(hostile));
        }
        assert_eq!(encode_segment("%2F"), "%252F");
    }

    #[test]
    fn keys_round_trip_and_stay_one_level_below_the_prefix() {
        let space = KeySpace::new("/mm/").unwrap();
        let key = space.key("a/b.c", "host-1.example");
        assert_eq!(key, "/mm/a%2Fb.c/host-1.example");
        assert_eq!(
            space.parse(key.as_bytes()),
            Some(("a/b.c".to_owned(), "host-1.example".to_owned()))
        );
        assert_eq!(space.parse(b"/other/t/h"), None);
        assert_eq!(space.parse(b"/mm/t/h/extra"), None);
        assert_eq!(
            space.parse(b"/mm/t%2f/h"),
            None,
            "lower-case hex is not ours"
        );
        assert_eq!(
            space.parse(b"/mm/%41/h"),
            None,
            "encoded unreserved is not ours"
        );
    }

    #[test]
    fn prefixes_are_validated() {
        for good in ["/", "/matchmaker/", "/a/b/"] {
            assert!(validate_prefix(good).is_ok(), "{good}");
        }
        for bad in ["", "matchmaker/", "/matchmaker", "/a/../b/", "/./", "/a\n/"] {
            assert!(validate_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn encoding_is_injective_on_a_sample_of_tricky_pairs() {
        let parts = [
            "a", "a/b", "a%2Fb", "a%252Fb", "/", "%", "..", ".", "a b", "ä",
        ];
        let mut seen = std::collections::HashMap::new();
        for topic in parts {
            for host in parts {
                let key = registration_key("/p/", topic, host);
                if let Some(previous) = seen.insert(key.clone(), (topic, host)) {
                    panic!("{key} from both {previous:?} and {:?}", (topic, host));
                }
            }
        }
    }

    /// Property: decode(encode(x)) == x for random strings, hence the encoding is injective,
    /// and the split of a key at its only `/` gives back the pair.
    #[test]
    fn encoding_round_trips_for_random_strings() {
        let mut rng = fastrand::Rng::with_seed(7);
        let alphabet: Vec<char> = "aZ09._~-/%2F \t\u{0}\u{7f}äЖ😀.:".chars().collect();
        let space = KeySpace::new("/p/").unwrap();
        for _ in 0..5000 {
            let mut random = || -> String {
                (0..rng.usize(1..12))
                    .map(|_| alphabet[rng.usize(..alphabet.len())])
                    .collect()
            };
            let (topic, host) = (random(), random());
            let key = space.key(&topic, &host);
            assert_eq!(space.parse(key.as_bytes()), Some((topic, host)));
        }
    }
}
