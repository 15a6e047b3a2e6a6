//! What the backend under test is and can do: decides which trials apply.

use std::time::Duration;

/// What the backend under test is, deciding which trials apply.
#[derive(Clone, Debug)]
pub enum Flavor {
    /// Original `MatchMakerLocalhost(host)` rules.
    Localhost {
        /// The host every bare topic and fanout resolves to.
        host: String,
    },
    /// Original `MatchMakerStub` rules.
    Stub,
    /// Static rules of another kind (e.g. the ring): only generic static, input and
    /// rule-engine trials apply.
    OtherStatic,
    /// A `HeartbeatMatchMaker`-style registry backend (memory, etcd, consul).
    Heartbeat,
}

impl Flavor {
    /// True for the flavors with rules and no registry.
    pub fn is_static(&self) -> bool {
        !matches!(self, Flavor::Heartbeat)
    }
}

/// What the backend under test can do.
#[derive(Clone, Debug)]
pub struct Capabilities {
    /// Which rules the backend has.
    pub flavor: Flavor,
    /// Two instances created with the same namespace see each other's registrations.
    pub shared_registry: bool,
    /// The TTL instances are created with (enables `ttl::` trials); `None` = no expiry.
    pub ttl: Option<Duration>,
    /// Trials may run on a paused tokio clock (current-thread runtime, `start_paused`), so
    /// TTL trials finish instantly. Only true for backends that use tokio time only (memory).
    pub paused_time: bool,
}

impl Capabilities {
    /// Capabilities of a static backend (no registry, no TTL, real time).
    pub fn static_rules(flavor: Flavor) -> Self {
        Capabilities {
            flavor,
            shared_registry: false,
            ttl: None,
            paused_time: false,
        }
    }
}

/// A precondition of a trial; an unmet one makes the trial ignored.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Need {
    /// `Flavor::Heartbeat`.
    Heartbeat,
    /// Any static flavor.
    Static,
    /// `Flavor::Localhost`.
    Localhost,
    /// `Flavor::Stub`.
    Stub,
    /// A flavor whose built-in rules are known to end every lookup (all but `OtherStatic`).
    KnownRules,
    /// `ttl` is `Some`.
    Ttl,
    /// `shared_registry` is true.
    SharedRegistry,
}

impl Need {
    /// Why a trial needing `self` does not apply to `capabilities`, if it does not.
    pub(crate) fn unmet(self, capabilities: &Capabilities) -> Option<&'static str> {
        let flavor = &capabilities.flavor;
        let met = match self {
            Need::Heartbeat => matches!(flavor, Flavor::Heartbeat),
            Need::Static => flavor.is_static(),
            Need::Localhost => matches!(flavor, Flavor::Localhost { .. }),
            Need::Stub => matches!(flavor, Flavor::Stub),
            Need::KnownRules => !matches!(flavor, Flavor::OtherStatic),
            Need::Ttl => capabilities.ttl.is_some(),
            Need::SharedRegistry => capabilities.shared_registry,
        };
        (!met).then_some(match self {
            Need::Heartbeat => "needs heartbeat flavor",
            Need::Static => "needs static flavor",
            Need::Localhost => "needs localhost flavor",
            Need::Stub => "needs stub flavor",
            Need::KnownRules => "needs known rules",
            Need::Ttl => "needs ttl",
            Need::SharedRegistry => "needs shared registry",
        })
    }

    /// The first unmet need of a trial, if any.
    pub(crate) fn first_unmet(needs: &[Need], capabilities: &Capabilities) -> Option<&'static str> {
        needs.iter().find_map(|need| need.unmet(capabilities))
    }
}
