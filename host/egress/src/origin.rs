//! Allowed outbound origins, as a connector manifest declares them.
//!
//! The syntax follows Spin's `allowed_outbound_hosts`: `scheme://host[:port]`,
//! where the host may start with `*.` to allow every subdomain (but not the
//! bare domain), and an absent port means the scheme's default. Paths,
//! queries, user info and other wildcards are refused, so that what an
//! operator reads in a manifest is exactly what the connector can reach.

use std::fmt;

/// Why an origin pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{pattern}': {reason}")]
pub struct OriginError {
    /// The text that was refused.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// URL schemes a connector may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// Parses `http` or `https`, case-insensitively.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "http" => Some(Self::Http),
            "https" => Some(Self::Https),
            _ => None,
        }
    }

    /// 80 or 443.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }

    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// One allowed origin: a scheme, a host (exact or `*.` subdomain wildcard)
/// and a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OriginPattern {
    scheme: Scheme,
    host: HostPattern,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum HostPattern {
    Exact(String),
    /// Any strict subdomain of the stored domain.
    Subdomains(String),
}

impl OriginPattern {
    /// Parses `https://api.example.com`, `https://*.example.com:8443` or
    /// `http://[2001:db8::1]:8080`.
    pub fn parse(text: &str) -> Result<Self, OriginError> {
        let fail = |reason| OriginError {
            pattern: text.to_owned(),
            reason,
        };
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| fail("must start with http:// or https://"))?;
        let scheme = Scheme::parse(scheme).ok_or_else(|| fail("scheme must be http or https"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            return Err(fail("has no host"));
        }
        if rest.contains(['/', '?', '#']) {
            return Err(fail("must not contain a path, query or fragment"));
        }
        if rest.contains('@') {
            return Err(fail("must not contain user info"));
        }
        let (host, port) = split_host_port(rest).ok_or_else(|| fail("has an invalid port"))?;
        let host = host.to_ascii_lowercase();
        let host = if let Some(domain) = host.strip_prefix("*.") {
            if !is_valid_domain(domain) {
                return Err(fail(
                    "wildcard must be followed by a valid domain, as in *.example.com",
                ));
            }
            HostPattern::Subdomains(domain.to_owned())
        } else {
            if host.contains('*') {
                return Err(fail("'*' is allowed only as a leading '*.' of the host"));
            }
            if !is_valid_domain(&host) && !is_ip_literal(&host) {
                return Err(fail("host is not a valid domain name or IP address"));
            }
            HostPattern::Exact(host)
        };
        Ok(Self {
            scheme,
            host,
            port: port.unwrap_or(scheme.default_port()),
        })
    }

    /// Whether a request to `scheme://host:port` is allowed by this pattern.
    /// `host` is compared case-insensitively; IPv6 literals are given with
    /// their brackets, as they appear in a URL.
    pub fn allows(&self, scheme: Scheme, host: &str, port: u16) -> bool {
        if scheme != self.scheme || port != self.port {
            return false;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        match &self.host {
            HostPattern::Exact(exact) => *exact == host,
            HostPattern::Subdomains(domain) => host
                .strip_suffix(domain.as_str())
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
        }
    }
}

impl OriginPattern {
    /// Whether every origin this pattern allows is also allowed by `other`,
    /// used to tell whether a new manifest reaches further than an old one.
    pub fn is_within(&self, other: &OriginPattern) -> bool {
        if self.scheme != other.scheme || self.port != other.port {
            return false;
        }
        match (&self.host, &other.host) {
            (HostPattern::Exact(host), _) => other.allows(self.scheme, host, self.port),
            (HostPattern::Subdomains(mine), HostPattern::Subdomains(theirs)) => {
                mine == theirs
                    || mine
                        .strip_suffix(theirs.as_str())
                        .is_some_and(|sub| sub.ends_with('.'))
            }
            (HostPattern::Subdomains(_), HostPattern::Exact(_)) => false,
        }
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match &self.host {
            HostPattern::Exact(h) => h.clone(),
            HostPattern::Subdomains(d) => format!("*.{d}"),
        };
        write!(f, "{}://{host}", self.scheme.as_str())?;
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// The origins one connector may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(Vec<OriginPattern>);

impl AllowList {
    /// Builds a list from parsed patterns.
    pub fn new(patterns: Vec<OriginPattern>) -> Self {
        Self(patterns)
    }

    /// Parses every pattern, failing on the first malformed one.
    pub fn parse<S: AsRef<str>>(patterns: &[S]) -> Result<Self, OriginError> {
        patterns
            .iter()
            .map(|p| OriginPattern::parse(p.as_ref()))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether any pattern allows `scheme://host:port`.
    pub fn allows(&self, scheme: Scheme, host: &str, port: u16) -> bool {
        self.0.iter().any(|p| p.allows(scheme, host, port))
    }

    /// Whether a request to `uri` (absolute) goes to an allowed origin.
    pub fn allows_uri(&self, uri: &http::Uri) -> bool {
        crate::connect::Destination::of(uri).is_ok_and(|d| self.allows(d.scheme, &d.host, d.port))
    }

    /// The patterns, in declaration order.
    pub fn patterns(&self) -> &[OriginPattern] {
        &self.0
    }
}

/// Splits `host[:port]`, where an IPv6 host keeps its brackets.
fn split_host_port(text: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if text.starts_with('[') {
        let end = text.find(']')?;
        let (host, rest) = text.split_at(end + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p != 0)?),
    };
    Some((host, port))
}

fn is_valid_domain(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn is_ip_literal(host: &str) -> bool {
    host.parse::<std::net::Ipv4Addr>().is_ok()
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok())
}

/// `scheme://host:port` of an absolute `uri`, as the egress log writes it.
pub fn origin_of(uri: &http::Uri) -> Option<String> {
    crate::connect::Destination::of(uri)
        .ok()
        .map(|d| d.origin())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(pattern: &str, url: (&str, &str, u16)) -> bool {
        let scheme = Scheme::parse(url.0).unwrap();
        OriginPattern::parse(pattern)
            .unwrap()
            .allows(scheme, url.1, url.2)
    }

    #[test]
    fn exact_origin_allows_only_its_scheme_host_and_default_port() {
        assert!(allows(
            "https://hooks.slack.com",
            ("https", "hooks.slack.com", 443)
        ));
        assert!(allows(
            "https://hooks.slack.com",
            ("https", "HOOKS.slack.com", 443)
        ));
        assert!(!allows(
            "https://hooks.slack.com",
            ("http", "hooks.slack.com", 80)
        ));
        assert!(!allows(
            "https://hooks.slack.com",
            ("https", "hooks.slack.com", 8443)
        ));
        assert!(!allows(
            "https://hooks.slack.com",
            ("https", "evil.hooks.slack.com", 443)
        ));
        assert!(!allows(
            "https://hooks.slack.com",
            ("https", "hooks.slack.com.evil", 443)
        ));
    }

    #[test]
    fn a_pattern_is_within_another_only_when_it_allows_nothing_more() {
        let within = |a: &str, b: &str| {
            OriginPattern::parse(a)
                .unwrap()
                .is_within(&OriginPattern::parse(b).unwrap())
        };
        assert!(within("https://api.slack.com", "https://api.slack.com"));
        assert!(within("https://api.slack.com", "https://*.slack.com"));
        assert!(within("https://*.eu.slack.com", "https://*.slack.com"));
        assert!(within("https://*.slack.com", "https://*.slack.com"));
        assert!(!within("https://*.slack.com", "https://api.slack.com"));
        assert!(!within("https://*.slack.com", "https://*.eu.slack.com"));
        assert!(!within("https://slack.com", "https://*.slack.com"));
        assert!(!within("http://api.slack.com", "https://api.slack.com"));
        assert!(!within(
            "https://api.slack.com:8443",
            "https://api.slack.com"
        ));
        assert!(!within("https://*.notslack.com", "https://*.slack.com"));
    }

    #[test]
    fn wildcard_allows_subdomains_but_not_the_bare_domain() {
        let p = "https://*.amazon.com";
        assert!(allows(p, ("https", "api.amazon.com", 443)));
        assert!(allows(p, ("https", "sellingpartnerapi-na.amazon.com", 443)));
        assert!(!allows(p, ("https", "amazon.com", 443)));
        assert!(!allows(p, ("https", "evilamazon.com", 443)));
        assert!(!allows(p, ("https", "api.amazon.com.evil.io", 443)));
    }

    #[test]
    fn explicit_ports_and_ip_literals() {
        assert!(allows("http://127.0.0.1:8080", ("http", "127.0.0.1", 8080)));
        assert!(allows("https://[::1]:8443", ("https", "[::1]", 8443)));
        assert!(!allows("https://[::1]:8443", ("https", "[::1]", 443)));
    }

    #[test]
    fn malformed_origins_are_refused_with_a_reason() {
        for (text, reason) in [
            ("hooks.slack.com", "must start with http:// or https://"),
            ("ftp://x.com", "scheme must be http or https"),
            (
                "https://x.com/path",
                "must not contain a path, query or fragment",
            ),
            ("https://user@x.com", "must not contain user info"),
            ("https://x.com:0", "has an invalid port"),
            ("https://x.com:99999", "has an invalid port"),
            (
                "https://a.*.com",
                "'*' is allowed only as a leading '*.' of the host",
            ),
            (
                "https://*.",
                "wildcard must be followed by a valid domain, as in *.example.com",
            ),
            ("https://", "has no host"),
            (
                "https://bad_host!",
                "host is not a valid domain name or IP address",
            ),
        ] {
            assert_eq!(
                OriginPattern::parse(text).unwrap_err().reason,
                reason,
                "{text}"
            );
        }
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "https://*.example.com",
            "http://127.0.0.1:8080",
            "https://api.ebay.com",
        ] {
            assert_eq!(OriginPattern::parse(text).unwrap().to_string(), text);
        }
    }
}
