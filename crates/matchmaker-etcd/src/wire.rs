//! The JSON value stored under each registration key.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// What a registration key holds: small, self-describing, readable with `etcdctl get`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RegistrationRecord {
    pub(crate) topic: String,
    pub(crate) host: String,
    /// Id of the process (backend instance) that wrote it.
    pub(crate) instance: String,
    /// Wall-clock time of the write, milliseconds since the Unix epoch.
    pub(crate) registered_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) metadata: Option<BTreeMap<String, String>>,
}

impl RegistrationRecord {
    pub(crate) fn new(
        topic: &str,
        host: &str,
        instance: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Self {
        let registered_at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            });
        RegistrationRecord {
            topic: topic.to_owned(),
            host: host.to_owned(),
            instance: instance.to_owned(),
            registered_at_ms,
            metadata: (!metadata.is_empty()).then(|| metadata.clone()),
        }
    }

    pub(crate) fn to_json(&self) -> Vec<u8> {
        // Serializing strings and a map cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A stored value, if it parses (foreign writers may store anything).
    pub(crate) fn parse(value: &[u8]) -> Option<RegistrationRecord> {
        serde_json::from_slice::<RegistrationRecord>(value).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_and_omits_empty_metadata() {
        let record = RegistrationRecord::new("t", "h", "i-1", &BTreeMap::new());
        let json = record.to_json();
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(!text.contains("metadata"), "{text}");
        assert_eq!(RegistrationRecord::parse(&json), Some(record));
        assert_eq!(RegistrationRecord::parse(b"not json"), None);
        let metadata = BTreeMap::from([("zone".to_owned(), "b".to_owned())]);
        let with = RegistrationRecord::new("t", "h", "i-1", &metadata);
        assert_eq!(
            RegistrationRecord::parse(&with.to_json()).and_then(|record| record.metadata),
            Some(metadata)
        );
    }
}
