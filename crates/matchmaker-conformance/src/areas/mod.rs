//! The trials, one module per area (and per concern within `heartbeat::`).

mod backend_rules;
mod binding;
mod concurrency;
mod exchange;
mod heartbeat;
mod input;
mod lifecycle;
mod membership;
mod static_rules;
mod ttl;

use libtest_mimic::Trial;

use crate::suite::Plan;

/// Every built-in trial, grouped by area.
pub(crate) fn all(plan: &Plan) -> Vec<Trial> {
    [
        binding::trials(plan),
        exchange::trials(plan),
        backend_rules::trials(plan),
        heartbeat::trials(plan),
        lifecycle::trials(plan),
        membership::trials(plan),
        static_rules::trials(plan),
        ttl::trials(plan),
        input::trials(plan),
        concurrency::trials(plan),
    ]
    .into_iter()
    .flatten()
    .collect()
}
