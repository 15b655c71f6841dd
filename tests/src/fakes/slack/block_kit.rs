//! Block Kit validation, strict enough to catch a connector that builds
//! blocks Slack would refuse.
//!
//! Errors read like Slack's own (`must be less than 3001 characters
//! [json-pointer:/blocks/0/text/text]`), one per problem found.
//!
//! Blocks that pass these checks are also validated against the Block Kit
//! schema subset (`tests/schemas/slack/block_kit.json`), and the text of
//! all blocks together must stay within [`MAX_TOTAL_TEXT`] characters:
//! Slack answers `invalid_blocks` for a message over about 12,000
//! characters of block text, a bound its reference does not state and
//! JSON Schema cannot express (text objects and alt texts are counted).

use std::collections::HashSet;

use std::sync::LazyLock;

use serde_json::{Map, Value, json};

use crate::fakes::spec::{Operation, SLACK_BLOCK_KIT};

const MAX_BLOCKS: usize = 50;
const MAX_BLOCK_ID: usize = 255;
const MAX_SECTION_TEXT: usize = 3000;
const MAX_SECTION_FIELDS: usize = 10;
const MAX_FIELD_TEXT: usize = 2000;
const MAX_HEADER_TEXT: usize = 150;
const MAX_CONTEXT_ELEMENTS: usize = 10;
const MAX_ACTIONS_ELEMENTS: usize = 25;
const MAX_IMAGE_URL: usize = 3000;
const MAX_ALT_TEXT: usize = 2000;
/// Most text in all blocks of one message.
pub const MAX_TOTAL_TEXT: usize = 12_000;

static MESSAGE_SPEC: LazyLock<Operation> =
    LazyLock::new(|| Operation::new(&SLACK_BLOCK_KIT, "message"));

/// Block types accepted without checking their contents: interactive and
/// rich blocks whose details no bundled connector produces.
const OPAQUE_BLOCK_TYPES: [&str; 5] = ["rich_text", "input", "file", "video", "markdown"];

/// Why a `blocks` value is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BlocksError {
    /// `blocks` is not an array (Slack: `invalid_blocks_format`).
    NotAnArray,
    /// The array breaks Block Kit rules (Slack: `invalid_blocks`).
    Invalid(Vec<String>),
}

/// Checks a message's `blocks` value.
pub(super) fn validate_blocks(blocks: &Value) -> Result<(), BlocksError> {
    let blocks = blocks.as_array().ok_or(BlocksError::NotAnArray)?;
    let mut check = Check::default();
    if blocks.len() > MAX_BLOCKS {
        check.fail(
            "/blocks",
            format_args!("must be less than {} items", MAX_BLOCKS + 1),
        );
    }
    for (index, block) in blocks.iter().enumerate() {
        check.block(block, &format!("/blocks/{index}"));
    }
    if check.errors.is_empty() {
        for violation in MESSAGE_SPEC.violations(&json!({ "blocks": blocks })) {
            check.fail(&violation.pointer, violation.message);
        }
    }
    let total: usize = blocks.iter().map(text_chars).sum();
    if total > MAX_TOTAL_TEXT {
        check.fail(
            "/blocks",
            format_args!(
                "must hold at most {MAX_TOTAL_TEXT} characters of text in all, not {total}"
            ),
        );
    }
    if check.errors.is_empty() {
        Ok(())
    } else {
        Err(BlocksError::Invalid(check.errors))
    }
}

/// Characters of text in `value`: its `text` and `alt_text` strings.
pub(super) fn text_chars(value: &Value) -> usize {
    match value {
        Value::Object(object) => object
            .iter()
            .map(|(key, value)| match value {
                Value::String(text) if key == "text" || key == "alt_text" => text.chars().count(),
                other => text_chars(other),
            })
            .sum(),
        Value::Array(values) => values.iter().map(text_chars).sum(),
        _ => 0,
    }
}

/// Which text object types a field accepts.
#[derive(Clone, Copy)]
enum TextKinds {
    PlainOnly,
    PlainOrMrkdwn,
}

#[derive(Default)]
struct Check {
    errors: Vec<String>,
    block_ids: HashSet<String>,
}

impl Check {
    fn fail(&mut self, pointer: &str, problem: impl std::fmt::Display) {
        self.errors
            .push(format!("{problem} [json-pointer:{pointer}]"));
    }

    fn block(&mut self, block: &Value, at: &str) {
        let Some(block) = block.as_object() else {
            self.fail(at, "must be an object");
            return;
        };
        self.block_id(block, at);
        match block.get("type").and_then(Value::as_str) {
            Some("section") => self.section(block, at),
            Some("header") => {
                let text_at = format!("{at}/text");
                self.text_object(
                    block.get("text"),
                    &text_at,
                    MAX_HEADER_TEXT,
                    TextKinds::PlainOnly,
                );
            }
            Some("divider") => {}
            Some("context") => self.context(block, at),
            Some("actions") => self.actions(block, at),
            Some("image") => self.image(block, at),
            Some(kind) if OPAQUE_BLOCK_TYPES.contains(&kind) => {}
            Some(kind) => self.fail(
                &format!("{at}/type"),
                format_args!("unsupported type: {kind}"),
            ),
            None => self.fail(at, "missing required field: type"),
        }
    }

    fn block_id(&mut self, block: &Map<String, Value>, at: &str) {
        let Some(id) = block.get("block_id") else {
            return;
        };
        let at = format!("{at}/block_id");
        match id.as_str() {
            None => self.fail(&at, "must be a string"),
            Some(id) if id.chars().count() > MAX_BLOCK_ID => self.fail(
                &at,
                format_args!("must be less than {} characters", MAX_BLOCK_ID + 1),
            ),
            Some(id) if !self.block_ids.insert(id.to_owned()) => {
                self.fail(&at, "duplicate block_id")
            }
            Some(_) => {}
        }
    }

    fn section(&mut self, block: &Map<String, Value>, at: &str) {
        let text = block.get("text");
        let fields = block.get("fields");
        if text.is_none() && fields.is_none() {
            self.fail(at, "must provide either text or fields");
        }
        if text.is_some() {
            self.text_object(
                text,
                &format!("{at}/text"),
                MAX_SECTION_TEXT,
                TextKinds::PlainOrMrkdwn,
            );
        }
        if let Some(fields) = fields {
            let at = format!("{at}/fields");
            self.items(fields, &at, MAX_SECTION_FIELDS, |check, field, field_at| {
                check.text_object(
                    Some(field),
                    field_at,
                    MAX_FIELD_TEXT,
                    TextKinds::PlainOrMrkdwn,
                );
            });
        }
    }

    fn context(&mut self, block: &Map<String, Value>, at: &str) {
        let at = format!("{at}/elements");
        let Some(elements) = block.get("elements") else {
            self.fail(&at, "missing required field: elements");
            return;
        };
        self.items(
            elements,
            &at,
            MAX_CONTEXT_ELEMENTS,
            |check, element, element_at| match element.as_object() {
                Some(image) if image.get("type").and_then(Value::as_str) == Some("image") => {
                    check.image_source(image, element_at);
                }
                _ => check.text_object(
                    Some(element),
                    element_at,
                    MAX_SECTION_TEXT,
                    TextKinds::PlainOrMrkdwn,
                ),
            },
        );
    }

    fn actions(&mut self, block: &Map<String, Value>, at: &str) {
        let at = format!("{at}/elements");
        let Some(elements) = block.get("elements") else {
            self.fail(&at, "missing required field: elements");
            return;
        };
        self.items(
            elements,
            &at,
            MAX_ACTIONS_ELEMENTS,
            |check, element, element_at| {
                if element.get("type").and_then(Value::as_str).is_none() {
                    check.fail(element_at, "missing required field: type");
                }
            },
        );
    }

    fn image(&mut self, block: &Map<String, Value>, at: &str) {
        self.image_source(block, at);
        if block.contains_key("title") {
            self.text_object(
                block.get("title"),
                &format!("{at}/title"),
                MAX_ALT_TEXT,
                TextKinds::PlainOnly,
            );
        }
    }

    /// An image block or image element: a URL and its alt text.
    fn image_source(&mut self, image: &Map<String, Value>, at: &str) {
        self.bounded_string(
            image.get("image_url"),
            &format!("{at}/image_url"),
            MAX_IMAGE_URL,
        );
        self.bounded_string(
            image.get("alt_text"),
            &format!("{at}/alt_text"),
            MAX_ALT_TEXT,
        );
    }

    /// An array of 1 to `max` items, each checked by `item`.
    fn items(
        &mut self,
        value: &Value,
        at: &str,
        max: usize,
        item: impl Fn(&mut Self, &Value, &str),
    ) {
        let Some(items) = value.as_array() else {
            self.fail(at, "must be an array");
            return;
        };
        if items.is_empty() {
            self.fail(at, "must provide at least 1 item");
        } else if items.len() > max {
            self.fail(at, format_args!("must be less than {} items", max + 1));
        }
        for (index, value) in items.iter().enumerate() {
            item(self, value, &format!("{at}/{index}"));
        }
    }

    /// A text object: `{"type": "plain_text" | "mrkdwn", "text": "..."}`.
    fn text_object(&mut self, value: Option<&Value>, at: &str, max: usize, kinds: TextKinds) {
        let Some(object) = value else {
            self.fail(at, "missing required field: text");
            return;
        };
        let kind = object.get("type").and_then(Value::as_str);
        let kind_allowed = match kinds {
            TextKinds::PlainOnly => kind == Some("plain_text"),
            TextKinds::PlainOrMrkdwn => matches!(kind, Some("plain_text" | "mrkdwn")),
        };
        if !kind_allowed {
            self.fail(&format!("{at}/type"), "must be a valid enum value");
        }
        self.bounded_string(object.get("text"), &format!("{at}/text"), max);
    }

    /// A required, non-empty string of at most `max` characters.
    fn bounded_string(&mut self, value: Option<&Value>, at: &str, max: usize) {
        match value.map(Value::as_str) {
            None => self.fail(at, "missing required field"),
            Some(None) => self.fail(at, "must be a string"),
            Some(Some("")) => self.fail(at, "must be more than 0 characters"),
            Some(Some(text)) if text.chars().count() > max => {
                self.fail(at, format_args!("must be less than {} characters", max + 1))
            }
            Some(Some(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(blocks: Value) -> Vec<String> {
        match validate_blocks(&blocks) {
            Ok(()) => Vec::new(),
            Err(BlocksError::Invalid(errors)) => errors,
            Err(BlocksError::NotAnArray) => vec!["not an array".to_owned()],
        }
    }

    fn section(text: &str) -> Value {
        json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    }

    #[test]
    fn a_typical_order_message_is_valid() {
        let blocks = json!([
            {"type": "header", "text": {"type": "plain_text", "text": "New order #1001"}},
            {"type": "section", "block_id": "summary", "text": {"type": "mrkdwn", "text": "*Total:* $19.99"},
             "fields": [{"type": "mrkdwn", "text": "*SKU*\nS1"}, {"type": "plain_text", "text": "2 items"}]},
            {"type": "divider"},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "via Sluice"},
                                             {"type": "image", "image_url": "https://x/y.png", "alt_text": "logo"}]},
            {"type": "image", "image_url": "https://x/p.png", "alt_text": "product"},
            {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open"}}]}
        ]);
        assert_eq!(errors(blocks), Vec::<String>::new());
    }

    #[test]
    fn blocks_must_be_an_array() {
        assert_eq!(
            validate_blocks(&json!({"type": "divider"})),
            Err(BlocksError::NotAnArray)
        );
    }

    #[test]
    fn more_than_fifty_blocks_are_refused() {
        let blocks = Value::Array(vec![json!({"type": "divider"}); 51]);
        assert_eq!(
            errors(blocks),
            ["must be less than 51 items [json-pointer:/blocks]"]
        );
        assert!(errors(Value::Array(vec![json!({"type": "divider"}); 50])).is_empty());
    }

    #[test]
    fn section_text_is_limited_to_3000_characters() {
        assert!(errors(json!([section(&"é".repeat(3000))])).is_empty());
        assert_eq!(
            errors(json!([section(&"é".repeat(3001))])),
            ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]
        );
    }

    #[test]
    fn a_section_needs_text_or_fields_and_at_most_ten_fields() {
        assert_eq!(
            errors(json!([{"type": "section"}])),
            ["must provide either text or fields [json-pointer:/blocks/0]"]
        );
        let field = json!({"type": "mrkdwn", "text": "f"});
        let fields = Value::Array(vec![field; 11]);
        assert_eq!(
            errors(json!([{"type": "section", "fields": fields}])),
            ["must be less than 11 items [json-pointer:/blocks/0/fields]"]
        );
    }

    #[test]
    fn headers_are_plain_text_of_at_most_150_characters() {
        let long = "h".repeat(151);
        assert_eq!(
            errors(json!([{"type": "header", "text": {"type": "plain_text", "text": long}}])),
            ["must be less than 151 characters [json-pointer:/blocks/0/text/text]"]
        );
        assert_eq!(
            errors(json!([{"type": "header", "text": {"type": "mrkdwn", "text": "*x*"}}])),
            ["must be a valid enum value [json-pointer:/blocks/0/text/type]"]
        );
    }

    #[test]
    fn empty_text_missing_type_and_unknown_types_are_refused() {
        assert_eq!(
            errors(json!([section(""), {"text": "x"}, {"type": "carousel"}])),
            [
                "must be more than 0 characters [json-pointer:/blocks/0/text/text]",
                "missing required field: type [json-pointer:/blocks/1]",
                "unsupported type: carousel [json-pointer:/blocks/2/type]",
            ]
        );
    }

    #[test]
    fn block_ids_must_be_unique() {
        let block = json!({"type": "divider", "block_id": "same"});
        assert_eq!(
            errors(json!([block.clone(), block])),
            ["duplicate block_id [json-pointer:/blocks/1/block_id]"]
        );
    }

    #[test]
    fn images_need_url_and_alt_text() {
        assert_eq!(
            errors(json!([{"type": "image", "image_url": "https://x/p.png"}])),
            ["missing required field [json-pointer:/blocks/0/alt_text]"]
        );
    }
}
