//! `binding::` — which keys each binding matches (core types, run for every backend).

use libtest_mimic::Trial;
use matchmaker_core::{Binding, DirectBinding, FanoutBinding, TopicBinding};

use crate::check::{expect_eq, Outcome};
use crate::suite::Plan;

pub(crate) fn trials(plan: &Plan) -> Vec<Trial> {
    vec![
        plan.local(
            "binding::topic_binding_matches_keys_without_a_dot",
            || async {
                matches(
                    &TopicBinding,
                    &["hello-world", "fanout~t", "a/b"],
                    &["hello.world", "a.b.c", "fanout~t.h"],
                )
            },
        ),
        plan.local(
            "binding::direct_binding_matches_keys_with_a_dot",
            || async {
                matches(
                    &DirectBinding,
                    &["hello.world", "a.b.c", "fanout~t.h"],
                    &["hello-world", "fanout~t"],
                )
            },
        ),
        plan.local(
            "binding::fanout_binding_matches_keys_starting_with_fanout_tilde",
            || async {
                matches(
                    &FanoutBinding,
                    &["fanout~t", "fanout~fantasy.unicorn"],
                    &["fanout", "fanout-t", "fanout.t", "t.fanout~x", "hello"],
                )
            },
        ),
    ]
}

fn matches(binding: &dyn Binding, yes: &[&str], no: &[&str]) -> Outcome {
    for key in yes {
        expect_eq(&format!("test({key:?})"), binding.test(key), true)?;
    }
    for key in no {
        expect_eq(&format!("test({key:?})"), binding.test(key), false)?;
    }
    Ok(())
}
