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
//!
//! Blocks are typed and serialised straight to the request body: a message
//! is built once per delivery, and building it as a `serde_json::Value`
//! tree (a map and a key string per object) cost most of the connector's
//! time in the sandbox.

use serde::Serialize;

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

/// A message being built: the notification text and its blocks. Serialises
/// as Slack takes it: `{"text": ..., "blocks": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    text: String,
    blocks: Vec<Block>,
    /// Characters of text in `blocks`.
    #[serde(skip)]
    text_chars: usize,
}

/// A message with the channel `chat.postMessage` posts it to.
#[derive(Serialize)]
pub struct ChannelMessage<'a> {
    channel: &'a str,
    #[serde(flatten)]
    message: &'a Message,
}

/// The blocks the layouts use.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Header {
        text: TextObject,
    },
    Section {
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<TextObject>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        fields: Vec<TextObject>,
        #[serde(skip_serializing_if = "Option::is_none")]
        accessory: Option<Accessory>,
    },
    Context {
        elements: Vec<TextObject>,
    },
}

/// A text object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum TextObject {
    PlainText { text: String, emoji: bool },
    Mrkdwn { text: String },
}

/// An element beside a section's text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Accessory {
    Image { image_url: String, alt_text: String },
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
        self.push_body(Block::Header {
            text: TextObject::PlainText {
                text: truncate(text, MAX_HEADER_CHARS),
                emoji: true,
            },
        })
    }

    /// Adds a section block with `mrkdwn` text, already escaped where needed.
    pub fn section(self, mrkdwn: &str) -> Self {
        self.push_body(Block::Section {
            text: Some(mrkdwn_text(mrkdwn, MAX_SECTION_CHARS)),
            fields: Vec::new(),
            accessory: None,
        })
    }

    /// Adds a section block with `mrkdwn` text and an image beside it; the
    /// section alone when the image URL is longer than Slack takes.
    pub fn section_with_image(self, mrkdwn: &str, image_url: &str, alt_text: &str) -> Self {
        if image_url.chars().count() > MAX_IMAGE_URL_CHARS {
            return self.section(mrkdwn);
        }
        self.push_body(Block::Section {
            text: Some(mrkdwn_text(mrkdwn, MAX_SECTION_CHARS)),
            fields: Vec::new(),
            accessory: Some(Accessory::Image {
                image_url: image_url.to_owned(),
                alt_text: truncate(alt_text, MAX_FIELD_CHARS),
            }),
        })
    }

    /// Adds a section of `(label, value)` fields, both plain text, shown
    /// as a bold label above its value; nothing when `fields` is empty.
    pub fn fields(self, fields: &[(String, String)]) -> Self {
        if fields.is_empty() {
            return self;
        }
        let fields = fields
            .iter()
            .take(MAX_FIELDS)
            .map(|(label, value)| {
                mrkdwn_text(
                    &format!("*{}*\n{}", escape(label), escape(value)),
                    MAX_FIELD_CHARS,
                )
            })
            .collect();
        self.push_body(Block::Section {
            text: None,
            fields,
            accessory: None,
        })
    }

    /// Adds a context block (small grey text) of `mrkdwn` elements.
    pub fn context(self, elements: &[String]) -> Self {
        let elements = elements
            .iter()
            .take(MAX_CONTEXT_ELEMENTS)
            .map(|element| mrkdwn_text(element, MAX_SECTION_CHARS))
            .collect();
        self.push(Block::Context { elements }, MAX_TOTAL_TEXT_CHARS)
    }

    /// The message as `chat.postMessage` takes it, posted to `channel`.
    pub fn to_channel<'a>(&'a self, channel: &'a str) -> ChannelMessage<'a> {
        ChannelMessage {
            channel,
            message: self,
        }
    }

    /// Adds a block other than the closing context.
    fn push_body(self, block: Block) -> Self {
        self.push(block, MAX_TOTAL_TEXT_CHARS - CONTEXT_RESERVE_CHARS)
    }

    /// Adds `block` when there is room, cut so that the message's text
    /// stays within `limit` characters.
    fn push(mut self, mut block: Block, limit: usize) -> Self {
        let budget = limit.saturating_sub(self.text_chars);
        if self.blocks.len() >= MAX_BLOCKS || budget < MIN_BLOCK_CHARS {
            return self;
        }
        let used = block.fit(budget);
        if used > 0 {
            self.text_chars += used;
            self.blocks.push(block);
        }
        self
    }
}

impl Block {
    /// Cuts the block's texts in reading order so that they hold at most
    /// `budget` characters, leaving out the fields, elements and image left
    /// without text; returns the characters kept.
    fn fit(&mut self, budget: usize) -> usize {
        match self {
            Self::Header { text } => text.fit(budget),
            Self::Section {
                text,
                fields,
                accessory,
            } => {
                let mut used = text.as_mut().map_or(0, |text| text.fit(budget));
                used += fit_all(fields, budget - used);
                if let Some(Accessory::Image { alt_text, .. }) = accessory {
                    match fit_text(alt_text, budget - used) {
                        0 => *accessory = None,
                        kept => used += kept,
                    }
                }
                used
            }
            Self::Context { elements } => fit_all(elements, budget),
        }
    }
}

impl TextObject {
    /// [`fit_text`] on the object's text.
    fn fit(&mut self, budget: usize) -> usize {
        match self {
            Self::PlainText { text, .. } | Self::Mrkdwn { text } => fit_text(text, budget),
        }
    }
}

/// Cuts each of `texts` in order to what is left of `budget`, leaving out
/// those left empty; returns the characters kept.
fn fit_all(texts: &mut Vec<TextObject>, budget: usize) -> usize {
    let mut used = 0;
    texts.retain_mut(|text| {
        let kept = text.fit(budget - used);
        used += kept;
        kept > 0
    });
    used
}

/// Cuts `text` to at most `budget` characters; returns the characters kept.
fn fit_text(text: &mut String, budget: usize) -> usize {
    let chars = text.chars().count();
    if chars <= budget {
        return chars;
    }
    *text = if budget == 0 {
        String::new()
    } else {
        truncate(text, budget)
    };
    text.chars().count()
}

/// Escapes the three characters Slack's mrkdwn gives a meaning to.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    escaped
}

fn mrkdwn_text(text: &str, max_chars: usize) -> TextObject {
    TextObject::Mrkdwn {
        text: truncate(text, max_chars),
    }
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
impl Message {
    /// The message as the JSON Slack receives, for tests to inspect.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a message serialises")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// Characters of text in `value`: its `text` and `alt_text` strings.
    fn text_chars(value: &Value) -> usize {
        match value {
            Value::Object(object) => object
                .iter()
                .map(|(key, value)| match value {
                    Value::String(text) if key == "text" || key == "alt_text" => {
                        text.chars().count()
                    }
                    other => text_chars(other),
                })
                .sum(),
            Value::Array(values) => values.iter().map(text_chars).sum(),
            _ => 0,
        }
    }

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

    #[test]
    fn each_block_serialises_as_block_kit_with_nothing_empty() {
        let message = Message::new("New order")
            .header("Order 1")
            .section_with_image("*Shoes*", "https://cdn.example.com/a.jpg", "Shoes")
            .fields(&[("Total".into(), "9.99 USD".into())])
            .context(&["Store `s`".to_owned()]);
        assert_eq!(
            message.to_json(),
            json!({
                "text": "New order",
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": "Order 1", "emoji": true}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": "*Shoes*"},
                     "accessory": {"type": "image", "image_url": "https://cdn.example.com/a.jpg", "alt_text": "Shoes"}},
                    {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Total*\n9.99 USD"}]},
                    {"type": "context", "elements": [{"type": "mrkdwn", "text": "Store `s`"}]},
                ],
            })
        );
    }

    #[test]
    fn a_bot_message_names_its_channel() {
        let message = Message::new("t").section("hello");
        let body = serde_json::to_value(message.to_channel("C123")).unwrap();
        assert_eq!(body["channel"], "C123");
        assert_eq!(body["text"], "t");
        assert_eq!(body["blocks"], message.to_json()["blocks"]);
    }

    #[test]
    fn an_image_whose_alt_text_finds_no_room_is_left_out() {
        let filler = (0..49).fold(Message::new("t"), |message, _| {
            message.section(&"x".repeat(200))
        });
        let budget_left = MAX_TOTAL_TEXT_CHARS - CONTEXT_RESERVE_CHARS - filler.text_chars;
        let message = filler.section_with_image(
            &"y".repeat(budget_left),
            "https://cdn.example.com/a.jpg",
            "alt",
        );
        let last = blocks(&message).last().unwrap().clone();
        assert_eq!(
            last["text"]["text"].as_str().unwrap().chars().count(),
            budget_left
        );
        assert!(last.get("accessory").is_none(), "{last}");
    }
}
