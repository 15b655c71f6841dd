//! `sluice connector install | versions | activate | approve | rollback |
//! delete`: the registry API of a running service, from the command line.
//!
//! Each command is one API call; the answer is printed readably (or as JSON
//! with `--json`). Exit status: 0 when the service did it (an upgrade left
//! waiting for approval included), 1 when the service refused (the reason
//! is printed), 2 on bad input or when the service cannot be reached.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// Where the service is and how to authenticate.
#[derive(Args)]
pub struct ServerArgs {
    /// The service's base URL.
    #[arg(long, env = "SLUICE_SERVER", default_value = "http://127.0.0.1:7070")]
    server: String,
    /// An admin token.
    #[arg(long, env = "SLUICE_ADMIN_TOKEN", hide_env_values = true)]
    token: String,
    /// Print the service's JSON answer instead of text.
    #[arg(long)]
    json: bool,
}

/// The registry commands.
#[derive(Subcommand)]
pub enum RegistryCommand {
    /// Install a package into the running service: a .sluicepkg file, or an
    /// OCI reference (registry/repository:tag or @sha256:...) the service
    /// pulls. An upgrade that widens what the connector may reach waits for
    /// approval; the diff is printed with the command that approves it.
    Install {
        /// A package file or an OCI reference.
        package: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List a connector's installed versions.
    Versions {
        /// The connector id.
        connector: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Make an installed version the active one (no restart).
    Activate {
        /// The connector id.
        connector: String,
        /// The version.
        version: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Approve a version waiting for approval, and activate it.
    Approve {
        /// The connector id.
        connector: String,
        /// The version.
        version: String,
        /// The hash of the diff you approve, as `install` or `versions` printed it.
        #[arg(long)]
        diff_hash: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Go back to the version that was active before.
    Rollback {
        /// The connector id.
        connector: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Delete an installed version that is not active.
    Delete {
        /// The connector id.
        connector: String,
        /// The version.
        version: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Runs one registry command.
pub async fn run(command: RegistryCommand) -> anyhow::Result<ExitCode> {
    let (server, request, render): (&ServerArgs, Request, fn(&Value) -> String) = match &command {
        RegistryCommand::Install { package, server } => {
            let request = if Path::new(package).is_file() {
                let bytes = std::fs::read(package)
                    .with_context(|| format!("cannot read the package {package}"))?;
                Request::post("/v1/connectors/packages").bytes(bytes)
            } else if looks_like_reference(package) {
                Request::post("/v1/connectors/packages").json(json!({ "reference": package }))
            } else {
                anyhow::bail!(
                    "{package} is neither a package file nor an OCI reference like registry.example.com/connectors/slack:1.2.0"
                );
            };
            (server, request, render_change)
        }
        RegistryCommand::Versions { connector, server } => (
            server,
            Request::get(&format!("/v1/connectors/{connector}/versions")),
            render_versions,
        ),
        RegistryCommand::Activate {
            connector,
            version,
            server,
        } => (
            server,
            Request::post(&format!(
                "/v1/connectors/{connector}/versions/{version}/activate"
            ))
            .json(json!({})),
            render_change,
        ),
        RegistryCommand::Approve {
            connector,
            version,
            diff_hash,
            server,
        } => (
            server,
            Request::post(&format!(
                "/v1/connectors/{connector}/versions/{version}/approve"
            ))
            .json(json!({ "diff_hash": diff_hash })),
            render_change,
        ),
        RegistryCommand::Rollback { connector, server } => (
            server,
            Request::post(&format!("/v1/connectors/{connector}/rollback")).json(json!({})),
            render_change,
        ),
        RegistryCommand::Delete {
            connector,
            version,
            server,
        } => (
            server,
            Request::delete(&format!("/v1/connectors/{connector}/versions/{version}")),
            |_| "deleted".to_owned(),
        ),
    };
    let (status, body) = request.send(server).await?;
    if !(200..300).contains(&status) {
        let detail = body["detail"].as_str().unwrap_or("no detail given");
        eprintln!("refused ({status}): {detail}");
        for error in body["errors"].as_array().into_iter().flatten() {
            eprintln!(
                "  {}: {}",
                error["field"].as_str().unwrap_or("?"),
                error["message"].as_str().unwrap_or("?")
            );
        }
        if server.json {
            println!("{body:#}");
        }
        return Ok(ExitCode::FAILURE);
    }
    if server.json {
        println!("{body:#}");
    } else {
        println!("{}", render(&body));
    }
    Ok(ExitCode::SUCCESS)
}

/// `host[:port]/path[:tag|@digest]`: a registry host (with a dot, a port or
/// `localhost`) and a repository; or `dir://` for a directory registry.
fn looks_like_reference(text: &str) -> bool {
    if text.starts_with("dir://") {
        return true;
    }
    match text.split_once('/') {
        Some((host, rest)) => {
            !rest.is_empty()
                && (host.contains('.') || host.contains(':') || host == "localhost")
                && !text.contains(char::is_whitespace)
        }
        None => false,
    }
}

struct Request {
    method: reqwest::Method,
    path: String,
    body: Option<(String, Vec<u8>)>,
}

impl Request {
    fn get(path: &str) -> Self {
        Self::new(reqwest::Method::GET, path)
    }

    fn post(path: &str) -> Self {
        Self::new(reqwest::Method::POST, path)
    }

    fn delete(path: &str) -> Self {
        Self::new(reqwest::Method::DELETE, path)
    }

    fn new(method: reqwest::Method, path: &str) -> Self {
        Self {
            method,
            path: path.to_owned(),
            body: None,
        }
    }

    fn bytes(mut self, bytes: Vec<u8>) -> Self {
        self.body = Some(("application/octet-stream".to_owned(), bytes));
        self
    }

    fn json(mut self, value: Value) -> Self {
        self.body = Some((
            "application/json".to_owned(),
            value.to_string().into_bytes(),
        ));
        self
    }

    async fn send(self, server: &ServerArgs) -> anyhow::Result<(u16, Value)> {
        // reqwest needs a TLS provider chosen even for plain HTTP.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let url = format!("{}{}", server.server.trim_end_matches('/'), self.path);
        let mut request = reqwest::Client::new()
            .request(self.method, &url)
            .bearer_auth(&server.token);
        if let Some((content_type, body)) = self.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the service at {}", server.server))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.context("reading the answer")?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or("-")
}

fn render_change(change: &Value) -> String {
    let version = &change["version"];
    let id = text(version, "connector_id");
    let number = text(version, "version");
    let mut out = match text(change, "outcome") {
        "activated" => format!("{id}@{number} is active"),
        "unchanged" => format!("{id}@{number} was already active; nothing changed"),
        "installed" => format!(
            "{id}@{number} is installed (not active: activate it with `sluice connector activate {id} {number}`)"
        ),
        "pending_approval" => format!(
            "{id}@{number} is installed and waits for approval; {} keeps serving",
            change["active_version"]
                .as_str()
                .map(|v| format!("{id}@{v}"))
                .unwrap_or_else(|| "the active version".to_owned())
        ),
        other => format!("{id}@{number}: {other}"),
    };
    out.push_str(&format!(
        "\n  package   {}\n  component sha256:{}\n  publisher {} ({})",
        text(version, "package_digest"),
        text(version, "component_digest"),
        text(version, "publisher"),
        text(version, "trust"),
    ));
    if let Some(lines) = change["diff_text"].as_array().filter(|l| !l.is_empty()) {
        out.push_str("\n\nCapability diff from the active version:\n");
        for line in lines {
            out.push_str(&format!("  {}\n", line.as_str().unwrap_or_default()));
        }
        out.push_str(&format!("diff hash: {}", text(change, "diff_hash")));
    }
    if change["outcome"] == "pending_approval" {
        out.push_str(&format!(
            "\n\nApprove exactly this diff with:\n  sluice connector approve {id} {number} --diff-hash {}",
            text(change, "diff_hash")
        ));
    }
    for broken in change["broken_configurations"]
        .as_array()
        .into_iter()
        .flatten()
    {
        out.push_str(&format!(
            "\n\nconfiguration {} ({}, store {}) does not validate against {id}@{number}:",
            text(broken, "config_id"),
            text(broken, "name"),
            text(broken, "store_id"),
        ));
        for problem in broken["problems"].as_array().into_iter().flatten() {
            out.push_str(&format!("\n  {}", problem.as_str().unwrap_or_default()));
        }
    }
    out
}

fn render_versions(list: &Value) -> String {
    let mut out = format!(
        "{}: active {}, rollback target {}\n",
        text(list, "connector_id"),
        text(list, "active_version"),
        text(list, "previous_version"),
    );
    out.push_str(&format!(
        "{:<12} {:<17} {:<24} {:<30} {}\n",
        "VERSION", "STATE", "PUBLISHER", "INSTALLED", "APPROVED"
    ));
    for version in list["items"].as_array().into_iter().flatten() {
        let approved = match version["approved_by"].as_str() {
            Some(by) => format!("{by} at {}", text(version, "approved_at")),
            None => "-".to_owned(),
        };
        out.push_str(&format!(
            "{:<12} {:<17} {:<24} {:<30} {}\n",
            text(version, "version"),
            text(version, "state"),
            text(version, "publisher"),
            format!(
                "{} by {}",
                text(version, "installed_at"),
                text(version, "installed_by")
            ),
            approved,
        ));
        out.push_str(&format!(
            "             package {}\n",
            text(version, "package_digest")
        ));
        if let Some(lines) = version["diff_text"].as_array().filter(|l| !l.is_empty()) {
            for line in lines {
                out.push_str(&format!(
                    "             {}\n",
                    line.as_str().unwrap_or_default()
                ));
            }
            out.push_str(&format!(
                "             diff hash {}\n",
                text(version, "diff_hash")
            ));
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_need_a_registry_host_and_a_repository() {
        assert!(looks_like_reference(
            "127.0.0.1:5000/connectors/slack:0.2.0"
        ));
        assert!(looks_like_reference("ghcr.io/acme/slack@sha256:abc"));
        assert!(looks_like_reference("localhost/slack:1"));
        assert!(looks_like_reference("dir://./registry/slack:0.2.0"));
        assert!(!looks_like_reference("slack.sluicepkg"));
        assert!(!looks_like_reference("dir/slack.sluicepkg"));
    }

    #[test]
    fn a_pending_upgrade_prints_its_diff_and_the_approval_command() {
        let change = json!({
            "outcome": "pending_approval",
            "active_version": "0.1.0",
            "version": {"connector_id": "slack", "version": "0.2.0", "package_digest": "sha256:p",
                        "component_digest": "c", "publisher": "Acme", "trust": "signed"},
            "diff_text": ["+ egress origin https://files.slack.com"],
            "diff_hash": "sha256:d",
            "broken_configurations": [{"store_id": "s1", "config_id": "cfg_1", "name": "ops",
                                       "problems": ["settings.region: required"]}],
        });
        let text = render_change(&change);
        assert!(text.contains("slack@0.1.0 keeps serving"), "{text}");
        assert!(
            text.contains("+ egress origin https://files.slack.com"),
            "{text}"
        );
        assert!(
            text.contains("sluice connector approve slack 0.2.0 --diff-hash sha256:d"),
            "{text}"
        );
        assert!(
            text.contains("cfg_1") && text.contains("settings.region: required"),
            "{text}"
        );
    }
}
