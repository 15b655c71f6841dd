//! Settings of credential checking (`[credentials]` in the service's file).

use std::net::IpAddr;

use http::HeaderMap;
use serde::Deserialize;

/// How credentials are checked, cached and throttled.
///
/// ```toml
/// [credentials]
/// # Behind a proxy or the platform's gateway, count failures per client
/// # address it reports (the last entry of the header) instead of per peer.
/// trusted_proxy_header = "x-forwarded-for"
/// failure_limit = 10
/// failure_window_seconds = 60
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CredentialsConfig {
    /// A header set by a trusted proxy with the client's address (its last
    /// comma-separated entry is used). Unset (the default): the connection's
    /// peer address is the source, and such headers are ignored.
    pub trusted_proxy_header: Option<String>,
    /// Authentication failures from one source within the window before it
    /// is refused with 429.
    pub failure_limit: u32,
    /// The failure window, in seconds.
    pub failure_window_seconds: u32,
    /// Sources tracked at once.
    pub max_tracked_sources: usize,
    /// How long a verified credential is accepted on this node without
    /// reading the database, in milliseconds; also the longest a
    /// revocation on another node takes to be seen here.
    pub cache_ttl_ms: u64,
    /// Verified credentials cached at once.
    pub cache_capacity: usize,
    /// Slow hashes computed at once.
    pub max_concurrent_hashes: usize,
    /// Requests waiting for a hash slot before others are refused with 503.
    pub max_queued_hashes: usize,
    /// How often `last_used_at` is written, in seconds.
    pub usage_flush_seconds: u32,
    /// Lifetime of access tokens from the token endpoint, in seconds.
    pub access_token_seconds: u32,
}

impl Default for CredentialsConfig {
    fn default() -> Self {
        Self {
            trusted_proxy_header: None,
            failure_limit: 10,
            failure_window_seconds: 60,
            max_tracked_sources: 100_000,
            cache_ttl_ms: 5_000,
            cache_capacity: 100_000,
            max_concurrent_hashes: 2,
            max_queued_hashes: 32,
            usage_flush_seconds: 30,
            access_token_seconds: 900,
        }
    }
}

impl CredentialsConfig {
    /// Checks the values; errors name the field.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(header) = &self.trusted_proxy_header
            && http::HeaderName::try_from(header.as_str()).is_err()
        {
            return Err(format!(
                "credentials.trusted_proxy_header: {header:?} is not a header name"
            ));
        }
        for (field, value) in [
            ("failure_limit", u64::from(self.failure_limit)),
            (
                "failure_window_seconds",
                u64::from(self.failure_window_seconds),
            ),
            ("max_concurrent_hashes", self.max_concurrent_hashes as u64),
            ("usage_flush_seconds", u64::from(self.usage_flush_seconds)),
            ("access_token_seconds", u64::from(self.access_token_seconds)),
            ("cache_capacity", self.cache_capacity as u64),
            ("max_tracked_sources", self.max_tracked_sources as u64),
        ] {
            if value == 0 {
                return Err(format!("credentials.{field}: must be at least 1"));
            }
        }
        Ok(())
    }

    /// The source a request counts under: the last address of the trusted
    /// proxy header when one is configured and present and valid, otherwise
    /// the peer; the unspecified address when neither is known.
    pub fn source(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> IpAddr {
        let forwarded = self.trusted_proxy_header.as_deref().and_then(|name| {
            headers
                .get_all(name)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .next_back()
                .and_then(|last| parse_address(last.trim()))
        });
        forwarded
            .or(peer)
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }
}

/// An address as proxies write it: bare, `[v6]`, or with a port.
fn parse_address(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Ok(socket) = text.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    text.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::try_from(*name).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn the_proxy_header_counts_only_when_configured() {
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let sent = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.9")]);
        let direct = CredentialsConfig::default();
        assert_eq!(direct.source(&sent, Some(peer)), peer);
        let behind_proxy = CredentialsConfig {
            trusted_proxy_header: Some("x-forwarded-for".into()),
            ..CredentialsConfig::default()
        };
        assert_eq!(
            behind_proxy.source(&sent, Some(peer)),
            "198.51.100.9".parse::<IpAddr>().unwrap(),
            "the entry the trusted proxy appended"
        );
        assert_eq!(behind_proxy.source(&headers(&[]), Some(peer)), peer);
        assert_eq!(
            behind_proxy.source(&headers(&[("x-forwarded-for", "[2001:db8::1]:443")]), None),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            behind_proxy.source(&headers(&[("x-forwarded-for", "garbage")]), Some(peer)),
            peer
        );
    }

    #[test]
    fn invalid_settings_name_the_field() {
        let config = CredentialsConfig {
            failure_limit: 0,
            ..CredentialsConfig::default()
        };
        assert_eq!(
            config.validate(),
            Err("credentials.failure_limit: must be at least 1".into())
        );
        let config = CredentialsConfig {
            trusted_proxy_header: Some("bad header".into()),
            ..CredentialsConfig::default()
        };
        assert!(
            config
                .validate()
                .unwrap_err()
                .starts_with("credentials.trusted_proxy_header")
        );
    }
}
