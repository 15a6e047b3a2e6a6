//! `etcd://`: not wired yet (the backend crate is still being written).

use matchmaker_core::Error;

use crate::schemes::{ConnectFuture, Target};

pub(crate) fn connect(_target: Target<'_>) -> ConnectFuture<'_> {
    Box::pin(async {
        Err(Error::InvalidConfig(
            "the etcd backend is not available in this build yet".into(),
        ))
    })
}
