//! Bindings: does a rule match a key?

/// A predicate deciding whether a rule applies to a key.
///
/// # Behaviour
/// - [`TopicBinding`] matches keys with no `.`.
/// - [`DirectBinding`] matches keys with a `.`.
/// - [`FanoutBinding`] matches keys that start with `fanout~`.
/// - A binding only looks at the key's shape; it never fails and never does I/O.
pub trait Binding: Send + Sync {
    /// True when the rule applies to `key`.
    fn test(&self, key: &str) -> bool;
}

/// Matches bare topics: keys without a `.`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TopicBinding;

impl Binding for TopicBinding {
    fn test(&self, key: &str) -> bool {
        !key.contains('.')
    }
}

/// Matches directed keys: keys with a `.` (`topic.host`).
#[derive(Debug, Clone, Copy, Default)]
pub struct DirectBinding;

impl Binding for DirectBinding {
    fn test(&self, key: &str) -> bool {
        key.contains('.')
    }
}

/// Matches fanout keys: keys starting with `fanout~`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FanoutBinding;

impl Binding for FanoutBinding {
    fn test(&self, key: &str) -> bool {
        key.starts_with(crate::key::FANOUT_PREFIX)
    }
}
