//! One retry for idempotent requests whose first attempt hung or met a transient failure.
//!
//! When the etcd leader dies, a request a follower had forwarded to it is lost: the follower
//! answers only at its own timeout (seconds), and the client would wait out its whole
//! `request_timeout`. So the first attempt gets a [`first_attempt`] share of the budget and,
//! if it runs out or etcd answers "unavailable" (leader changed, member down), the request is
//! sent once more with what is left: a leader change costs the election plus one retry, never
//! the whole timeout. Only idempotent requests go through here (puts of the same value,
//! guarded transactions, deletes); a lease grant does not.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// The first attempt's share of the request budget: a quarter, at least 500 ms (a loaded disk
/// can stall etcd's WAL for well over a second; the retry then waits behind the first write).
pub(crate) fn first_attempt(budget: Duration) -> Duration {
    (budget / 4).max(Duration::from_millis(500)).min(budget)
}

/// Runs `request`, retrying it once as described in the module docs, all within `budget`.
pub(crate) async fn idempotent<T, F, Fut>(
    budget: Duration,
    mut request: F,
) -> Result<T, etcd_client::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, etcd_client::Error>>,
{
    let started = Instant::now();
    match tokio::time::timeout(first_attempt(budget), request()).await {
        Ok(Ok(answer)) => return Ok(answer),
        Ok(Err(error)) if !worth_retrying(&error) => return Err(error),
        Ok(Err(error)) => tracing::debug!(%error, "etcd request failed; retrying once"),
        Err(_) => tracing::debug!("etcd request hung (leader lost?); retrying once"),
    }
    let left = budget.saturating_sub(started.elapsed());
    match tokio::time::timeout(left, request()).await {
        Ok(outcome) => outcome,
        Err(_) => Err(etcd_client::Error::IoError(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("etcd did not answer within {budget:?} (two attempts)"),
        ))),
    }
}

/// Transient failures: etcd unavailable (no leader, leader changed, member unreachable) or the
/// transport broke. Anything else (a refused token, a lease not found) is answered as is.
fn worth_retrying(error: &etcd_client::Error) -> bool {
    match error {
        etcd_client::Error::GRpcStatus(status) => matches!(
            status.code() as i32,
            // Cancelled, Unknown, DeadlineExceeded, Unavailable.
            1 | 2 | 4 | 14
        ),
        etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn unavailable() -> etcd_client::Error {
        etcd_client::Error::GRpcStatus(tonic::Status::unavailable("leader changed"))
    }

    #[test]
    fn the_first_attempt_gets_a_quarter_of_the_budget_and_at_least_half_a_second() {
        assert_eq!(
            first_attempt(Duration::from_secs(8)),
            Duration::from_secs(2)
        );
        assert_eq!(
            first_attempt(Duration::from_secs(1)),
            Duration::from_millis(500)
        );
        assert_eq!(
            first_attempt(Duration::from_millis(300)),
            Duration::from_millis(300)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_first_attempt_is_retried_within_the_budget() {
        let calls = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let answer = idempotent(Duration::from_secs(4), || {
            let call = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if call == 0 {
                    std::future::pending::<()>().await;
                }
                Ok::<_, etcd_client::Error>(call)
            }
        })
        .await
        .unwrap();
        assert_eq!(answer, 1);
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unavailable_answer_is_retried_once_and_then_returned() {
        let calls = AtomicU32::new(0);
        let outcome: Result<(), _> = idempotent(Duration::from_secs(4), || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(unavailable()) }
        })
        .await;
        assert!(outcome.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_error_is_not_retried() {
        let calls = AtomicU32::new(0);
        let outcome: Result<(), _> = idempotent(Duration::from_secs(4), || {
            calls.fetch_add(1, Ordering::SeqCst);
            async {
                Err(etcd_client::Error::GRpcStatus(
                    tonic::Status::permission_denied("no"),
                ))
            }
        })
        .await;
        assert!(outcome.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn two_hung_attempts_end_at_the_budget_with_a_timeout() {
        let started = tokio::time::Instant::now();
        let outcome: Result<(), _> = idempotent(Duration::from_secs(4), || {
            std::future::pending::<Result<(), etcd_client::Error>>()
        })
        .await;
        assert!(matches!(outcome, Err(etcd_client::Error::IoError(_))));
        assert_eq!(started.elapsed(), Duration::from_secs(4));
    }
}
