//! `etcd://[user[:password]@]host:port[,host:port...][/prefix][?ttl=..]` or an `[etcd]` table.

use matchmaker_core::Error;
use matchmaker_etcd::EtcdConfig;
use serde::Deserialize;

use crate::schemes::{ConnectFuture, Target};
use crate::Registry;

pub(crate) fn connect(target: Target<'_>) -> ConnectFuture<'_> {
    Box::pin(async move {
        let mut config = match target.options {
            Some(table) => EtcdConfig::deserialize(table.clone())
                .map_err(|error| Error::InvalidConfig(format!("[etcd] table: {error}")))?,
            None => EtcdConfig::from_url(target.url)?,
        };
        if let Some(heartbeat) = target.heartbeat {
            config.heartbeat = heartbeat.clone();
        }
        config.validate()?;
        let matchmaker = matchmaker_etcd::connect(config).await?;
        Ok(Box::new(matchmaker) as Box<dyn Registry>)
    })
}
