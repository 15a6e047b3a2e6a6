//! Cancel safety for calls that change the registry: their work runs to completion even when
//! the caller drops the call's future.

use std::future::Future;

use tracing::Instrument;

use crate::{Error, Result};

/// Runs `work` to completion whatever happens to the future this returns.
///
/// On a tokio runtime `work` is spawned (in the caller's tracing span) and awaited, so
/// dropping the returned future (a `select!` that lost, a timeout, an aborted task) leaves
/// `work` running to its end: a register then either completes or rolls itself back, and an
/// unregister finishes removing the record, never half of either. Without a runtime it runs
/// inline. A panic in `work` is resumed in the caller; a runtime that shuts down under it
/// is [`Error::Unavailable`].
pub(crate) async fn to_completion<T, F>(backend: &'static str, work: F) -> Result<T>
where
    T: Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return work.await;
    };
    match runtime.spawn(work.in_current_span()).await {
        Ok(outcome) => outcome,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(_) => Err(Error::unavailable(
            backend,
            "the runtime shut down before the call finished",
        )),
    }
}
