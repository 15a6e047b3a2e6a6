//! [`RegistrationSet`]: this process's registrations, owned by the matchmaker, with the
//! snapshot heartbeats hand to the backend kept until the set changes.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::Registration;

/// The registrations of one matchmaker, sorted, and a shared snapshot of them: what must
/// exist in the registry, the one copy of that fact in the process. Backends are handed
/// what they work on and keep no set of their own.
///
/// A heartbeat takes [`RegistrationSet::snapshot`]: the same `Arc` every beat while nothing
/// changes, so a beat over 10k registrations copies nothing.
#[derive(Default)]
pub(crate) struct RegistrationSet {
    set: BTreeSet<Registration>,
    snapshot: Option<Arc<[Registration]>>,
}

impl RegistrationSet {
    /// Adds `registration`, or replaces the pair's (its metadata); the one replaced, if any.
    pub(crate) fn replace(&mut self, registration: Registration) -> Option<Registration> {
        self.snapshot = None;
        self.set.replace(registration)
    }

    /// Removes the pair; true if it was there.
    pub(crate) fn remove(&mut self, registration: &Registration) -> bool {
        let removed = self.set.remove(registration);
        if removed {
            self.snapshot = None;
        }
        removed
    }

    /// Removes everything, returning it.
    pub(crate) fn take(&mut self) -> Arc<[Registration]> {
        let taken = self.snapshot();
        self.snapshot = None;
        self.set.clear();
        taken
    }

    /// Puts back each of `registrations` whose pair is not registered (again) meanwhile: what a
    /// failed drain or leave hands back.
    pub(crate) fn restore(&mut self, registrations: &[Registration]) {
        for registration in registrations {
            if self.get(registration).is_none() {
                self.replace(registration.clone());
            }
        }
    }

    /// The registration of the pair, as registered (with its metadata).
    pub(crate) fn get(&self, pair: &Registration) -> Option<&Registration> {
        self.set.get(pair)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Registration> {
        self.set.iter()
    }

    /// Every registration, sorted, shared until the set changes.
    pub(crate) fn snapshot(&mut self) -> Arc<[Registration]> {
        self.snapshot
            .get_or_insert_with(|| self.set.iter().cloned().collect())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_is_shared_until_the_set_changes() {
        let mut set = RegistrationSet::default();
        set.replace(Registration::new("t", "a"));
        let first = set.snapshot();
        assert!(Arc::ptr_eq(&first, &set.snapshot()));
        set.replace(Registration::new("t", "b"));
        let second = set.snapshot();
        assert_eq!(second.len(), 2);
        assert!(!Arc::ptr_eq(&first, &second));
        assert!(!set.remove(&Registration::new("t", "c")));
        assert!(Arc::ptr_eq(&second, &set.snapshot()));
        assert!(set.remove(&Registration::new("t", "a")));
        assert_eq!(&*set.snapshot(), &[Registration::new("t", "b")]);
        assert_eq!(set.take().len(), 1);
        assert!(set.snapshot().is_empty());
    }
}
