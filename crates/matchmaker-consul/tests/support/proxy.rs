//! A TCP proxy in front of an agent that a test can cut (new connections closed at once, open
//! ones dropped) and restore: an agent unreachable from one process while it keeps running,
//! its state intact.

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Forwards `127.0.0.1:<port>` to the agent while not cut. Dropping it stops forwarding.
pub struct CuttableProxy {
    addr: String,
    cut: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl CuttableProxy {
    /// A proxy to `target` (`host:port`), forwarding.
    pub async fn start(target: &str) -> CuttableProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("bound").to_string();
        let (cut, watcher) = watch::channel(false);
        let target = target.to_owned();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if *watcher.borrow() {
                    continue; // dropped: closed at once
                }
                let (mut cut, target) = (watcher.clone(), target.clone());
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        CuttableProxy { addr, cut, accept }
    }

    /// The address to connect to instead of the agent's.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Closes every open connection and every new one, until [`Self::restore`].
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Forwards again.
    pub fn restore(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}
