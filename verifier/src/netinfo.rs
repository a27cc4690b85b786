//! Network facts about a client address: IP prefixes for correlation counters, CIDR lists
//! (proxies, hosting ranges, Tor exits, allowlists) and an optional IP-to-ASN table.
//!
//! All addresses are normalised to IPv6 (`u128`; IPv4 as `::ffff:a.b.c.d`) so one sorted range
//! list serves both families. Lookups are binary searches over merged, non-overlapping ranges.

use std::net::{IpAddr, Ipv6Addr};

/// Why a list or table line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetInfoError {
    #[error("line {line}: not an IP address or CIDR: {text:?}")]
    BadCidr { line: usize, text: String },
    #[error("line {line}: expected `range_start range_end asn country description`")]
    BadAsnLine { line: usize },
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Canonical form of an address (IPv4-mapped IPv6 is shown as IPv4).
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The correlation prefix of an address: /24 for IPv4, /48 for IPv6, as text (`"192.0.2.0/24"`).
pub fn prefix_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let masked = u128::from(v6) & !((1u128 << 80) - 1);
            format!("{}/48", Ipv6Addr::from(masked))
        }
    }
}

/// Parse `a.b.c.d`, `a.b.c.d/n`, `x::y` or `x::y/n` into an inclusive `u128` range.
pub fn parse_cidr(text: &str) -> Option<(u128, u128)> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u32>().ok()?)),
        None => (text, None),
    };
    let ip: IpAddr = addr.trim().parse().ok()?;
    let (base, max_len, offset) = match ip {
        IpAddr::V4(_) => (to_u128(ip), 32, 96),
        IpAddr::V6(_) => (to_u128(ip), 128, 0),
    };
    let len = len.unwrap_or(max_len);
    if len > max_len {
        return None;
    }
    let host_bits = 128 - (len + offset);
    let mask = if host_bits == 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    Some((base & !mask, base | mask))
}

/// A set of address ranges (a CIDR list file: one CIDR or address per line, `#` comments).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpSet {
    ranges: Vec<(u128, u128)>,
}

impl IpSet {
    /// Parse a list file's text. Any bad line fails the whole file (a half-loaded blocklist is
    /// worse than keeping the previous one).
    pub fn parse(text: &str) -> Result<Self, NetInfoError> {
        let mut ranges = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let r = parse_cidr(line).ok_or_else(|| NetInfoError::BadCidr {
                line: i + 1,
                text: line.to_owned(),
            })?;
            ranges.push(r);
        }
        Ok(Self::from_ranges(ranges))
    }

    fn from_ranges(mut ranges: Vec<(u128, u128)>) -> Self {
        ranges.sort_unstable();
        let mut merged: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
        for (s, e) in ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1.saturating_add(1) => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        Self { ranges: merged }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let x = to_u128(ip);
        let i = self.ranges.partition_point(|&(s, _)| s <= x);
        i > 0 && self.ranges[i - 1].1 >= x
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

/// What an ASN table says about an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsnInfo {
    pub asn: u32,
    pub country: String,
    pub description: String,
}

/// IP-to-ASN table in the common TSV format `range_start range_end asn country description`
/// (tab-separated; ASN 0 = "not routed", skipped).
#[derive(Debug, Clone, Default)]
pub struct AsnTable {
    /// Sorted, non-overlapping (start, end, index into `info`).
    ranges: Vec<(u128, u128, usize)>,
    info: Vec<AsnInfo>,
}

impl AsnTable {
    pub fn parse(text: &str) -> Result<Self, NetInfoError> {
        let mut ranges = Vec::new();
        let mut info = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let mut f = line.split('\t');
            let bad = || NetInfoError::BadAsnLine { line: i + 1 };
            let start: IpAddr = f
                .next()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(bad)?;
            let end: IpAddr = f
                .next()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(bad)?;
            let asn: u32 = f
                .next()
                .and_then(|s| s.trim().trim_start_matches("AS").parse().ok())
                .ok_or_else(bad)?;
            let country = f.next().unwrap_or("").trim().to_owned();
            let description = f.next().unwrap_or("").trim().to_owned();
            let (s, e) = (to_u128(start), to_u128(end));
            if asn == 0 || e < s {
                continue;
            }
            ranges.push((s, e, info.len()));
            info.push(AsnInfo {
                asn,
                country,
                description,
            });
        }
        ranges.sort_unstable_by_key(|r| r.0);
        Ok(Self { ranges, info })
    }

    pub fn lookup(&self, ip: IpAddr) -> Option<&AsnInfo> {
        let x = to_u128(ip);
        let i = self.ranges.partition_point(|r| r.0 <= x);
        let (_, end, idx) = *self.ranges.get(i.checked_sub(1)?)?;
        (end >= x).then(|| &self.info[idx])
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn prefixes() {
        assert_eq!(prefix_key(ip("192.0.2.77")), "192.0.2.0/24");
        assert_eq!(prefix_key(ip("::ffff:192.0.2.77")), "192.0.2.0/24");
        assert_eq!(prefix_key(ip("2001:db8:abcd:12::1")), "2001:db8:abcd::/48");
    }

    #[test]
    fn cidr_sets() {
        let set = IpSet::parse(
            "# proxies\n10.0.0.0/8\n192.0.2.5 # one host\n\n2001:db8::/32\n10.1.0.0/16\n",
        )
        .unwrap();
        assert_eq!(set.len(), 3, "10.1/16 merges into 10/8");
        assert!(set.contains(ip("10.255.1.1")));
        assert!(set.contains(ip("192.0.2.5")));
        assert!(!set.contains(ip("192.0.2.6")));
        assert!(set.contains(ip("2001:db8:ffff::1")));
        assert!(!set.contains(ip("2001:db9::1")));
        assert!(!set.contains(ip("11.0.0.0")));
        assert!(IpSet::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(matches!(
            IpSet::parse("ok 1.2.3.4\n"),
            Err(NetInfoError::BadCidr { line: 1, .. })
        ));
        assert!(IpSet::parse("1.2.3.4/33").is_err());
        assert!(IpSet::parse("::/129").is_err());
    }

    #[test]
    fn asn_table() {
        let t = AsnTable::parse(
            "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n\
             2001:db8::\t2001:db8::ffff\t64500\tZZ\tEXAMPLE-AS\n",
        )
        .unwrap();
        assert_eq!(t.lookup(ip("1.0.0.9")).unwrap().asn, 13335);
        assert_eq!(t.lookup(ip("1.0.2.1")), None);
        assert_eq!(
            t.lookup(ip("2001:db8::10")).unwrap().description,
            "EXAMPLE-AS"
        );
        assert_eq!(t.lookup(ip("0.0.0.1")), None);
        assert!(AsnTable::parse("garbage line\n").is_err());
    }
}
