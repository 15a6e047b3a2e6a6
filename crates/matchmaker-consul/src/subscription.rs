//! Membership streams: the events the lookup loops broadcast, filtered by topic.

use matchmaker_core::{MembershipEvent, MembershipStream};
use tokio::sync::broadcast::{self, error::RecvError};

/// A stream of `receiver`'s events about `topic` (all topics when `None`).
///
/// It ends when the backend is dropped. A subscriber that falls more than 1024 events behind
/// loses the oldest ones (logged at warn).
pub(crate) fn stream(
    receiver: broadcast::Receiver<MembershipEvent>,
    topic: Option<String>,
) -> MembershipStream {
    Box::pin(futures_util::stream::unfold(
        (receiver, topic),
        |(mut receiver, topic)| async move {
            loop {
                match receiver.recv().await {
                    Ok(event) => {
                        let wanted = match topic.as_deref() {
                            Some(wanted) => wanted == event.topic(),
                            None => true,
                        };
                        if wanted {
                            return Some((event, (receiver, topic)));
                        }
                    }
                    Err(RecvError::Lagged(lost)) => {
                        tracing::warn!(
                            lost,
                            "consul membership subscriber fell behind and lost events"
                        );
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    ))
}
