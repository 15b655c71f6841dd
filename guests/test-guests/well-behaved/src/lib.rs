//! A test guest that does everything by the book, so that the host's tests
//! can exercise delivery, connection checks, sync and inbound webhooks
//! without a real remote system.
//!
//! - `deliver` POSTs the event's payload, byte for byte, to setting
//!   `target_url` and maps the answer: 2xx delivered (external id: the
//!   status), 408 / 429 / 5xx retry (honouring `Retry-After`), other statuses
//!   failed; network errors retry and refusals by the host fail.
//! - `test-connection` always answers ok.
//! - `sync` serves [`TOTAL_RECORDS`] numbered records of entity `records`;
//!   the cursor is the index of the next record.
//! - `handle` echoes the request body back and emits one `echo.received`
//!   event.
//!
//! Every export logs whether credential `api_key` was given, never its value.

use sluice_guest::http::Request;
use sluice_guest::{
    Connection, ConnectionCheck, Deliverer, DeliveryOutcome, EmittedEvent, Event, InboundAccepted,
    InboundHandler, InboundRejection, InboundRequest, InboundResponse, InvocationContext,
    RemoteError, SyncBatch, SyncError, SyncRecord, SyncRequest, Syncer, credentials, log,
};

/// How many records `sync` serves in all.
pub const TOTAL_RECORDS: u32 = 250;

/// The entity `sync` serves.
const ENTITY: &str = "records";

struct WellBehaved;

sluice_guest::connector!(WellBehaved, worlds: [delivery, sync, inbound]);

impl Deliverer for WellBehaved {
    fn deliver(context: InvocationContext, event: Event) -> DeliveryOutcome {
        log_api_key_presence("deliver");
        let url = match context.require_setting("target_url") {
            Ok(url) => url,
            Err(missing) => return DeliveryOutcome::failed(missing.to_string()),
        };
        let sent = Request::post(url)
            .header("x-event-id", &event.id)
            .header("x-event-type", &event.event_type)
            .json_raw(event.payload)
            .send();
        let response = match sent {
            Ok(response) => response,
            Err(error) => return error.into(),
        };
        let remote = RemoteError::http(response.status).with_message(&response.text());
        match response.status {
            200..=299 => DeliveryOutcome::delivered(Some(response.status.to_string())),
            408 | 429 | 500..=599 => DeliveryOutcome::retry(
                format!("the target answered HTTP {}", response.status),
                response.retry_after(context.now_ms),
            )
            .with_remote(remote),
            status => DeliveryOutcome::failed(format!("the target answered HTTP {status}"))
                .with_remote(remote),
        }
    }
}

impl Connection for WellBehaved {
    fn test_connection(_context: InvocationContext) -> ConnectionCheck {
        let present = log_api_key_presence("test-connection");
        ConnectionCheck::ok("The well-behaved guest has nothing to check.")
            .with_step("api_key", if present { "present" } else { "absent" })
    }
}

impl Syncer for WellBehaved {
    fn sync(_context: InvocationContext, request: SyncRequest) -> Result<SyncBatch, SyncError> {
        log_api_key_presence("sync");
        if request.entity != ENTITY {
            return Err(SyncError::permanent(format!(
                "unknown entity `{}`; this guest syncs `{ENTITY}`",
                request.entity
            )));
        }
        let start = match request.cursor.as_deref() {
            None => 0,
            Some(cursor) => cursor.parse::<u32>().map_err(|_| {
                SyncError::permanent(format!("cursor {cursor:?} is not a record index"))
            })?,
        }
        .min(TOTAL_RECORDS);
        let end = start.saturating_add(request.max_records).min(TOTAL_RECORDS);
        Ok(SyncBatch {
            records: (start..end).map(record).collect(),
            next_cursor: Some(end.to_string()),
            has_more: end < TOTAL_RECORDS,
        })
    }
}

impl InboundHandler for WellBehaved {
    fn handle(
        context: InvocationContext,
        request: InboundRequest,
    ) -> Result<InboundAccepted, InboundRejection> {
        log_api_key_presence("handle");
        let id = request
            .header("x-echo-id")
            .map_or_else(|| format!("echo-{}", context.now_ms), str::to_owned);
        let payload = serde_json::json!({
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "body": String::from_utf8_lossy(&request.body),
        });
        let content_type = request
            .header("content-type")
            .unwrap_or("application/octet-stream")
            .to_owned();
        let response = InboundResponse {
            status: 200,
            headers: vec![("content-type".into(), content_type)],
            body: request.body,
        };
        Ok(InboundAccepted::new(response).with_event(EmittedEvent::new(
            id,
            "echo.received",
            &payload,
        )))
    }
}

/// Record `index` of the deterministic sequence `sync` serves.
fn record(index: u32) -> SyncRecord {
    SyncRecord {
        external_id: format!("rec-{index}"),
        version: "1".into(),
        occurred_at: "2026-01-01T00:00:00Z".into(),
        payload: serde_json::json!({ "id": format!("rec-{index}"), "index": index }).to_string(),
    }
}

/// Logs whether credential `api_key` was given to `export`, and returns it.
fn log_api_key_presence(export: &str) -> bool {
    let present = credentials::get("api_key").is_some();
    log::info(
        "credential api_key checked",
        &[
            ("export", export),
            ("api_key_present", if present { "true" } else { "false" }),
        ],
    );
    present
}
