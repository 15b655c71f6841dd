//! The attacks, by the name setting `attack` gives them.

use std::str::FromStr;

use sluice_guest::{DeliveryOutcome, InvocationContext};

use crate::{ambient, egress, exhaustion};

/// The cloud metadata endpoint of AWS, GCP (by IP) and others.
const METADATA_URL: &str = "http://169.254.169.254/latest/meta-data/";
/// A host the manifest does not declare.
const UNDECLARED_URL: &str = "https://undeclared.example.com/";
/// Loopback written as an IPv4-mapped IPv6 address, to slip past naive checks.
const MAPPED_V6_URL: &str = "http://[::ffff:127.0.0.1]/";

/// One way of misbehaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// Spins forever.
    Loop,
    /// Allocates 1 MiB after 1 MiB, without bound.
    Memory,
    /// GETs a host the manifest does not declare.
    EgressUndeclared,
    /// GETs `http://127.0.0.1:<port>/`.
    EgressLoopback,
    /// GETs the cloud metadata endpoint.
    EgressMetadata,
    /// GETs loopback through an IPv4-mapped IPv6 literal.
    EgressMappedV6,
    /// GETs `https://<host>/`, a declared name that resolves to a private address.
    EgressPrivateDns,
    /// Asks for an undeclared credential and a declared one.
    CredentialUndeclared,
    /// Looks at environment variables, arguments and the file system.
    EnvAndFiles,
    /// Panics.
    Panic,
    /// Reads a response larger than the host's cap.
    BigResponse,
    /// Sends more requests than the host allows per call.
    ManyRequests,
    /// Writes megabytes to stdout and stderr.
    StdoutFlood,
    /// Writes 64 KiB state values a thousand times, to spend its time in host calls.
    StateFlood,
    /// Answers delivered with a 16 MiB external id.
    HugeExternalId,
    /// Answers a permanent failure with a 16 MiB reason and remote message.
    HugeReason,
    /// Tries to read the host-applied `bound_token`, then to have the host
    /// send it to `target_url`.
    CredentialExfiltrate,
    /// Streams a 1 MiB POST body to `target_url` (default: an undeclared
    /// host) as interpreted guests do, and reports the first error it met.
    StreamedPost,
    /// Opens a TCP connection to `127.0.0.1:<port>`, binds a UDP socket and
    /// resolves `localhost` through `wasi:sockets`, past `wasi:http`.
    Sockets,
    /// Reports what earlier calls left in its memory, then leaves its own
    /// marks there for the next call to find.
    Remember,
}

impl Attack {
    /// The attack called `name`, as in the manifest's `attack` options.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "loop" => Self::Loop,
            "memory" => Self::Memory,
            "egress-undeclared" => Self::EgressUndeclared,
            "egress-loopback" => Self::EgressLoopback,
            "egress-metadata" => Self::EgressMetadata,
            "egress-mapped-v6" => Self::EgressMappedV6,
            "egress-private-dns" => Self::EgressPrivateDns,
            "credential-undeclared" => Self::CredentialUndeclared,
            "env-and-files" => Self::EnvAndFiles,
            "panic" => Self::Panic,
            "big-response" => Self::BigResponse,
            "many-requests" => Self::ManyRequests,
            "stdout-flood" => Self::StdoutFlood,
            "state-flood" => Self::StateFlood,
            "huge-external-id" => Self::HugeExternalId,
            "huge-reason" => Self::HugeReason,
            "credential-exfiltrate" => Self::CredentialExfiltrate,
            "streamed-post" => Self::StreamedPost,
            "sockets" => Self::Sockets,
            "remember" => Self::Remember,
            _ => return None,
        })
    }

    /// Runs the attack with the settings of `context`.
    pub fn run(self, context: &InvocationContext) -> DeliveryOutcome {
        match self.try_run(context) {
            Ok(outcome) => outcome,
            Err(problem) => DeliveryOutcome::failed(problem),
        }
    }

    fn try_run(self, context: &InvocationContext) -> Result<DeliveryOutcome, String> {
        Ok(match self {
            Self::Loop => exhaustion::spin(),
            Self::Memory => exhaustion::grow_memory(),
            Self::Panic => panic!("hostile guest panicked on purpose"),
            Self::EgressUndeclared => egress::probe(UNDECLARED_URL),
            Self::Sockets => ambient::probe_sockets(number(context, "port", 80)?),
            Self::EgressLoopback => {
                let port: u16 = number(context, "port", 80)?;
                egress::probe(&format!("http://127.0.0.1:{port}/"))
            }
            Self::EgressMetadata => egress::probe(METADATA_URL),
            Self::EgressMappedV6 => egress::probe(MAPPED_V6_URL),
            Self::EgressPrivateDns => {
                let host = context.setting("host").unwrap_or("localhost");
                egress::probe(&format!("https://{host}/"))
            }
            Self::BigResponse => egress::read_everything(target_url(context)?),
            Self::ManyRequests => {
                egress::send_many(target_url(context)?, number(context, "count", 100)?)
            }
            Self::CredentialUndeclared => ambient::probe_credentials(),
            Self::EnvAndFiles => ambient::probe_env_and_files(),
            Self::StdoutFlood => ambient::flood_output(number(context, "megabytes", 16)?),
            Self::StateFlood => exhaustion::flood_state(number(context, "count", 1_000)?),
            Self::HugeExternalId => exhaustion::huge_external_id(),
            Self::HugeReason => exhaustion::huge_reason(),
            Self::CredentialExfiltrate => egress::exfiltrate("bound_token", target_url(context)?),
            Self::StreamedPost => {
                egress::stream_post(context.setting("target_url").unwrap_or(UNDECLARED_URL))
            }
            Self::Remember => exhaustion::remember(),
        })
    }
}

fn target_url(context: &InvocationContext) -> Result<&str, String> {
    context
        .require_setting("target_url")
        .map_err(|m| m.to_string())
}

/// Setting `key` as a number, `default` when absent.
fn number<T: FromStr>(context: &InvocationContext, key: &str, default: T) -> Result<T, String> {
    match context.setting(key) {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|_| format!("setting `{key}` must be a whole number, not {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_manifest_option_names_an_attack() {
        let manifest = include_str!("../connector.toml");
        let options = manifest
            .split("options = [")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .expect("the manifest lists the attacks");
        let names: Vec<&str> = options
            .split(',')
            .map(|s| s.trim().trim_matches('"'))
            .filter(|s| !s.is_empty())
            .collect();
        assert_eq!(names.len(), 20);
        for name in names {
            assert!(Attack::parse(name).is_some(), "{name}");
        }
    }
}
