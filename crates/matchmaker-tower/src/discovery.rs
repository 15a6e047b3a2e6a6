//! [`Discovery`]: a topic's live hosts as a `tower::discover::Discover` stream.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::stream::{self, BoxStream, StreamExt};
use matchmaker_core::{
    Error, MembershipEvent, MembershipStream, Metadata, Registration, Registry, Result,
};
use tower::discover::Change;

use crate::{Backoff, Member};

type MakeService<S> = Box<dyn Fn(&Member) -> S + Send>;

/// The live hosts of one topic as a [`tower::discover::Discover`]: a stream of
/// `Change::Insert(host, service)` and `Change::Remove(host)`, keyed by the registered host,
/// ready for `tower::balance::p2c::Balance` or (with the `tonic` feature)
/// [`crate::tonic::balance_channel`].
///
/// # Behaviour
/// - [`Discovery::new`] subscribes to the topic at once. The membership stream's first item
///   is a snapshot of the topic (read at the first poll): its hosts are inserted (sorted), then
///   joins and leaves are applied as they arrive. The snapshot and the changes come from one
///   stream with no gap between them, so nothing can race a separate listing.
/// - A host is inserted once: a join of a host already inserted (a second registration of the
///   same host) changes nothing.
/// - A removal only follows an insertion: a leave of a host never inserted changes nothing.
/// - `make` is called once per insertion, with the [`Member`] being inserted, which carries
///   the registration's metadata (from the snapshot, or from the join event).
/// - A subscriber that fell behind gets a fresh snapshot ([`MembershipEvent::Snapshot`] with
///   `lagged`): hosts gone from it are removed, new ones inserted.
/// - Errors that cannot go away by themselves (an invalid topic, a backend that cannot
///   watch, refused credentials) are yielded once, then the stream ends; with a static
///   backend or an invalid topic `new` already fails.
/// - Nothing happens until the stream is first polled, apart from the subscription.
///
/// # While the registry is unreachable
/// No spurious removals: the last known membership stays. The backends' caches keep their
/// last known hosts while their server is unreachable and never report a leave because of an
/// error, so nothing is removed until the registry says a host left (a host whose TTL ran out
/// while the registry was unreachable is removed once the registry reports it). If a backend
/// ends its membership stream, the topic is subscribed again (a failed subscription is retried
/// with [`Backoff`], logged at warn) and the new stream's snapshot reconciled: hosts gone from
/// it are removed, new ones inserted.
///
/// # Cancellation
/// Dropping the stream drops its subscription and any pending backoff sleep;
/// nothing else is affected (registrations, other subscriptions, services already handed
/// out). A balancer that owns the stream ends it when it is dropped.
///
/// # Example
/// A `p2c` balancer over the hosts of `echo`; here each service answers with its host's name,
/// a real one would dial `member.host`.
/// ```
/// use std::convert::Infallible;
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// use matchmaker_core::{HeartbeatConfig, MatchMaker, Registry};
/// use matchmaker_tower::{Discovery, Member};
/// use tower::{balance::p2c::Balance, load::Constant, service_fn, Service, ServiceExt};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let registry = matchmaker_memory::MemoryRegistry::new();
/// let config = HeartbeatConfig::with_ttl(Duration::from_secs(10));
/// let worker = matchmaker_memory::connect(&registry, config.clone())?;
/// worker.register("echo", "127.0.0.1:7001").await?;
///
/// let client: Arc<dyn Registry> = Arc::new(matchmaker_memory::connect(&registry, config)?);
/// let discovery = Discovery::new(client, "echo", |member: &Member| {
///     let host = member.host.clone();
///     let answer = move |request: String| {
///         let reply = format!("{host} got {request}");
///         async move { Ok::<_, Infallible>(reply) }
///     };
///     Constant::new(service_fn(answer), 0)
/// })?;
/// let mut balance = Balance::new(discovery);
/// let reply = balance.ready().await?.call("ping".to_owned()).await?;
/// assert_eq!(reply, "127.0.0.1:7001 got ping");
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(()) }).unwrap();
/// ```
pub struct Discovery<S> {
    topic: String,
    /// Everything the stream needs, until the first poll moves it into `running`.
    state: Option<State<S>>,
    running: Option<BoxStream<'static, Result<Change<String, S>>>>,
}

// No field is ever pinned: the state moves into a boxed stream on the first poll.
impl<S> Unpin for Discovery<S> {}

impl<S: Send + 'static> Discovery<S> {
    /// The live hosts of `topic` in `registry`, each turned into a service by `make`.
    ///
    /// Subscribes at once, so call it from within a tokio runtime (some backends start their
    /// watch on subscribe). Fails with [`Error::InvalidKey`] for an invalid topic and
    /// [`Error::Unsupported`] for a backend that cannot watch (localhost, stub, ring).
    pub fn new<F>(registry: Arc<dyn Registry>, topic: &str, make: F) -> Result<Self>
    where
        F: Fn(&Member) -> S + Send + 'static,
    {
        matchmaker_core::key::validate_topic(topic)?;
        let events = registry.subscribe(Some(topic))?;
        Ok(Discovery {
            topic: topic.to_owned(),
            state: Some(State {
                registry,
                topic: topic.to_owned(),
                make: Box::new(make),
                backoff: Backoff::default(),
                events: Some(events),
                retries: 0,
                inserted: HashSet::new(),
                pending: VecDeque::new(),
                finished: false,
            }),
            running: None,
        })
    }

    /// Retries failed subscriptions with `backoff` instead of [`Backoff::default`]. Takes effect
    /// only before the stream is first polled.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        if let Some(state) = &mut self.state {
            state.backoff = backoff;
        }
        self
    }
}

impl<S> Discovery<S> {
    /// The topic whose hosts this stream follows.
    pub fn topic(&self) -> &str {
        &self.topic
    }
}

impl<S: Send + 'static> Stream for Discovery<S> {
    type Item = Result<Change<String, S>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.running.is_none() {
            let Some(state) = this.state.take() else {
                return Poll::Ready(None);
            };
            let changes = stream::unfold(state, |mut state| async move {
                let item = state.next().await?;
                Some((item, state))
            });
            this.running = Some(changes.fuse().boxed());
        }
        match &mut this.running {
            Some(running) => running.poll_next_unpin(cx),
            None => Poll::Ready(None),
        }
    }
}

impl<S> fmt::Debug for Discovery<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Discovery")
            .field("topic", &self.topic)
            .field("started", &self.running.is_some())
            .finish_non_exhaustive()
    }
}

struct State<S> {
    registry: Arc<dyn Registry>,
    topic: String,
    make: MakeService<S>,
    backoff: Backoff,
    /// `None` once the backend ended the stream: subscribe again.
    events: Option<MembershipStream>,
    /// Failed subscriptions and ended streams since the last snapshot, for the backoff.
    retries: u32,
    inserted: HashSet<String>,
    /// Changes from a snapshot, yielded before any further event.
    pending: VecDeque<Change<String, S>>,
    finished: bool,
}

impl<S> State<S> {
    async fn next(&mut self) -> Option<Result<Change<String, S>>> {
        loop {
            if let Some(change) = self.pending.pop_front() {
                return Some(Ok(change));
            }
            if self.finished {
                return None;
            }
            let Some(events) = self.events.as_mut() else {
                match self.registry.subscribe(Some(&self.topic)) {
                    Ok(events) => self.events = Some(events),
                    Err(error) if is_permanent(&error) => {
                        tracing::error!(topic = %self.topic, %error, "membership discovery stopped");
                        self.finished = true;
                        return Some(Err(error));
                    }
                    Err(error) => self.back_off("subscribing failed", Some(&error)).await,
                }
                continue;
            };
            match events.next().await {
                Some(MembershipEvent::Snapshot { members, lagged }) => {
                    if lagged {
                        tracing::info!(topic = %self.topic, "membership stream lagged; applying its fresh snapshot");
                    }
                    self.retries = 0;
                    self.reconcile(members);
                }
                Some(event) if event.topic() != Some(self.topic.as_str()) => {}
                Some(MembershipEvent::Joined { host, metadata, .. }) => {
                    if let Some(change) = self.insert(host, metadata) {
                        return Some(Ok(change));
                    }
                }
                Some(MembershipEvent::Left { host, .. }) => {
                    if self.inserted.remove(&host) {
                        return Some(Ok(Change::Remove(host)));
                    }
                }
                None => {
                    self.events = None;
                    self.back_off("membership stream ended; subscribing again", None)
                        .await;
                }
            }
        }
    }

    /// Sleeps the backoff's next delay, logged at warn with `why`.
    async fn back_off(&mut self, why: &str, error: Option<&Error>) {
        let delay = self.backoff.delay(self.retries);
        self.retries = self.retries.saturating_add(1);
        match error {
            Some(error) => tracing::warn!(
                topic = %self.topic, %error, retry_in = ?delay,
                "{why}; keeping the last known hosts"
            ),
            None => tracing::warn!(
                topic = %self.topic, retry_in = ?delay,
                "{why}; keeping the last known hosts"
            ),
        }
        tokio::time::sleep(delay).await;
    }

    /// Queues removals of inserted hosts the snapshot does not show, then insertions of its
    /// hosts not inserted yet.
    fn reconcile(&mut self, members: Vec<Registration>) {
        let alive: BTreeMap<String, Arc<Metadata>> = members
            .into_iter()
            .filter(|member| member.topic == self.topic)
            .map(|member| (member.host, member.metadata))
            .collect();
        let mut gone: Vec<String> = self
            .inserted
            .iter()
            .filter(|host| !alive.contains_key(*host))
            .cloned()
            .collect();
        gone.sort();
        for host in gone {
            self.inserted.remove(&host);
            self.pending.push_back(Change::Remove(host));
        }
        for (host, metadata) in alive {
            if let Some(change) = self.insert(host, metadata) {
                self.pending.push_back(change);
            }
        }
    }

    fn insert(&mut self, host: String, metadata: Arc<Metadata>) -> Option<Change<String, S>> {
        if !self.inserted.insert(host.clone()) {
            return None;
        }
        let member = Member::new(self.topic.clone(), host.clone()).with_metadata(metadata);
        let service = (self.make)(&member);
        Some(Change::Insert(host, service))
    }
}

/// Errors that retrying cannot fix.
fn is_permanent(error: &Error) -> bool {
    matches!(
        error,
        Error::InvalidKey { .. }
            | Error::InvalidConfig(_)
            | Error::Unsupported { .. }
            | Error::Unauthorized { .. }
            | Error::NoRuntime(_)
    )
}
