//! The factory a backend hands to the suite.

use matchmaker_core::MatchMaker;

/// Creates fresh, isolated matchmakers of the backend under test.
#[async_trait::async_trait]
pub trait Factory: Send + Sync + 'static {
    /// A fresh matchmaker in `namespace` (unique per trial; same namespace => same registry
    /// when `shared_registry`). Called inside the trial's tokio runtime. The instance is
    /// configured with the TTL in [`crate::Capabilities`]; trials accept any live host, so no
    /// host-selection strategy is assumed.
    async fn create(&self, namespace: &str) -> matchmaker_core::Result<Box<dyn MatchMaker>>;

    /// The same as [`Factory::create`], as a [`matchmaker_core::Registry`] (listing,
    /// metadata). Registry backends must implement it: the trials that need it FAIL, naming
    /// this method, when it returns `None` (the default, for static backends).
    async fn create_registry(
        &self,
        _namespace: &str,
    ) -> Option<matchmaker_core::Result<Box<dyn matchmaker_core::Registry>>> {
        None
    }

    /// Best-effort cleanup of a namespace after a trial (default: nothing).
    async fn cleanup(&self, _namespace: &str) {}
}
