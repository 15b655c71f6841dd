//! The operator's egress settings.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

/// How outbound requests are made, for connectors and webhooks alike.
///
/// ```toml
/// [egress]
/// allow_cidrs = ["10.20.0.0/16"]            # private ranges the operator trusts
/// ca_certificates = ["/etc/sluice/staging-ca.pem"]
/// connect_timeout_ms = 5000
/// request_timeout_ms = 15000
///
/// [egress.resolve]                           # like curl --connect-to
/// "hooks.slack.com:443" = "10.20.0.7:8443"
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EgressSettings {
    /// Host (`name` or `name:port`) to the address to connect to instead of
    /// resolving it. An address mapped here is trusted: it is exempt from
    /// the forbidden ranges. TLS is still verified against the host name.
    pub resolve: BTreeMap<String, SocketAddr>,
    /// Forbidden ranges the operator allows anyway (for on-premises targets).
    pub allow_cidrs: Vec<IpNet>,
    /// PEM files of extra certificate authorities to trust.
    pub ca_certificates: Vec<PathBuf>,
    /// Time to establish a connection (TCP and TLS), in milliseconds.
    pub connect_timeout_ms: u64,
    /// Time from sending a request to receiving the response headers, in milliseconds.
    pub request_timeout_ms: u64,
    /// Longest silence while reading a response body, in milliseconds.
    pub read_timeout_ms: u64,
    /// Largest response body read, in bytes.
    pub max_response_bytes: u64,
    /// Most requests one connector call may make.
    pub max_requests_per_call: u32,
}

impl Default for EgressSettings {
    fn default() -> Self {
        Self {
            resolve: BTreeMap::new(),
            allow_cidrs: Vec::new(),
            ca_certificates: Vec::new(),
            connect_timeout_ms: 5_000,
            request_timeout_ms: 15_000,
            read_timeout_ms: 10_000,
            max_response_bytes: 4 * 1024 * 1024,
            max_requests_per_call: 25,
        }
    }
}

impl EgressSettings {
    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub(crate) fn read_timeout(&self) -> Duration {
        Duration::from_millis(self.read_timeout_ms)
    }

    /// The operator's mapping for `host:port`, if any.
    pub(crate) fn mapped(&self, host: &str, port: u16) -> Option<SocketAddr> {
        self.resolve
            .get(&format!("{host}:{port}"))
            .or_else(|| self.resolve.get(host))
            .copied()
    }

    /// Checks the settings, naming the field at fault.
    pub fn validate(&self) -> Result<(), String> {
        for (field, value) in [
            ("egress.connect_timeout_ms", self.connect_timeout_ms),
            ("egress.request_timeout_ms", self.request_timeout_ms),
            ("egress.read_timeout_ms", self.read_timeout_ms),
            ("egress.max_response_bytes", self.max_response_bytes),
        ] {
            if value == 0 {
                return Err(format!("{field} must be at least 1"));
            }
        }
        if self.max_requests_per_call == 0 {
            return Err("egress.max_requests_per_call must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_from_toml_and_name_unknown_fields() {
        let settings: EgressSettings = toml::from_str(
            r#"
            allow_cidrs = ["10.0.0.0/8"]
            connect_timeout_ms = 100
            [resolve]
            "hooks.slack.com:443" = "127.0.0.1:8443"
            "#,
        )
        .unwrap();
        assert_eq!(
            settings.mapped("hooks.slack.com", 443),
            Some("127.0.0.1:8443".parse().unwrap())
        );
        assert_eq!(settings.mapped("hooks.slack.com", 80), None);
        assert_eq!(settings.connect_timeout_ms, 100);
        assert_eq!(settings.request_timeout_ms, 15_000);

        let error = toml::from_str::<EgressSettings>("timeout = 5").unwrap_err();
        assert!(
            error.to_string().contains("unknown field `timeout`"),
            "{error}"
        );
    }
}
