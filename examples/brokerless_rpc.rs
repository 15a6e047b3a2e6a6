//! Brokerless RPC over the matchmaker (work in progress).
fn main() {}
