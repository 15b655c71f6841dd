//! Block Kit messages within Slack's limits.
//!
//! Slack refuses a message that breaks a limit (`invalid_blocks`), so every
//! block is cut to fit as it is added: at most [`MAX_BLOCKS`] blocks, header
//! text of [`MAX_HEADER_CHARS`], section text of [`MAX_SECTION_CHARS`], at
//! most [`MAX_FIELDS`] fields of [`MAX_FIELD_CHARS`] each.

use serde_json::{Value, json};

/// Most blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// Longest header text (plain_text), in characters.
pub const MAX_HEADER_CHARS: usize = 150;
/// Longest section or context text, in characters.
pub const MAX_SECTION_CHARS: usize = 3000;
/// Most fields in one section.
pub const MAX_FIELDS: usize = 10;
/// Longest field text, in characters.
pub const MAX_FIELD_CHARS: usize = 2000;
/// Most elements in one context block.
pub const MAX_CONTEXT_ELEMENTS: usize = 10;

/// A message being built: the notification text and its blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    text: String,
    blocks: Vec<Value>,
}

impl Message {
    /// A message whose notification (and fallback) text is `text`, plain.
    pub fn new(text: &str) -> Self {
        Self {
            text: truncate(&escape(text), MAX_SECTION_CHARS),
            blocks: Vec::new(),
        }
    }

    /// Adds a header block with plain `text`.
    pub fn header(self, text: &str) -> Self {
        self.push(json!({
            "type": "header",
            "text": { "type": "plain_text", "text": truncate(text, MAX_HEADER_CHARS), "emoji": true },
        }))
    }

    /// Adds a section block with `mrkdwn` text, already escaped where needed.
    pub fn section(self, mrkdwn: &str) -> Self {
        self.push(json!({ "type": "section", "text": mrkdwn_text(mrkdwn, MAX_SECTION_CHARS) }))
    }

    /// Adds a section block with `mrkdwn` text and an image beside it.
    pub fn section_with_image(self, mrkdwn: &str, image_url: &str, alt_text: &str) -> Self {
        self.push(json!({
            "type": "section",
            "text": mrkdwn_text(mrkdwn, MAX_SECTION_CHARS),
            "accessory": { "type": "image", "image_url": image_url, "alt_text": truncate(alt_text, MAX_FIELD_CHARS) },
        }))
    }

    /// Adds a section of `(label, value)` fields, both plain text, shown
    /// as a bold label above its value; nothing when `fields` is empty.
    pub fn fields(self, fields: &[(String, String)]) -> Self {
        if fields.is_empty() {
            return self;
        }
        let fields: Vec<Value> = fields
            .iter()
            .take(MAX_FIELDS)
            .map(|(label, value)| {
                mrkdwn_text(
                    &format!("*{}*\n{}", escape(label), escape(value)),
                    MAX_FIELD_CHARS,
                )
            })
            .collect();
        self.push(json!({ "type": "section", "fields": fields }))
    }

    /// Adds a context block (small grey text) of `mrkdwn` elements.
    pub fn context(self, elements: &[String]) -> Self {
        let elements: Vec<Value> = elements
            .iter()
            .take(MAX_CONTEXT_ELEMENTS)
            .map(|element| mrkdwn_text(element, MAX_SECTION_CHARS))
            .collect();
        self.push(json!({ "type": "context", "elements": elements }))
    }

    /// The message as Slack takes it: `{"text": ..., "blocks": [...]}`.
    pub fn to_json(&self) -> Value {
        json!({ "text": self.text, "blocks": self.blocks })
    }

    fn push(mut self, block: Value) -> Self {
        if self.blocks.len() < MAX_BLOCKS {
            self.blocks.push(block);
        }
        self
    }
}

/// Escapes the three characters Slack's mrkdwn gives a meaning to.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn mrkdwn_text(text: &str, max_chars: usize) -> Value {
    json!({ "type": "mrkdwn", "text": truncate(text, max_chars) })
}

/// Cuts `text` to `max_chars` characters, ending with `…` when cut, and
/// never in the middle of an `&amp;`-style entity.
pub fn truncate(text: &str, max_chars: usize) -> String {
    let Some((cut, _)) = text.char_indices().nth(max_chars) else {
        return text.to_owned();
    };
    // Room for the ellipsis: keep max_chars - 1 characters.
    let mut kept = &text[..text[..cut].char_indices().last().map_or(0, |(i, _)| i)];
    if let Some(amp) = kept.rfind('&')
        && !kept[amp..].contains(';')
    {
        kept = &kept[..amp];
    }
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(message: &Message) -> Vec<Value> {
        message.to_json()["blocks"].as_array().unwrap().clone()
    }

    #[test]
    fn headers_are_cut_to_150_characters() {
        let message = Message::new("t").header(&"h".repeat(400));
        let text = blocks(&message)[0]["text"]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(text.chars().count(), MAX_HEADER_CHARS);
        assert!(text.ends_with('…'));
    }

    #[test]
    fn sections_are_cut_to_3000_characters() {
        let message = Message::new("t").section(&"é".repeat(5000));
        let text = blocks(&message)[0]["text"]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(text.chars().count(), MAX_SECTION_CHARS);
    }

    #[test]
    fn at_most_ten_fields_are_kept() {
        let fields: Vec<(String, String)> = (0..15)
            .map(|i| (format!("k{i}"), format!("v{i}")))
            .collect();
        let message = Message::new("t").fields(&fields);
        assert_eq!(
            blocks(&message)[0]["fields"].as_array().unwrap().len(),
            MAX_FIELDS
        );
    }

    #[test]
    fn no_fields_add_no_block() {
        assert!(blocks(&Message::new("t").fields(&[])).is_empty());
    }

    #[test]
    fn at_most_fifty_blocks_are_kept() {
        let message = (0..60).fold(Message::new("t"), |m, i| m.section(&i.to_string()));
        assert_eq!(blocks(&message).len(), MAX_BLOCKS);
    }

    #[test]
    fn field_values_are_escaped_and_labels_bold() {
        let message = Message::new("t").fields(&[("A&B".into(), "<script>".into())]);
        assert_eq!(
            blocks(&message)[0]["fields"][0]["text"],
            "*A&amp;B*\n&lt;script&gt;"
        );
    }

    #[test]
    fn truncation_never_splits_an_entity() {
        let text = format!("{}&amp;tail", "a".repeat(8));
        assert_eq!(truncate(&text, 12), format!("{}…", "a".repeat(8)));
    }

    #[test]
    fn short_text_is_kept_whole() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly10!", 10), "exactly10!");
    }

    #[test]
    fn the_fallback_text_is_escaped() {
        assert_eq!(Message::new("a < b").to_json()["text"], "a &lt; b");
    }
}
