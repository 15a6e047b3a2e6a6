//! `Ring`: the validated, ordered topic -> hosts table.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use matchmaker_core::{key, Error, Result};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// The static topology: each bare topic mapped to its ordered host list.
///
/// Read from a JSON object such as
/// `{"scheduler": ["controller1", "node1"], "conductor": ["controller1"]}`.
/// Topics and hosts keep the order of the file.
///
/// # Validation (deviations from the original, which accepted anything)
/// - Topics pass [`key::validate_topic`]. A dotted topic (`l3_agent.node1`) is kept, as in the
///   original: a bare lookup of it is a directed key and never reaches the ring, but
///   `fanout~l3_agent.node1` does, like every registrable topic.
/// - Hosts pass [`key::validate_host`] (not empty, no `/`, `\`, whitespace or control
///   characters, not starting with `.`).
/// - A topic defined twice is rejected (the original's `json.load` silently kept the last).
/// - A host listed twice for one topic is kept, as in the original: round-robin lookups cycle
///   the list as written, so listing a host twice gives it twice the share; a fanout reaches
///   each host once.
/// - An empty host list is accepted; lookups of that topic are empty (with a warning) where
///   the original raised `StopIteration`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ring {
    topics: Vec<(String, Vec<String>)>,
    index: HashMap<String, usize>,
}

impl Ring {
    /// Reads a ring file. A missing or unreadable file, bad JSON or an invalid topic or host
    /// gives [`Error::File`] naming the file and what is wrong (with line and column for
    /// JSON errors).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Ring> {
        let path = path.as_ref();
        let file_error = |message: String| Error::File {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|error| file_error(format!("cannot read the ring file: {error}")))?;
        serde_json::from_str(&text)
            .map_err(|error| file_error(format!("not a valid ring file: {error}")))
    }

    /// Parses a ring from JSON text. Errors are [`Error::InvalidConfig`] saying what is wrong
    /// and where.
    pub fn from_json(json: &str) -> Result<Ring> {
        serde_json::from_str(json)
            .map_err(|error| Error::InvalidConfig(format!("not a valid ring: {error}")))
    }

    /// Builds a ring from `(topic, hosts)` pairs, in iteration order. Invalid entries give
    /// [`Error::InvalidConfig`] naming the topic or host and why.
    ///
    /// ```
    /// let ring = matchmaker_ring::Ring::from_map([("scheduler", ["controller1", "node1"])]).unwrap();
    /// assert_eq!(ring.hosts("scheduler").unwrap(), ["controller1", "node1"]);
    /// ```
    pub fn from_map<T, H, S>(entries: impl IntoIterator<Item = (T, H)>) -> Result<Ring>
    where
        T: Into<String>,
        H: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut ring = Ring::default();
        for (topic, hosts) in entries {
            let hosts = hosts.into_iter().map(Into::into).collect();
            ring.push(topic.into(), hosts)
                .map_err(Error::InvalidConfig)?;
        }
        Ok(ring)
    }

    /// The ordered hosts of `topic`, or `None` when the ring does not define it.
    pub fn hosts(&self, topic: &str) -> Option<&[String]> {
        self.index
            .get(topic)
            .map(|&position| self.topics[position].1.as_slice())
    }

    /// Every `(topic, hosts)` entry, in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.topics
            .iter()
            .map(|(topic, hosts)| (topic.as_str(), hosts.as_slice()))
    }

    /// How many topics the ring defines.
    pub fn len(&self) -> usize {
        self.topics.len()
    }

    /// True when the ring defines no topic.
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    /// The position of `topic` in file order, used by exchanges to keep per-topic state.
    pub(crate) fn position(&self, topic: &str) -> Option<usize> {
        self.index.get(topic).copied()
    }

    /// Validates and appends one entry; the error says which topic or host and why.
    fn push(&mut self, topic: String, hosts: Vec<String>) -> std::result::Result<(), String> {
        self.check_topic(&topic)?;
        for host in &hosts {
            check_host(&topic, host)?;
        }
        self.insert(topic, hosts);
        Ok(())
    }

    /// Checks a topic about to be added: valid and not yet defined.
    fn check_topic(&self, topic: &str) -> std::result::Result<(), String> {
        key::validate_topic(topic)
            .map_err(|error| format!("topic {topic:?} is invalid: {}", reason(error)))?;
        if self.index.contains_key(topic) {
            return Err(format!("topic {topic:?} is defined twice"));
        }
        Ok(())
    }

    /// Appends an entry whose topic and hosts were checked.
    fn insert(&mut self, topic: String, hosts: Vec<String>) {
        self.index.insert(topic.clone(), self.topics.len());
        self.topics.push((topic, hosts));
    }
}

/// Checks one host of `topic`.
fn check_host(topic: &str, host: &str) -> std::result::Result<(), String> {
    key::validate_host(host).map_err(|error| {
        format!(
            "topic {topic:?}: host {host:?} is invalid: {}",
            reason(error)
        )
    })
}

/// The reason of an `InvalidKey` error, without repeating the key.
fn reason(error: Error) -> String {
    match error {
        Error::InvalidKey { reason, .. } => reason.to_string(),
        other => other.to_string(),
    }
}

impl<'de> Deserialize<'de> for Ring {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Ring, D::Error> {
        deserializer.deserialize_map(RingVisitor)
    }
}

/// Reads the JSON object entry by entry, keeping file order and validating each topic and
/// host as soon as it is read, so errors carry the line and column of the offending text.
struct RingVisitor;

impl<'de> Visitor<'de> for RingVisitor {
    type Value = Ring;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object mapping each topic to its ordered list of hosts")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Ring, A::Error> {
        let mut ring = Ring::default();
        while let Some(topic) = map.next_key::<String>()? {
            ring.check_topic(&topic).map_err(de::Error::custom)?;
            let hosts = map.next_value_seed(HostsOf { topic: &topic })?;
            ring.insert(topic, hosts);
        }
        Ok(ring)
    }
}

/// Reads the host list of one topic, checking each host right after it is read.
struct HostsOf<'t> {
    topic: &'t str,
}

impl<'de> DeserializeSeed<'de> for HostsOf<'_> {
    type Value = Vec<String>;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Vec<String>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for HostsOf<'_> {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of host names for topic {:?}", self.topic)
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Vec<String>, A::Error> {
        let mut hosts = Vec::new();
        while let Some(host) = seq.next_element::<String>()? {
            check_host(self.topic, &host).map_err(de::Error::custom)?;
            hosts.push(host);
        }
        Ok(hosts)
    }
}

impl Serialize for Ring {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.topics.len()))?;
        for (topic, hosts) in &self.topics {
            map.serialize_entry(topic, hosts)?;
        }
        map.end()
    }
}
