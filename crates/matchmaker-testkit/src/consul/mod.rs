//! A throwaway Consul dev agent on loopback, and the agent that `cargo xtask` shares with tests.

/// Environment variable naming the consul binary to use.
pub const BIN_ENV: &str = "MATCHMAKER_CONSUL_BIN";

/// Environment variable holding `127.0.0.1:PORT` of the Consul HTTP API started by `cargo xtask`.
pub const ADDR_ENV: &str = "MATCHMAKER_CONSUL_ADDR";

/// The address of the shared Consul agent (`MATCHMAKER_CONSUL_ADDR`), or None after a skip line.
///
/// # Panics
/// When the variable is unset and `MATCHMAKER_TEST_REQUIRED=1`: the test must fail, not skip.
pub fn shared_addr_or_skip(test_name: &str) -> Option<String> {
    crate::shared_or_skip(ADDR_ENV, "consul agent", test_name)
}
