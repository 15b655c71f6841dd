//! The error envelope every eBay Sell REST API answers with:
//! `{"errors":[{"errorId":25002,"domain":"API_INVENTORY","subdomain":"Selling",
//! "category":"REQUEST","message":"...","longMessage":"...",
//! "parameters":[{"name":"...","value":"..."}]}]}`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Map, Value, json};

use super::SellApi;

/// One entry of `errors` (also of a bulk response's per-entry `errors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
    /// `errorId`.
    pub error_id: u32,
    /// `domain` (`API_INVENTORY`, `API_FULFILLMENT`, `OAuth`, `ACCESS`).
    pub domain: &'static str,
    /// `category` (`REQUEST`, `APPLICATION`).
    pub category: &'static str,
    /// `message`.
    pub message: String,
    /// `longMessage`, if any.
    pub long_message: Option<String>,
    /// `parameters`, as name and value.
    pub parameters: Vec<(String, String)>,
}

impl ErrorDetail {
    /// A `REQUEST` error of `api`'s domain.
    pub fn request(api: SellApi, error_id: u32, message: impl Into<String>) -> Self {
        Self {
            error_id,
            domain: api.domain(),
            category: "REQUEST",
            message: message.into(),
            long_message: None,
            parameters: Vec::new(),
        }
    }

    /// This error with a `longMessage`.
    pub fn long_message(mut self, long_message: impl Into<String>) -> Self {
        self.long_message = Some(long_message.into());
        self
    }

    /// This error with one more parameter.
    pub fn parameter(mut self, name: &str, value: impl Into<String>) -> Self {
        self.parameters.push((name.to_owned(), value.into()));
        self
    }

    /// The entry's JSON.
    pub fn to_json(&self) -> Value {
        let mut entry = Map::new();
        entry.insert("errorId".into(), self.error_id.into());
        entry.insert("domain".into(), self.domain.into());
        // eBay's Sell APIs file their own errors under the Selling subdomain.
        if self.domain.starts_with("API_") {
            entry.insert("subdomain".into(), "Selling".into());
        }
        entry.insert("category".into(), self.category.into());
        entry.insert("message".into(), self.message.clone().into());
        if let Some(long_message) = &self.long_message {
            entry.insert("longMessage".into(), long_message.clone().into());
        }
        if !self.parameters.is_empty() {
            let parameters: Vec<Value> = self
                .parameters
                .iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect();
            entry.insert("parameters".into(), parameters.into());
        }
        Value::Object(entry)
    }
}

/// An error answer: an HTTP status and its `errors`. Also what tests script
/// as failures ([`FakeEbay::fail_calls`](super::FakeEbay::fail_calls)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EbayError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `errors` entries, at least one.
    pub errors: Vec<ErrorDetail>,
}

impl EbayError {
    /// `status` with a single error.
    pub fn new(status: StatusCode, error: ErrorDetail) -> Self {
        Self {
            status,
            errors: vec![error],
        }
    }

    /// 400 with `error`.
    pub fn bad_request(error: ErrorDetail) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error)
    }

    /// 401, errorId 1001 in domain `OAuth`: `Invalid access token`, for a
    /// missing, unknown, expired or revoked token.
    pub fn invalid_access_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorDetail {
                error_id: 1001,
                domain: "OAuth",
                category: "REQUEST",
                message: "Invalid access token".into(),
                long_message: Some(
                    "Invalid access token. Check the value of the Authorization HTTP request \
                     header."
                        .into(),
                ),
                parameters: Vec::new(),
            },
        )
    }

    /// 403, errorId 1100 in domain `ACCESS`: the token lacks the API's scope.
    pub fn insufficient_permissions() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorDetail {
                error_id: 1100,
                domain: "ACCESS",
                category: "REQUEST",
                message: "Access denied".into(),
                long_message: Some("Insufficient permissions to fulfill the request.".into()),
                parameters: Vec::new(),
            },
        )
    }

    /// 429, errorId 2001 in domain `ACCESS`: over the call limit.
    pub fn too_many_requests() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorDetail {
                error_id: 2001,
                domain: "ACCESS",
                category: "REQUEST",
                message: "Too many requests.".into(),
                long_message: Some("The request limit has been reached for the resource.".into()),
                parameters: Vec::new(),
            },
        )
    }

    /// 400, errorId 2004 in domain `ACCESS`: a body that does not parse or
    /// whose field `reason` names has the wrong type or enum value
    /// (`Could not serialize field [condition]`).
    pub fn invalid_request(reason: impl Into<String>) -> Self {
        Self::bad_request(ErrorDetail {
            error_id: 2004,
            domain: "ACCESS",
            category: "REQUEST",
            message: "Invalid request".into(),
            long_message: Some(
                "The request has errors. For help, see the documentation for this API.".into(),
            ),
            parameters: vec![("reason".into(), reason.into())],
        })
    }

    /// 500, `api`'s system error (25001 for the Inventory API, 30500 for
    /// the Fulfillment API).
    pub fn system_error(api: SellApi) -> Self {
        let (error_id, message) = match api {
            SellApi::Inventory => (25001, "A system error has occurred."),
            SellApi::Fulfillment => (30500, "System error"),
        };
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorDetail {
                category: "APPLICATION",
                ..ErrorDetail::request(api, error_id, message)
            },
        )
    }

    /// The answer's body.
    pub fn body(&self) -> Value {
        let errors: Vec<Value> = self.errors.iter().map(ErrorDetail::to_json).collect();
        json!({"errors": errors})
    }
}

impl IntoResponse for EbayError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sell_api_errors_carry_the_selling_subdomain_and_parameters() {
        let error = ErrorDetail::request(SellApi::Inventory, 25002, "Offer entity already exists")
            .parameter("offerId", "5005317010");
        assert_eq!(
            error.to_json(),
            json!({
                "errorId": 25002,
                "domain": "API_INVENTORY",
                "subdomain": "Selling",
                "category": "REQUEST",
                "message": "Offer entity already exists",
                "parameters": [{"name": "offerId", "value": "5005317010"}],
            })
        );
    }

    #[test]
    fn a_bad_token_is_401_errorid_1001_in_the_oauth_domain() {
        let error = EbayError::invalid_access_token();
        assert_eq!(error.status, StatusCode::UNAUTHORIZED);
        let body = error.body();
        assert_eq!(body["errors"][0]["errorId"], 1001);
        assert_eq!(body["errors"][0]["domain"], "OAuth");
        assert_eq!(body["errors"][0]["message"], "Invalid access token");
        assert!(body["errors"][0].get("subdomain").is_none());
    }

    #[test]
    fn system_errors_are_per_api() {
        let inventory = EbayError::system_error(SellApi::Inventory);
        let fulfillment = EbayError::system_error(SellApi::Fulfillment);
        assert_eq!(inventory.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            (inventory.errors[0].error_id, fulfillment.errors[0].error_id),
            (25001, 30500)
        );
        assert_eq!(fulfillment.errors[0].category, "APPLICATION");
    }
}
