//! [`Routes`]: what a lookup returns, a list of routes that may be shared with the cache.

use std::sync::Arc;

use crate::Route;

/// The routes of one lookup, in order. Reads like a slice (`len`, `iter`, `[i]`, `==`).
///
/// A fanout answered from a registry cache is the topic's shared route list (one `Arc`
/// clone, whatever the host count), a bare-topic lookup is one route held inline; neither
/// copies a string. Several matching rules give an owned list.
#[derive(Clone, Default)]
pub struct Routes(Inner);

#[derive(Clone, Default)]
enum Inner {
    #[default]
    Empty,
    One(Route),
    Shared(Arc<[Route]>),
    Owned(Vec<Route>),
}

impl Routes {
    /// No route: nobody serves the key.
    pub fn none() -> Self {
        Routes(Inner::Empty)
    }

    /// Exactly `route`.
    pub fn one(route: Route) -> Self {
        Routes(Inner::One(route))
    }

    /// A list shared with whoever built it (a cache); cloning it clones the `Arc`.
    pub fn shared(routes: Arc<[Route]>) -> Self {
        Routes(Inner::Shared(routes))
    }

    /// The routes as a slice.
    pub fn as_slice(&self) -> &[Route] {
        match &self.0 {
            Inner::Empty => &[],
            Inner::One(route) => std::slice::from_ref(route),
            Inner::Shared(routes) => routes,
            Inner::Owned(routes) => routes,
        }
    }

    /// The hosts of the routes that name one, in route order.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.iter().filter_map(Route::host)
    }

    /// The routes as an owned list (copies the `Arc`s of a shared list, not their text).
    pub fn into_vec(self) -> Vec<Route> {
        match self.0 {
            Inner::Empty => Vec::new(),
            Inner::One(route) => vec![route],
            Inner::Shared(routes) => routes.to_vec(),
            Inner::Owned(routes) => routes,
        }
    }

    /// These routes followed by `more` (what several matching rules give).
    pub fn chain(self, more: Routes) -> Routes {
        if more.is_empty() {
            return self;
        }
        if self.is_empty() {
            return more;
        }
        let mut routes = self.into_vec();
        routes.extend_from_slice(&more);
        Routes(Inner::Owned(routes))
    }
}

impl std::ops::Deref for Routes {
    type Target = [Route];

    fn deref(&self) -> &[Route] {
        self.as_slice()
    }
}

impl AsRef<[Route]> for Routes {
    fn as_ref(&self) -> &[Route] {
        self.as_slice()
    }
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl From<Vec<Route>> for Routes {
    fn from(routes: Vec<Route>) -> Self {
        Routes(Inner::Owned(routes))
    }
}

impl From<Route> for Routes {
    fn from(route: Route) -> Self {
        Routes::one(route)
    }
}

impl From<Routes> for Vec<Route> {
    fn from(routes: Routes) -> Self {
        routes.into_vec()
    }
}

impl FromIterator<Route> for Routes {
    fn from_iter<I: IntoIterator<Item = Route>>(iter: I) -> Self {
        Routes(Inner::Owned(iter.into_iter().collect()))
    }
}

impl IntoIterator for Routes {
    type Item = Route;
    type IntoIter = std::vec::IntoIter<Route>;

    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

impl<'a> IntoIterator for &'a Routes {
    type Item = &'a Route;
    type IntoIter = std::slice::Iter<'a, Route>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl PartialEq for Routes {
    fn eq(&self, other: &Routes) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Routes {}

impl PartialEq<[Route]> for Routes {
    fn eq(&self, other: &[Route]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<Vec<Route>> for Routes {
    fn eq(&self, other: &Vec<Route>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<const N: usize> PartialEq<[Route; N]> for Routes {
    fn eq(&self, other: &[Route; N]) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Routes> for Vec<Route> {
    fn eq(&self, other: &Routes) -> bool {
        self.as_slice() == other.as_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_reads_as_the_same_list() {
        let route = Route::new("t.a", "a");
        let shared: Arc<[Route]> = vec![route.clone()].into();
        for routes in [
            Routes::one(route.clone()),
            Routes::shared(shared),
            Routes::from(vec![route.clone()]),
        ] {
            assert_eq!(routes, *std::slice::from_ref(&route));
            assert_eq!(routes.len(), 1);
            assert_eq!(routes.into_vec(), vec![route.clone()]);
        }
        assert!(Routes::none().is_empty());
    }

    #[test]
    fn chaining_keeps_the_order_and_skips_empty_parts() {
        let (a, b) = (Route::new("t.a", "a"), Route::new("t.b", "b"));
        let both = Routes::one(a.clone())
            .chain(Routes::none())
            .chain(b.clone().into());
        assert_eq!(both, vec![a.clone(), b]);
        assert_eq!(Routes::none().chain(a.clone().into()), [a]);
    }

    #[test]
    fn a_shared_list_is_not_copied_by_a_clone() {
        let shared: Arc<[Route]> = vec![Route::new("t.a", "a")].into();
        let routes = Routes::shared(shared.clone());
        let copy = routes.clone();
        assert!(std::ptr::eq(copy.as_slice(), &*shared));
    }
}
