//! IP networks (`10.0.0.0/8`, `::1`) and the client address of a request that came through
//! trusted reverse proxies (`X-Forwarded-For`).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// An address with a prefix length; a bare address is a network of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` lies in this network (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| format!("{s:?} is not an IP address or network"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("{s:?}: bad prefix length"))?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A list of networks separated by commas or whitespace (`ATENDE_TRUSTED_PROXIES`).
pub fn parse_list(s: &str) -> Result<Vec<IpNet>, String> {
    s.split(|c: char| c == ',' || c.is_whitespace()).filter(|p| !p.is_empty()).map(str::parse).collect()
}

/// One `X-Forwarded-For` entry: an address, or an address with a port as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip())).map(|ip| ip.to_canonical())
}

/// The address a request came from. The TCP peer, unless the peer is one of our `trusted`
/// proxies: then the right-most `X-Forwarded-For` address that is not a trusted proxy, since
/// every proxy appends the address it saw and anything left of our own proxies was written
/// by the client and proves nothing. An entry that does not parse ends the walk at the last
/// proxy seen; a chain of only trusted proxies gives its left-most address.
pub fn client_ip<'a>(peer: IpAddr, forwarded_for: impl IntoIterator<Item = &'a str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    let hops: Vec<&str> = forwarded_for.into_iter().flat_map(|v| v.split(',')).collect();
    for hop in hops.into_iter().rev() {
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_contain_their_addresses() {
        let n: IpNet = "10.1.0.0/16".parse().unwrap();
        assert!(n.contains(ip("10.1.200.3")));
        assert!(!n.contains(ip("10.2.0.1")));
        assert!("127.0.0.1".parse::<IpNet>().unwrap().contains(ip("::ffff:127.0.0.1")));
        assert!("::1".parse::<IpNet>().unwrap().contains(ip("::1")));
        assert!("0.0.0.0/0".parse::<IpNet>().unwrap().contains(ip("203.0.113.9")));
        assert!("fd00::/8".parse::<IpNet>().unwrap().contains(ip("fd12::1")));
        assert!(!"fd00::/8".parse::<IpNet>().unwrap().contains(ip("10.0.0.1")));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("example.com".parse::<IpNet>().is_err());
        assert_eq!(parse_list("10.0.0.1, 192.168.0.0/16  ::1").unwrap().len(), 3);
        assert_eq!(parse_list("").unwrap(), vec![]);
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let trusted = parse_list("10.0.0.0/8").unwrap();
        let peer = ip("10.0.0.5");
        // Not from our proxy: the header is the client's own claim.
        assert_eq!(client_ip(ip("198.51.100.7"), ["1.2.3.4"], &trusted), ip("198.51.100.7"));
        // From our proxy: the right-most address that is not ours; spoofed entries to its left are ignored.
        assert_eq!(client_ip(peer, ["6.6.6.6, 203.0.113.9"], &trusted), ip("203.0.113.9"));
        assert_eq!(client_ip(peer, ["6.6.6.6", "203.0.113.9, 10.0.0.7"], &trusted), ip("203.0.113.9"));
        assert_eq!(client_ip(peer, ["203.0.113.9:5123"], &trusted), ip("203.0.113.9"));
        // Garbage or nothing: the last proxy we saw.
        assert_eq!(client_ip(peer, ["203.0.113.9, junk, 10.0.0.7"], &trusted), ip("10.0.0.7"));
        assert_eq!(client_ip(peer, [], &trusted), peer);
        // No trusted proxies configured: always the peer.
        assert_eq!(client_ip(peer, ["203.0.113.9"], &[]), peer);
    }
}
