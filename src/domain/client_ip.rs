//! Who the client is, for per-client limits.
//!
//! Upstream trusts the first `X-Forwarded-For` value from anyone, so a client dodges
//! per-IP limits by sending its own header. Here forwarded headers are read only when the
//! TCP peer is a configured trusted proxy (`AUTH_TRUSTED_PROXIES`, default: none), and
//! `X-Forwarded-For` is walked from the right, skipping trusted hops, so the address is
//! the one the outermost trusted proxy saw.

use std::net::{IpAddr, Ipv6Addr};

/// An IP network (`10.0.0.0/8`, `::1/128`); a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    pub fn parse(s: &str) -> Result<IpNetwork, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR network"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: invalid prefix length"))?,
        };
        Ok(IpNetwork { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(u128::from(net), u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, prefix: u8, bits: u32) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = bits - u32::from(prefix);
    (a >> shift) == (b >> shift)
}

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNetwork>);

impl TrustedProxies {
    /// Parses `AUTH_TRUSTED_PROXIES` items (blank items ignored).
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<TrustedProxies, String> {
        items
            .iter()
            .map(AsRef::as_ref)
            .filter(|s| !s.trim().is_empty())
            .map(IpNetwork::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client address: the peer, unless the peer is a trusted proxy; then the
    /// right-most untrusted `X-Forwarded-For` hop (or `X-Real-IP` when there is no
    /// `X-Forwarded-For`). Unparsable hops end the walk at the last trusted address.
    ///
    /// `forwarded_for` holds every `X-Forwarded-For` header line in the order received:
    /// a proxy may append its own line instead of extending the client's (HAProxy's
    /// `option forwardfor`), so the lines are one list, and the client's own line is the
    /// left-most, least trusted part of it. Of several `X-Real-IP` lines the last one,
    /// nearest to us, counts.
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: &[&str], real_ip: &[&str]) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        if !forwarded_for.is_empty() {
            let mut client = peer;
            for hop in forwarded_for.iter().rev().flat_map(|line| line.rsplit(',')) {
                let Some(ip) = parse_hop(hop) else {
                    return client;
                };
                client = ip;
                if !self.trusts(ip) {
                    return ip;
                }
            }
            return client;
        }
        real_ip.last().and_then(|v| parse_hop(v)).unwrap_or(peer)
    }
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| {
            // "[v6]:port" or "v4:port"
            hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip())
        })
        .map(|ip| ip.to_canonical())
}

/// The counter key of a client: the IPv4 address, or the IPv6 /64 (one subscriber's
/// network, which rotating addresses inside it cannot escape).
pub fn rate_limit_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", Ipv6Addr::from(network))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn client_ip_ignores_forwarded_headers_from_untrusted_peers() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(ip("203.0.113.9"), &["1.2.3.4"], &["5.6.7.8"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn client_ip_walks_forwarded_for_from_the_right() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "127.0.0.1"]).unwrap();
        let peer = ip("127.0.0.1");
        assert_eq!(
            proxies.client_ip(peer, &["6.6.6.6, 198.51.100.7, 10.1.2.3"], &[]),
            ip("198.51.100.7"),
            "a spoofed left-most value is not used"
        );
        assert_eq!(proxies.client_ip(peer, &["10.0.0.1"], &[]), ip("10.0.0.1"));
        assert_eq!(
            proxies.client_ip(peer, &["junk, 10.0.0.2"], &[]),
            ip("10.0.0.2")
        );
        assert_eq!(
            proxies.client_ip(peer, &[], &["198.51.100.8"]),
            ip("198.51.100.8")
        );
        assert_eq!(proxies.client_ip(peer, &[], &[]), peer);
        assert_eq!(
            proxies.client_ip(ip("::ffff:127.0.0.1"), &["[2001:db8::1]:443"], &[]),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn client_ip_joins_every_forwarded_for_line_in_order() {
        let proxies = TrustedProxies::parse(&["127.0.0.1", "10.0.0.0/8"]).unwrap();
        let peer = ip("127.0.0.1");
        // HAProxy's `option forwardfor` appends its own line after the client's.
        assert_eq!(
            proxies.client_ip(peer, &["5.5.5.1", "203.0.113.6"], &[]),
            ip("203.0.113.6"),
            "the client's own line is not believed"
        );
        assert_eq!(
            proxies.client_ip(peer, &["5.5.5.1, 6.6.6.6", "203.0.113.6, 10.0.0.3"], &[]),
            ip("203.0.113.6")
        );
        // Trusted hops in the last line: the walk continues into the line before.
        assert_eq!(
            proxies.client_ip(peer, &["198.51.100.7", "10.0.0.4", "10.0.0.3"], &[]),
            ip("198.51.100.7")
        );
        assert_eq!(
            proxies.client_ip(peer, &["junk", "10.0.0.4"], &[]),
            ip("10.0.0.4")
        );
        assert_eq!(
            proxies.client_ip(peer, &[], &["5.5.5.1", "198.51.100.8"]),
            ip("198.51.100.8"),
            "the last X-Real-IP line, set nearest to us"
        );
    }

    #[test]
    fn client_ip_networks_parse_and_match() {
        assert!(
            IpNetwork::parse("10.0.0.0/8")
                .unwrap()
                .contains(ip("10.200.0.1"))
        );
        assert!(
            !IpNetwork::parse("10.0.0.0/8")
                .unwrap()
                .contains(ip("11.0.0.1"))
        );
        assert!(
            IpNetwork::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("8.8.8.8"))
        );
        assert!(
            IpNetwork::parse("2001:db8::/32")
                .unwrap()
                .contains(ip("2001:db8:1::5"))
        );
        assert!(
            !IpNetwork::parse("2001:db8::/32")
                .unwrap()
                .contains(ip("10.0.0.1"))
        );
        assert!(IpNetwork::parse("1.2.3.4/33").is_err());
        assert!(IpNetwork::parse("example.com").is_err());
        assert!(TrustedProxies::parse(&["", " "]).unwrap().0.is_empty());
    }

    #[test]
    fn client_ip_rate_limit_keys_group_ipv6_by_64() {
        assert_eq!(rate_limit_key(ip("127.0.0.1")), "127.0.0.1");
        assert_eq!(rate_limit_key(ip("::ffff:10.0.0.1")), "10.0.0.1");
        assert_eq!(
            rate_limit_key(ip("2001:db8:1:2:aaaa::1")),
            rate_limit_key(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_eq!(rate_limit_key(ip("2001:db8:1:2::1")), "2001:db8:1:2::/64");
    }
}
