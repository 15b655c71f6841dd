//! Submitted form fields, kept in order (a form may repeat a name), and the
//! errors a form shows beside its fields.

use std::sync::Arc;

use axum::extract::{Form, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::Response;
use sluice_api::{AppState, Problem};

use crate::layout;

/// The fields of an `application/x-www-form-urlencoded` body.
#[derive(Debug, Clone, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The value of `name`, trimmed; empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().trim().to_owned()
    }

    /// Whether the checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every field, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl FromRequest<Arc<AppState>> for Fields {
    type Rejection = Response;

    async fn from_request(
        request: Request,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        match Form::<Vec<(String, String)>>::from_request(request, state).await {
            Ok(Form(fields)) => Ok(Fields(fields)),
            Err(rejection) => Err(layout::error_page(
                StatusCode::BAD_REQUEST,
                "The form could not be read",
                &rejection.body_text(),
            )),
        }
    }
}

/// Splits a list typed as text (`order.*, product.updated`) into its items.
pub fn list(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n', '\r', '\t'])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// What went wrong with a submitted form: a summary and, per field, a message.
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    /// The summary shown above the form.
    pub summary: Option<String>,
    /// `(field, message)`; fields as the API names them (`url`,
    /// `event_types[1]`, `settings.channel`).
    pub fields: Vec<(String, String)>,
}

impl FormErrors {
    /// The errors of an API problem.
    pub fn from_problem(problem: &Problem) -> Self {
        Self {
            summary: Some(problem.detail.clone()),
            fields: problem
                .errors
                .iter()
                .map(|e| (e.field.clone(), e.message.clone()))
                .collect(),
        }
    }

    /// The message for the input named `field` (or any of its items, such
    /// as `event_types[0]` for `event_types`).
    pub fn for_field(&self, field: &str) -> Option<String> {
        let messages: Vec<&str> = self
            .fields
            .iter()
            .filter(|(name, _)| {
                name == field
                    || name
                        .strip_prefix(field)
                        .is_some_and(|rest| rest.starts_with('['))
            })
            .map(|(_, message)| message.as_str())
            .collect();
        (!messages.is_empty()).then(|| messages.join("; "))
    }

    /// Whether there is anything to show.
    pub fn is_empty(&self) -> bool {
        self.summary.is_none() && self.fields.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_lists_split_on_commas_and_spaces() {
        assert_eq!(
            list(" order.*, product.updated\n*"),
            ["order.*", "product.updated", "*"]
        );
        assert!(list(" , ").is_empty());
    }

    #[test]
    fn field_errors_match_their_input_and_its_items() {
        let errors = FormErrors {
            summary: None,
            fields: vec![
                ("event_types[1]".into(), "not a pattern".into()),
                ("event_typesx".into(), "other".into()),
                ("url".into(), "bad".into()),
            ],
        };
        assert_eq!(
            errors.for_field("event_types").as_deref(),
            Some("not a pattern")
        );
        assert_eq!(errors.for_field("url").as_deref(), Some("bad"));
        assert_eq!(errors.for_field("name"), None);
    }
}
