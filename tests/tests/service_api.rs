//! The HTTP API end to end, on SQLite and on PostgreSQL: idempotent ingest,
//! fan-out to exactly the matching targets, tenant isolation, problem+json
//! errors naming the field, authentication, and secrets never shown again.

use serde_json::{Value, json};
use sluice_tests::service::{Backend, TestService};
use sluice_tests::sink::WebhookSink;

/// Runs `$name(backend)` as one test per backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await
                }
            )*
        }
    };
}

on_both_backends!(
    a_repeated_event_is_acknowledged_and_creates_nothing_new,
    each_matching_target_gets_exactly_one_delivery,
    a_store_cannot_see_or_change_another_stores_data,
);

fn event(store: &str, id: &str, event_type: &str) -> Value {
    json!({
        "id": id,
        "type": event_type,
        "store_id": store,
        "occurred_at": "2026-11-30T10:00:00Z",
        "payload": { "n": id },
    })
}

async fn a_repeated_event_is_acknowledged_and_creates_nothing_new(backend: Backend) {
    let service = TestService::on(backend).await;
    let sink = WebhookSink::start().await.unwrap();
    service
        .subscribe("s1", &sink.url("hook"), &["order.*"])
        .await;
    let first = service
        .send_events(json!([event("s1", "e1", "order.created")]))
        .await;
    assert_eq!(first["results"][0]["status"], "created");
    assert_eq!(first["results"][0]["deliveries"], 1);
    let again = service
        .send_events(json!([
            event("s1", "e1", "order.created"),
            event("s1", "e1", "order.created")
        ]))
        .await;
    assert_eq!(again["results"][0]["status"], "duplicate");
    assert_eq!(again["results"][1]["status"], "duplicate");
    assert_eq!(again["results"][0]["deliveries"], 0);
    service
        .wait_for_deliveries("s1", "status=delivered", 1)
        .await;
    assert_eq!(service.deliveries("s1", "").await.len(), 1);
    assert_eq!(sink.recorder().len(), 1, "the event was posted once");
    service.stop().await;
}

async fn each_matching_target_gets_exactly_one_delivery(backend: Backend) {
    let service = TestService::on(backend).await;
    let sink = WebhookSink::start().await.unwrap();
    let (orders, _) = service
        .subscribe("s1", &sink.url("orders"), &["order.*"])
        .await;
    let (everything, _) = service.subscribe("s1", &sink.url("all"), &["*"]).await;
    let (exact, _) = service
        .subscribe("s1", &sink.url("exact"), &["order.created", "order.*"])
        .await;
    let (products, _) = service
        .subscribe("s1", &sink.url("products"), &["product.updated"])
        .await;
    let (paused, _) = service.subscribe("s1", &sink.url("paused"), &["*"]).await;
    let paused_answer = service
        .patch(
            &format!("/v1/stores/s1/webhooks/{paused}"),
            json!({ "active": false }),
        )
        .await;
    assert_eq!(paused_answer.status, 200);
    service
        .subscribe("s2", &sink.url("other-store"), &["*"])
        .await;

    let accepted = service
        .send_events(json!([event("s1", "e1", "order.created")]))
        .await;
    assert_eq!(accepted["results"][0]["deliveries"], 3);
    let deliveries = service
        .wait_for_deliveries("s1", "status=delivered", 3)
        .await;
    let mut targets: Vec<&str> = deliveries
        .iter()
        .map(|d| d["target_id"].as_str().unwrap())
        .collect();
    targets.sort();
    let mut expected = vec![orders.as_str(), everything.as_str(), exact.as_str()];
    expected.sort();
    assert_eq!(
        targets, expected,
        "products ({products}) and paused ({paused}) get nothing"
    );
    assert!(service.deliveries("s2", "").await.is_empty());
    service.stop().await;
}

async fn a_store_cannot_see_or_change_another_stores_data(backend: Backend) {
    let service = TestService::on(backend).await;
    let sink = WebhookSink::start().await.unwrap();
    let (hook, _) = service.subscribe("s1", &sink.url("a"), &["*"]).await;
    service
        .send_events(json!([event("s1", "e1", "order.created")]))
        .await;
    let delivery = service
        .wait_for_deliveries("s1", "status=delivered", 1)
        .await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    for path in [
        format!("/v1/stores/s2/webhooks/{hook}"),
        format!("/v1/stores/s2/deliveries/{delivery}"),
        "/v1/stores/s2/events/e1".to_owned(),
    ] {
        let answer = service.get(&path).await;
        assert_eq!(answer.status, 404, "{path}: {:?}", answer.body);
        assert_eq!(answer.content_type, "application/problem+json");
    }
    let listed = service.get("/v1/stores/s2/webhooks").await;
    assert_eq!(listed.body["items"], json!([]));
    assert!(service.deliveries("s2", "").await.is_empty());
    let changed = service
        .patch(
            &format!("/v1/stores/s2/webhooks/{hook}"),
            json!({ "name": "stolen" }),
        )
        .await;
    assert_eq!(changed.status, 404);
    let deleted = service
        .delete(&format!("/v1/stores/s2/webhooks/{hook}"))
        .await;
    assert_eq!(deleted.status, 404);
    let retried = service
        .post(
            &format!("/v1/stores/s2/deliveries/{delivery}/retry"),
            json!({}),
        )
        .await;
    assert_eq!(retried.status, 404);
    let rotated = service
        .post(
            &format!("/v1/stores/s2/webhooks/{hook}/rotate-secret"),
            json!({}),
        )
        .await;
    assert_eq!(rotated.status, 404);
    let mine = service.get(&format!("/v1/stores/s1/webhooks/{hook}")).await;
    assert_eq!(mine.body["name"], "test", "unchanged for its own store");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_problem_json_naming_the_field() {
    let service = TestService::on(Backend::Sqlite).await;
    let cases = [
        (
            "/v1/events",
            json!([event("s1", "e1", "order.created"), { "id": "e2", "type": "order.created", "store_id": "s1", "occurred_at": "yesterday", "payload": {} }]),
            "events[1].occurred_at",
        ),
        (
            "/v1/events",
            json!(event("s1", "e1", "webhook.delivered")),
            "type",
        ),
        (
            "/v1/stores/s1/webhooks",
            json!({ "name": "x", "url": "ftp://example.com", "event_types": ["*"] }),
            "url",
        ),
        (
            "/v1/stores/s1/webhooks",
            json!({ "name": "x", "url": "https://example.com", "event_types": ["order.*.x"] }),
            "event_types[0]",
        ),
        (
            "/v1/stores/s1/webhooks",
            json!({ "name": "x", "url": "https://example.com", "event_types": ["*"], "colour": 1 }),
            "colour",
        ),
        (
            "/v1/stores/s1/connectors",
            json!({ "connector_id": "slack", "name": "x", "settings": { "mode": "carrier-pigeon" } }),
            "settings.mode",
        ),
        (
            "/v1/stores/s1/connectors",
            json!({ "connector_id": "no-such-thing", "name": "x" }),
            "connector_id",
        ),
    ];
    for (path, body, field) in cases {
        let answer = service.post(path, body.clone()).await;
        assert_eq!(answer.status, 422, "{path} {body}: {:?}", answer.body);
        assert_eq!(answer.content_type, "application/problem+json");
        let fields: Vec<&str> = answer.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.iter().any(|f| f.contains(field)),
            "{path}: expected {field} among {fields:?}: {:?}",
            answer.body
        );
        assert!(!answer.body["detail"].as_str().unwrap().is_empty());
    }
    let too_many: Vec<Value> = (0..1_001)
        .map(|i| event("s1", &format!("e{i}"), "order.created"))
        .collect();
    let answer = service.post("/v1/events", json!(too_many)).await;
    assert_eq!(answer.status, 422);
    assert!(
        answer.body["detail"]
            .as_str()
            .unwrap()
            .contains("at most 1000"),
        "{:?}",
        answer.body
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_calls_need_a_known_bearer_token() {
    let service = TestService::on(Backend::Sqlite).await;
    for token in [None, Some("wrong")] {
        let mut request = service
            .anonymous()
            .get(format!("{}/v1/stores/s1/webhooks", service.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    for open in ["/healthz", "/readyz", "/metrics", "/v1/openapi.json"] {
        let response = service
            .anonymous()
            .get(format!("{}{open}", service.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{open}");
    }
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_secrets_and_credentials_are_shown_once_and_never_again() {
    let service = TestService::on(Backend::Sqlite).await;
    let (hook, secret) = service
        .subscribe("s1", "https://example.com/hook", &["*"])
        .await;
    assert!(secret.starts_with("whsec_"));
    let read = service.get(&format!("/v1/stores/s1/webhooks/{hook}")).await;
    assert!(!read.body.to_string().contains(&secret));

    let created = service
        .post(
            "/v1/stores/s1/connectors",
            json!({
                "connector_id": "slack",
                "name": "ops channel",
                "event_types": ["order.*"],
                "settings": { "mode": "incoming-webhook" },
                "credentials": { "webhook_url": "https://hooks.slack.com/services/T1/B1/sekrit" },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["credentials_set"], json!(["webhook_url"]));
    let id = created.body["id"].as_str().unwrap();
    for body in [
        created.body.clone(),
        service
            .get(&format!("/v1/stores/s1/connectors/{id}"))
            .await
            .body,
        service.get("/v1/stores/s1/connectors").await.body,
    ] {
        assert!(!body.to_string().contains("sekrit"), "{body}");
    }
    let added = service
        .patch(
            &format!("/v1/stores/s1/connectors/{id}"),
            json!({ "credentials": { "bot_token": "xoxb-sekrit" } }),
        )
        .await;
    assert_eq!(added.status, 200, "{:?}", added.body);
    assert_eq!(
        added.body["credentials_set"],
        json!(["bot_token", "webhook_url"]),
        "keys left out keep their values"
    );
    let removed = service
        .patch(
            &format!("/v1/stores/s1/connectors/{id}"),
            json!({ "credentials": { "webhook_url": null } }),
        )
        .await;
    assert_eq!(removed.body["credentials_set"], json!(["bot_token"]));
    assert!(!removed.body.to_string().contains("sekrit"));
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_route() {
    let service = TestService::on(Backend::Sqlite).await;
    let document = service.get("/v1/openapi.json").await.body;
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/v1/events",
        "/v1/stores/{store_id}/webhooks",
        "/v1/stores/{store_id}/connectors/{id}/test",
        "/v1/stores/{store_id}/deliveries/{id}",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    service.stop().await;
}
