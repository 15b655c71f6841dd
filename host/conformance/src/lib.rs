//! The conformance kit: does a connector component do what the contract
//! expects of it, before anyone installs it?
//!
//! [`check`] takes a component, its manifest and (optionally) a
//! [`Configuration`], and reports one [`ScenarioResult`] per [`Scenario`]:
//!
//! 1. **Static** (`component`, `imports`, `exports`): the component checked
//!    against the worlds its manifest declares, exactly as the registry
//!    verifies a package before installing it ([`sluice_registry::verify_bundled`]):
//!    a valid component, importing only what world `platform` and the
//!    runtime's WASI give, exporting each declared world with the
//!    contract's signatures.
//! 2. **Dynamic**: the component loaded into the real sandbox
//!    ([`sluice_runtime::Runtime`], the manifest's own limits) and run
//!    against a built-in fake remote that stands in for every origin the
//!    manifest declares (over TLS with a CA made for the run when the
//!    origins are `https`). The fake answers as each scenario says, and the
//!    connector must map the answer to the outcome the contract expects:
//!    a 2xx is `delivered`; a 5xx is `retry`; a request that times out is
//!    `retry`; a 429 with `Retry-After: 7` is `retry` after 7 s; a 400 is
//!    `failed` carrying the remote's status; a request the egress policy
//!    refuses is reported in the egress records and the outcome is neither
//!    `delivered` nor a trap; `test-connection` answers a status; an event
//!    whose payload is not JSON, or is `{}`, does not trap. Across the
//!    calls, peak memory stays under 75% of `limits.memory_mib` and every
//!    call (but the one left hanging on purpose) under 50% of
//!    `limits.timeout_ms`.
//!
//! Credentials with `[credentials.auth]` are applied by the host as in
//! production, token exchanges included (the fake grants every token).
//! Without a configuration, one is made up from the manifest (defaults,
//! first options, values matching patterns, URLs on the fake's origins, the
//! text `conformance`), and so is a sample event of a type the manifest
//! handles.
//!
//! The kit never reaches the network: only the manifest's own origins
//! resolve, and they resolve to the fake.

mod configuration;
mod remote;
mod report;
mod run;
mod sample;

use sluice_manifest::{AuthScheme, CheckedConfiguration, Manifest, ManifestError};

pub use configuration::Configuration;
pub use report::{Report, Scenario, ScenarioResult, Summary, Verdict};

use crate::remote::Origins;

/// Why a check could not run at all; what it names is at fault.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The manifest is invalid.
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    /// The configuration does not fit the manifest, or the sample event is
    /// unusable.
    #[error("{field}: {message}")]
    Configuration {
        /// The field at fault: `settings.channel`, `credentials.webhook_url`,
        /// `event`, or `<file>` for the file as a whole.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The kit could not set itself up (the fake remote, the runtime).
    #[error("the conformance kit could not start: {0}")]
    Setup(String),
}

impl CheckError {
    pub(crate) fn configuration(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Configuration {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Checks `component` against `manifest_toml` and runs it through every
/// scenario, with `configuration` or, when none is given, one made up from
/// the manifest.
///
/// A component that fails a scenario gives a [`Report`] that did not pass;
/// an error means the check could not run (an invalid manifest, a
/// configuration that does not fit it).
pub async fn check(
    manifest_toml: &str,
    component: &[u8],
    configuration: Option<Configuration>,
) -> Result<Report, CheckError> {
    let manifest = Manifest::parse(manifest_toml)?;
    let origins = Origins::of(&manifest);
    let mut notes = Vec::new();
    let configuration = match configuration {
        Some(configuration) => configuration,
        None => {
            notes.push(
                "settings and credentials were made up from the manifest; give real-looking ones with --config".to_owned(),
            );
            Configuration::synthesize(&manifest, &origins)?
        }
    };
    let checked = manifest
        .check_configuration(&configuration.settings, &configuration.credentials)
        .map_err(|errors| {
            // The first problem names the field; any others follow it.
            let mut errors = errors.into_iter();
            let first = errors.next();
            let rest: Vec<String> = errors.map(|e| e.to_string()).collect();
            let (field, message) = first.map_or_else(
                || ("<file>".to_owned(), String::new()),
                |e| (e.field, e.message),
            );
            let message = std::iter::once(message).chain(rest).collect::<Vec<_>>();
            CheckError::configuration(field, message.join("; "))
        })?;
    check_url_credentials(&manifest, &checked, &origins)?;
    let event = run::sample_event(&manifest, configuration.event.as_deref())?;
    for pattern in origins.unmapped() {
        notes.push(format!(
            "the fake remote cannot stand in for the wildcard origin {pattern}; requests to it fail to resolve"
        ));
    }

    let mut scenarios = run::static_checks(&manifest, manifest_toml, component);
    scenarios.extend(run::dynamic(&manifest, component, checked, event, &origins).await?);
    Ok(Report::new(
        manifest.id.clone(),
        manifest.version.to_string(),
        origins.mapped(),
        notes,
        scenarios,
    ))
}

/// A `url` credential replaces the request's path and query on its own
/// origin, so it must be on an origin it is bound to that the fake stands in
/// for.
fn check_url_credentials(
    manifest: &Manifest,
    checked: &CheckedConfiguration,
    origins: &Origins,
) -> Result<(), CheckError> {
    for credential in &manifest.credentials {
        let Some(auth) = &credential.auth else {
            continue;
        };
        let Some(value) = checked.credentials.get(&credential.key) else {
            continue;
        };
        if matches!(auth.scheme, AuthScheme::Url)
            && !value.is_empty()
            && !origins.maps_on(value, &auth.origins)
        {
            return Err(CheckError::configuration(
                format!("credentials.{}", credential.key),
                format!(
                    "a url credential must be on an origin it is bound to that the fake remote stands in for: {}",
                    origins.mapped_of(&auth.origins).join(", ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
