//! `input::` — bad keys are rejected with `InvalidKey` and change nothing; hostile but valid
//! topics round-trip.

use libtest_mimic::{Failed, Trial};
use matchmaker_core::key::{MAX_HOST_LEN, MAX_KEY_LEN, MAX_TOPIC_LEN};
use matchmaker_core::{MatchMaker, Route};

use crate::capabilities::Need;
use crate::check::{
    alive, expect_alive, expect_eq, expect_invalid_key, expect_routes, fanout_routes, lookup,
    register, unregister, Outcome, Step,
};
use crate::suite::Plan;
use crate::Context;

pub(crate) fn trials(plan: &Plan) -> Vec<Trial> {
    let mut trials = vec![plan.backend(
        "input::queues_rejects_invalid_keys_and_changes_nothing",
        &[],
        queues_rejects_invalid_keys_and_changes_nothing,
    )];
    for method in PairMethod::ALL {
        trials.push(plan.backend(
            &format!(
                "input::{}_rejects_invalid_pairs_and_changes_nothing",
                method.name()
            ),
            &[],
            move |cx| pair_method_rejects_invalid_pairs(cx, method),
        ));
    }
    trials.push(plan.backend(
        "input::bidi_zero_width_and_format_characters_are_rejected",
        &[],
        display_spoofing_keys_are_rejected,
    ));
    trials.push(plan.backend(
        "input::topics_and_hosts_made_only_of_whitespace_are_rejected",
        &[],
        whitespace_only_keys_are_rejected,
    ));
    trials.push(plan.backend(
        "input::hostile_but_valid_topics_round_trip",
        &[Need::Heartbeat],
        hostile_but_valid_topics_round_trip,
    ));
    trials.push(plan.backend(
        "input::hostile_but_valid_topics_are_accepted_by_static_backends",
        &[Need::Static],
        hostile_but_valid_topics_are_accepted_by_static_backends,
    ));
    trials
}

/// Lookup keys every backend must reject.
fn invalid_keys() -> Vec<String> {
    let mut keys: Vec<String> = [
        "",
        "fanout~",
        ".host",
        "topic.",
        "fanout~.h",
        "fanout~t.",
        "a\0b",
        "a\u{7}b",
        "keep.h1\n",
        "\u{1b}[31mkeep",
        "keep.a/b",
        "keep.a b",
        "keep.a\\b",
        "keep..",
        "keep...",
        "keep.\u{a0}h1",
        // The text after `fanout~` is a topic: empty segments and the prefix itself are invalid.
        "fanout~keep..h1",
        "fanout~fanout~keep",
    ]
    .map(String::from)
    .to_vec();
    keys.push("k".repeat(MAX_KEY_LEN + 1));
    keys.push(format!("fanout~{}", "k".repeat(MAX_KEY_LEN)));
    keys
}

/// `(topic, host)` pairs every backend must reject; many are near misses of `(keep, h1)`.
fn invalid_pairs() -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = [
        ("", "h1"),
        ("keep", ""),
        ("fanout~", "h1"),
        ("fanout~keep", "h1"),
        (".keep", "h1"),
        ("keep.", "h1"),
        ("a..b", "h1"),
        ("../keep", "h1"),
        ("keep\0", "h1"),
        ("keep", "h1\0"),
        ("ke\u{7}ep", "h1"),
        ("keep", "h1\n"),
        ("\u{1b}[31mkeep", "h1"),
        ("keep", "h1/"),
        ("keep", "a/b"),
        ("keep", "a\\b"),
        ("keep", ".."),
        ("keep", "."),
        ("keep", "../h1"),
        ("keep", " h1"),
        ("keep", "h1 x"),
        ("keep", "h\t1"),
        ("keep", "\u{a0}h1"),
    ]
    .map(|(topic, host)| (topic.to_owned(), host.to_owned()))
    .to_vec();
    pairs.push(("k".repeat(MAX_TOPIC_LEN + 1), "h1".to_owned()));
    pairs.push(("keep".to_owned(), "h".repeat(MAX_HOST_LEN + 1)));
    pairs
}

/// The registry's visible state around the `(keep, h1)` registration.
async fn observe(matchmaker: &dyn MatchMaker) -> Result<(Vec<Vec<Route>>, bool), Failed> {
    let mut answers = Vec::new();
    for key in ["keep", "fanout~keep", "keep.h1", "fanout~a"] {
        answers.push(lookup(matchmaker, key).await?);
    }
    Ok((answers, alive(matchmaker, "keep", "h1").await?))
}

/// Registers `(keep, h1)`, runs `attempts`, and fails if anything visible changed.
async fn unchanged_by<F, Fut>(cx: Context, attempts: F) -> Outcome
where
    F: FnOnce(Box<dyn MatchMaker>) -> Fut,
    Fut: std::future::Future<Output = Result<Box<dyn MatchMaker>, Failed>>,
{
    let matchmaker = cx.matchmaker().await?;
    register(&*matchmaker, "keep", "h1").await?;
    let before = observe(&*matchmaker).await?;
    let matchmaker = attempts(matchmaker).await?;
    expect_eq(
        "state after the rejected calls",
        observe(&*matchmaker).await?,
        before,
    )?;
    // A rejected pair must not have slipped into the heartbeats either.
    matchmaker
        .send_heartbeats()
        .await
        .step("send_heartbeats() after the rejected calls")
}

async fn queues_rejects_invalid_keys_and_changes_nothing(cx: Context) -> Outcome {
    unchanged_by(cx, |matchmaker| async move {
        for key in invalid_keys() {
            expect_invalid_key(&format!("queues({key:?})"), matchmaker.queues(&key).await)?;
        }
        Ok(matchmaker)
    })
    .await
}

/// The methods that take a `(topic, host)` pair.
#[derive(Clone, Copy, Debug)]
enum PairMethod {
    Register,
    Unregister,
    AckAlive,
    IsAlive,
    Expire,
}

impl PairMethod {
    const ALL: [PairMethod; 5] = [
        PairMethod::Register,
        PairMethod::Unregister,
        PairMethod::AckAlive,
        PairMethod::IsAlive,
        PairMethod::Expire,
    ];

    fn name(self) -> &'static str {
        match self {
            PairMethod::Register => "register",
            PairMethod::Unregister => "unregister",
            PairMethod::AckAlive => "ack_alive",
            PairMethod::IsAlive => "is_alive",
            PairMethod::Expire => "expire",
        }
    }

    /// Calls the method; `Some(alive)` for `is_alive`, `None` for the others.
    async fn call(
        self,
        matchmaker: &dyn MatchMaker,
        topic: &str,
        host: &str,
    ) -> matchmaker_core::Result<Option<bool>> {
        match self {
            PairMethod::Register => matchmaker.register(topic, host).await.map(|()| None),
            PairMethod::Unregister => matchmaker.unregister(topic, host).await.map(|()| None),
            PairMethod::AckAlive => matchmaker.ack_alive(topic, host).await.map(|()| None),
            PairMethod::IsAlive => matchmaker.is_alive(topic, host).await.map(Some),
            PairMethod::Expire => matchmaker.expire(topic, host).await.map(|()| None),
        }
    }
}

async fn pair_method_rejects_invalid_pairs(cx: Context, method: PairMethod) -> Outcome {
    unchanged_by(cx, |matchmaker| async move {
        for (topic, host) in invalid_pairs() {
            let call = format!("{}({topic:?}, {host:?})", method.name());
            expect_invalid_key(&call, method.call(&*matchmaker, &topic, &host).await)?;
        }
        Ok(matchmaker)
    })
    .await
}

/// Texts that would display as something else: `evil\u{202e}gnp.exe` shows as `evilexe.png`.
const DISPLAY_SPOOFING: [&str; 8] = [
    "evil\u{202e}gnp.exe",
    "a\u{202a}b",
    "x\u{2067}y",
    "zero\u{200b}width",
    "join\u{200d}er",
    "\u{feff}bom",
    "soft\u{ad}hyphen",
    "tag\u{e0041}",
];

/// Registering, acknowledging or looking up a display-spoofing topic or host is refused.
async fn display_spoofing_keys_are_rejected(cx: Context) -> Outcome {
    unchanged_by(cx, |matchmaker| async move {
        for text in DISPLAY_SPOOFING {
            for key in [
                text.to_owned(),
                format!("fanout~{text}"),
                format!("keep.{text}"),
            ] {
                expect_invalid_key(&format!("queues({key:?})"), matchmaker.queues(&key).await)?;
            }
            for method in PairMethod::ALL {
                for (topic, host) in [(text, "h1"), ("keep", text)] {
                    let call = format!("{}({topic:?}, {host:?})", method.name());
                    expect_invalid_key(&call, method.call(&*matchmaker, topic, host).await)?;
                }
            }
        }
        Ok(matchmaker)
    })
    .await
}

/// A topic or host of whitespace only would print as nothing.
async fn whitespace_only_keys_are_rejected(cx: Context) -> Outcome {
    unchanged_by(cx, |matchmaker| async move {
        for blank in [" ", "   ", "\u{3000}", "\u{a0}"] {
            for key in [
                blank.to_owned(),
                format!("fanout~{blank}"),
                format!("{blank}.h1"),
            ] {
                expect_invalid_key(&format!("queues({key:?})"), matchmaker.queues(&key).await)?;
            }
            for (topic, host) in [(blank, "h1"), ("keep", blank)] {
                let call = format!("register({topic:?}, {host:?})");
                expect_invalid_key(&call, matchmaker.register(topic, host).await)?;
            }
        }
        Ok(matchmaker)
    })
    .await
}

/// Valid topics that a careless backend could mangle, decode or let escape its namespace.
fn hostile_topics() -> Vec<String> {
    let mut topics: Vec<String> = [
        "a/b",
        "/etc/passwd",
        "%2F",
        "%2e%2e%2fx",
        "a b",
        "a*",
        "[x]",
        "x~y",
        "主題-ü-🚀",
        "pre",
        "prefix",
        "pre.x",
    ]
    .map(String::from)
    .to_vec();
    topics.push("t".repeat(MAX_TOPIC_LEN));
    topics
}

async fn hostile_but_valid_topics_round_trip(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    let topics = hostile_topics();
    let host_of = |index: usize| format!("h{index}");
    for (index, topic) in topics.iter().enumerate() {
        register(matchmaker, topic, &host_of(index)).await?;
    }
    // Each topic lists exactly its own host: nothing leaks into a neighbour or a parent.
    for (index, topic) in topics.iter().enumerate() {
        expect_alive(matchmaker, topic, &host_of(index), true).await?;
        let key = format!("fanout~{topic}");
        expect_routes(matchmaker, &key, fanout_routes(topic, &[&host_of(index)])).await?;
    }
    for unrelated in [
        "fanout~a",
        "fanout~b",
        "fanout~/",
        "fanout~passwd",
        "fanout~%2F.x",
        "fanout~p",
        "fanout~t",
    ] {
        expect_routes(matchmaker, unrelated, vec![]).await?;
    }
    for (index, topic) in topics.iter().enumerate() {
        unregister(matchmaker, topic, &host_of(index)).await?;
        expect_routes(matchmaker, &format!("fanout~{topic}"), vec![]).await?;
        expect_alive(matchmaker, topic, &host_of(index), false).await?;
    }
    Ok(())
}

async fn hostile_but_valid_topics_are_accepted_by_static_backends(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    for topic in hostile_topics() {
        register(matchmaker, &topic, "h1").await?;
        expect_alive(matchmaker, &topic, "h1", false).await?;
        unregister(matchmaker, &topic, "h1").await?;
    }
    Ok(())
}
