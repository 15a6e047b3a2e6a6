//! [`Backoff`]: how long a [`crate::Discovery`] waits before it asks an unreachable registry
//! again.

use std::time::Duration;

/// Exponential backoff with jitter between failed subscriptions: `first`, then doubling up to `max`,
/// each delay scaled by a random factor in `0.75..1.25` so many clients do not retry in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backoff {
    /// The delay after the first failure.
    pub first: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Backoff {
    /// Starts at `first` and doubles up to `max` (`max` below `first` is taken as `first`).
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoff {
            first,
            max: max.max(first),
        }
    }

    /// The delay before retry number `attempt` (0 for the first retry), with jitter.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let doubled = self
            .first
            .saturating_mul(2u32.saturating_pow(attempt.min(16)));
        doubled.min(self.max).mul_f64(0.75 + fastrand::f64() / 2.0)
    }
}

impl Default for Backoff {
    /// 100 ms, doubling up to 5 s.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(5))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum_within_the_jitter() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        for (attempt, base) in [
            (0, 100),
            (1, 200),
            (2, 400),
            (3, 800),
            (4, 1000),
            (30, 1000),
        ] {
            let delay = backoff.delay(attempt);
            let base = Duration::from_millis(base);
            assert!(
                delay >= base.mul_f64(0.75) && delay <= base.mul_f64(1.25),
                "{delay:?}"
            );
        }
    }

    #[test]
    fn a_maximum_below_the_first_delay_is_the_first_delay() {
        let backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(backoff.max, Duration::from_secs(2));
    }
}
