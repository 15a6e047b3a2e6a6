//! How `(namespace, topic, host)` map to Consul service names, IDs, tags and Meta.
//!
//! Consul wants DNS-friendly service names (one label, at most 63 characters of `[a-z0-9-]`).
//! [`encode`] keeps `a-z` and `0-9` and writes every other byte of the UTF-8 text as `-xx`
//! (two lowercase hex digits), so `Billing/v1` becomes `-42illing-2fv1`. It is injective and
//! [`decode`] reverses it. An encoded text never contains `--` (a `-` is always followed by a
//! hex digit), which makes `--` a safe separator:
//!
//! - service name: `mm-<encoded namespace>--<encoded topic>`; when that exceeds 63
//!   characters, `mmh-<FNV-1a-128 hex of namespace NUL topic>` instead;
//! - service ID: `<service name>--<encoded host>`, unique per `(namespace, topic, host)`;
//! - tag `mm-ns=<namespace>` marks our namespace; Meta keeps the exact namespace, topic, host
//!   and instance, and lookups filter on Meta, so even a hash collision cannot mix topics.

use matchmaker_core::escape::ByteEscape;
use matchmaker_core::{Error, Result};

/// Consul's (and DNS's) maximum length of a service name.
pub const MAX_SERVICE_NAME_LEN: usize = 63;
/// Longest namespace accepted, in bytes.
pub const MAX_NAMESPACE_LEN: usize = 200;
/// Service name of each process's instance service (the one holding the TTL check).
pub const INSTANCE_SERVICE_NAME: &str = "matchmaker-instance";
/// Meta key holding the namespace.
pub const META_NAMESPACE: &str = "mm_namespace";
/// Meta key holding the exact topic.
pub const META_TOPIC: &str = "mm_topic";
/// Meta key holding the exact host.
pub const META_HOST: &str = "mm_host";
/// Meta key holding the id of the process instance that registered the service.
pub const META_INSTANCE: &str = "mm_instance";

/// Checks a namespace: 1 to [`MAX_NAMESPACE_LEN`] bytes, no control characters.
pub fn validate_namespace(namespace: &str) -> Result<()> {
    if namespace.is_empty()
        || namespace.len() > MAX_NAMESPACE_LEN
        || namespace.chars().any(char::is_control)
    {
        return Err(Error::InvalidConfig(format!(
            "namespace {namespace:?} must be 1 to {MAX_NAMESPACE_LEN} bytes without control characters"
        )));
    }
    Ok(())
}

fn is_kept(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit()
}

/// Names: `[a-z0-9]` kept, every other byte `-xx`.
const NAME: ByteEscape = ByteEscape::new(is_kept, b'-', false);

/// Encodes text into `[a-z0-9-]`, reversibly (see the module docs).
pub fn encode(text: &str) -> String {
    NAME.encode(text)
}

/// Reverses [`encode`]; `None` for text [`encode`] cannot produce.
pub fn decode(encoded: &str) -> Option<String> {
    NAME.decode(encoded)
}

/// The Consul service name of `topic` in `namespace`.
pub fn service_name(namespace: &str, topic: &str) -> String {
    let name = format!("mm-{}--{}", encode(namespace), encode(topic));
    if name.len() <= MAX_SERVICE_NAME_LEN {
        name
    } else {
        format!("mmh-{:032x}", fnv1a_128(&[namespace, topic]))
    }
}

/// The topic a service name was derived from, when it is not a hashed name.
pub fn topic_of_service_name(namespace: &str, name: &str) -> Option<String> {
    let rest = name.strip_prefix(&format!("mm-{}--", encode(namespace)))?;
    decode(rest)
}

/// True when `name` is one of our topic service names (of any namespace).
pub fn is_topic_service_name(name: &str) -> bool {
    name.starts_with("mm-") || name.starts_with("mmh-")
}

/// The Consul service ID of the `(namespace, topic, host)` registration.
pub fn service_id(namespace: &str, topic: &str, host: &str) -> String {
    format!("{}--{}", service_name(namespace, topic), encode(host))
}

/// The tag marking services of `namespace`.
pub fn namespace_tag(namespace: &str) -> String {
    format!("mm-ns={namespace}")
}

/// The ID of an instance service (one per backend, holding the TTL check).
pub fn instance_service_id(instance: &str) -> String {
    format!("matchmaker-instance-{instance}")
}

/// The ID of an instance service's TTL check.
pub fn instance_check_id(instance: &str) -> String {
    format!("matchmaker-instance-{instance}:ttl")
}

/// The ID of a registration's alias check.
pub fn alias_check_id(service_id: &str) -> String {
    format!("{service_id}:alias")
}

/// The registration's own metadata in a service's `Meta`: everything but our `mm_` keys.
pub fn user_metadata(
    meta: Option<&std::collections::HashMap<String, String>>,
) -> matchmaker_core::Metadata {
    meta.into_iter()
        .flatten()
        .filter(|(key, _)| !key.starts_with("mm_"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// The ID of the TTL check a registration gets of its own when its process leaves it to
/// expire (instead of its alias check).
pub fn own_ttl_check_id(service_id: &str) -> String {
    format!("{service_id}:ttl")
}

/// A fresh random instance id: 32 hex digits.
pub fn new_instance_id() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// FNV-1a, 128-bit, over the parts separated by NUL (stable across builds and platforms).
fn fnv1a_128(parts: &[&str]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut hash = OFFSET;
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            // The NUL separator: xor with 0 is a no-op, the multiplication is not.
            hash = hash.wrapping_mul(PRIME);
        }
        for byte in part.bytes() {
            hash ^= u128::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const HOSTILE: [&str; 14] = [
        "plain",
        "a/b",
        "a.b",
        "..",
        "%2F",
        "a-b",
        "a--b",
        "A",
        "a",
        "-61",
        "with space",
        "ünïcødé",
        "雪",
        "x_y",
    ];

    #[test]
    fn encoding_keeps_lowercase_letters_and_digits() {
        assert_eq!(encode("abc123"), "abc123");
        assert_eq!(encode("Billing/v1"), "-42illing-2fv1");
    }

    #[test]
    fn encoding_round_trips_hostile_texts() {
        for text in HOSTILE {
            let encoded = encode(text);
            assert!(encoded
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            assert!(!encoded.contains("--"), "{encoded}");
            assert_eq!(decode(&encoded).as_deref(), Some(text));
        }
    }

    #[test]
    fn encoding_is_injective_over_hostile_texts() {
        let encoded: HashSet<String> = HOSTILE.iter().map(|text| encode(text)).collect();
        assert_eq!(encoded.len(), HOSTILE.len());
    }

    #[test]
    fn encoding_is_injective_over_random_texts() {
        let alphabet = ['a', 'A', '-', '.', '/', '0', 'é', ' ', '%', '_'];
        let mut seen = std::collections::HashMap::new();
        for _ in 0..20_000 {
            let len = fastrand::usize(0..6);
            let text: String = (0..len)
                .map(|_| alphabet[fastrand::usize(..alphabet.len())])
                .collect();
            let encoded = encode(&text);
            assert_eq!(decode(&encoded).as_deref(), Some(text.as_str()));
            if let Some(previous) = seen.insert(encoded.clone(), text.clone()) {
                assert_eq!(previous, text, "{encoded} is shared");
            }
        }
    }

    #[test]
    fn decoding_rejects_texts_encode_cannot_produce() {
        for text in ["A", "-6", "-61", "-zz", "a_b", "-2F"] {
            assert_eq!(decode(text), None, "{text}");
        }
    }

    #[test]
    fn service_names_are_dns_labels_and_reversible() {
        for topic in HOSTILE {
            let name = service_name("ns", topic);
            assert!(name.len() <= MAX_SERVICE_NAME_LEN);
            assert!(is_topic_service_name(&name));
            assert_eq!(topic_of_service_name("ns", &name).as_deref(), Some(topic));
        }
    }

    #[test]
    fn long_topics_get_hashed_names_that_differ() {
        let long_a = "a".repeat(255);
        let long_b = format!("{}b", "a".repeat(254));
        let name_a = service_name("ns", &long_a);
        assert!(name_a.starts_with("mmh-") && name_a.len() <= MAX_SERVICE_NAME_LEN);
        assert_ne!(name_a, service_name("ns", &long_b));
        assert_ne!(name_a, service_name("other", &long_a));
        assert_eq!(topic_of_service_name("ns", &name_a), None);
    }

    #[test]
    fn service_ids_differ_per_namespace_topic_and_host() {
        let mut ids = HashSet::new();
        for namespace in ["n", "n2", "a/b"] {
            for topic in HOSTILE {
                for host in ["h", "h.example", "H", "h-1"] {
                    assert!(ids.insert(service_id(namespace, topic, host)));
                }
            }
        }
    }

    #[test]
    fn namespace_validation_rejects_empty_long_and_control() {
        assert!(validate_namespace("matchmaker").is_ok());
        assert!(validate_namespace("").is_err());
        assert!(validate_namespace(&"n".repeat(201)).is_err());
        assert!(validate_namespace("a\nb").is_err());
    }
}
