//! Connectors: the installed catalog, the store's configurations with a
//! form generated from the manifest's credential and setting fields
//! (credentials are write-only), test connection, sync now and the sync log.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Map, Value};
use sluice_api::AppState;
use sluice_api::connectors::{
    ConfigurationView, CreateConfiguration, TestResult, UpdateConfiguration,
};
use sluice_manifest::{FieldKind, FieldSpec, Manifest};
use sluice_runtime::LoadedConnector;
use sluice_storage::StorageError;

use crate::deliveries::report_view;
use crate::form::{FormErrors, list};
use crate::layout::{self, Ctx, Nav, Notice, exact, path_segment, pill, when};
use crate::session::Submitted;

/// The scope that lets a key change configurations.
const MANAGE: &str = "connectors:manage";
/// Sync runs shown per configuration.
const RUNS_SHOWN: u32 = 20;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/console/stores/{store}/connectors",
            get(index).post(create),
        )
        .route(
            "/console/stores/{store}/connectors/new/{connector}",
            get(new),
        )
        .route(
            "/console/stores/{store}/connectors/{id}",
            get(edit).post(update),
        )
        .route("/console/stores/{store}/connectors/{id}/test", post(test))
        .route(
            "/console/stores/{store}/connectors/{id}/sync",
            post(sync_now),
        )
        .route("/console/stores/{store}/sync", get(sync_runs))
}

fn installed(state: &AppState) -> Vec<Arc<LoadedConnector>> {
    let mut all = state.catalog.all();
    all.sort_by(|a, b| a.manifest().name.cmp(&b.manifest().name));
    all
}

fn refuse(ctx: &Ctx, to: &str) -> Response {
    ctx.redirect(
        to,
        Notice::error("Your key lacks the connectors:manage scope."),
    )
}

async fn index(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    if let Some(refused) = ctx.refusal(MANAGE) {
        return refused;
    }
    let configs = match sluice_api::connectors::list_configurations(&state, &ctx.store).await {
        Ok(items) => items,
        Err(problem) => return layout::problem_page(problem),
    };
    let catalog = installed(&state);
    let may_manage = ctx.session.may(MANAGE);
    let body = html! {
        h1 { "Connectors" }
        p.lede { "Each configuration runs an installed connector in its sandbox with the store's settings and credentials, for the events it selects." }
        h2 { "Configurations" }
        @if configs.is_empty() {
            p.empty { "No connector is configured for this store yet. Pick one from the catalog below." }
        } @else {
            table {
                thead { tr { th { "Name" } th { "Connector" } th { "Events" } th { "Credentials set" } th { "Status" } } }
                tbody {
                    @for c in &configs {
                        tr {
                            td { a href=(ctx.url(&format!("connectors/{}", path_segment(&c.id)))) { (c.name) } span.sub.mono { (c.id) } }
                            td { (state.catalog.get(&c.connector_id).map_or_else(|| c.connector_id.clone(), |l| l.manifest().name.clone())) }
                            td { div.tags { @for t in &c.event_types { span.tag { (t) } } } }
                            td { (layout::or_dash(Some(&c.credentials_set.join(", ")))) }
                            td { (pill(if c.active { "active" } else { "paused" })) }
                        }
                    }
                }
            }
        }
        h2 { "Catalog" }
        @if catalog.is_empty() {
            p.empty { "No connector is installed. The operator installs connectors from a connectors directory (SLUICE_CONNECTORS_DIR)." }
        }
        div.cards {
            @for connector in &catalog {
                @let m = connector.manifest();
                @let offers = connector.offers();
                article.card aria-labelledby={ "c-" (m.id) } {
                    h3 id={ "c-" (m.id) } { (m.name) " " span.muted { "v" (m.version.to_string()) } }
                    div.tags {
                        span.tag { (m.category) }
                        @if offers.deliver { span.tag { "delivers" } }
                        @if offers.sync { span.tag { "syncs" } }
                        @if offers.inbound { span.tag { "inbound" } }
                    }
                    p { (m.description) }
                    @if may_manage {
                        a.button.small href=(ctx.url(&format!("connectors/new/{}", path_segment(&m.id)))) { "Configure " (m.name) }
                    }
                }
            }
        }
    };
    ctx.page("Connectors", Nav::Connectors, body)
}

/// What a configuration form shows.
struct FormValues {
    name: String,
    event_types: String,
    settings: Map<String, Value>,
    active: bool,
}

/// One input generated from a manifest field. Credentials are write-only:
/// a set one shows as set, and an empty input keeps it.
fn field_input(
    section: &str,
    spec: &FieldSpec,
    value: Option<&str>,
    is_set: bool,
    errors: &FormErrors,
) -> Markup {
    let name = format!("{section}.{}", spec.key);
    let id = format!("{section}-{}", spec.key);
    let error = errors.for_field(&name);
    let credential = section == "credentials";
    let required = spec.required && !is_set;
    let described = format!(
        "{id}-help{}",
        if error.is_some() {
            format!(" {id}-error")
        } else {
            String::new()
        }
    );
    let invalid = error.as_ref().map(|_| "true");
    html! {
        div.field {
            @if spec.kind == FieldKind::Boolean {
                label.check for=(id) {
                    input id=(id) type="checkbox" name=(name) value="true"
                        checked[value.or(spec.default.as_deref()) == Some("true")]
                        aria-describedby=(described);
                    (spec.label)
                }
            } @else {
                label for=(id) {
                    (spec.label)
                    @if spec.required { " " span.required aria-hidden="true" { "*" } }
                }
                @if spec.kind == FieldKind::Select {
                    select id=(id) name=(name) required[required] aria-invalid=[invalid] aria-describedby=(described) {
                        @if !spec.required && spec.default.is_none() { option value="" { "—" } }
                        @for option in &spec.options {
                            option value=(option) selected[value.or(spec.default.as_deref()) == Some(option.as_str())] { (option) }
                        }
                    }
                } @else if credential {
                    input id=(id) type=(if spec.kind == FieldKind::Url { "url" } else { "password" }) name=(name)
                        autocomplete="off" required[required] aria-invalid=[invalid] aria-describedby=(described)
                        placeholder=(if is_set { "Set. Leave empty to keep it." } else { "" });
                } @else {
                    input id=(id) type=(if spec.kind == FieldKind::Url { "url" } else { "text" }) name=(name)
                        value=(value.unwrap_or_default()) placeholder=(spec.default.as_deref().unwrap_or_default())
                        required[required] aria-invalid=[invalid] aria-describedby=(described);
                }
            }
            p.help id={ (id) "-help" } {
                (spec.help)
                @if credential && is_set { " " strong { "Currently set." } }
            }
            @if credential && is_set && !spec.required {
                label.check {
                    input type="checkbox" name={ "clear." (spec.key) } value="true";
                    "Remove this credential"
                }
            }
            @if let Some(message) = &error { p.field-error id={ (id) "-error" } { (message) } }
        }
    }
}

fn configuration_form(
    ctx: &Ctx,
    manifest: &Manifest,
    action: &str,
    submit: &str,
    values: &FormValues,
    credentials_set: &[String],
    errors: &FormErrors,
) -> Markup {
    let name_error = errors.for_field("name");
    let types_error = errors.for_field("event_types");
    html! {
        @if let Some(summary) = &errors.summary {
            div.notice.error role="alert" { "Not saved: " (summary) }
        }
        form.stacked method="post" action=(action) {
            (ctx.csrf())
            input type="hidden" name="connector_id" value=(manifest.id);
            div.field {
                label for="name" { "Name " span.required aria-hidden="true" { "*" } }
                input #name type="text" name="name" value=(values.name) required aria-describedby="name-help"
                    aria-invalid=[name_error.as_ref().map(|_| "true")];
                p.help #name-help { "A label for people, for example “#orders alerts”." }
                @if let Some(message) = &name_error { p.field-error { (message) } }
            }
            div.field {
                label for="event_types" { "Event types" }
                input #event_types type="text" name="event_types" value=(values.event_types) aria-describedby="event_types-help"
                    aria-invalid=[types_error.as_ref().map(|_| "true")];
                p.help #event_types-help {
                    "Comma-separated, within what " (manifest.name) " handles: "
                    (manifest.events.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) "."
                }
                @if let Some(message) = &types_error { p.field-error { (message) } }
            }
            @if !manifest.settings.is_empty() {
                fieldset {
                    legend { "Settings" }
                    @for spec in &manifest.settings {
                        (field_input("settings", spec, values.settings.get(&spec.key).and_then(Value::as_str), false, errors))
                    }
                }
            }
            @if !manifest.credentials.is_empty() {
                fieldset {
                    legend { "Credentials" }
                    p.help { "Stored encrypted and never shown again; only the connector of this configuration can read them." }
                    @for spec in &manifest.credentials {
                        (field_input("credentials", spec, None, credentials_set.contains(&spec.key), errors))
                    }
                }
            }
            div.field {
                label.check { input type="checkbox" name="active" value="true" checked[values.active]; "Active: receives new events" }
            }
            div.button-row { button.primary type="submit" { (submit) } a href=(ctx.url("connectors")) { "Cancel" } }
        }
    }
}

/// Settings from the form: empty inputs are left out (their default
/// applies); checkboxes are `true` or `false`.
fn settings_of(manifest: &Manifest, form: &Submitted) -> Map<String, Value> {
    let mut settings = Map::new();
    for spec in &manifest.settings {
        let name = format!("settings.{}", spec.key);
        if spec.kind == FieldKind::Boolean {
            settings.insert(
                spec.key.clone(),
                Value::String(form.fields.checked(&name).to_string()),
            );
            continue;
        }
        let value = form.fields.text(&name);
        if !value.is_empty() {
            settings.insert(spec.key.clone(), Value::String(value));
        }
    }
    settings
}

/// Credentials typed in (empty inputs keep what is set) and those to remove.
fn credentials_of(manifest: &Manifest, form: &Submitted) -> Map<String, Value> {
    let mut credentials = Map::new();
    for spec in &manifest.credentials {
        let name = format!("credentials.{}", spec.key);
        let value = if spec.kind == FieldKind::Boolean {
            form.fields.checked(&name).to_string()
        } else {
            form.fields.text(&name)
        };
        if !value.is_empty() {
            credentials.insert(spec.key.clone(), Value::String(value));
        } else if form.fields.checked(&format!("clear.{}", spec.key)) {
            credentials.insert(spec.key.clone(), Value::Null);
        }
    }
    credentials
}

fn values_of(manifest: &Manifest, form: &Submitted) -> FormValues {
    FormValues {
        name: form.fields.text("name"),
        event_types: form.fields.text("event_types"),
        settings: settings_of(manifest, form),
        active: form.fields.checked("active"),
    }
}

fn connector_or_404(state: &AppState, id: &str) -> Result<Arc<LoadedConnector>, Box<Response>> {
    state.catalog.get(id).ok_or_else(|| {
        Box::new(layout::not_found_page(&format!(
            "No connector {id:?} is installed."
        )))
    })
}

fn new_page(ctx: &Ctx, manifest: &Manifest, values: &FormValues, errors: &FormErrors) -> Response {
    let body = html! {
        p { a href=(ctx.url("connectors")) { "← Connectors" } }
        h1 { "Configure " (manifest.name) }
        p.lede { (manifest.description) }
        (configuration_form(ctx, manifest, &ctx.url("connectors"), "Create configuration", values, &[], errors))
    };
    let mut response = ctx.page(
        &format!("Configure {}", manifest.name),
        Nav::Connectors,
        body,
    );
    if !errors.is_empty() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

async fn new(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path((_, connector)): Path<(String, String)>,
) -> Response {
    if !ctx.session.may(MANAGE) {
        return refuse(&ctx, &ctx.url("connectors"));
    }
    let connector = match connector_or_404(&state, &connector) {
        Ok(c) => c,
        Err(response) => return *response,
    };
    let manifest = connector.manifest();
    let values = FormValues {
        name: manifest.name.clone(),
        event_types: manifest
            .events
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        settings: Map::new(),
        active: true,
    };
    new_page(&ctx, manifest, &values, &FormErrors::default())
}

async fn create(State(state): State<Arc<AppState>>, ctx: Ctx, form: Submitted) -> Response {
    if !form.session.may(MANAGE) {
        return refuse(&ctx, &ctx.url("connectors"));
    }
    let connector = match connector_or_404(&state, &form.fields.text("connector_id")) {
        Ok(c) => c,
        Err(response) => return *response,
    };
    let manifest = connector.manifest();
    let values = values_of(manifest, &form);
    let request = CreateConfiguration {
        connector_id: manifest.id.clone(),
        name: values.name.clone(),
        event_types: Some(list(&values.event_types)),
        settings: values.settings.clone(),
        credentials: credentials_of(manifest, &form),
        active: Some(values.active),
        // Rate limits are set through the API.
        rate_limit_per_second: None,
    };
    match sluice_api::connectors::create_configuration(&state, &ctx.store, request).await {
        Ok(created) => ctx.redirect(
            &ctx.url(&format!("connectors/{}", path_segment(&created.id))),
            Notice::ok(format!(
                "“{}” is configured. Test the connection to check its credentials.",
                created.name
            )),
        ),
        Err(problem) if problem.status == 422 => {
            new_page(&ctx, manifest, &values, &FormErrors::from_problem(&problem))
        }
        Err(problem) => layout::problem_page(problem),
    }
}

async fn load(state: &AppState, ctx: &Ctx, id: &str) -> Result<ConfigurationView, Response> {
    match state.db.get_connector_config(&ctx.store, id).await {
        Ok(config) => ConfigurationView::read(state, config)
            .await
            .map_err(layout::problem_page),
        Err(StorageError::NotFound { .. }) => Err(layout::not_found_page(&format!(
            "Store {} has no connector configuration {id}.",
            ctx.store
        ))),
        Err(error) => Err(layout::problem_page(error.into())),
    }
}

fn test_result_view(result: &TestResult) -> Markup {
    let report = serde_json::to_value(&result.report).unwrap_or(Value::Null);
    html! {
        section.panel #test-result aria-live="polite" {
            h3 { "Connection test: " (pill(&result.status)) }
            p { (result.message) }
            @if !result.steps.is_empty() {
                ul {
                    @for (step, outcome) in &result.steps { li { strong { (step) } ": " (outcome) } }
                }
            }
            details { summary { "What the connector did" } (report_view(&report)) }
        }
    }
}

fn config_page(
    state: &AppState,
    ctx: &Ctx,
    config: &ConfigurationView,
    values: &FormValues,
    errors: &FormErrors,
    test: Option<&TestResult>,
) -> Response {
    let base = ctx.url(&format!("connectors/{}", path_segment(&config.id)));
    let connector = state.catalog.get(&config.connector_id);
    let may_manage = ctx.session.may(MANAGE);
    let body = html! {
        p { a href=(ctx.url("connectors")) { "← Connectors" } }
        div.title-row {
            h1 { (config.name) }
            (pill(if config.active { "active" } else { "paused" }))
            div.actions {
                a href={ (ctx.url("deliveries")) "?target=" (layout::query_value(&config.id)) } { "Its deliveries" }
                a href={ (ctx.url("dead-letters")) "?target=" (layout::query_value(&config.id)) } { "Its dead letters" }
            }
        }
        p.muted { span.mono { (config.id) } " · " (config.connector_id) }
        @if connector.is_none() {
            div.notice.error role="alert" { "The connector " (config.connector_id) " is not installed any more: this configuration receives nothing until it is." }
        }
        @if let Some(connector) = &connector {
            {
                div.columns {
                    div {
                        h2 { "Settings and credentials" }
                        @if may_manage {
                            (configuration_form(ctx, connector.manifest(), &base, "Save changes", values, &config.credentials_set, errors))
                        } @else {
                            dl.facts {
                                @for (key, value) in &config.settings { dt { (key) } dd { (value) } }
                                dt { "Credentials set" } dd { (config.credentials_set.join(", ")) }
                            }
                        }
                    }
                    div {
                        @if connector.offers().test_connection {
                            h2 { "Connection" }
                            div.panel {
                                p { "Runs the connector's own check with the saved settings and credentials." }
                                form.inline method="post" action={ (base) "/test" } {
                                    (ctx.csrf())
                                    button.primary type="submit" { "Test connection" }
                                }
                            }
                            @if let Some(result) = test { (test_result_view(result)) }
                        }
                        @if connector.offers().sync {
                            h2 { "Sync" }
                            div.panel {
                                p { "Pulls " (connector.manifest().sync.as_ref().map(|s| s.entities.join(", ")).unwrap_or_default()) " on its interval; sync now to pull at once." }
                                div.button-row {
                                    @if may_manage {
                                        form.inline method="post" action={ (base) "/sync" } {
                                            (ctx.csrf())
                                            button type="submit" { "Sync now" }
                                        }
                                    }
                                    a href=(ctx.url("sync")) { "Sync runs" }
                                }
                            }
                        }
                        @if connector.offers().inbound {
                            h2 { "Inbound webhooks" }
                            div.panel {
                                p { "The remote platform posts to:" }
                                p { code { "/v1/inbound/" (path_segment(&ctx.store)) "/" (path_segment(&config.id)) } }
                            }
                        }
                    }
                }
            }
        }
    };
    let mut response = ctx.page(&config.name, Nav::Connectors, body);
    if !errors.is_empty() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

fn saved_values(config: &ConfigurationView) -> FormValues {
    FormValues {
        name: config.name.clone(),
        event_types: config.event_types.join(", "),
        settings: config
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
        active: config.active,
    }
}

async fn edit(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = ctx.refusal(MANAGE) {
        return refused;
    }
    match load(&state, &ctx, &id).await {
        Ok(config) => config_page(
            &state,
            &ctx,
            &config,
            &saved_values(&config),
            &FormErrors::default(),
            None,
        ),
        Err(response) => response,
    }
}

async fn update(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
    form: Submitted,
) -> Response {
    let base = ctx.url(&format!("connectors/{}", path_segment(&id)));
    if !form.session.may(MANAGE) {
        return refuse(&ctx, &base);
    }
    let config = match load(&state, &ctx, &id).await {
        Ok(config) => config,
        Err(response) => return response,
    };
    let connector = match connector_or_404(&state, &config.connector_id) {
        Ok(c) => c,
        Err(response) => return *response,
    };
    let manifest = connector.manifest();
    let values = values_of(manifest, &form);
    let request = UpdateConfiguration {
        name: Some(values.name.clone()),
        event_types: Some(list(&values.event_types)),
        settings: Some(values.settings.clone()),
        credentials: Some(credentials_of(manifest, &form)),
        active: Some(values.active),
        // Rate limits are set through the API.
        rate_limit_per_second: None,
    };
    match sluice_api::connectors::update_configuration(&state, &ctx.store, &id, request).await {
        Ok(_) => ctx.redirect(&base, Notice::ok("Saved.")),
        Err(problem) if problem.status == 422 => config_page(
            &state,
            &ctx,
            &config,
            &values,
            &FormErrors::from_problem(&problem),
            None,
        ),
        Err(problem) => layout::problem_page(problem),
    }
}

async fn test(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
    form: Submitted,
) -> Response {
    if !form.session.may(MANAGE) {
        return refuse(&ctx, &ctx.url(&format!("connectors/{}", path_segment(&id))));
    }
    let config = match load(&state, &ctx, &id).await {
        Ok(config) => config,
        Err(response) => return response,
    };
    match sluice_api::connectors::test_configuration(&state, &ctx.store, &id).await {
        Ok(result) => config_page(
            &state,
            &ctx,
            &config,
            &saved_values(&config),
            &FormErrors::default(),
            Some(&result),
        ),
        Err(problem) => ctx.redirect(
            &ctx.url(&format!("connectors/{}", path_segment(&id))),
            Notice::error(format!("The test could not run: {}", problem.detail)),
        ),
    }
}

async fn sync_now(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path((_, id)): Path<(String, String)>,
    form: Submitted,
) -> Response {
    let back = ctx.url(&format!("connectors/{}", path_segment(&id)));
    if !form.session.may(MANAGE) {
        return refuse(&ctx, &back);
    }
    match sluice_api::sync::request_sync(&state, &ctx.store, &id).await {
        Ok(entities) => ctx.redirect(
            &ctx.url("sync"),
            Notice::ok(format!(
                "Sync of {} requested; the run shows here when it ends.",
                entities.join(", ")
            )),
        ),
        Err(problem) => ctx.redirect(
            &back,
            Notice::error(format!("Not synced: {}", problem.detail)),
        ),
    }
}

async fn sync_runs(State(state): State<Arc<AppState>>, ctx: Ctx) -> Response {
    if let Some(refused) = ctx.refusal(MANAGE) {
        return refused;
    }
    let configs = match state.db.list_connector_configs(&ctx.store).await {
        Ok(configs) => configs,
        Err(error) => return layout::problem_page(error.into()),
    };
    let mut sections = Vec::new();
    for config in configs
        .iter()
        .filter(|c| !state.syncer.entities_of(&c.connector_id).is_empty())
    {
        match state
            .db
            .list_sync_runs(&ctx.store, &config.id, RUNS_SHOWN)
            .await
        {
            Ok(runs) => sections.push((config, runs)),
            Err(error) => return layout::problem_page(error.into()),
        }
    }
    let body = html! {
        h1 { "Sync runs" }
        p.lede { "Connectors that sync pull records (such as marketplace orders) in on their interval and turn them into events. Each run is logged here, newest first." }
        @if sections.is_empty() {
            p.empty { "No configuration of this store syncs. Amazon and eBay configurations pull their orders." }
        }
        @for (config, runs) in &sections {
            section aria-labelledby={ "s-" (config.id) } {
                h2 id={ "s-" (config.id) } {
                    a href=(ctx.url(&format!("connectors/{}", path_segment(&config.id)))) { (config.name) }
                    " " span.muted { "(" (config.connector_id) ")" }
                }
                @if runs.is_empty() {
                    p.empty { "No run yet." }
                } @else {
                    table {
                        thead { tr {
                            th { "Started" } th { "Entity" } th { "Trigger" } th { "Status" }
                            th.num { "Batches" } th.num { "Records" } th.num { "Events" } th.num { "Took" } th { "Error" }
                        } }
                        tbody {
                            @for run in runs {
                                tr {
                                    td { span title=(exact(run.started_at)) { (when(ctx.now, run.started_at)) } }
                                    td { (run.entity) }
                                    td { (run.trigger) }
                                    td { (pill(&run.status)) }
                                    td.num { (run.batches) }
                                    td.num { (run.records) }
                                    td.num { (run.events) }
                                    td.num { (layout::duration(run.finished_at - run.started_at)) }
                                    td.error-cell { (layout::or_dash(run.error.as_deref())) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    ctx.page("Sync runs", Nav::Sync, body)
}
