//! The operator's choice of store. A store admin's session is confined to
//! its store and goes there directly.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::html;
use serde::Deserialize;
use sluice_api::AppState;

use crate::layout::{self, OperatorCtx, path_segment};

/// Most stores listed at once.
const MAX_STORES: u32 = 500;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/console/stores", get(list))
        .route("/console/stores/{store}", get(store_home))
}

#[derive(Debug, Deserialize)]
struct OpenStore {
    store: Option<String>,
}

async fn list(
    State(state): State<Arc<AppState>>,
    operator: OperatorCtx,
    Query(open): Query<OpenStore>,
) -> Response {
    if let Some(store) = open
        .store
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        return Redirect::to(&format!(
            "/console/stores/{}/deliveries",
            path_segment(store)
        ))
        .into_response();
    }
    let stores = match state.db.known_stores(MAX_STORES).await {
        Ok(stores) => stores,
        Err(error) => return layout::problem_page(error.into()),
    };
    let body = html! {
        h1 { "Stores" }
        p.lede { "Every store with webhook subscriptions, connector configurations or deliveries. Pick one to see its deliveries, dead letters and integrations." }
        form.filters method="get" action="/console/stores" {
            div.field.wide {
                label for="store" { "Open a store by id" }
                input #store type="text" name="store" placeholder="store_1" required;
            }
            div.buttons { button.primary type="submit" { "Open" } }
        }
        @if stores.is_empty() {
            p.empty { "No store has anything yet. Create a webhook subscription or send an event through the API, or open a store by its id above." }
        } @else {
            table {
                thead { tr { th { "Store" } } }
                tbody {
                    @for store in &stores {
                        tr { td { a href={ "/console/stores/" (path_segment(store)) "/deliveries" } { (store) } } }
                    }
                }
            }
        }
    };
    operator.page("Stores", body)
}

async fn store_home(Path(store): Path<String>) -> Redirect {
    Redirect::to(&format!(
        "/console/stores/{}/deliveries",
        path_segment(&store)
    ))
}
