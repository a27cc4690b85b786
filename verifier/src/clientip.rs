//! The client address of a request: the TCP peer, or — only when the peer is a trusted proxy —
//! the right-most address in `X-Forwarded-For` that is not itself a trusted proxy.
//!
//! Why right-most: every proxy *appends* the address it received the request from, so the
//! entries to the right were written by our own proxies and the first untrusted one from the
//! right is the last address an attacker could not forge. Anything to its left is client-supplied.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Extensions, HeaderMap, Request};

use crate::netinfo::{IpSet, canonical};

/// The client address, or `None` when the request has no peer address (in-process tests
/// without `ConnectInfo`).
pub fn client_ip<B>(req: &Request<B>, trusted: &IpSet) -> Option<IpAddr> {
    let peer = peer_ip(req.extensions())?;
    Some(resolve(peer, req.headers(), trusted))
}

/// The TCP peer address (`ConnectInfo`, or `MockConnectInfo` in tests) from request extensions.
pub fn peer_ip(ext: &Extensions) -> Option<IpAddr> {
    ext.get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .or_else(|| ext.get::<MockConnectInfo<SocketAddr>>().map(|m| m.0.ip()))
}

/// [`client_ip`] from its parts.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &IpSet) -> IpAddr {
    let peer = canonical(peer);
    if trusted.is_empty() || !trusted.contains(peer) {
        return peer;
    }
    let mut hops: Vec<&str> = Vec::new();
    for v in headers.get_all("x-forwarded-for") {
        let Ok(v) = v.to_str() else {
            // Unreadable header: believe nothing beyond the trusted peer.
            return peer;
        };
        hops.extend(v.split(',').map(str::trim));
    }
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) => {
                client = ip;
                if !trusted.contains(ip) {
                    return ip;
                }
            }
            // Garbage written by (or passed through) a trusted hop: stop at the last good one.
            None => return client,
        }
    }
    client
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`.
fn parse_hop(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    s.parse::<SocketAddr>().ok().map(|a| canonical(a.ip()))
}

/// The rate-limit / grouping key of an address: IPv4 /32, IPv6 /64 (one subscriber usually gets
/// a whole /64, so per-address limits on IPv6 would be trivial to dodge).
pub fn subscriber_key(ip: IpAddr) -> u128 {
    match canonical(ip) {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6) & !((1u128 << 64) - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(xff: &[&str]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for v in xff {
            m.append("x-forwarded-for", v.parse().unwrap());
        }
        m
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peer_ignores_xff() {
        let t = IpSet::parse("10.0.0.0/8").unwrap();
        assert_eq!(
            resolve(ip("203.0.113.9"), &h(&["1.2.3.4"]), &t),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve(ip("203.0.113.9"), &h(&["1.2.3.4"]), &IpSet::default()),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn right_most_untrusted_hop_wins() {
        let t = IpSet::parse("10.0.0.0/8\n127.0.0.1").unwrap();
        // Client forged "6.6.6.6"; our proxies appended the real client then each other.
        let hdr = h(&["6.6.6.6, 198.51.100.7", "10.1.1.1"]);
        assert_eq!(resolve(ip("10.0.0.2"), &hdr, &t), ip("198.51.100.7"));
        // Ports and brackets are tolerated, IPv4-mapped IPv6 is canonicalised.
        assert_eq!(
            resolve(ip("127.0.0.1"), &h(&["[2001:db8::5]:443"]), &t),
            ip("2001:db8::5")
        );
        assert_eq!(
            resolve(ip("::ffff:127.0.0.1"), &h(&["198.51.100.8:1234"]), &t),
            ip("198.51.100.8")
        );
        // Everything trusted: the left-most (farthest) hop.
        assert_eq!(
            resolve(ip("10.0.0.2"), &h(&["10.9.9.9"]), &t),
            ip("10.9.9.9")
        );
        // No header: the peer.
        assert_eq!(resolve(ip("10.0.0.2"), &h(&[]), &t), ip("10.0.0.2"));
        // Garbage to the right of a good hop: stop at the last good (trusted) hop.
        assert_eq!(
            resolve(ip("10.0.0.2"), &h(&["198.51.100.7, bogus"]), &t),
            ip("10.0.0.2")
        );
        assert_eq!(
            resolve(ip("10.0.0.2"), &h(&["bogus, 10.3.3.3"]), &t),
            ip("10.3.3.3")
        );
    }

    #[test]
    fn ipv6_subscribers_group_by_64() {
        assert_eq!(
            subscriber_key(ip("2001:db8:1:2:aaaa::1")),
            subscriber_key(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            subscriber_key(ip("2001:db8:1:2::1")),
            subscriber_key(ip("2001:db8:1:3::1"))
        );
        assert_ne!(
            subscriber_key(ip("192.0.2.1")),
            subscriber_key(ip("192.0.2.2"))
        );
        assert_eq!(
            subscriber_key(ip("::ffff:192.0.2.1")),
            subscriber_key(ip("192.0.2.1"))
        );
    }
}
