//! Reading a request body the way eBay's deserializer does: a body that is
//! not JSON, or a field of the wrong type or outside its enum, is 400
//! errorId 2004 `Invalid request` with the reason
//! `Could not serialize field [<field>]`, before any business rule runs.

use serde_json::{Map, Value};

use super::api_error::EbayError;

/// The 2004 answer for `path` (`product.title`).
pub(super) fn serialize_error(path: &str) -> EbayError {
    EbayError::invalid_request(format!("Could not serialize field [{path}]"))
}

/// The body as a JSON object.
pub(super) fn body_object(body: &[u8]) -> Result<Map<String, Value>, EbayError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(EbayError::invalid_request(
            "Could not read the request body as a JSON object",
        )),
    }
}

/// `prefix.name`, or `name` at the top level.
pub(super) fn path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A field of an object, read with its full path for error messages.
pub(super) struct Fields<'a> {
    object: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> Fields<'a> {
    /// The fields of `object`, found at `prefix` (`""` for the body).
    pub(super) fn new(object: &'a Map<String, Value>, prefix: &str) -> Self {
        Self {
            object,
            prefix: prefix.to_owned(),
        }
    }

    /// Where this object is in the body (`pricingSummary.price`).
    pub(super) fn location(&self) -> &str {
        &self.prefix
    }

    /// The full path of field `name`.
    pub(super) fn path(&self, name: &str) -> String {
        path(&self.prefix, name)
    }

    fn present(&self, name: &str) -> Option<&'a Value> {
        self.object.get(name).filter(|value| !value.is_null())
    }

    /// An object field.
    pub(super) fn object(&self, name: &str) -> Result<Option<Fields<'a>>, EbayError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::Object(object)) => Ok(Some(Fields::new(object, &self.path(name)))),
            Some(_) => Err(serialize_error(&self.path(name))),
        }
    }

    /// A string field.
    pub(super) fn string(&self, name: &str) -> Result<Option<&'a str>, EbayError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(serialize_error(&self.path(name))),
        }
    }

    /// A string field whose value must be one of `allowed`.
    pub(super) fn enumeration(
        &self,
        name: &str,
        allowed: &[&str],
    ) -> Result<Option<&'a str>, EbayError> {
        match self.string(name)? {
            Some(value) if !allowed.contains(&value) => Err(serialize_error(&self.path(name))),
            value => Ok(value),
        }
    }

    /// An integer field (of any sign: business rules check the range).
    pub(super) fn integer(&self, name: &str) -> Result<Option<i64>, EbayError> {
        match self.present(name) {
            None => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or_else(|| serialize_error(&self.path(name))),
        }
    }

    /// An array-of-strings field.
    pub(super) fn strings(&self, name: &str) -> Result<Vec<&'a str>, EbayError> {
        match self.present(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(Value::as_str)
                .collect::<Option<_>>()
                .ok_or_else(|| serialize_error(&self.path(name))),
            Some(_) => Err(serialize_error(&self.path(name))),
        }
    }

    /// Checks that every field is an array of strings (`aspects`).
    pub(super) fn check_string_arrays(&self) -> Result<(), EbayError> {
        for name in self.object.keys() {
            self.strings(name)?;
        }
        Ok(())
    }

    /// An array-of-objects field.
    pub(super) fn objects(&self, name: &str) -> Result<Vec<Fields<'a>>, EbayError> {
        match self.present(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(index, item)| match item {
                    Value::Object(object) => Ok(Fields::new(
                        object,
                        &format!("{}[{index}]", self.path(name)),
                    )),
                    _ => Err(serialize_error(&self.path(name))),
                })
                .collect(),
            Some(_) => Err(serialize_error(&self.path(name))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reason(error: EbayError) -> String {
        error.errors[0].parameters[0].1.clone()
    }

    #[test]
    fn fields_of_the_right_type_are_read_and_absent_ones_are_none() {
        let body = json!({"product": {"title": "Mug", "imageUrls": ["https://x/1.jpg"]}, "n": 3, "gone": null});
        let fields = Fields::new(body.as_object().unwrap(), "");
        let product = fields.object("product").unwrap().unwrap();
        assert_eq!(product.string("title").unwrap(), Some("Mug"));
        assert_eq!(product.strings("imageUrls").unwrap(), ["https://x/1.jpg"]);
        assert_eq!(fields.integer("n").unwrap(), Some(3));
        assert_eq!(fields.string("gone").unwrap(), None);
        assert_eq!(fields.object("missing").unwrap().map(|_| ()), None);
    }

    #[test]
    fn wrong_types_and_enum_values_name_the_field() {
        let body = json!({"condition": "BRAND_NEW", "product": {"title": 5}, "requests": [1]});
        let fields = Fields::new(body.as_object().unwrap(), "");
        let product = fields.object("product").unwrap().unwrap();
        assert_eq!(
            reason(product.string("title").unwrap_err()),
            "Could not serialize field [product.title]"
        );
        assert_eq!(
            reason(fields.enumeration("condition", &["NEW"]).unwrap_err()),
            "Could not serialize field [condition]"
        );
        assert_eq!(
            reason(fields.objects("requests").map(|_| ()).unwrap_err()),
            "Could not serialize field [requests]"
        );
        assert_eq!(body_object(b"[]").unwrap_err().errors[0].error_id, 2004);
    }
}
