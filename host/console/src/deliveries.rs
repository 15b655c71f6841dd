//! Deliveries: the list with filters and paging, one delivery with every
//! attempt (and a connector's invocation report), and dead letters with
//! retry one and bulk retry.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use sluice_api::AppState;
use sluice_storage::{
    Attempt, Delivery, DeliveryFilter, DeliveryStatus, PageRequest, StorageError, TargetKind,
};

use crate::layout::{
    self, Ctx, Nav, Notice, bytes, duration, exact, excerpt, or_dash, path_segment, pill,
    query_value, when,
};
use crate::session::Submitted;

/// Deliveries per page.
const PAGE_SIZE: u32 = 50;
/// Characters of a response body shown before "show all".
const RESPONSE_EXCERPT: usize = 2_000;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/console/stores/{store}/deliveries", get(deliveries))
        .route("/console/stores/{store}/deliveries/{id}", get(detail))
        .route("/console/stores/{store}/deliveries/{id}/retry", post(retry))
        .route("/console/stores/{store}/dead-letters", get(dead_letters))
        .route(
            "/console/stores/{store}/dead-letters/retry",
            post(retry_dead),
        )
}

/// A store's targets by id: kind and name, to show names instead of ids.
pub(crate) struct Targets(HashMap<String, (TargetKind, String)>);

impl Targets {
    pub(crate) async fn of(state: &AppState, store: &str) -> Result<Self, StorageError> {
        let mut map = HashMap::new();
        for subscription in state.db.list_webhook_subscriptions(store).await? {
            map.insert(subscription.id, (TargetKind::Webhook, subscription.name));
        }
        for config in state.db.list_connector_configs(store).await? {
            map.insert(
                config.id,
                (
                    TargetKind::Connector,
                    format!("{} ({})", config.name, config.connector_id),
                ),
            );
        }
        Ok(Self(map))
    }

    fn sorted(&self) -> Vec<(&String, &(TargetKind, String))> {
        let mut all: Vec<_> = self.0.iter().collect();
        all.sort_by(|a, b| (a.1.1.as_str(), a.0).cmp(&(b.1.1.as_str(), b.0)));
        all
    }

    /// A target's name, linked to its page, with its kind.
    pub(crate) fn show(&self, ctx: &Ctx, kind: TargetKind, id: &str) -> Markup {
        let link = match kind {
            TargetKind::Webhook => ctx.url(&format!("webhooks/{}", path_segment(id))),
            TargetKind::Connector => ctx.url(&format!("connectors/{}", path_segment(id))),
        };
        html! {
            span.kind { (kind.as_str()) } " "
            @if let Some((_, name)) = self.0.get(id) {
                a href=(link) { (name) }
            } @else {
                span.muted title="deleted" { (id) " (deleted)" }
            }
        }
    }
}

/// The filters of the list, as the form sends them.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    event_type: String,
    #[serde(default)]
    event_id: String,
    /// `YYYY-MM-DDTHH:MM`, UTC.
    #[serde(default)]
    from: String,
    /// `YYYY-MM-DDTHH:MM`, UTC.
    #[serde(default)]
    before: String,
    cursor: Option<String>,
}

/// A `datetime-local` value read as UTC.
pub(crate) fn parse_local(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(text, format).ok())
        .map(|time| Some(time.and_utc().timestamp_millis()))
        .ok_or_else(|| format!("{text:?} is not a date and time like 2026-12-03T14:30"))
}

impl ListQuery {
    /// The storage filter, or the words saying which field is wrong.
    fn filter(&self, dead_only: bool) -> Result<DeliveryFilter, (&'static str, String)> {
        let status = if dead_only {
            Some(DeliveryStatus::Dead)
        } else if self.status.is_empty() {
            None
        } else {
            Some(DeliveryStatus::parse(&self.status).ok_or((
                "status",
                "Status must be pending, delivered or dead.".to_owned(),
            ))?)
        };
        let optional = |text: &str| (!text.trim().is_empty()).then(|| text.trim().to_owned());
        Ok(DeliveryFilter {
            status,
            target_kind: None,
            target_id: optional(&self.target),
            event_id: optional(&self.event_id),
            event_type: optional(&self.event_type),
            created_from: parse_local(&self.from).map_err(|e| ("from", e))?,
            created_before: parse_local(&self.before).map_err(|e| ("before", e))?,
        })
    }

    /// The query string of these filters (without the cursor).
    fn query_string(&self) -> String {
        [
            ("status", &self.status),
            ("target", &self.target),
            ("event_type", &self.event_type),
            ("event_id", &self.event_id),
            ("from", &self.from),
            ("before", &self.before),
        ]
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={}", query_value(value)))
        .collect::<Vec<_>>()
        .join("&")
    }

    fn is_filtered(&self) -> bool {
        !self.query_string().is_empty()
    }
}

async fn deliveries(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Response {
    listing(&state, ctx, query, false).await
}

async fn dead_letters(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Response {
    listing(&state, ctx, query, true).await
}

async fn listing(state: &AppState, ctx: Ctx, query: ListQuery, dead_only: bool) -> Response {
    if let Some(refused) = ctx.refusal("deliveries:read") {
        return refused;
    }
    let targets = match Targets::of(state, &ctx.store).await {
        Ok(targets) => targets,
        Err(error) => return layout::problem_page(error.into()),
    };
    let (nav, title, path) = if dead_only {
        (Nav::DeadLetters, "Dead letters", "dead-letters")
    } else {
        (Nav::Deliveries, "Deliveries", "deliveries")
    };
    let filter = query.filter(dead_only);
    let page = match &filter {
        Ok(filter) => match state
            .db
            .list_deliveries(
                &ctx.store,
                filter,
                &PageRequest {
                    cursor: query.cursor.clone(),
                    limit: PAGE_SIZE,
                },
            )
            .await
        {
            Ok(page) => Some(page),
            Err(error) => return layout::problem_page(error.into()),
        },
        Err(_) => None,
    };
    let invalid = filter.as_ref().err();
    let error_for = |field: &str| invalid.filter(|(f, _)| *f == field).map(|(_, m)| m.clone());
    let may_retry = ctx.session.may("deliveries:retry");
    let base = ctx.url(path);
    let body = html! {
        div.title-row {
            h1 { (title) }
            @if dead_only {
                span.muted { "Deliveries that failed for good or ran out of attempts. Retrying sends them again now." }
            }
        }
        form.filters method="get" action=(base) aria-label="Filters" {
            @if !dead_only {
                div.field {
                    label for="f-status" { "Status" }
                    select #f-status name="status" {
                        @for (value, label) in [("", "Any"), ("pending", "Pending"), ("delivered", "Delivered"), ("dead", "Dead")] {
                            option value=(value) selected[query.status == value] { (label) }
                        }
                    }
                }
            }
            div.field.wide {
                label for="f-target" { "Target" }
                select #f-target name="target" {
                    option value="" { "Any" }
                    @for (id, (kind, name)) in targets.sorted() {
                        option value=(id) selected[&query.target == id] { (name) " · " (kind.as_str()) }
                    }
                }
            }
            div.field {
                label for="f-type" { "Event type" }
                input #f-type type="text" name="event_type" value=(query.event_type) placeholder="order.placed";
            }
            div.field {
                label for="f-from" { "From (UTC)" }
                input #f-from type="datetime-local" name="from" value=(query.from)
                    aria-invalid=[error_for("from").map(|_| "true")] aria-describedby="filter-error";
            }
            div.field {
                label for="f-before" { "Before (UTC)" }
                input #f-before type="datetime-local" name="before" value=(query.before)
                    aria-invalid=[error_for("before").map(|_| "true")] aria-describedby="filter-error";
            }
            @if !query.event_id.is_empty() {
                input type="hidden" name="event_id" value=(query.event_id);
            }
            div.buttons {
                button.primary type="submit" { "Filter" }
                @if query.is_filtered() { a href=(base) { "Clear" } }
            }
        }
        @if let Some((_, message)) = invalid {
            div.notice.error role="alert" #filter-error { (message) }
        }
        @if let Some(page) = &page {
            @if dead_only && may_retry && !page.items.is_empty() {
                form.panel method="post" action=(ctx.url("dead-letters/retry"))
                    data-confirm="Retry every dead letter matching these filters now?" {
                    (ctx.csrf())
                    input type="hidden" name="target" value=(query.target);
                    input type="hidden" name="event_type" value=(query.event_type);
                    input type="hidden" name="from" value=(query.from);
                    input type="hidden" name="before" value=(query.before);
                    span { "Retry every dead letter " @if query.is_filtered() { "matching these filters" } @else { "of this store" } ", not only this page: " }
                    button.primary type="submit" { "Retry all" }
                }
            }
            @if page.items.is_empty() {
                p.empty {
                    @if query.cursor.is_some() { "No older deliveries." }
                    @else if dead_only { "No dead letters. Everything was delivered or is still being tried." }
                    @else if query.is_filtered() { "No delivery matches these filters." }
                    @else { "No deliveries yet. Events sent to this store are delivered to its webhooks and connectors and show up here." }
                }
            } @else {
                table {
                    caption.skip { (title) ", newest first" }
                    thead { tr {
                        th { "Created" } th { "Event" } th { "Target" } th { "Status" }
                        th.num { "Attempts" } th { "Last error" }
                        @if dead_only && may_retry { th { span.skip { "Actions" } } }
                    } }
                    tbody {
                        @for delivery in &page.items {
                            (row(&ctx, &targets, delivery, dead_only && may_retry))
                        }
                    }
                }
            }
            div.pager {
                @if query.cursor.is_some() {
                    a href={ (base) "?" (query.query_string()) } { "← Newest" }
                }
                @if let Some(next) = &page.next_cursor {
                    a.button href=(older_link(&base, &query, next)) { "Older →" }
                }
            }
        }
    };
    ctx.page(title, nav, body)
}

/// The link to the page after `cursor`, with the same filters.
fn older_link(base: &str, query: &ListQuery, cursor: &str) -> String {
    let filters = query.query_string();
    let separator = if filters.is_empty() { "" } else { "&" };
    format!("{base}?{filters}{separator}cursor={}", query_value(cursor))
}

fn row(ctx: &Ctx, targets: &Targets, d: &Delivery, retry_button: bool) -> Markup {
    let link = ctx.url(&format!("deliveries/{}", path_segment(&d.id)));
    html! {
        tr {
            td { (when(ctx.now, d.created_at)) }
            td {
                a href=(link) { (d.event_type) }
                span.sub.mono { (d.event_id) }
            }
            td { (targets.show(ctx, d.target_kind, &d.target_id)) }
            td { (pill(d.status.as_str())) }
            td.num { (d.attempt_count) }
            td.error-cell { @if let Some(error) = &d.last_error { (excerpt(error, 140)) } }
            @if retry_button {
                td {
                    form.inline method="post" action={ (link) "/retry" } {
                        (ctx.csrf())
                        input type="hidden" name="back" value="dead-letters";
                        button.small type="submit" aria-label={ "Retry " (d.event_type) " to " (d.target_id) } { "Retry" }
                    }
                }
            }
        }
    }
}

async fn detail(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = ctx.refusal("deliveries:read") {
        return refused;
    }
    let found = match state.db.get_delivery(&ctx.store, &id).await {
        Ok(found) => found,
        Err(StorageError::NotFound { .. }) => {
            return layout::not_found_page(&format!("Store {} has no delivery {id}.", ctx.store));
        }
        Err(error) => return layout::problem_page(error.into()),
    };
    let targets = match Targets::of(&state, &ctx.store).await {
        Ok(targets) => targets,
        Err(error) => return layout::problem_page(error.into()),
    };
    let event = match state
        .db
        .get_event(&ctx.store, &found.delivery.event_id)
        .await
    {
        Ok(event) => Some(event),
        Err(StorageError::NotFound { .. }) => None,
        Err(error) => return layout::problem_page(error.into()),
    };
    let d = &found.delivery;
    let pending = d.status == DeliveryStatus::Pending;
    let may_retry = ctx.session.may("deliveries:retry") && d.status != DeliveryStatus::Delivered;
    let body = html! {
        p { a href=(ctx.url("deliveries")) { "← Deliveries" } }
        div.title-row {
            h1 { (d.event_type) " → " (targets.show(&ctx, d.target_kind, &d.target_id)) }
            (pill(d.status.as_str()))
            @if may_retry {
                div.actions {
                    form.inline method="post" action=(ctx.url(&format!("deliveries/{}/retry", path_segment(&d.id)))) {
                        (ctx.csrf())
                        button.primary type="submit" { "Retry now" }
                    }
                }
            }
        }
        div.panel {
            dl.facts {
                dt { "Delivery" } dd.mono { (d.id) }
                dt { "Event" } dd.mono { (d.event_id) }
                dt { "Created" } dd { (exact(d.created_at)) " (" (when(ctx.now, d.created_at)) ")" }
                @if pending {
                    dt { "Next attempt" } dd { (when(ctx.now, d.next_attempt_at)) }
                }
                @if let Some(finished) = d.finished_at {
                    dt { (if d.status == DeliveryStatus::Dead { "Dead-lettered" } else { "Delivered" }) }
                    dd { (exact(finished)) }
                }
                dt { "Attempts" } dd { (d.attempt_count) }
                @if let Some(external) = &d.external_id {
                    dt { "Target's id" } dd.mono { (external) }
                }
                @if let Some(error) = &d.last_error {
                    dt { "Last error" } dd { (error) }
                }
            }
        }
        h2 { "Attempts" }
        @if found.attempts.is_empty() {
            p.empty { "No attempt yet: it is due " (when(ctx.now, d.next_attempt_at)) "." }
        }
        @for attempt in found.attempts.iter().rev() {
            (attempt_view(&ctx, attempt))
        }
        h2 { "Event" }
        @if let Some(event) = &event {
            p.muted { "Occurred " (exact(event.occurred_at)) ", received " (exact(event.received_at)) ", from " (event.source.as_str()) "." }
            pre { (pretty(&event.payload)) }
        } @else {
            p.muted { "The event is no longer stored (retention removed it)." }
        }
    };
    let title = format!("{} delivery", d.event_type);
    ctx.page_with(&title, Nav::Deliveries, body, pending.then_some(2))
}

/// JSON pretty-printed, or as stored when it is not JSON.
fn pretty(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| text.to_owned())
}

fn attempt_view(ctx: &Ctx, a: &Attempt) -> Markup {
    html! {
        section.attempt aria-labelledby={ "attempt-" (a.number) } {
            header {
                h3 id={ "attempt-" (a.number) } { "Attempt " (a.number) }
                (pill(a.outcome.as_str()))
                @if let Some(status) = a.http_status { span { "HTTP " strong { (status) } } }
                span { (duration(a.duration_ms)) }
                span.muted { (exact(a.started_at)) " · " (a.trigger.as_str()) }
                @if let Some(next) = a.next_attempt_at { span.muted { "next " (when(ctx.now, next)) } }
            }
            div.body {
                @if let Some(error) = &a.error {
                    p.field-error { (error) }
                }
                @if let Some(url) = &a.request_url {
                    p { "POST " code { (url) } }
                }
                @if let Some(body) = &a.response_body {
                    h4.label { "Response" }
                    @if body.chars().count() > RESPONSE_EXCERPT {
                        pre { (excerpt(body, RESPONSE_EXCERPT)) }
                        details { summary { "Whole response" } pre { (body) } }
                    } @else if body.is_empty() {
                        p.muted { "(empty body)" }
                    } @else {
                        pre { (body) }
                    }
                }
                @if let Some(headers) = &a.request_headers {
                    details {
                        summary { "Request headers sent" }
                        (headers_table(headers))
                    }
                }
                @if let Some(report) = &a.report {
                    (report_view(report))
                }
            }
        }
    }
}

fn headers_table(headers: &Value) -> Markup {
    let pairs: Vec<(String, String)> = match headers {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::Array(pair) if pair.len() == 2 => Some((
                    pair[0].as_str().unwrap_or_default().to_owned(),
                    pair[1].as_str().unwrap_or_default().to_owned(),
                )),
                _ => None,
            })
            .collect(),
        other => vec![("".to_owned(), other.to_string())],
    };
    html! {
        table.compact {
            thead { tr { th { "Header" } th { "Value" } } }
            tbody { @for (name, value) in &pairs { tr { td.mono { (name) } td.mono { (value) } } } }
        }
    }
}

/// A connector's invocation report: requests made or refused, logs, fuel,
/// memory, credentials read and captured output.
pub(crate) fn report_view(report: &Value) -> Markup {
    let number = |key: &str| report.get(key).and_then(Value::as_u64).unwrap_or(0);
    let list = |key: &str| {
        report
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let text = |value: &Value, key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let egress = list("egress");
    let logs = list("logs");
    let credentials_read: Vec<String> = list("credentials_read")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let credentials_refused: Vec<String> = list("credentials_refused")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let stdout = report
        .get("stdout")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let stderr = report
        .get("stderr")
        .and_then(Value::as_str)
        .unwrap_or_default();
    html! {
        div.report {
            h4.label { "Invocation report" }
            div.metrics {
                div { span.value { (number("duration_ms")) " ms" } span.label { "in the sandbox" } }
                div { span.value { (number("fuel_consumed")) } span.label { "fuel" } }
                div { span.value { (bytes(number("memory_peak_bytes"))) } span.label { "peak memory" } }
                div { span.value { (egress.len()) } span.label { "requests" } }
                @if number("queued_ms") > 0 {
                    div { span.value { (number("queued_ms")) " ms" } span.label { "queued" } }
                }
            }
            @if !egress.is_empty() {
                table.compact {
                    caption.skip { "Requests made or refused" }
                    thead { tr { th { "Request" } th { "Result" } th.num { "Time" } th.num { "Sent / received" } } }
                    tbody {
                        @for record in &egress {
                            tr {
                                td.mono { (text(record, "method")) " " (text(record, "origin")) (text(record, "path")) }
                                td {
                                    @if let Some(reason) = record.get("refused").and_then(Value::as_str) {
                                        (pill("refused")) " " (reason)
                                    } @else if let Some(error) = record.get("error").and_then(Value::as_str) {
                                        (pill("error")) " " (error)
                                    } @else if let Some(status) = record.get("status").and_then(Value::as_u64) {
                                        "HTTP " (status)
                                    }
                                }
                                td.num { (record.get("duration_ms").and_then(Value::as_u64).unwrap_or(0)) " ms" }
                                td.num {
                                    (bytes(record.get("request_bytes").and_then(Value::as_u64).unwrap_or(0))) " / "
                                    (bytes(record.get("response_bytes").and_then(Value::as_u64).unwrap_or(0)))
                                }
                            }
                        }
                    }
                }
            }
            @if !logs.is_empty() {
                details open {
                    summary { "Logs (" (logs.len()) ")" }
                    table.compact {
                        thead { tr { th { "Level" } th { "Message" } th { "Fields" } } }
                        tbody {
                            @for log in &logs {
                                tr {
                                    td { (text(log, "level")) }
                                    td { (text(log, "message")) }
                                    td.mono {
                                        @for field in log.get("fields").and_then(Value::as_array).into_iter().flatten() {
                                            @if let Some(pair) = field.as_array() {
                                                span { (pair.first().and_then(Value::as_str).unwrap_or_default()) "=" (pair.get(1).and_then(Value::as_str).unwrap_or_default()) " " }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if number("logs_dropped") > 0 { p.muted { (number("logs_dropped")) " more records were dropped at the per-call cap." } }
                }
            }
            p.muted {
                "Credentials read: " (or_dash(Some(&credentials_read.join(", "))))
                @if !credentials_refused.is_empty() { " · refused (not declared): " (credentials_refused.join(", ")) }
            }
            @if !stdout.is_empty() { details { summary { "Standard output" } pre { (stdout) } } }
            @if !stderr.is_empty() { details { summary { "Standard error" } pre { (stderr) } } }
        }
    }
}

async fn retry(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
    form: Submitted,
) -> Response {
    let back = if form.fields.get("back") == Some("dead-letters") {
        ctx.url("dead-letters")
    } else {
        ctx.url(&format!("deliveries/{}", path_segment(&id)))
    };
    if !form.session.may("deliveries:retry") {
        return ctx.redirect(
            &back,
            Notice::error("Your key lacks the deliveries:retry scope."),
        );
    }
    match sluice_api::deliveries::retry_delivery(&state, &ctx.store, &id).await {
        Ok(_) => ctx.redirect(
            &back,
            Notice::ok(format!("Delivery {id} is being retried now.")),
        ),
        Err(problem) => ctx.redirect(
            &back,
            Notice::error(format!("Not retried: {}.", problem.detail)),
        ),
    }
}

async fn retry_dead(State(state): State<Arc<AppState>>, ctx: Ctx, form: Submitted) -> Response {
    let back = ctx.url("dead-letters");
    if !form.session.may("deliveries:retry") {
        return ctx.redirect(
            &back,
            Notice::error("Your key lacks the deliveries:retry scope."),
        );
    }
    let time = |name: &str| -> Result<Option<String>, String> {
        Ok(parse_local(&form.fields.text(name))?.map(sluice_core::clock::format_rfc3339))
    };
    let optional = |name: &str| Some(form.fields.text(name)).filter(|t| !t.is_empty());
    let filter = match (time("from"), time("before")) {
        (Ok(created_from), Ok(created_before)) => sluice_api::deliveries::Filter {
            status: Some("dead".to_owned()),
            target_id: optional("target"),
            event_type: optional("event_type"),
            created_from,
            created_before,
            ..Default::default()
        },
        (Err(message), _) | (_, Err(message)) => {
            return ctx.redirect(&back, Notice::error(message));
        }
    };
    match sluice_api::deliveries::retry_dead_letters(&state, &ctx.store, &filter).await {
        Ok(0) => ctx.redirect(&back, Notice::ok("There was no dead letter to retry.")),
        Ok(n) => ctx.redirect(
            &back,
            Notice::ok(format!(
                "{n} dead letter{} retried; they are being delivered now.",
                if n == 1 { "" } else { "s" }
            )),
        ),
        Err(problem) => ctx.redirect(
            &back,
            Notice::error(format!("Not retried: {}.", problem.detail)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_from_the_form_are_read_as_utc() {
        assert_eq!(parse_local("1970-01-01T00:01"), Ok(Some(60_000)));
        assert_eq!(parse_local(" "), Ok(None));
        assert!(parse_local("yesterday").unwrap_err().contains("yesterday"));
    }

    #[test]
    fn filters_keep_their_fields_in_the_paging_links() {
        let query = ListQuery {
            status: "dead".into(),
            event_type: "order.placed".into(),
            ..ListQuery::default()
        };
        assert_eq!(query.query_string(), "status=dead&event_type=order.placed");
        assert!(query.filter(false).unwrap().status == Some(DeliveryStatus::Dead));
        let wrong = ListQuery {
            status: "lost".into(),
            ..ListQuery::default()
        };
        assert_eq!(wrong.filter(false).unwrap_err().0, "status");
    }
}
