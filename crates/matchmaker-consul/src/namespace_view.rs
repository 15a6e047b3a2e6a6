//! Which hosts pass, per service name of our namespace, read off one `health/state/any` answer.
//!
//! The answer holds every check of the namespace's services and every node check, which is all
//! `health/service/<name>?passing` looks at: an instance passes when each of its checks and each
//! check of its node passes. The host comes from the service ID (`<name>--<encoded host>`, see
//! [`crate::naming`]), so no per-service query is needed.

use std::collections::{BTreeSet, HashMap};

use crate::naming;
use crate::wire::HealthCheck;

/// Passing hosts per topic service name; a name whose instances all fail maps to an empty set.
pub(crate) type NamespaceView = HashMap<String, BTreeSet<String>>;

/// The view of `checks` for the services tagged `tag`.
pub(crate) fn view_of(checks: &[HealthCheck], tag: &str) -> NamespaceView {
    let failing_nodes: BTreeSet<&str> = checks
        .iter()
        .filter(|check| check.service_id.is_empty() && check.status != "passing")
        .map(|check| check.node.as_str())
        .collect();
    // (name, node, service id) -> all of the instance's own checks pass.
    let mut instances: HashMap<(&str, &str, &str), bool> = HashMap::new();
    for check in checks {
        let tagged = check
            .service_tags
            .as_ref()
            .is_some_and(|tags| tags.iter().any(|candidate| candidate == tag));
        if check.service_id.is_empty()
            || !tagged
            || !naming::is_topic_service_name(&check.service_name)
        {
            continue;
        }
        let key = (
            check.service_name.as_str(),
            check.node.as_str(),
            check.service_id.as_str(),
        );
        let passing = check.status == "passing";
        instances
            .entry(key)
            .and_modify(|all| *all &= passing)
            .or_insert(passing);
    }
    let mut view = NamespaceView::new();
    for ((name, node, service_id), passing) in instances {
        let hosts = view.entry(name.to_owned()).or_default();
        if !passing || failing_nodes.contains(node) {
            continue;
        }
        let host = service_id
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix("--"))
            .and_then(naming::decode);
        if let Some(host) = host {
            hosts.insert(host);
        }
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "mm-ns=prod";

    fn check(node: &str, name: &str, host: &str, status: &str) -> HealthCheck {
        HealthCheck {
            node: node.into(),
            status: status.into(),
            service_id: format!("{name}--{}", naming::encode(host)),
            service_name: name.into(),
            service_tags: Some(vec![TAG.into()]),
        }
    }

    fn node_check(node: &str, status: &str) -> HealthCheck {
        HealthCheck {
            node: node.into(),
            status: status.into(),
            service_id: String::new(),
            service_name: String::new(),
            service_tags: Some(Vec::new()),
        }
    }

    fn hosts(view: &NamespaceView, name: &str) -> Vec<String> {
        view.get(name)
            .map(|hosts| hosts.iter().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn passing_instances_give_their_decoded_hosts() {
        let name = naming::service_name("prod", "compute");
        let view = view_of(
            &[
                check("n1", &name, "Node-A.example", "passing"),
                check("n1", &name, "b", "passing"),
                node_check("n1", "passing"),
            ],
            TAG,
        );
        assert_eq!(hosts(&view, &name), ["Node-A.example", "b"]);
    }

    #[test]
    fn an_instance_with_one_failing_check_or_on_a_failing_node_is_left_out() {
        let name = naming::service_name("prod", "compute");
        let view = view_of(
            &[
                check("n1", &name, "a", "passing"),
                check("n1", &name, "a", "critical"),
                check("n2", &name, "b", "passing"),
                node_check("n2", "critical"),
                check("n3", &name, "c", "warning"),
            ],
            TAG,
        );
        assert!(view.contains_key(&name), "a known name with no live host");
        assert!(hosts(&view, &name).is_empty());
    }

    #[test]
    fn other_namespaces_untagged_and_foreign_services_are_ignored() {
        let name = naming::service_name("prod", "compute");
        let mut other = check("n1", &name, "x", "passing");
        other.service_tags = Some(vec!["mm-ns=dev".into()]);
        let mut foreign = check("n1", "web", "y", "passing");
        foreign.service_id = "web-1".into();
        let instance = HealthCheck {
            service_name: naming::INSTANCE_SERVICE_NAME.into(),
            ..check("n1", naming::INSTANCE_SERVICE_NAME, "i", "passing")
        };
        let view = view_of(&[other, foreign, instance], TAG);
        assert!(view.is_empty(), "{view:?}");
    }

    #[test]
    fn a_service_id_that_does_not_decode_gives_no_host() {
        let name = naming::service_name("prod", "compute");
        let mut odd = check("n1", &name, "a", "passing");
        odd.service_id = format!("{name}--UPPER");
        assert!(hosts(&view_of(&[odd], TAG), &name).is_empty());
    }
}
