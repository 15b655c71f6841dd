//! API credentials of a store: list, issue (the secret shown once), rotate
//! (the new secret shown once), revoke, and the audit log of these actions.
//! Checks and audit go through `sluice_credentials`, as for the API.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use sluice_api::AppState;
use sluice_api::credentials::{CreateCredential, check_request, manage_problem};
use sluice_credentials::{Issued, Scope};
use sluice_storage::{PageRequest, StoredCredential};

use crate::form::FormErrors;
use crate::layout::{self, Ctx, Nav, Notice, exact, path_segment, pill, when};
use crate::session::Submitted;

/// The scope that lets a key manage credentials.
const MANAGE: &str = "credentials:manage";
/// Audit entries shown.
const AUDIT_SHOWN: u32 = 25;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/console/stores/{store}/credentials",
            get(index).post(create),
        )
        .route(
            "/console/stores/{store}/credentials/{id}/rotate",
            post(rotate),
        )
        .route(
            "/console/stores/{store}/credentials/{id}/revoke",
            post(revoke),
        )
}

/// What a new-credential form shows again after an error.
#[derive(Default)]
struct FormValues {
    name: String,
    kind: String,
    scopes: Vec<String>,
    expires_at: String,
}

fn status(ctx: &Ctx, c: &StoredCredential) -> Markup {
    if !c.active {
        pill("revoked")
    } else if c.expires_at.is_some_and(|at| at <= ctx.now) {
        pill("expired")
    } else {
        pill("active")
    }
}

async fn page(state: &AppState, ctx: &Ctx, values: &FormValues, errors: &FormErrors) -> Response {
    let credentials = match state.db.list_credentials(&ctx.store).await {
        Ok(items) => items,
        Err(error) => return layout::problem_page(error.into()),
    };
    let audit = match state
        .db
        .list_credential_audit(
            &ctx.store,
            &PageRequest {
                cursor: None,
                limit: AUDIT_SHOWN,
            },
        )
        .await
    {
        Ok(page) => page.items,
        Err(error) => return layout::problem_page(error.into()),
    };
    let held: Vec<&Scope> = Scope::ALL
        .iter()
        .filter(|s| ctx.session.may(s.as_str()))
        .collect();
    let body = html! {
        h1 { "API credentials" }
        p.lede { "Keys and OAuth clients that programs use to call the platform's gateway and Sluice's API for this store, each limited to its scopes. Secrets are shown once, when issued or rotated." }
        @if credentials.is_empty() {
            p.empty { "No credential yet." }
        } @else {
            table {
                thead { tr { th { "Name" } th { "Type" } th { "Key or client id" } th { "Scopes" } th { "Status" } th { "Last used" } th { span.skip { "Actions" } } } }
                tbody {
                    @for c in &credentials {
                        tr {
                            td { (c.name) span.sub { "by " (c.created_by) " · " (when(ctx.now, c.created_at)) } }
                            td { (c.kind.as_str()) }
                            td.mono { (c.public_id) }
                            td { div.tags { @for s in &c.scopes { span.tag { (s) } } } }
                            td {
                                (status(ctx, c))
                                @if let Some(at) = c.expires_at { span.sub { "until " (exact(at)) } }
                            }
                            td {
                                @if let Some(at) = c.last_used_at { (when(ctx.now, at)) } @else { span.muted { "never" } }
                            }
                            td {
                                @if c.active {
                                    div.button-row {
                                        form.inline method="post" action=(ctx.url(&format!("credentials/{}/rotate", path_segment(&c.id))))
                                            data-confirm="Replace this credential's secret? The current one stops working at once." {
                                            (ctx.csrf())
                                            button.small type="submit" aria-label={ "Rotate " (c.name) } { "Rotate" }
                                        }
                                        form.inline method="post" action=(ctx.url(&format!("credentials/{}/revoke", path_segment(&c.id))))
                                            data-confirm="Revoke this credential for good?" {
                                            (ctx.csrf())
                                            button.small.danger type="submit" aria-label={ "Revoke " (c.name) } { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Issue a credential" }
        @if let Some(summary) = &errors.summary {
            div.notice.error role="alert" { "Not issued: " (summary) }
        }
        form.stacked method="post" action=(ctx.url("credentials")) {
            (ctx.csrf())
            div.field {
                label for="name" { "Name " span.required aria-hidden="true" { "*" } }
                input #name type="text" name="name" value=(values.name) required
                    aria-invalid=[errors.for_field("name").map(|_| "true")];
                @if let Some(m) = errors.for_field("name") { p.field-error { (m) } }
            }
            div.field {
                label for="type" { "Type" }
                select #type name="type" aria-describedby="type-help" {
                    option value="api_key" selected[values.kind != "oauth_client"] { "API key" }
                    option value="oauth_client" selected[values.kind == "oauth_client"] { "OAuth client (client credentials)" }
                }
                p.help #type-help { "An API key is sent as a bearer token; an OAuth client exchanges its id and secret for short-lived access tokens." }
            }
            fieldset {
                legend { "Scopes" }
                @if let Some(m) = errors.for_field("scopes") { p.field-error role="alert" { (m) } }
                @for scope in &held {
                    label.check {
                        input type="checkbox" name="scopes" value=(scope.as_str()) checked[values.scopes.iter().any(|s| s == scope.as_str())];
                        code { (scope.as_str()) }
                    }
                }
            }
            div.field {
                label for="expires_at" { "Expires (UTC, optional)" }
                input #expires_at type="datetime-local" name="expires_at" value=(values.expires_at)
                    aria-invalid=[errors.for_field("expires_at").map(|_| "true")];
                @if let Some(m) = errors.for_field("expires_at") { p.field-error { (m) } }
            }
            button.primary type="submit" { "Issue credential" }
        }
        h2 { "Audit log" }
        @if audit.is_empty() {
            p.empty { "Nothing issued, rotated or revoked yet." }
        } @else {
            table.compact {
                thead { tr { th { "When" } th { "Action" } th { "Credential" } th { "By" } } }
                tbody {
                    @for entry in &audit {
                        tr {
                            td { (when(ctx.now, entry.at)) }
                            td { (entry.action) }
                            td.mono { (entry.credential_id) }
                            td.mono { (entry.actor) }
                        }
                    }
                }
            }
        }
    };
    let mut response = ctx.page("API credentials", Nav::Credentials, body);
    if !errors.is_empty() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

async fn index(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    if let Some(refused) = ctx.refusal(MANAGE) {
        return refused;
    }
    page(&state, &ctx, &FormValues::default(), &FormErrors::default()).await
}

fn issued_page(ctx: &Ctx, issued: &Issued, heading: &str) -> Response {
    let c = &issued.credential;
    let body = html! {
        p { a href=(ctx.url("credentials")) { "← API credentials" } }
        h1 { (heading) }
        div.secret-box role="status" {
            @if c.kind.as_str() == "oauth_client" {
                p { "Client id: " code { (c.public_id) } }
                p { "Client secret: " code #secret { (issued.secret) } button.small type="button" data-copy="secret" hidden { "Copy" } }
            } @else {
                p { "API key: " code #secret { (issued.secret) } button.small type="button" data-copy="secret" hidden { "Copy" } }
            }
            p { "This secret is shown this once and cannot be recovered: store it where the program that uses it can read it." }
        }
        p { "Scopes: " (c.scopes.join(", ")) }
    };
    ctx.page(heading, Nav::Credentials, body)
}

async fn create(State(state): State<Arc<AppState>>, ctx: Ctx, form: Submitted) -> Response {
    if let Some(refused) = ctx.refusal(MANAGE) {
        return refused;
    }
    let values = FormValues {
        name: form.fields.text("name"),
        kind: form.fields.text("type"),
        scopes: form
            .fields
            .iter()
            .filter(|(name, _)| *name == "scopes")
            .map(|(_, value)| value.to_owned())
            .collect(),
        expires_at: form.fields.text("expires_at"),
    };
    let expires_at = match crate::deliveries::parse_local(&values.expires_at) {
        Ok(at) => at.map(sluice_core::clock::format_rfc3339),
        Err(message) => {
            let errors = FormErrors {
                summary: Some(message.clone()),
                fields: vec![("expires_at".into(), message)],
            };
            return page(&state, &ctx, &values, &errors).await;
        }
    };
    let request = CreateCredential {
        name: values.name.clone(),
        kind: values.kind.clone(),
        scopes: values.scopes.clone(),
        expires_at,
    };
    let checked = match check_request(request, ctx.now) {
        Ok(checked) => checked,
        Err(problem) => {
            return page(&state, &ctx, &values, &FormErrors::from_problem(&problem)).await;
        }
    };
    match state
        .credentials
        .create(&ctx.store, checked, &form.session.principal())
        .await
    {
        Ok(issued) => issued_page(
            &ctx,
            &issued,
            &format!("“{}” issued", issued.credential.name),
        ),
        Err(error) => {
            let problem = manage_problem(error);
            page(&state, &ctx, &values, &FormErrors::from_problem(&problem)).await
        }
    }
}

async fn rotate(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
    form: Submitted,
) -> Response {
    if let Some(refused) = ctx.refusal(MANAGE) {
        return refused;
    }
    match state
        .credentials
        .rotate(&ctx.store, &id, &form.session.principal())
        .await
    {
        Ok(issued) => issued_page(
            &ctx,
            &issued,
            &format!("New secret for “{}”", issued.credential.name),
        ),
        Err(error) => ctx.redirect(
            &ctx.url("credentials"),
            Notice::error(manage_problem(error).detail),
        ),
    }
}

async fn revoke(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
    form: Submitted,
) -> Response {
    if let Some(refused) = ctx.refusal(MANAGE) {
        return refused;
    }
    match state
        .credentials
        .revoke(&ctx.store, &id, &form.session.principal())
        .await
    {
        Ok(revoked) => {
            if let Err(error) = state.db.delete_console_sessions_of(&revoked.id).await {
                return layout::problem_page(error.into());
            }
            ctx.redirect(
                &ctx.url("credentials"),
                Notice::ok(format!(
                    "“{}” is revoked: it no longer works.",
                    revoked.name
                )),
            )
        }
        Err(error) => ctx.redirect(
            &ctx.url("credentials"),
            Notice::error(manage_problem(error).detail),
        ),
    }
}
