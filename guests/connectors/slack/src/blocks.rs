//! Block Kit messages within Slack's limits.
//!
//! Slack refuses a message that breaks a limit (`invalid_blocks`), so every
//! block is cut to fit as it is added: at most [`MAX_BLOCKS`] blocks, header
//! text of [`MAX_HEADER_CHARS`], section text of [`MAX_SECTION_CHARS`], at
//! most [`MAX_FIELDS`] fields of [`MAX_FIELD_CHARS`] each, image URLs of at
//! most [`MAX_IMAGE_URL_CHARS`] (a longer one is left out, with the text
//! kept).
//!
//! Slack also refuses a message whose blocks hold too much text in all
//! (about 12,000 characters; the Block Kit reference states no figure), so
//! the text of all blocks together is kept within [`MAX_TOTAL_TEXT_CHARS`]:
//! a block that would pass it is cut to what is left, or left out when
//! almost nothing is. [`CONTEXT_RESERVE_CHARS`] of it are kept for the
//! context line that ends every message.

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
/// Longest `image_url` of an image element.
pub const MAX_IMAGE_URL_CHARS: usize = 3000;
/// Most text (text objects and alt texts) in all blocks of one message.
pub const MAX_TOTAL_TEXT_CHARS: usize = 12_000;
/// Part of [`MAX_TOTAL_TEXT_CHARS`] only context blocks may use.
pub const CONTEXT_RESERVE_CHARS: usize = 1_000;
/// A block is left out rather than cut below this many characters.
const MIN_BLOCK_CHARS: usize = 20;

/// A message being built: the notification text and its blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    text: String,
    blocks: Vec<Value>,
    /// Characters of text in `blocks`.
    text_chars: usize,
}

impl Message {
    /// A message whose notification (and fallback) text is `text`, plain.
    pub fn new(text: &str) -> Self {
        Self {
            text: truncate(&escape(text), MAX_SECTION_CHARS),
            blocks: Vec::new(),
            text_chars: 0,
        }
    }

    /// Adds a header block with plain `text`.
    pub fn header(self, text: &str) -> Self {
        self.push_body(json!({
            "type": "header",
            "text": { "type": "plain_text", "text": truncate(text, MAX_HEADER_CHARS), "emoji": true },
        }))
    }

    /// Adds a section block with `mrkdwn` text, already escaped where needed.
    pub fn section(self, mrkdwn: &str) -> Self {
        self.push_body(json!({ "type": "section", "text": mrkdwn_text(mrkdwn, MAX_SECTION_CHARS) }))
    }

    /// Adds a section block with `mrkdwn` text and an image beside it; the
    /// section alone when the image URL is longer than Slack takes.
    pub fn section_with_image(self, mrkdwn: &str, image_url: &str, alt_text: &str) -> Self {
        if image_url.chars().count() > MAX_IMAGE_URL_CHARS {
            return self.section(mrkdwn);
        }
        self.push_body(json!({
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
        self.push_body(json!({ "type": "section", "fields": fields }))
    }

    /// Adds a context block (small grey text) of `mrkdwn` elements.
    pub fn context(self, elements: &[String]) -> Self {
        let elements: Vec<Value> = elements
            .iter()
            .take(MAX_CONTEXT_ELEMENTS)
            .map(|element| mrkdwn_text(element, MAX_SECTION_CHARS))
            .collect();
        self.push(
            json!({ "type": "context", "elements": elements }),
            MAX_TOTAL_TEXT_CHARS,
        )
    }

    /// The message as Slack takes it: `{"text": ..., "blocks": [...]}`.
    pub fn to_json(&self) -> Value {
        json!({ "text": self.text, "blocks": self.blocks })
    }

    /// Adds a block other than the closing context.
    fn push_body(self, block: Value) -> Self {
        self.push(block, MAX_TOTAL_TEXT_CHARS - CONTEXT_RESERVE_CHARS)
    }

    /// Adds `block` when there is room, cut so that the message's text
    /// stays within `limit` characters.
    fn push(mut self, mut block: Value, limit: usize) -> Self {
        let budget = limit.saturating_sub(self.text_chars);
        if self.blocks.len() >= MAX_BLOCKS || budget < MIN_BLOCK_CHARS {
            return self;
        }
        let used = fit(&mut block, budget);
        if used > 0 {
            self.text_chars += used;
            self.blocks.push(block);
        }
        self
    }
}

/// Characters of text in `value`: its `text` and `alt_text` strings.
pub fn text_chars(value: &Value) -> usize {
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

/// Cuts the texts of `value` in order so that they hold at most `budget`
/// characters, dropping array entries (fields, elements) left without
/// text; returns the characters kept.
fn fit(value: &mut Value, budget: usize) -> usize {
    match value {
        Value::Object(object) => {
            let mut used = 0;
            for (key, value) in object.iter_mut() {
                let left = budget - used;
                used += match value {
                    Value::String(text) if key == "text" || key == "alt_text" => {
                        if text.chars().count() > left {
                            *text = if left == 0 {
                                String::new()
                            } else {
                                truncate(text, left)
                            };
                        }
                        text.chars().count()
                    }
                    other => fit(other, left),
                };
            }
            used
        }
        Value::Array(values) => {
            let mut used = 0;
            values.retain_mut(|value| {
                let had_text = text_chars(value) > 0;
                let kept = fit(value, budget - used);
                used += kept;
                !had_text || kept > 0
            });
            used
        }
        _ => 0,
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
    fn long_image_urls_leave_the_image_out() {
        let long = format!("https://cdn.example.com/{}", "a".repeat(3000));
        let message = Message::new("t").section_with_image("text", &long, "alt");
        assert_eq!(
            blocks(&message)[0],
            json!({"type": "section", "text": {"type": "mrkdwn", "text": "text"}})
        );
        let short =
            Message::new("t").section_with_image("text", "https://cdn.example.com/a.jpg", "alt");
        assert_eq!(
            blocks(&short)[0]["accessory"]["image_url"],
            "https://cdn.example.com/a.jpg"
        );
    }

    #[test]
    fn the_text_of_all_blocks_stays_within_the_total() {
        let fields: Vec<(String, String)> = (0..10)
            .map(|i| (format!("k{i}"), "v".repeat(1990)))
            .collect();
        let message = (0..5)
            .fold(Message::new("t").header("h"), |message, _| {
                message.fields(&fields)
            })
            .context(&["Store `s`".to_owned(), "Event `e`".to_owned()]);
        let total: usize = blocks(&message).iter().map(text_chars).sum();
        assert!(total <= MAX_TOTAL_TEXT_CHARS, "{total}");
        let last = blocks(&message).last().unwrap().clone();
        assert_eq!(last["type"], "context");
        assert_eq!(last["elements"][0]["text"], "Store `s`");
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
