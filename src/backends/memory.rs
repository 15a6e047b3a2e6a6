//! `memory://[name]`: the in-process registry.
//!
//! `memory://` uses the process-wide [`MemoryRegistry::global`]; `memory://NAME` uses the
//! process-wide registry of that name ([`MemoryRegistry::named`]), shared by every later
//! `connect` in the process.

use matchmaker_core::{key, Error};
use matchmaker_memory::MemoryRegistry;

use crate::schemes::{ConnectFuture, Target};
use crate::Registry;

pub(crate) fn connect(target: Target<'_>) -> ConnectFuture<'_> {
    Box::pin(async move {
        super::reject_options("memory", &target)?;
        let name = target.rest.trim_end_matches('/');
        if !name.is_empty() {
            // Names follow host rules: no '/', whitespace or control characters.
            key::validate_host(name).map_err(|error| {
                Error::InvalidConfig(format!("memory://{name}: invalid registry name: {error}"))
            })?;
        }
        let registry = MemoryRegistry::named(name);
        let config = target.heartbeat.cloned().unwrap_or_default();
        let matchmaker = matchmaker_memory::connect(&registry, config)?;
        Ok(Box::new(matchmaker) as Box<dyn Registry>)
    })
}
