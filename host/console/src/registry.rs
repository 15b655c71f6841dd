//! The connector registry, for the operator: every installed connector with
//! the version that runs, each connector's versions with their publisher,
//! digests and approvals, the capability diff of a version waiting for
//! approval with the configurations it would break, and the actions:
//! install from an OCI reference, approve, activate, roll back, delete.
//! Every action goes through the same installer as `/v1/connectors/...`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use sluice_api::{AppState, Problem};
use sluice_connectors::{BrokenConfiguration, Change, InstallError, Outcome, render_diff};
use sluice_storage::{ConnectorHead, ConnectorVersion, VersionState};

use crate::layout::{self, Notice, OperatorCtx, exact, path_segment, pill, when};
use crate::session::Submitted;

/// Where the registry pages live.
pub const BASE: &str = "/console/registry";

/// How many characters of a digest a table shows (the whole one is in the
/// cell's title and on the version's row in the API).
const DIGEST_SHOWN: usize = 19;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(BASE, get(index))
        .route("/console/registry/install", post(install))
        .route("/console/registry/{connector}", get(connector))
        .route("/console/registry/{connector}/rollback", post(rollback))
        .route(
            "/console/registry/{connector}/versions/{version}/activate",
            post(activate),
        )
        .route(
            "/console/registry/{connector}/versions/{version}/approve",
            post(approve),
        )
        .route(
            "/console/registry/{connector}/versions/{version}/delete",
            post(remove),
        )
}

fn connector_url(connector_id: &str) -> String {
    format!("{BASE}/{}", path_segment(connector_id))
}

fn version_url(connector_id: &str, version: &str, action: &str) -> String {
    format!(
        "{}/versions/{}/{action}",
        connector_url(connector_id),
        path_segment(version)
    )
}

/// The words of an installer refusal, as the API would give them.
fn refusal(error: InstallError) -> Notice {
    Notice::error(Problem::from(error).detail)
}

/// `sha256:0123456789ab…`, the whole digest in a tooltip.
fn digest(value: &str) -> Markup {
    let shown: String = value.chars().take(DIGEST_SHOWN).collect();
    html! {
        span.mono title=(value) {
            (shown) @if shown.len() < value.len() { "…" }
        }
    }
}

fn state_pill(version: &ConnectorVersion) -> Markup {
    match (version.active, version.state) {
        (true, _) => pill("active"),
        (false, VersionState::PendingApproval) => pill("pending approval"),
        (false, _) => pill("available"),
    }
}

/// A capability diff, one line per change; widening lines stand out.
fn diff_list(diff: &serde_json::Value) -> Markup {
    let lines = render_diff(diff);
    html! {
        ul.diff {
            @for line in &lines {
                @if line.ends_with("[widens]") {
                    li.widens { (line) }
                } @else {
                    li { (line) }
                }
            }
        }
    }
}

fn broken_list(broken: &[BrokenConfiguration]) -> Markup {
    html! {
        @if broken.is_empty() {
            p { "Every configuration of this connector validates against it." }
        } @else {
            div.notice.error role="alert" {
                p { (broken.len()) " configuration(s) would no longer validate; fix their settings before or after switching:" }
                ul {
                    @for b in broken {
                        li {
                            a href={ "/console/stores/" (path_segment(&b.store_id)) "/connectors/" (path_segment(&b.config_id)) } {
                                (b.name)
                            }
                            " (store " (b.store_id) "): " (b.problems.join("; "))
                        }
                    }
                }
            }
        }
    }
}

async fn index(State(state): State<Arc<AppState>>, operator: OperatorCtx) -> Response {
    let heads = match state.db.connector_heads().await {
        Ok(heads) => heads,
        Err(error) => return layout::problem_page(error.into()),
    };
    let mut rows = Vec::with_capacity(heads.len());
    for head in heads {
        match state.db.connector_versions(&head.connector_id).await {
            Ok(versions) => rows.push((head, versions)),
            Err(error) => return layout::problem_page(error.into()),
        }
    }
    let body = html! {
        h1 { "Connector registry" }
        p.lede { "Every installed connector and the version that runs. A new version that widens what a connector may reach or read waits for your approval of its capability diff; the running one keeps serving meanwhile." }
        @if rows.is_empty() {
            p.empty { "No connector is installed." }
        } @else {
            table {
                thead { tr { th { "Connector" } th { "Active version" } th { "Publisher" } th { "Versions" } th { "Last change" } } }
                tbody {
                    @for (head, versions) in &rows {
                        @let active = versions.iter().find(|v| v.active);
                        @let pending = versions.iter().filter(|v| !v.active && v.state == VersionState::PendingApproval).count();
                        tr {
                            td { a href=(connector_url(&head.connector_id)) { (head.connector_id) } }
                            td.mono { (head.active_version) }
                            td { @if let Some(v) = active { (v.publisher) span.sub { (v.trust.as_str()) } } }
                            td {
                                (versions.len()) " installed"
                                @if pending > 0 { " " (pill(&format!("{pending} pending approval"))) }
                            }
                            td { (when(operator.now, head.changed_at)) span.sub { "by " (head.changed_by) } }
                        }
                    }
                }
            }
        }
        h2 { "Install a package" }
        form.stacked method="post" action="/console/registry/install" {
            (operator.csrf())
            div.field {
                label for="reference" { "OCI reference " span.required aria-hidden="true" { "*" } }
                input #reference type="text" name="reference" required
                    placeholder="registry.example.com/connectors/slack:1.3.0" aria-describedby="reference-help";
                p.help #reference-help { "By tag or by digest (…@sha256:…). The package is verified against the trust policy and the contract before anything is stored; a widening upgrade waits for approval here." }
            }
            button.primary type="submit" { "Install" }
        }
    };
    operator.page("Connector registry", body)
}

/// Where a change leaves the operator, with what happened in words.
fn after_change(operator: &OperatorCtx, change: &Change) -> Response {
    let version = &change.version;
    let message = match change.outcome {
        Outcome::Activated => format!(
            "{} {} is active: the next calls run it.",
            version.connector_id, version.version
        ),
        Outcome::Unchanged => format!(
            "{} {} was already installed and active; nothing changed.",
            version.connector_id, version.version
        ),
        Outcome::PendingApproval => format!(
            "{} {} widens what the connector may reach or read: review its diff below and approve it. {} keeps serving meanwhile.",
            version.connector_id,
            version.version,
            change
                .active_version
                .as_deref()
                .unwrap_or("the active version")
        ),
        Outcome::Installed => format!(
            "{} {} is installed but not active (it is older than the active version).",
            version.connector_id, version.version
        ),
    };
    operator.redirect(&connector_url(&version.connector_id), Notice::ok(message))
}

async fn install(
    State(state): State<Arc<AppState>>,
    operator: OperatorCtx,
    form: Submitted,
) -> Response {
    let reference = form.fields.text("reference");
    let reference = reference.trim();
    if reference.is_empty() {
        return operator.redirect(BASE, Notice::error("Give the OCI reference to install."));
    }
    let installed = match state.installer.pull(reference).await {
        Ok(package) => {
            state
                .installer
                .install(package, &form.session.principal().actor())
                .await
        }
        Err(error) => Err(error),
    };
    match installed {
        Ok(change) => after_change(&operator, &change),
        Err(error) => operator.redirect(BASE, refusal(error)),
    }
}

/// The pending versions' diffs with the configurations each would break.
async fn pending_reviews(
    state: &AppState,
    versions: &[ConnectorVersion],
) -> Result<Vec<(ConnectorVersion, Vec<BrokenConfiguration>)>, InstallError> {
    let mut reviews = Vec::new();
    for version in versions
        .iter()
        .filter(|v| !v.active && v.state == VersionState::PendingApproval && v.diff.is_some())
    {
        let broken = state
            .installer
            .broken_configurations_of(&version.connector_id, &version.version)
            .await?;
        reviews.push((version.clone(), broken));
    }
    Ok(reviews)
}

fn head_facts(head: &ConnectorHead, now: sluice_core::UnixMillis) -> Markup {
    html! {
        dl.facts {
            dt { "Active version" } dd.mono { (head.active_version) }
            dt { "Previous version" } dd.mono { (head.previous_version.as_deref().unwrap_or("none")) }
            dt { "Generation" } dd { (head.generation) }
            dt { "Last change" } dd { (when(now, head.changed_at)) " by " (head.changed_by) }
        }
    }
}

async fn connector(
    State(state): State<Arc<AppState>>,
    operator: OperatorCtx,
    Path(connector_id): Path<String>,
) -> Response {
    let head = match state.db.connector_head(&connector_id).await {
        Ok(Some(head)) => head,
        Ok(None) => {
            return layout::not_found_page(&format!("No connector {connector_id:?} is installed."));
        }
        Err(error) => return layout::problem_page(error.into()),
    };
    let mut versions = match state.db.connector_versions(&connector_id).await {
        Ok(versions) => versions,
        Err(error) => return layout::problem_page(error.into()),
    };
    versions.reverse();
    let reviews = match pending_reviews(&state, &versions).await {
        Ok(reviews) => reviews,
        Err(error) => return layout::problem_page(error.into()),
    };
    let body = html! {
        p { a href=(BASE) { "← Connector registry" } }
        div.title-row {
            h1 { (connector_id) }
            @if let Some(previous) = &head.previous_version {
                div.actions {
                    form.inline method="post" action={ (connector_url(&connector_id)) "/rollback" }
                        data-confirm={ "Roll back to " (previous) "? The next calls run it." } {
                        (operator.csrf())
                        button type="submit" { "Roll back to " (previous) }
                    }
                }
            }
        }
        div.panel { (head_facts(&head, operator.now)) }
        @for (version, broken) in &reviews {
            section.panel aria-labelledby={ "review-" (version.version) } {
                h2 #{ "review-" (version.version) } { "Version " (version.version) " waits for approval" }
                p { "Its capability diff from the active version " (head.active_version) ":" }
                @if let Some(diff) = &version.diff { (diff_list(diff)) }
                (broken_list(broken))
                @if let Some(hash) = &version.diff_hash {
                    form.inline method="post" action=(version_url(&connector_id, &version.version, "approve"))
                        data-confirm={ "Approve this diff and activate " (version.version) "?" } {
                        (operator.csrf())
                        input type="hidden" name="diff_hash" value=(hash);
                        button.primary type="submit" { "Approve and activate " (version.version) }
                    }
                    p.help { "Approving records you and this diff's hash " code { (hash) } "; a diff that changed since this page was shown is refused." }
                }
            }
        }
        h2 { "Versions" }
        table.compact {
            thead { tr { th { "Version" } th { "State" } th { "Publisher" } th { "Package" } th { "Component" } th { "Installed" } th { "Approved" } th { span.skip { "Actions" } } } }
            tbody {
                @for v in &versions {
                    tr {
                        td.mono { (v.version) }
                        td { (state_pill(v)) }
                        td { (v.publisher) span.sub { (v.trust.as_str()) } }
                        td { (digest(&v.package_digest)) }
                        td { (digest(&format!("sha256:{}", v.component_digest))) }
                        td { (when(operator.now, v.installed_at)) span.sub { "by " (v.installed_by) } }
                        td {
                            @match (&v.approved_by, v.approved_at) {
                                (Some(by), Some(at)) => { (exact(at)) span.sub { "by " (by) } }
                                _ => { span.muted { "—" } }
                            }
                        }
                        td {
                            @if !v.active {
                                div.button-row {
                                    @if v.state != VersionState::PendingApproval {
                                        form.inline method="post" action=(version_url(&connector_id, &v.version, "activate")) {
                                            (operator.csrf())
                                            button.small type="submit" aria-label={ "Activate " (v.version) } { "Activate" }
                                        }
                                    }
                                    form.inline method="post" action=(version_url(&connector_id, &v.version, "delete"))
                                        data-confirm={ "Delete version " (v.version) " and its package?" } {
                                        (operator.csrf())
                                        button.small.danger type="submit" aria-label={ "Delete " (v.version) } { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    operator.page(&format!("{connector_id} versions"), body)
}

async fn activate(
    State(state): State<Arc<AppState>>,
    operator: OperatorCtx,
    Path((connector_id, version)): Path<(String, String)>,
    form: Submitted,
) -> Response {
    match state
        .installer
        .activate(&connector_id, &version, &form.session.principal().actor())
        .await
    {
        Ok(change) => after_change(&operator, &change),
        Err(error) => operator.redirect(&connector_url(&connector_id), refusal(error)),
    }
}

async fn approve(
    State(state): State<Arc<AppState>>,
    operator: OperatorCtx,
    Path((connector_id, version)): Path<(String, String)>,
    form: Submitted,
) -> Response {
    let diff_hash = form.fields.text("diff_hash");
    match state
        .installer
        .approve(
            &connector_id,
            &version,
            &diff_hash,
            &form.session.principal().actor(),
        )
        .await
    {
        Ok(change) => after_change(&operator, &change),
        Err(error) => operator.redirect(&connector_url(&connector_id), refusal(error)),
    }
}

async fn rollback(
    State(state): State<Arc<AppState>>,
    operator: OperatorCtx,
    Path(connector_id): Path<String>,
    form: Submitted,
) -> Response {
    match state
        .installer
        .rollback(&connector_id, &form.session.principal().actor())
        .await
    {
        Ok(change) => after_change(&operator, &change),
        Err(error) => operator.redirect(&connector_url(&connector_id), refusal(error)),
    }
}

async fn remove(
    State(state): State<Arc<AppState>>,
    operator: OperatorCtx,
    Path((connector_id, version)): Path<(String, String)>,
    _form: Submitted,
) -> Response {
    match state.installer.delete(&connector_id, &version).await {
        Ok(()) => operator.redirect(
            &connector_url(&connector_id),
            Notice::ok(format!("{connector_id} {version} is deleted.")),
        ),
        Err(error) => operator.redirect(&connector_url(&connector_id), refusal(error)),
    }
}
