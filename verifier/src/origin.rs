//! Web origins (`scheme://host[:port]`) and allowed-origin patterns with an optional `*` port.

/// A parsed origin. Scheme and host are lower-cased; no path, query or user info is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub scheme: String,
    pub host: String,
    pub port: Option<u16>,
}

/// Port part of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortPattern {
    /// No port written: matches an origin without an explicit port.
    Default,
    Exact(u16),
    /// `:*`: any port, including none.
    Any,
}

/// An allowed-origin pattern such as `https://login.example.com` or `http://localhost:*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    pub scheme: String,
    pub host: String,
    pub port: PortPattern,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid origin {0:?}: expected scheme://host[:port]")]
pub struct OriginError(pub String);

fn split(text: &str) -> Option<(String, &str, Option<&str>)> {
    if text.len() > 256 {
        return None;
    }
    let (scheme, rest) = text.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return None;
    }
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', '\\', ' ']) {
        return None;
    }
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        // IPv6 literal: [addr] or [addr]:port
        let (addr, after) = inner.split_once(']')?;
        if addr.is_empty()
            || !addr
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return None;
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (&rest[..addr.len() + 2], port)
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if !host.starts_with('[')
        && (host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)))
    {
        return None;
    }
    Some((scheme.to_ascii_lowercase(), host, port))
}

fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

impl Origin {
    pub fn parse(text: &str) -> Result<Self, OriginError> {
        let err = || OriginError(text.chars().take(80).collect());
        let (scheme, host, port) = split(text).ok_or_else(err)?;
        let port = match port {
            None => None,
            Some(p) => Some(parse_port(p).ok_or_else(err)?),
        };
        Ok(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// Host without brackets or port (what siteverify reports as `hostname`).
    pub fn hostname(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }
}

impl OriginPattern {
    pub fn parse(text: &str) -> Result<Self, OriginError> {
        let err = || OriginError(text.chars().take(80).collect());
        let (scheme, host, port) = split(text).ok_or_else(err)?;
        let port = match port {
            None => PortPattern::Default,
            Some("*") => PortPattern::Any,
            Some(p) => PortPattern::Exact(parse_port(p).ok_or_else(err)?),
        };
        Ok(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            text: text.to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, origin: &Origin) -> bool {
        self.scheme == origin.scheme
            && self.host == origin.host
            && match self.port {
                PortPattern::Any => true,
                PortPattern::Default => origin.port.is_none(),
                PortPattern::Exact(p) => origin.port == Some(p),
            }
    }

    /// Whether the raw `Origin` header text is allowed by this pattern.
    pub fn matches_str(&self, origin: &str) -> bool {
        Origin::parse(origin).is_ok_and(|o| self.matches(&o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_port_matches_any_port_only_on_that_host() {
        let p = OriginPattern::parse("http://localhost:*").unwrap();
        assert!(p.matches_str("http://localhost:8080"));
        assert!(p.matches_str("http://localhost:1"));
        assert!(p.matches_str("http://localhost"));
        assert!(!p.matches_str("https://localhost:8080"));
        assert!(!p.matches_str("http://localhost.evil.com:8080"));
        assert!(!p.matches_str("http://evil.com/http://localhost:80"));
        assert!(!p.matches_str("http://localhost:99999"));
        assert!(!p.matches_str("http://localhost:80/"));
        assert!(!p.matches_str("null"));
        assert!(!p.matches_str("http://user@localhost:80"));
    }

    #[test]
    fn exact_and_default_ports() {
        let p = OriginPattern::parse("https://login.example.com").unwrap();
        assert!(p.matches_str("https://login.example.com"));
        assert!(p.matches_str("HTTPS://Login.Example.com"));
        assert!(!p.matches_str("https://login.example.com:8443"));
        let p = OriginPattern::parse("http://127.0.0.1:8080").unwrap();
        assert!(p.matches_str("http://127.0.0.1:8080"));
        assert!(!p.matches_str("http://127.0.0.1:8081"));
    }

    #[test]
    fn ipv6_and_hostname() {
        let o = Origin::parse("http://[::1]:8080").unwrap();
        assert_eq!(o.hostname(), "::1");
        assert_eq!(o.port, Some(8080));
        assert!(OriginPattern::parse("http://[::1]:*").unwrap().matches(&o));
        assert_eq!(
            Origin::parse("https://a.example:443").unwrap().hostname(),
            "a.example"
        );
    }

    #[test]
    fn garbage_rejected() {
        for bad in [
            "",
            "localhost",
            "http://",
            "://x",
            "http://a:b",
            "http://a b",
            "http://[zz]:1",
            "http://a:*",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
        assert!(OriginPattern::parse("http://a:*").is_ok());
        assert!(OriginPattern::parse("http://a:x").is_err());
    }
}
