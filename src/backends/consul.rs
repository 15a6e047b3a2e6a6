//! `consul://host:port[/namespace][?ttl=..]`, `consuls://...` or a `[consul]` table.

use matchmaker_consul::ConsulConfig;
use matchmaker_core::Error;
use serde::Deserialize;

use crate::schemes::{ConnectFuture, Target};
use crate::Registry;

pub(crate) fn connect(target: Target<'_>) -> ConnectFuture<'_> {
    Box::pin(async move {
        let mut config = match target.options {
            Some(table) => ConsulConfig::deserialize(table.clone())
                .map_err(|error| Error::InvalidConfig(format!("[consul] table: {error}")))?,
            None => ConsulConfig::from_url(target.url)?,
        };
        if let Some(heartbeat) = target.heartbeat {
            config.heartbeat = heartbeat.clone();
        }
        config.validate()?;
        let matchmaker = matchmaker_consul::connect(config).await?;
        Ok(Box::new(matchmaker) as Box<dyn Registry>)
    })
}
