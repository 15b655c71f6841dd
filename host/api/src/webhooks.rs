//! `/v1/stores/{store_id}/webhooks`: a store's webhook subscriptions. The
//! `whsec_` signing secret is shown once, when it is created or rotated.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use sluice_secrets::SecretString;
use sluice_storage::{
    NewWebhookSubscription, SECRET_ROTATION_OVERLAP_MS, TargetKind, WebhookSubscription,
    WebhookSubscriptionUpdate,
};
use sluice_webhooks::WebhookSecret;
use utoipa::ToSchema;

use crate::circuits::{CircuitView, check_rate_limit, present};
use crate::problem::{parse_json, read_body};
use crate::{
    ApiResult, AppState, Problem, State, check_name, parse_patterns, pattern_texts, timestamp,
};

/// Largest request body of these routes.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest accepted target URL.
const MAX_URL_LEN: usize = 2_048;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/stores/{store_id}/webhooks", post(create).get(list))
        .route(
            "/v1/stores/{store_id}/webhooks/{id}",
            get(read).patch(update).delete(delete),
        )
        .route(
            "/v1/stores/{store_id}/webhooks/{id}/rotate-secret",
            post(rotate_secret),
        )
}

/// A webhook subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// `whk_...`.
    pub id: String,
    /// The store it belongs to.
    pub store_id: String,
    /// A label for people.
    pub name: String,
    /// Where events are posted.
    pub url: String,
    /// Event types it receives: exact names, `prefix.*` or `*`.
    pub event_types: Vec<String>,
    /// Whether it receives new events.
    pub active: bool,
    /// Why Sluice deactivated it (for example, the target answered 410, or
    /// failed for days).
    pub disabled_reason: Option<String>,
    /// The most requests per second its receiver accepts; Sluice never
    /// sends faster (on all nodes together).
    pub rate_limit_per_second: Option<u32>,
    /// Its circuit breaker.
    pub circuit: CircuitView,
    /// When it was created.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
}

impl WebhookView {
    fn new(s: WebhookSubscription, circuit: CircuitView) -> Self {
        Self {
            id: s.id,
            store_id: s.store_id,
            name: s.name,
            url: s.url,
            event_types: pattern_texts(&s.event_types),
            active: s.active,
            disabled_reason: s.disabled_reason,
            rate_limit_per_second: s.rate_limit_per_second,
            circuit,
            created_at: timestamp(s.created_at),
            updated_at: timestamp(s.updated_at),
        }
    }

    /// The view of `subscription` with its circuit as stored.
    pub async fn read(state: &AppState, subscription: WebhookSubscription) -> ApiResult<Self> {
        let circuit = state
            .db
            .target_state(
                &subscription.store_id,
                TargetKind::Webhook,
                &subscription.id,
            )
            .await?;
        let now = state.clock.now_ms();
        Ok(Self::new(subscription, CircuitView::new(&circuit, now)))
    }
}

/// A new subscription, with its signing secret shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    /// The subscription.
    #[serde(flatten)]
    pub subscription: WebhookView,
    /// The `whsec_` signing secret; it is never shown again.
    pub secret: String,
}

/// A subscription to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// A label for people.
    pub name: String,
    /// An absolute `https` (or `http`) URL.
    pub url: String,
    /// Event types: exact names, `prefix.*` or `*`.
    pub event_types: Vec<String>,
    /// A `whsec_` secret to use instead of a generated one.
    #[serde(default)]
    pub secret: Option<String>,
    /// The most requests per second the receiver accepts (1 to 1,000).
    #[serde(default)]
    pub rate_limit_per_second: Option<u32>,
}

/// Changes to a subscription; fields left out stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    /// A new label.
    pub name: Option<String>,
    /// A new URL.
    pub url: Option<String>,
    /// New event types.
    pub event_types: Option<Vec<String>>,
    /// Activate or deactivate it; activating closes its circuit.
    pub active: Option<bool>,
    /// A new rate limit; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub rate_limit_per_second: Option<Option<u32>>,
}

/// A secret rotation: optionally the new secret to use.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// A `whsec_` secret to use instead of a generated one.
    #[serde(default)]
    pub secret: Option<String>,
}

/// The result of a rotation.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    /// The new `whsec_` signing secret; it is never shown again.
    pub secret: String,
    /// Until when the previous secrets keep signing beside it.
    pub previous_secrets_expire_at: String,
}

/// A list of subscriptions.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    /// The subscriptions, oldest first.
    pub items: Vec<WebhookView>,
}

/// Checks a target URL: absolute, http(s), with a host, and not an address
/// the operator's egress policy forbids. Names are checked again at every
/// delivery, after resolution.
fn check_url(state: &AppState, field: &str, text: &str) -> ApiResult<String> {
    let invalid = |message: String| Problem::invalid_field(field, message);
    if text.len() > MAX_URL_LEN {
        return Err(invalid(format!("longer than {MAX_URL_LEN} characters")));
    }
    let url = url::Url::parse(text).map_err(|e| invalid(format!("not an absolute URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid(format!(
            "scheme must be https or http, not {}",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials in the URL are not allowed".into()));
    }
    let host = url
        .host_str()
        .ok_or_else(|| invalid("the URL has no host".into()))?;
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>()
        && let Err(reason) = sluice_egress::check_address(ip, &state.egress.allow_cidrs)
    {
        return Err(invalid(format!(
            "{ip} is a {reason} address; the operator's egress policy refuses it"
        )));
    }
    Ok(url.to_string())
}

fn new_secret(field: &str, given: Option<String>) -> ApiResult<String> {
    match given {
        Some(text) => WebhookSecret::parse(&text)
            .map(|_| text)
            .map_err(|error| Problem::invalid_field(field, error.to_string())),
        None => Ok(WebhookSecret::generate().expose()),
    }
}

/// Creates a subscription and returns its signing secret, once.
#[utoipa::path(
    post, path = "/v1/stores/{store_id}/webhooks", tag = "webhooks",
    params(("store_id" = String, Path)),
    request_body = CreateWebhook,
    responses(
        (status = 201, body = CreatedWebhook),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn create(
    state: State,
    Path(store_id): Path<String>,
    body: Body,
) -> ApiResult<impl IntoResponse> {
    let request: CreateWebhook = parse_json(&read_body(body, MAX_BODY_BYTES).await?)?;
    let created = create_subscription(&state, &store_id, request).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// Checks and creates a subscription of `store_id`; the API and the console
/// both create through here.
pub async fn create_subscription(
    state: &AppState,
    store_id: &str,
    request: CreateWebhook,
) -> ApiResult<CreatedWebhook> {
    check_name(&request.name)?;
    let url = check_url(state, "url", &request.url)?;
    let event_types = parse_patterns("event_types", &request.event_types)?;
    let secret = new_secret("secret", request.secret)?;
    let rate_limit_per_second = check_rate_limit(request.rate_limit_per_second)?;
    let created = state
        .db
        .create_webhook_subscription(
            store_id,
            &NewWebhookSubscription {
                name: request.name,
                url,
                event_types,
                signing_secret: SecretString::new(secret.clone()),
                rate_limit_per_second,
            },
            state.clock.now_ms(),
        )
        .await?;
    Ok(CreatedWebhook {
        subscription: WebhookView::new(created, CircuitView::default()),
        secret,
    })
}

/// Lists the store's subscriptions.
#[utoipa::path(
    get, path = "/v1/stores/{store_id}/webhooks", tag = "webhooks",
    params(("store_id" = String, Path)),
    responses((status = 200, body = WebhookList)),
    security(("admin" = []))
)]
pub async fn list(
    state: State,
    Path(store_id): Path<String>,
) -> ApiResult<axum::Json<WebhookList>> {
    Ok(axum::Json(WebhookList {
        items: list_subscriptions(&state, &store_id).await?,
    }))
}

/// The store's subscriptions with their circuits; the API and the console
/// list through here.
pub async fn list_subscriptions(state: &AppState, store_id: &str) -> ApiResult<Vec<WebhookView>> {
    let items = state.db.list_webhook_subscriptions(store_id).await?;
    let mut circuits = CircuitView::by_target(
        state.db.target_states(store_id).await?,
        state.clock.now_ms(),
    );
    Ok(items
        .into_iter()
        .map(|s| {
            let circuit = circuits.remove(&s.id).unwrap_or_default();
            WebhookView::new(s, circuit)
        })
        .collect())
}

/// Reads one subscription.
#[utoipa::path(
    get, path = "/v1/stores/{store_id}/webhooks/{id}", tag = "webhooks",
    params(("store_id" = String, Path), ("id" = String, Path)),
    responses(
        (status = 200, body = WebhookView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn read(
    state: State,
    Path((store_id, id)): Path<(String, String)>,
) -> ApiResult<axum::Json<WebhookView>> {
    let subscription = state.db.get_webhook_subscription(&store_id, &id).await?;
    Ok(axum::Json(WebhookView::read(&state, subscription).await?))
}

/// Changes a subscription.
#[utoipa::path(
    patch, path = "/v1/stores/{store_id}/webhooks/{id}", tag = "webhooks",
    params(("store_id" = String, Path), ("id" = String, Path)),
    request_body = UpdateWebhook,
    responses(
        (status = 200, body = WebhookView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn update(
    state: State,
    Path((store_id, id)): Path<(String, String)>,
    body: Body,
) -> ApiResult<axum::Json<WebhookView>> {
    let request: UpdateWebhook = parse_json(&read_body(body, MAX_BODY_BYTES).await?)?;
    Ok(axum::Json(
        update_subscription(&state, &store_id, &id, request).await?,
    ))
}

/// Checks and applies changes to subscription `id` of `store_id` (pausing
/// and resuming are `active` changes).
pub async fn update_subscription(
    state: &AppState,
    store_id: &str,
    id: &str,
    request: UpdateWebhook,
) -> ApiResult<WebhookView> {
    if let Some(name) = &request.name {
        check_name(name)?;
    }
    let update = WebhookSubscriptionUpdate {
        name: request.name,
        url: request
            .url
            .map(|url| check_url(state, "url", &url))
            .transpose()?,
        event_types: request
            .event_types
            .map(|texts| parse_patterns("event_types", &texts))
            .transpose()?,
        active: request.active,
        rate_limit_per_second: request
            .rate_limit_per_second
            .map(check_rate_limit)
            .transpose()?,
    };
    let updated = state
        .db
        .update_webhook_subscription(store_id, id, &update, state.clock.now_ms())
        .await?;
    if request.active == Some(true) {
        state.db.reset_target_state(store_id, id).await?;
    }
    state.targets.invalidate(store_id, TargetKind::Webhook, id);
    WebhookView::read(state, updated).await
}

/// Deletes a subscription; its pending deliveries end as dead letters when
/// next attempted.
#[utoipa::path(
    delete, path = "/v1/stores/{store_id}/webhooks/{id}", tag = "webhooks",
    params(("store_id" = String, Path), ("id" = String, Path)),
    responses(
        (status = 204),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn delete(
    state: State,
    Path((store_id, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state.db.delete_webhook_subscription(&store_id, &id).await?;
    state
        .targets
        .invalidate(&store_id, TargetKind::Webhook, &id);
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a new signing secret; the previous ones keep signing beside it for
/// 24 hours, so receivers can switch without missing a message.
#[utoipa::path(
    post, path = "/v1/stores/{store_id}/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("store_id" = String, Path), ("id" = String, Path)),
    request_body(content = RotateSecret, description = "Optional; an empty body generates the secret"),
    responses(
        (status = 200, body = RotatedSecret),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = []))
)]
pub async fn rotate_secret(
    state: State,
    Path((store_id, id)): Path<(String, String)>,
    body: Body,
) -> ApiResult<axum::Json<RotatedSecret>> {
    let body = read_body(body, MAX_BODY_BYTES).await?;
    let request: RotateSecret = if body.iter().all(u8::is_ascii_whitespace) {
        RotateSecret::default()
    } else {
        parse_json(&body)?
    };
    Ok(axum::Json(
        rotate_subscription_secret(&state, &store_id, &id, request).await?,
    ))
}

/// Adds a new signing secret to subscription `id` of `store_id` and returns
/// it, the one time it is shown.
pub async fn rotate_subscription_secret(
    state: &AppState,
    store_id: &str,
    id: &str,
    request: RotateSecret,
) -> ApiResult<RotatedSecret> {
    let secret = new_secret("secret", request.secret)?;
    let now = state.clock.now_ms();
    state
        .db
        .rotate_webhook_secret(store_id, id, &SecretString::new(secret.clone()), now)
        .await?;
    state.targets.invalidate(store_id, TargetKind::Webhook, id);
    Ok(RotatedSecret {
        secret,
        previous_secrets_expire_at: timestamp(now + SECRET_ROTATION_OVERLAP_MS),
    })
}
