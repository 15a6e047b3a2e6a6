//! Metadata of one registration: a small string map (a version, a zone, a port name) stored
//! once per registration by every registry backend and read back by `list`.
//!
//! Limits, so every backend can store it as is (Consul's service `Meta` is the strictest): at
//! most [`MAX_ENTRIES`] entries; keys of 1 to [`MAX_KEY_LEN`] ASCII letters, digits, `_` or `-`,
//! not starting with `mm_` (the backends' own keys) or `consul` (Consul's); values of at most
//! [`MAX_VALUE_LEN`] bytes without control characters or characters that can spoof a display.

use std::collections::BTreeMap;

use crate::{Error, Result};

/// A registration's metadata, sorted by key.
pub type Metadata = BTreeMap<String, String>;

/// The most entries one registration may carry.
pub const MAX_ENTRIES: usize = 32;
/// The longest key, in bytes.
pub const MAX_KEY_LEN: usize = 64;
/// The longest value, in bytes.
pub const MAX_VALUE_LEN: usize = 512;

/// Checks `metadata` against the limits above; the error names the entry and what is wrong.
pub fn validate_metadata(metadata: &Metadata) -> Result<()> {
    if metadata.len() > MAX_ENTRIES {
        return Err(invalid(
            "",
            format!("{} entries, at most {MAX_ENTRIES}", metadata.len()),
        ));
    }
    for (key, value) in metadata {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(invalid(
                key,
                format!("keys are 1 to {MAX_KEY_LEN} bytes long"),
            ));
        }
        if let Some(ch) = key
            .chars()
            .find(|ch| !(ch.is_ascii_alphanumeric() || *ch == '_' || *ch == '-'))
        {
            return Err(invalid(
                key,
                format!(
                    "keys are ASCII letters, digits, '_' or '-'; found U+{:04X}",
                    ch as u32
                ),
            ));
        }
        let lower = key.to_ascii_lowercase();
        if lower.starts_with("mm_") || lower.starts_with("consul") {
            return Err(invalid(
                key,
                "keys starting with mm_ or consul are reserved",
            ));
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(invalid(
                key,
                format!(
                    "its value is {} bytes, at most {MAX_VALUE_LEN}",
                    value.len()
                ),
            ));
        }
        if let Some((at, ch)) = value
            .char_indices()
            .find(|(_, ch)| ch.is_control() || crate::key::can_spoof_display(*ch))
        {
            return Err(invalid(
                key,
                format!(
                    "its value contains U+{:04X} at byte {at}, a control or invisible character",
                    ch as u32
                ),
            ));
        }
    }
    Ok(())
}

fn invalid(key: &str, reason: impl Into<String>) -> Error {
    Error::InvalidMetadata {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(key: &str, value: &str) -> Metadata {
        Metadata::from([(key.to_owned(), value.to_owned())])
    }

    #[test]
    fn ordinary_metadata_is_accepted() {
        let metadata = Metadata::from([
            ("version".to_owned(), "1.4.2".to_owned()),
            ("zone".to_owned(), "eu-west 1b".to_owned()),
            ("grpc_port".to_owned(), "50051".to_owned()),
        ]);
        assert!(validate_metadata(&metadata).is_ok());
        assert!(validate_metadata(&Metadata::new()).is_ok());
    }

    #[test]
    fn bad_keys_values_and_sizes_are_invalid_metadata_naming_the_key() {
        let too_many: Metadata = (0..=MAX_ENTRIES)
            .map(|index| (format!("k{index}"), "v".to_owned()))
            .collect();
        let long_key = "k".repeat(MAX_KEY_LEN + 1);
        let long_value = "v".repeat(MAX_VALUE_LEN + 1);
        for (metadata, key) in [
            (too_many, ""),
            (one("", "v"), ""),
            (one(&long_key, "v"), long_key.as_str()),
            (one("a.b", "v"), "a.b"),
            (one("a b", "v"), "a b"),
            (one("mm_topic", "v"), "mm_topic"),
            (one("Consul-x", "v"), "Consul-x"),
            (one("k", &long_value), "k"),
            (one("k", "a\nb"), "k"),
            (one("k", "evil\u{202e}"), "k"),
        ] {
            match validate_metadata(&metadata) {
                Err(Error::InvalidMetadata { key: named, .. }) => assert_eq!(named, key),
                other => panic!("{metadata:?}: {other:?}"),
            }
        }
    }
}
