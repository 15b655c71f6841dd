//! Webhook subscriptions: list, create (the signing secret shown once),
//! edit, pause and resume, rotate the secret (the new one shown once).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use sluice_api::AppState;
use sluice_api::webhooks::{CreateWebhook, RotateSecret, UpdateWebhook, WebhookView};
use sluice_storage::StorageError;

use crate::form::{FormErrors, list};
use crate::layout::{self, Ctx, Nav, Notice, path_segment, pill};
use crate::session::Submitted;

/// The scope that lets a key change subscriptions.
const MANAGE: &str = "webhooks:manage";

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/console/stores/{store}/webhooks", get(index).post(create))
        .route("/console/stores/{store}/webhooks/new", get(new))
        .route(
            "/console/stores/{store}/webhooks/{id}",
            get(edit).post(update),
        )
        .route(
            "/console/stores/{store}/webhooks/{id}/active",
            post(set_active),
        )
        .route(
            "/console/stores/{store}/webhooks/{id}/rotate-secret",
            post(rotate),
        )
}

fn status_of(subscription: &WebhookView) -> Markup {
    match (&subscription.disabled_reason, subscription.active) {
        (Some(reason), false) => html! { (pill("disabled")) span.sub { (reason) } },
        (_, true) => pill("active"),
        (_, false) => pill("paused"),
    }
}

async fn index(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    if let Some(refused) = ctx.refusal(MANAGE) {
        return refused;
    }
    let subscriptions = match sluice_api::webhooks::list_subscriptions(&state, &ctx.store).await {
        Ok(items) => items,
        Err(problem) => return layout::problem_page(problem),
    };
    let may_manage = ctx.session.may(MANAGE);
    let body = html! {
        div.title-row {
            h1 { "Webhooks" }
            @if may_manage {
                div.actions { a.button.primary href=(ctx.url("webhooks/new")) { "New subscription" } }
            }
        }
        p.lede { "Each subscription receives the store's events as signed HTTP POSTs (Standard Webhooks headers), retried for about 2.5 hours before they become dead letters." }
        @if subscriptions.is_empty() {
            p.empty { "No webhook subscription yet." }
        } @else {
            table {
                thead { tr { th { "Name" } th { "URL" } th { "Events" } th { "Status" } } }
                tbody {
                    @for s in &subscriptions {
                        tr {
                            td { a href=(ctx.url(&format!("webhooks/{}", path_segment(&s.id)))) { (s.name) } span.sub.mono { (s.id) } }
                            td.mono { (s.url) }
                            td { div.tags { @for t in &s.event_types { span.tag { (t) } } } }
                            td { (status_of(s)) }
                        }
                    }
                }
            }
        }
    };
    ctx.page("Webhooks", Nav::Webhooks, body)
}

/// The values a subscription form shows.
#[derive(Default)]
struct FormValues {
    name: String,
    url: String,
    event_types: String,
}

fn text_field(
    id: &str,
    label: &str,
    kind: &str,
    value: &str,
    help: &str,
    errors: &FormErrors,
) -> Markup {
    let error = errors.for_field(id);
    html! {
        div.field {
            label for=(id) { (label) " " span.required aria-hidden="true" { "*" } }
            input id=(id) type=(kind) name=(id) value=(value) required
                aria-invalid=[error.as_ref().map(|_| "true")]
                aria-describedby=(if error.is_some() { format!("{id}-help {id}-error") } else { format!("{id}-help") });
            p.help id={ (id) "-help" } { (help) }
            @if let Some(message) = &error { p.field-error id={ (id) "-error" } { (message) } }
        }
    }
}

fn subscription_form(
    ctx: &Ctx,
    action: &str,
    submit: &str,
    values: &FormValues,
    errors: &FormErrors,
) -> Markup {
    html! {
        @if let Some(summary) = &errors.summary {
            div.notice.error role="alert" { "Not saved: " (summary) }
        }
        form.stacked method="post" action=(action) {
            (ctx.csrf())
            (text_field("name", "Name", "text", &values.name, "A label for people, for example “ERP orders”.", errors))
            (text_field("url", "URL", "url", &values.url, "Where events are posted: an https URL the receiver controls.", errors))
            (text_field("event_types", "Event types", "text", &values.event_types,
                "Comma-separated: exact types (order.placed), prefixes (order.*) or * for every platform event.", errors))
            div.button-row { button.primary type="submit" { (submit) } a href=(ctx.url("webhooks")) { "Cancel" } }
        }
    }
}

async fn new(ctx: Ctx) -> Response {
    if !ctx.session.may(MANAGE) {
        return layout::error_page(
            StatusCode::FORBIDDEN,
            "Refused",
            "Your key lacks the webhooks:manage scope.",
        );
    }
    let values = FormValues {
        event_types: "order.*".into(),
        ..FormValues::default()
    };
    let body = html! {
        p { a href=(ctx.url("webhooks")) { "← Webhooks" } }
        h1 { "New webhook subscription" }
        (subscription_form(&ctx, &ctx.url("webhooks"), "Create subscription", &values, &FormErrors::default()))
    };
    ctx.page("New webhook subscription", Nav::Webhooks, body)
}

fn values_of(form: &Submitted) -> FormValues {
    FormValues {
        name: form.fields.text("name"),
        url: form.fields.text("url"),
        event_types: form.fields.text("event_types"),
    }
}

async fn create(State(state): State<Arc<AppState>>, ctx: Ctx, form: Submitted) -> Response {
    if !form.session.may(MANAGE) {
        return ctx.redirect(
            &ctx.url("webhooks"),
            Notice::error("Your key lacks the webhooks:manage scope."),
        );
    }
    let values = values_of(&form);
    let request = CreateWebhook {
        name: values.name.clone(),
        url: values.url.clone(),
        event_types: list(&values.event_types),
        secret: None,
        // Rate limits are set through the API.
        rate_limit_per_second: None,
    };
    match sluice_api::webhooks::create_subscription(&state, &ctx.store, request).await {
        Ok(created) => {
            let body = html! {
                p { a href=(ctx.url("webhooks")) { "← Webhooks" } }
                h1 { "Subscription “" (created.subscription.name) "” created" }
                (secret_box(&created.secret, "This is the subscription's signing secret. It is shown this once: store it with the receiver now."))
                p { a.button href=(ctx.url(&format!("webhooks/{}", path_segment(&created.subscription.id)))) { "Open the subscription" } }
            };
            ctx.page("Subscription created", Nav::Webhooks, body)
        }
        Err(problem) => {
            let body = html! {
                p { a href=(ctx.url("webhooks")) { "← Webhooks" } }
                h1 { "New webhook subscription" }
                (subscription_form(&ctx, &ctx.url("webhooks"), "Create subscription", &values, &FormErrors::from_problem(&problem)))
            };
            let mut response = ctx.page("New webhook subscription", Nav::Webhooks, body);
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            response
        }
    }
}

fn secret_box(secret: &str, explanation: &str) -> Markup {
    html! {
        div.secret-box role="status" {
            p { strong { "Signing secret" } }
            p { code #secret { (secret) } button.small type="button" data-copy="secret" hidden { "Copy" } }
            p { (explanation) }
        }
    }
}

async fn load(state: &AppState, ctx: &Ctx, id: &str) -> Result<WebhookView, Response> {
    match state.db.get_webhook_subscription(&ctx.store, id).await {
        Ok(subscription) => WebhookView::read(state, subscription)
            .await
            .map_err(layout::problem_page),
        Err(StorageError::NotFound { .. }) => Err(layout::not_found_page(&format!(
            "Store {} has no webhook subscription {id}.",
            ctx.store
        ))),
        Err(error) => Err(layout::problem_page(error.into())),
    }
}

fn edit_page(ctx: &Ctx, s: &WebhookView, values: &FormValues, errors: &FormErrors) -> Response {
    let may_manage = ctx.session.may(MANAGE);
    let base = ctx.url(&format!("webhooks/{}", path_segment(&s.id)));
    let body = html! {
        p { a href=(ctx.url("webhooks")) { "← Webhooks" } }
        div.title-row {
            h1 { (s.name) }
            (status_of(s))
            div.actions {
                a href={ (ctx.url("deliveries")) "?target=" (layout::query_value(&s.id)) } { "Its deliveries" }
                a href={ (ctx.url("dead-letters")) "?target=" (layout::query_value(&s.id)) } { "Its dead letters" }
            }
        }
        p.muted.mono { (s.id) }
        @if may_manage {
            div.columns {
                div {
                    h2 { "Settings" }
                    (subscription_form(ctx, &base, "Save changes", values, errors))
                }
                div {
                    h2 { "Delivery" }
                    div.panel {
                        @if s.active {
                            p { "New events are delivered to this subscription." }
                            form.inline method="post" action={ (base) "/active" } {
                                (ctx.csrf())
                                input type="hidden" name="active" value="false";
                                button type="submit" { "Pause" }
                            }
                        } @else {
                            p { "Paused: new events are not delivered to it." }
                            form.inline method="post" action={ (base) "/active" } {
                                (ctx.csrf())
                                input type="hidden" name="active" value="true";
                                button.primary type="submit" { "Resume" }
                            }
                        }
                    }
                    h2 { "Signing secret" }
                    div.panel {
                        p { "Rotating adds a new secret; the previous ones keep signing beside it for 24 hours, so the receiver can switch without missing a message." }
                        form.inline method="post" action={ (base) "/rotate-secret" }
                            data-confirm="Create a new signing secret? The current one keeps working for 24 hours." {
                            (ctx.csrf())
                            button type="submit" { "Rotate secret" }
                        }
                    }
                }
            }
        } @else {
            div.panel {
                dl.facts {
                    dt { "URL" } dd.mono { (s.url) }
                    dt { "Events" } dd { (s.event_types.join(", ")) }
                }
            }
        }
    };
    let mut response = ctx.page(&s.name, Nav::Webhooks, body);
    if !errors.is_empty() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

async fn edit(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = ctx.refusal(MANAGE) {
        return refused;
    }
    let subscription = match load(&state, &ctx, &id).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let values = FormValues {
        name: subscription.name.clone(),
        url: subscription.url.clone(),
        event_types: subscription.event_types.join(", "),
    };
    edit_page(&ctx, &subscription, &values, &FormErrors::default())
}

async fn update(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
    form: Submitted,
) -> Response {
    let base = ctx.url(&format!("webhooks/{}", path_segment(&id)));
    if !form.session.may(MANAGE) {
        return ctx.redirect(
            &base,
            Notice::error("Your key lacks the webhooks:manage scope."),
        );
    }
    let values = values_of(&form);
    let request = UpdateWebhook {
        name: Some(values.name.clone()),
        url: Some(values.url.clone()),
        event_types: Some(list(&values.event_types)),
        active: None,
        // Rate limits are set through the API.
        rate_limit_per_second: None,
    };
    match sluice_api::webhooks::update_subscription(&state, &ctx.store, &id, request).await {
        Ok(_) => ctx.redirect(&base, Notice::ok("Saved.")),
        Err(problem) if problem.status == 422 => match load(&state, &ctx, &id).await {
            Ok(current) => edit_page(&ctx, &current, &values, &FormErrors::from_problem(&problem)),
            Err(response) => response,
        },
        Err(problem) => layout::problem_page(problem),
    }
}

async fn set_active(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
    form: Submitted,
) -> Response {
    let base = ctx.url(&format!("webhooks/{}", path_segment(&id)));
    if !form.session.may(MANAGE) {
        return ctx.redirect(
            &base,
            Notice::error("Your key lacks the webhooks:manage scope."),
        );
    }
    let active = form.fields.get("active") == Some("true");
    let request = UpdateWebhook {
        active: Some(active),
        ..UpdateWebhook::default()
    };
    match sluice_api::webhooks::update_subscription(&state, &ctx.store, &id, request).await {
        Ok(_) if active => ctx.redirect(
            &base,
            Notice::ok("Resumed: new events are delivered again."),
        ),
        Ok(_) => ctx.redirect(
            &base,
            Notice::ok("Paused: new events are not delivered until you resume."),
        ),
        Err(problem) => ctx.redirect(&base, Notice::error(problem.detail)),
    }
}

async fn rotate(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
    form: Submitted,
) -> Response {
    let base = ctx.url(&format!("webhooks/{}", path_segment(&id)));
    if !form.session.may(MANAGE) {
        return ctx.redirect(
            &base,
            Notice::error("Your key lacks the webhooks:manage scope."),
        );
    }
    match sluice_api::webhooks::rotate_subscription_secret(
        &state,
        &ctx.store,
        &id,
        RotateSecret::default(),
    )
    .await
    {
        Ok(rotated) => {
            let body = html! {
                p { a href=(base) { "← Back to the subscription" } }
                h1 { "New signing secret" }
                (secret_box(&rotated.secret, "It is shown this once. The previous secrets keep signing beside it until the time below."))
                p { "Previous secrets stop signing at " strong { (rotated.previous_secrets_expire_at) } "." }
            };
            ctx.page("New signing secret", Nav::Webhooks, body)
        }
        Err(problem) => ctx.redirect(&base, Notice::error(problem.detail)),
    }
}
