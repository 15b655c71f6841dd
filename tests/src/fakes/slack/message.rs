//! The content of a message, as both the webhook and `chat.postMessage` take
//! it: `text` and/or Block Kit `blocks`.

use serde_json::{Map, Value};

use super::block_kit::{BlocksError, validate_blocks};

/// A message's checked content.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct MessageContent {
    pub(super) text: Option<String>,
    pub(super) blocks: Vec<Value>,
}

/// Why the content cannot be posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ContentError {
    /// `text` is present but not a string.
    TextNotAString,
    /// `blocks` is malformed or breaks Block Kit rules.
    Blocks(BlocksError),
    /// Neither non-empty `text` nor any block.
    NoText,
}

impl MessageContent {
    /// Reads `text` and `blocks` from a message payload.
    pub(super) fn from_fields(fields: &Map<String, Value>) -> Result<Self, ContentError> {
        let text = match fields.get("text") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(_) => return Err(ContentError::TextNotAString),
        };
        let blocks = match fields.get("blocks") {
            None | Some(Value::Null) => Vec::new(),
            Some(blocks) => {
                validate_blocks(blocks).map_err(ContentError::Blocks)?;
                blocks.as_array().cloned().unwrap_or_default()
            }
        };
        if text.as_deref().is_none_or(str::is_empty) && blocks.is_empty() {
            return Err(ContentError::NoText);
        }
        Ok(Self { text, blocks })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn content(payload: Value) -> Result<MessageContent, ContentError> {
        MessageContent::from_fields(payload.as_object().unwrap())
    }

    #[test]
    fn text_alone_or_blocks_alone_is_enough() {
        assert_eq!(
            content(json!({"text": "hi"})),
            Ok(MessageContent {
                text: Some("hi".into()),
                blocks: vec![]
            })
        );
        let divider = json!({"type": "divider"});
        assert_eq!(
            content(json!({"blocks": [divider.clone()]})),
            Ok(MessageContent {
                text: None,
                blocks: vec![divider]
            })
        );
    }

    #[test]
    fn empty_text_and_no_blocks_is_no_text() {
        assert_eq!(content(json!({})), Err(ContentError::NoText));
        assert_eq!(
            content(json!({"text": "", "blocks": []})),
            Err(ContentError::NoText)
        );
    }

    #[test]
    fn malformed_fields_are_named() {
        assert_eq!(
            content(json!({"text": 5})),
            Err(ContentError::TextNotAString)
        );
        assert_eq!(
            content(json!({"text": "x", "blocks": "[]"})),
            Err(ContentError::Blocks(BlocksError::NotAnArray))
        );
    }
}
