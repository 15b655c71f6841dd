//! API credentials end to end, on SQLite and on PostgreSQL: keys and OAuth
//! clients issued with their secret shown once, the gateway's validate
//! call, store-scoped access to Sluice's own API (404 for another store,
//! 403 naming a missing scope), rotation and revocation taking effect at
//! once, the audit log, coalesced `last_used_at`, the client-credentials
//! token endpoint's RFC 6749 shapes, and brute-force throttling.

use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};
use sluice_core::Clock;
use sluice_tests::service::{Answer, Backend, Options, TestService};

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
    an_api_key_is_shown_once_and_validates_to_its_store_and_scopes,
    a_key_acts_only_on_its_store_and_within_its_scopes,
    revocation_rotation_and_expiry_take_effect_at_once,
    every_management_action_is_audited_and_no_key_grants_more_than_it_holds,
    last_used_at_is_written_once_per_flush_not_once_per_request,
    the_token_endpoint_issues_scoped_tokens_and_answers_rfc_6749_errors,
    repeated_failures_from_one_source_are_throttled_and_counted,
    an_admin_token_is_read_from_the_database_once_per_cache_ttl,
);

/// Sends `method path` with `authorization` (a whole header value) and an
/// optional JSON body.
async fn send(
    service: &TestService,
    method: Method,
    path: &str,
    authorization: &str,
    body: Option<Value>,
) -> Answer {
    let mut request = service
        .anonymous()
        .request(method, format!("{}{path}", service.base))
        .header(AUTHORIZATION, authorization);
    if let Some(body) = body {
        request = request.json(&body);
    }
    Answer::read(request.send().await.expect("the API answers")).await
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

async fn validate(service: &TestService, authorization: &str) -> Answer {
    send(
        service,
        Method::GET,
        "/v1/credentials/validate",
        authorization,
        None,
    )
    .await
}

/// Creates a credential as the operator; returns the whole answer body.
async fn issue(service: &TestService, store: &str, kind: &str, scopes: &[&str]) -> Value {
    let answer = service
        .post(
            &format!("/v1/stores/{store}/credentials"),
            json!({ "name": format!("{kind} for tests"), "type": kind, "scopes": scopes }),
        )
        .await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    answer.body
}

async fn issue_key(service: &TestService, store: &str, scopes: &[&str]) -> (String, String) {
    let body = issue(service, store, "api_key", scopes).await;
    (
        body["id"].as_str().unwrap().to_owned(),
        body["api_key"].as_str().unwrap().to_owned(),
    )
}

async fn metrics(service: &TestService) -> String {
    service
        .anonymous()
        .get(format!("{}/metrics", service.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the metric line starting with `series`, 0 if absent.
fn metric(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0)
}

async fn an_api_key_is_shown_once_and_validates_to_its_store_and_scopes(backend: Backend) {
    let service = TestService::on(backend).await;
    let created = issue(
        &service,
        "store_1",
        "api_key",
        &["orders:read", "catalog:read"],
    )
    .await;
    let key = created["api_key"].as_str().unwrap();
    let prefix = created["key_prefix"].as_str().unwrap();
    assert!(key.starts_with(&format!("{prefix}_")), "{created}");
    assert_eq!(created["type"], "api_key");
    assert_eq!(created["active"], true);
    assert_eq!(created["scopes"], json!(["catalog:read", "orders:read"]));
    assert!(
        created["created_by"]
            .as_str()
            .unwrap()
            .starts_with("operator:adm_")
    );
    let id = created["id"].as_str().unwrap();

    let read = service
        .get(&format!("/v1/stores/store_1/credentials/{id}"))
        .await;
    assert_eq!(read.status, 200);
    assert!(
        read.body.get("api_key").is_none(),
        "the secret is shown once"
    );
    assert!(!read.body.to_string().contains(key));
    let listed = service.get("/v1/stores/store_1/credentials").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert!(!listed.body.to_string().contains(key));

    let hits = |text: &str| {
        metric(
            text,
            "sluice_credential_cache_lookups_total{result=\"hit\"}",
        )
    };
    let hits_before = hits(&metrics(&service).await);
    for _ in 0..20 {
        let valid = validate(&service, &bearer(key)).await;
        assert_eq!(valid.status, 200, "{:?}", valid.body);
        assert_eq!(valid.body["valid"], true);
        assert_eq!(valid.body["store_id"], "store_1");
        assert_eq!(valid.body["scopes"], json!(["catalog:read", "orders:read"]));
        assert_eq!(valid.body["credential_id"], id);
    }
    let text = metrics(&service).await;
    assert_eq!(
        metric(
            &text,
            "sluice_credential_hash_verifications_total{result=\"match\"}"
        ),
        1,
        "the slow hash is paid once, then the cache answers: {text}"
    );
    assert_eq!(hits(&text) - hits_before, 19);

    let wrong_secret = format!("{prefix}_{}", "A".repeat(43));
    let refused = validate(&service, &bearer(&wrong_secret)).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body["valid"], false);
    assert_eq!(refused.body["reason"], "the credential is not valid");
    let unknown = validate(&service, &bearer("sk_0000000000000000_nope")).await;
    assert_eq!(unknown.status, 401);
    let operator = validate(&service, &bearer(&service.token)).await;
    assert_eq!(
        operator.status, 401,
        "an admin token is not a store credential"
    );

    let invalid = service
        .post(
            "/v1/stores/store_1/credentials",
            json!({ "name": "x", "type": "api_key", "scopes": ["orders:read", "orders:write", "root"] }),
        )
        .await;
    assert_eq!(invalid.status, 422);
    assert_eq!(invalid.body["errors"][0]["field"], "scopes");
    let detail = invalid.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("\"orders:write\", \"root\""),
        "unknown scopes are named: {detail}"
    );
    let bad_type = service
        .post(
            "/v1/stores/store_1/credentials",
            json!({ "name": "x", "type": "password", "scopes": ["orders:read"] }),
        )
        .await;
    assert_eq!(bad_type.status, 422);
    assert_eq!(bad_type.body["errors"][0]["field"], "type");
    service.stop().await;
}

async fn a_key_acts_only_on_its_store_and_within_its_scopes(backend: Backend) {
    let service = TestService::on(backend).await;
    let (_, key) = issue_key(&service, "store_1", &["deliveries:read", "events:write"]).await;
    let auth = bearer(&key);

    let own = send(
        &service,
        Method::GET,
        "/v1/stores/store_1/deliveries",
        &auth,
        None,
    )
    .await;
    assert_eq!(own.status, 200, "{:?}", own.body);
    let other = send(
        &service,
        Method::GET,
        "/v1/stores/store_2/deliveries",
        &auth,
        None,
    )
    .await;
    assert_eq!(other.status, 404, "{:?}", other.body);
    assert_eq!(other.content_type, "application/problem+json");
    let other_write = send(
        &service,
        Method::POST,
        "/v1/stores/store_2/webhooks",
        &auth,
        Some(json!({ "name": "x", "url": "https://example.com/h", "event_types": ["*"] })),
    )
    .await;
    assert_eq!(
        other_write.status, 404,
        "another store is not found before scopes count"
    );

    let subscribe = send(
        &service,
        Method::POST,
        "/v1/stores/store_1/webhooks",
        &auth,
        Some(json!({ "name": "x", "url": "https://example.com/h", "event_types": ["*"] })),
    )
    .await;
    assert_eq!(subscribe.status, 403, "{:?}", subscribe.body);
    assert_eq!(subscribe.content_type, "application/problem+json");
    assert!(
        subscribe.body["detail"]
            .as_str()
            .unwrap()
            .contains("webhooks:manage"),
        "{:?}",
        subscribe.body
    );
    let retry = send(
        &service,
        Method::POST,
        "/v1/stores/store_1/deliveries/retry",
        &auth,
        None,
    )
    .await;
    assert_eq!(retry.status, 403);
    assert!(
        retry.body["detail"]
            .as_str()
            .unwrap()
            .contains("deliveries:retry")
    );
    let catalog = send(&service, Method::GET, "/v1/connectors", &auth, None).await;
    assert_eq!(catalog.status, 403);
    let credentials = send(
        &service,
        Method::GET,
        "/v1/stores/store_1/credentials",
        &auth,
        None,
    )
    .await;
    assert_eq!(credentials.status, 403);
    assert!(
        credentials.body["detail"]
            .as_str()
            .unwrap()
            .contains("credentials:manage")
    );

    let event = |store: &str, id: &str| {
        json!({ "id": id, "type": "order.created", "store_id": store,
                "occurred_at": "2026-11-30T10:00:00Z", "payload": {} })
    };
    let accepted = send(
        &service,
        Method::POST,
        "/v1/events",
        &auth,
        Some(json!([event("store_1", "e1")])),
    )
    .await;
    assert_eq!(accepted.status, 202, "{:?}", accepted.body);
    let foreign = send(
        &service,
        Method::POST,
        "/v1/events",
        &auth,
        Some(json!([event("store_1", "e2"), event("store_2", "e3")])),
    )
    .await;
    assert_eq!(foreign.status, 403, "{:?}", foreign.body);
    assert_eq!(foreign.body["errors"][0]["field"], "events[1].store_id");
    let read = send(
        &service,
        Method::GET,
        "/v1/stores/store_1/events/e1",
        &auth,
        None,
    )
    .await;
    assert_eq!(read.status, 200);
    let not_stored = send(
        &service,
        Method::GET,
        "/v1/stores/store_1/events/e2",
        &auth,
        None,
    )
    .await;
    assert_eq!(
        not_stored.status, 404,
        "nothing of a refused batch is stored"
    );

    // The operator's admin token still reaches every store.
    assert_eq!(
        service.get("/v1/stores/store_2/deliveries").await.status,
        200
    );
    service.stop().await;
}

async fn an_admin_token_is_read_from_the_database_once_per_cache_ttl(backend: Backend) {
    let service = TestService::on(backend).await;
    let lookups = || async {
        let text = metrics(&service).await;
        let count = |result: &str| {
            metric(
                &text,
                &format!("sluice_credential_cache_lookups_total{{result=\"{result}\"}}"),
            )
        };
        (count("hit"), count("miss"))
    };
    let list = || service.get("/v1/stores/store_1/credentials");
    // Past whatever the service cached while starting.
    service.advance(Duration::from_secs(60));
    let (hits, misses) = lookups().await;
    for _ in 0..5 {
        assert_eq!(list().await.status, 200);
    }
    assert_eq!(
        lookups().await,
        (hits + 4, misses + 1),
        "read once, then cached"
    );

    service.advance(Duration::from_secs(60));
    assert_eq!(list().await.status, 200);
    assert_eq!(
        lookups().await,
        (hits + 4, misses + 2),
        "read again after the TTL"
    );

    for _ in 0..2 {
        let unknown = send(
            &service,
            Method::GET,
            "/v1/stores/store_1/credentials",
            &bearer("not-a-token"),
            None,
        )
        .await;
        assert_eq!(unknown.status, 401, "an unknown token is never cached");
    }
    assert_eq!(lookups().await, (hits + 4, misses + 4));
    service.stop().await;
}

async fn revocation_rotation_and_expiry_take_effect_at_once(backend: Backend) {
    let service = TestService::on(backend).await;
    let (revoked_id, revoked_key) = issue_key(&service, "store_1", &["orders:read"]).await;
    assert_eq!(validate(&service, &bearer(&revoked_key)).await.status, 200);
    let revoke = service
        .post(
            &format!("/v1/stores/store_1/credentials/{revoked_id}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(revoke.status, 200, "{:?}", revoke.body);
    assert_eq!(revoke.body["active"], false);
    let after = validate(&service, &bearer(&revoked_key)).await;
    assert_eq!(after.status, 401, "the cached verification is evicted");
    assert_eq!(after.body["reason"], "the credential was revoked");
    let again = service
        .post(
            &format!("/v1/stores/store_1/credentials/{revoked_id}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(again.status, 409);

    let (rotated_id, old_key) = issue_key(&service, "store_1", &["orders:read"]).await;
    assert_eq!(validate(&service, &bearer(&old_key)).await.status, 200);
    let rotated = service
        .post(
            &format!("/v1/stores/store_1/credentials/{rotated_id}/rotate"),
            json!({}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let new_key = rotated.body["api_key"].as_str().unwrap();
    assert_ne!(new_key, old_key);
    assert!(new_key.starts_with(rotated.body["key_prefix"].as_str().unwrap()));
    assert_eq!(validate(&service, &bearer(&old_key)).await.status, 401);
    assert_eq!(validate(&service, &bearer(new_key)).await.status, 200);

    let expiring = service
        .post(
            "/v1/stores/store_1/credentials",
            json!({ "name": "for an hour", "type": "api_key", "scopes": ["orders:read"],
                    "expires_at": sluice_core::clock::format_rfc3339(service.clock.now_ms() + 3_600_000) }),
        )
        .await;
    assert_eq!(expiring.status, 201, "{:?}", expiring.body);
    let key = expiring.body["api_key"].as_str().unwrap();
    assert_eq!(validate(&service, &bearer(key)).await.status, 200);
    service.advance(Duration::from_secs(3_600));
    let expired = validate(&service, &bearer(key)).await;
    assert_eq!(expired.status, 401);
    assert_eq!(expired.body["reason"], "the credential has expired");
    let past = service
        .post(
            "/v1/stores/store_1/credentials",
            json!({ "name": "x", "type": "api_key", "scopes": ["orders:read"],
                    "expires_at": "2020-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(past.status, 422);
    assert_eq!(past.body["errors"][0]["field"], "expires_at");
    service.stop().await;
}

async fn every_management_action_is_audited_and_no_key_grants_more_than_it_holds(backend: Backend) {
    let service = TestService::on(backend).await;
    let (manager_id, manager) =
        issue_key(&service, "store_1", &["credentials:manage", "orders:read"]).await;
    let auth = bearer(&manager);
    let made = send(
        &service,
        Method::POST,
        "/v1/stores/store_1/credentials",
        &auth,
        Some(json!({ "name": "reader", "type": "oauth_client", "scopes": ["orders:read"] })),
    )
    .await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    assert_eq!(made.body["created_by"], format!("credential:{manager_id}"));
    assert!(made.body["client_id"].as_str().unwrap().starts_with("cli_"));
    assert!(
        made.body["client_secret"]
            .as_str()
            .unwrap()
            .starts_with("cs_")
    );
    let made_id = made.body["id"].as_str().unwrap().to_owned();

    let escalation = send(
        &service,
        Method::POST,
        "/v1/stores/store_1/credentials",
        &auth,
        Some(json!({ "name": "writer", "type": "api_key", "scopes": ["inventory:write"] })),
    )
    .await;
    assert_eq!(escalation.status, 403, "{:?}", escalation.body);
    assert!(
        escalation.body["detail"]
            .as_str()
            .unwrap()
            .contains("inventory:write")
    );
    let (stronger, _) = issue_key(&service, "store_1", &["webhooks:manage"]).await;
    let steal = send(
        &service,
        Method::POST,
        &format!("/v1/stores/store_1/credentials/{stronger}/rotate"),
        &auth,
        None,
    )
    .await;
    assert_eq!(steal.status, 403, "rotating shows a secret: same rule");
    let elsewhere = send(
        &service,
        Method::GET,
        "/v1/stores/store_2/credentials/audit",
        &auth,
        None,
    )
    .await;
    assert_eq!(elsewhere.status, 404);

    assert_eq!(
        send(
            &service,
            Method::POST,
            &format!("/v1/stores/store_1/credentials/{made_id}/rotate"),
            &auth,
            None
        )
        .await
        .status,
        200
    );
    assert_eq!(
        service
            .post(
                &format!("/v1/stores/store_1/credentials/{made_id}/revoke"),
                json!({})
            )
            .await
            .status,
        200
    );

    let first = send(
        &service,
        Method::GET,
        "/v1/stores/store_1/credentials/audit?limit=3",
        &auth,
        None,
    )
    .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let items = first.body["items"].as_array().unwrap();
    let actions: Vec<(&str, &str, &str)> = items
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["credential_id"].as_str().unwrap(),
                e["actor"].as_str().unwrap(),
            )
        })
        .collect();
    let manager_actor = format!("credential:{manager_id}");
    assert_eq!(actions[0].0, "revoked");
    assert_eq!(actions[0].1, made_id);
    assert!(actions[0].2.starts_with("operator:adm_"));
    assert_eq!(
        actions[1],
        ("rotated", made_id.as_str(), manager_actor.as_str())
    );
    assert_eq!(actions[2].0, "created");
    assert_eq!(actions[2].1, stronger);
    assert!(items.iter().all(|e| e["at"].as_str().is_some()));
    let cursor = first.body["next_cursor"].as_str().expect("another page");
    let second = service
        .get(&format!(
            "/v1/stores/store_1/credentials/audit?limit=3&cursor={cursor}"
        ))
        .await;
    let rest: Vec<&str> = second.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["credential_id"].as_str().unwrap())
        .collect();
    assert_eq!(rest, vec![made_id.as_str(), manager_id.as_str()]);
    assert!(second.body["next_cursor"].is_null());
    let created = &second.body["items"][0];
    assert_eq!(created["action"], "created");
    assert_eq!(created["detail"]["scopes"], json!(["orders:read"]));
    assert_eq!(created["detail"]["kind"], "oauth_client");
    assert!(
        !second.body.to_string().contains("cs_"),
        "no secret in the log"
    );
    service.stop().await;
}

async fn last_used_at_is_written_once_per_flush_not_once_per_request(backend: Backend) {
    let service = TestService::on(backend).await;
    let (id, key) = issue_key(&service, "store_1", &["deliveries:read"]).await;
    let (_, other) = issue_key(&service, "store_1", &["orders:read"]).await;
    for _ in 0..25 {
        assert_eq!(validate(&service, &bearer(&key)).await.status, 200);
    }
    service.advance(Duration::from_millis(1_500));
    let used_at = service.clock.now_ms();
    for _ in 0..25 {
        let answer = send(
            &service,
            Method::GET,
            "/v1/stores/store_1/deliveries",
            &bearer(&key),
            None,
        )
        .await;
        assert_eq!(answer.status, 200);
    }
    assert_eq!(validate(&service, &bearer(&other)).await.status, 200);
    let path = format!("/v1/stores/store_1/credentials/{id}");
    assert!(
        service.get(&path).await.body["last_used_at"].is_null(),
        "nothing is written per request"
    );
    assert_eq!(
        metric(
            &metrics(&service).await,
            "sluice_credential_last_used_writes_total"
        ),
        0
    );

    // The flush runs every usage_flush_seconds (30) of the injected clock.
    service.advance(Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(10);
    let written = loop {
        let writes = metric(
            &metrics(&service).await,
            "sluice_credential_last_used_writes_total",
        );
        if writes > 0 || Instant::now() > deadline {
            break writes;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(written, 2, "one row per credential used, for 51 uses");
    let read = service.get(&path).await;
    assert_eq!(
        read.body["last_used_at"],
        sluice_core::clock::format_rfc3339(used_at),
        "the latest use is kept"
    );
    service.stop().await;
}

async fn post_token(
    service: &TestService,
    basic: Option<(&str, &str)>,
    form: &str,
    content_type: &str,
) -> Answer {
    let mut request = service
        .anonymous()
        .post(format!("{}/v1/oauth/token", service.base))
        .header(CONTENT_TYPE, content_type)
        .body(form.to_owned());
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    Answer::read(request.send().await.unwrap()).await
}

const FORM: &str = "application/x-www-form-urlencoded";

fn assert_token_error(answer: &Answer, status: u16, error: &str) {
    assert_eq!(answer.status, status, "{:?}", answer.body);
    assert_eq!(answer.body["error"], error, "{:?}", answer.body);
    assert!(answer.body["error_description"].is_string());
    assert_eq!(answer.content_type, "application/json");
    assert_eq!(answer.headers["cache-control"], "no-store");
}

async fn the_token_endpoint_issues_scoped_tokens_and_answers_rfc_6749_errors(backend: Backend) {
    let service = TestService::on(backend).await;
    let client = issue(
        &service,
        "store_1",
        "oauth_client",
        &["deliveries:read", "orders:read"],
    )
    .await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    let basic = Some((id.as_str(), secret.as_str()));

    let issued = post_token(
        &service,
        basic,
        "grant_type=client_credentials&scope=deliveries%3Aread",
        FORM,
    )
    .await;
    assert_eq!(issued.status, 200, "{:?}", issued.body);
    assert_eq!(issued.body["token_type"], "Bearer");
    assert_eq!(issued.body["expires_in"], 900);
    assert_eq!(issued.body["scope"], "deliveries:read");
    assert_eq!(issued.headers["cache-control"], "no-store");
    assert_eq!(issued.headers["pragma"], "no-cache");
    let token = issued.body["access_token"].as_str().unwrap().to_owned();

    let valid = validate(&service, &bearer(&token)).await;
    assert_eq!(valid.status, 200);
    assert_eq!(valid.body["store_id"], "store_1");
    assert_eq!(valid.body["scopes"], json!(["deliveries:read"]));
    assert_eq!(valid.body["presented_as"], "access_token");
    let auth = bearer(&token);
    let deliveries = send(
        &service,
        Method::GET,
        "/v1/stores/store_1/deliveries",
        &auth,
        None,
    )
    .await;
    assert_eq!(deliveries.status, 200, "Sluice's API accepts the token");
    let other = send(
        &service,
        Method::GET,
        "/v1/stores/store_2/deliveries",
        &auth,
        None,
    )
    .await;
    assert_eq!(other.status, 404);

    let in_body = post_token(
        &service,
        None,
        &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"),
        FORM,
    )
    .await;
    assert_eq!(in_body.status, 200, "{:?}", in_body.body);
    assert_eq!(
        in_body.body["scope"], "orders:read deliveries:read",
        "all of the client's scopes"
    );
    let basic_secret = validate(
        &service,
        &format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("{id}:{secret}")
            )
        ),
    )
    .await;
    assert_eq!(basic_secret.status, 200, "{:?}", basic_secret.body);
    assert_eq!(basic_secret.body["presented_as"], "client_secret");

    let wrong = post_token(
        &service,
        Some((id.as_str(), "cs_wrong")),
        "grant_type=client_credentials",
        FORM,
    )
    .await;
    assert_token_error(&wrong, 401, "invalid_client");
    assert_eq!(wrong.headers["www-authenticate"], "Basic realm=\"sluice\"");
    let wrong_body = post_token(
        &service,
        None,
        &format!("grant_type=client_credentials&client_id={id}&client_secret=cs_wrong"),
        FORM,
    )
    .await;
    assert_token_error(&wrong_body, 401, "invalid_client");
    assert!(wrong_body.headers.get("www-authenticate").is_none());
    assert_token_error(
        &post_token(&service, None, "grant_type=client_credentials", FORM).await,
        401,
        "invalid_client",
    );
    assert_token_error(
        &post_token(&service, basic, "grant_type=password&username=a", FORM).await,
        400,
        "unsupported_grant_type",
    );
    assert_token_error(
        &post_token(&service, basic, "scope=orders%3Aread", FORM).await,
        400,
        "invalid_request",
    );
    assert_token_error(
        &post_token(
            &service,
            basic,
            "grant_type=client_credentials&grant_type=client_credentials",
            FORM,
        )
        .await,
        400,
        "invalid_request",
    );
    assert_token_error(
        &post_token(
            &service,
            basic,
            &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"),
            FORM,
        )
        .await,
        400,
        "invalid_request",
    );
    assert_token_error(
        &post_token(
            &service,
            basic,
            "{\"grant_type\":\"client_credentials\"}",
            "application/json",
        )
        .await,
        400,
        "invalid_request",
    );
    let unknown = post_token(
        &service,
        basic,
        "grant_type=client_credentials&scope=orders%3Aread+orders%3Adelete",
        FORM,
    )
    .await;
    assert_token_error(&unknown, 400, "invalid_scope");
    assert!(
        unknown.body["error_description"]
            .as_str()
            .unwrap()
            .contains("orders:delete")
    );
    let not_held = post_token(
        &service,
        basic,
        "grant_type=client_credentials&scope=inventory%3Awrite",
        FORM,
    )
    .await;
    assert_token_error(&not_held, 400, "invalid_scope");
    assert!(
        not_held.body["error_description"]
            .as_str()
            .unwrap()
            .contains("inventory:write")
    );

    // An API key is not an OAuth client.
    let (_, key) = issue_key(&service, "store_1", &["orders:read"]).await;
    let (prefix, key_secret) = key.split_at(19);
    assert_token_error(
        &post_token(
            &service,
            Some((prefix, &key_secret[1..])),
            "grant_type=client_credentials",
            FORM,
        )
        .await,
        401,
        "invalid_client",
    );

    // Revoking the client ends its tokens.
    let client_id = client["id"].as_str().unwrap();
    let revoked = service
        .post(
            &format!("/v1/stores/store_1/credentials/{client_id}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(revoked.status, 200);
    assert_eq!(validate(&service, &bearer(&token)).await.status, 401);
    let after = send(
        &service,
        Method::GET,
        "/v1/stores/store_1/deliveries",
        &auth,
        None,
    )
    .await;
    assert_eq!(after.status, 401);
    service.stop().await;
}

async fn repeated_failures_from_one_source_are_throttled_and_counted(backend: Backend) {
    let service = TestService::start(Options {
        backend,
        configure: Box::new(|config| {
            config.credentials.failure_limit = 3;
            config.credentials.failure_window_seconds = 60;
            config.credentials.trusted_proxy_header = Some("x-forwarded-for".into());
        }),
        ..Options::default()
    })
    .await;
    let (_, key) = issue_key(&service, "store_1", &["orders:read"]).await;
    let from = |client: &str, authorization: &str| {
        service
            .anonymous()
            .get(format!("{}/v1/credentials/validate", service.base))
            .header("x-forwarded-for", format!("10.9.9.9, {client}"))
            .header(AUTHORIZATION, authorization.to_owned())
            .send()
    };
    let attacker = "198.51.100.7";
    let guess = bearer(&format!("{}_{}", &key[..19], "B".repeat(43)));
    for attempt in 1..=3 {
        let answer = Answer::read(from(attacker, &guess).await.unwrap()).await;
        assert_eq!(answer.status, 401, "attempt {attempt}");
    }
    let throttled = Answer::read(from(attacker, &bearer(&key)).await.unwrap()).await;
    assert_eq!(
        throttled.status, 429,
        "even a right key waits: {:?}",
        throttled.body
    );
    assert_eq!(throttled.content_type, "application/problem+json");
    assert_eq!(throttled.headers["retry-after"], "60");
    let api = service
        .anonymous()
        .get(format!("{}/v1/stores/store_1/deliveries", service.base))
        .header("x-forwarded-for", attacker)
        .bearer_auth(&service.token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 429, "the whole API refuses the source");
    let bystander = Answer::read(from("198.51.100.8", &bearer(&key)).await.unwrap()).await;
    assert_eq!(bystander.status, 200, "other sources are not affected");

    let text = metrics(&service).await;
    assert_eq!(
        metric(&text, "sluice_auth_refusals_total{reason=\"mismatch\"}"),
        3,
        "{text}"
    );
    assert_eq!(
        metric(&text, "sluice_auth_refusals_total{reason=\"throttled\"}"),
        2
    );
    assert_eq!(
        metric(
            &text,
            "sluice_credential_hash_verifications_total{result=\"mismatch\"}"
        ),
        3,
        "a throttled source costs no hash"
    );

    service.advance(Duration::from_secs(45));
    let later = Answer::read(from(attacker, &bearer(&key)).await.unwrap()).await;
    assert_eq!(later.status, 429);
    assert_eq!(later.headers["retry-after"], "15");
    service.advance(Duration::from_secs(15));
    let after = Answer::read(from(attacker, &bearer(&key)).await.unwrap()).await;
    assert_eq!(after.status, 200, "the window ended");
    service.stop().await;
}
