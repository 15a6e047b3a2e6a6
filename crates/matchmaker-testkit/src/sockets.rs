//! Counting TCP connections on this machine (Linux `/proc/net/tcp{,6}`), to test connection bounds.

/// A TCP state as `/proc/net/tcp` writes it (hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    /// `01`: open.
    Established,
    /// `08`: the peer closed, this side has not (a server still holding a dead client's slot).
    CloseWait,
    /// Any other state.
    Other(u8),
}

/// One socket of the machine's TCP table: its local and remote ports and its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSocket {
    /// Local port.
    pub local_port: u16,
    /// Remote port.
    pub remote_port: u16,
    /// Its state.
    pub state: TcpState,
}

/// Every IPv4 and IPv6 TCP socket of this network namespace (empty where `/proc` has none).
pub fn tcp_sockets() -> Vec<TcpSocket> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|table| parse_table(&table))
        .collect()
}

/// Open client connections to `port` (this side established, the remote side is `port`).
pub fn connections_to(port: u16) -> usize {
    tcp_sockets()
        .iter()
        .filter(|socket| socket.remote_port == port && socket.state == TcpState::Established)
        .count()
}

/// Server-side sockets of `port` whose client is gone but which the server still holds.
pub fn close_wait_on(port: u16) -> usize {
    tcp_sockets()
        .iter()
        .filter(|socket| socket.local_port == port && socket.state == TcpState::CloseWait)
        .count()
}

fn parse_table(table: &str) -> Vec<TcpSocket> {
    table.lines().skip(1).filter_map(parse_line).collect()
}

/// `  0: 0100007F:1F90 0100007F:C350 01 ...` → ports 8080 and 50000, established.
fn parse_line(line: &str) -> Option<TcpSocket> {
    let mut fields = line.split_whitespace().skip(1);
    let port = |address: &str| u16::from_str_radix(address.rsplit(':').next()?, 16).ok();
    let local_port = port(fields.next()?)?;
    let remote_port = port(fields.next()?)?;
    let state = match u8::from_str_radix(fields.next()?, 16).ok()? {
        0x01 => TcpState::Established,
        0x08 => TcpState::CloseWait,
        other => TcpState::Other(other),
    };
    Some(TcpSocket {
        local_port,
        remote_port,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_line_gives_ports_and_state() {
        let table = "  sl  local_address rem_address   st tx_queue\n   0: 0100007F:1F90 0100007F:C350 01 00000000:00000000\n   1: 00000000000000000000000001000000:C350 00000000000000000000000001000000:1F90 08 0\n";
        assert_eq!(
            parse_table(table),
            vec![
                TcpSocket {
                    local_port: 8080,
                    remote_port: 50000,
                    state: TcpState::Established
                },
                TcpSocket {
                    local_port: 50000,
                    remote_port: 8080,
                    state: TcpState::CloseWait
                },
            ]
        );
    }

    #[test]
    fn an_open_connection_to_a_listener_is_counted() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let before = connections_to(port);
        let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _accepted = listener.accept().unwrap();
        assert_eq!(connections_to(port), before + 1);
    }
}
