//! `InstanceNames`: one shared copy of each writer's instance id, so the cache stores it once
//! per writer (one lease per process) instead of once per key.

use std::collections::HashSet;
use std::sync::Arc;

/// The fewest names kept before unused ones are dropped.
const PRUNE_FLOOR: usize = 64;

/// The instance ids the cache's entries share. Ids no entry holds any more are dropped
/// whenever the set has doubled since the last pass, so the work is O(1) per insert amortized
/// and the set stays at most twice the number of live writers (plus [`PRUNE_FLOOR`]).
#[derive(Debug)]
pub(crate) struct InstanceNames {
    names: HashSet<Arc<str>>,
    prune_at: usize,
}

impl InstanceNames {
    pub(crate) fn new() -> Self {
        InstanceNames {
            names: HashSet::new(),
            prune_at: PRUNE_FLOOR,
        }
    }

    /// The shared copy of `name` (`name` itself when it is the first of its kind).
    pub(crate) fn share(&mut self, name: Arc<str>) -> Arc<str> {
        if let Some(shared) = self.names.get(&name) {
            return Arc::clone(shared);
        }
        if self.names.len() >= self.prune_at {
            self.names.retain(|held| Arc::strong_count(held) > 1);
            self.prune_at = (self.names.len() * 2).max(PRUNE_FLOOR);
        }
        self.names.insert(Arc::clone(&name));
        name
    }

    /// How many ids are held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_names_share_one_allocation() {
        let mut names = InstanceNames::new();
        let first = names.share(Arc::from("4242-0badf00d"));
        let second = names.share(Arc::from("4242-0badf00d"));
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn names_no_entry_holds_are_dropped_once_the_set_doubles() {
        let mut names = InstanceNames::new();
        let kept = names.share(Arc::from("kept"));
        for writer in 0..PRUNE_FLOOR * 4 {
            // Each name is dropped by the caller at once, like the entries of a writer gone.
            names.share(Arc::from(format!("gone-{writer}")));
        }
        assert!(names.len() <= PRUNE_FLOOR, "{} names held", names.len());
        assert!(Arc::ptr_eq(&kept, &names.share(Arc::from("kept"))));
    }
}
