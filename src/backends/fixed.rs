//! The static backends: localhost, stub and ring files.

use crate::registry::NamedStaticMatchMaker;
use crate::schemes::{ConnectFuture, Target};
use crate::Registry;

/// `localhost://[host]`: every topic is served by `host` (default `localhost`).
#[cfg(feature = "localhost")]
pub(crate) fn connect_localhost(target: Target<'_>) -> ConnectFuture<'_> {
    Box::pin(async move {
        super::reject_options("localhost", &target)?;
        let host = target.rest.trim_end_matches('/');
        let host = if host.is_empty() {
            matchmaker_localhost::DEFAULT_HOST
        } else {
            host
        };
        let matchmaker = matchmaker_localhost::new(host)?;
        Ok(Box::new(NamedStaticMatchMaker::new("localhost", matchmaker)) as Box<dyn Registry>)
    })
}

/// `stub://`: every key comes back untouched.
#[cfg(feature = "stub")]
pub(crate) fn connect_stub(target: Target<'_>) -> ConnectFuture<'_> {
    Box::pin(async move {
        super::reject_options("stub", &target)?;
        if !target.rest.trim_end_matches('/').is_empty() {
            return Err(matchmaker_core::Error::InvalidConfig(format!(
                "stub:// takes nothing after the scheme, got {:?}",
                target.url
            )));
        }
        let matchmaker = matchmaker_stub::new();
        Ok(Box::new(NamedStaticMatchMaker::new("stub", matchmaker)) as Box<dyn Registry>)
    })
}

/// `ring:///abs/path.json` or `ring://relative/path.json`: a JSON ring file.
#[cfg(feature = "ring")]
pub(crate) fn connect_ring(target: Target<'_>) -> ConnectFuture<'_> {
    Box::pin(async move {
        super::reject_options("ring", &target)?;
        if target.rest.is_empty() {
            return Err(matchmaker_core::Error::InvalidConfig(
                "ring:// needs the path of a ring file, e.g. ring:///etc/matchmaker/ring.json"
                    .into(),
            ));
        }
        let matchmaker = matchmaker_ring::from_file(target.rest)?;
        Ok(Box::new(NamedStaticMatchMaker::new("ring", matchmaker)) as Box<dyn Registry>)
    })
}
