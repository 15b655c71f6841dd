//! Applying `patchListingsItem` patches to a listing's attributes.
//!
//! - `add` and `replace` set the attribute to the given values;
//! - `merge` merges each given value into the existing value for the same
//!   `marketplace_id` and `language_tag` (fields of the given value win), and
//!   appends values for other marketplaces or languages;
//! - `delete` removes the values matching the given ones by `marketplace_id`
//!   and `language_tag`, or the whole attribute when no value is given.

use serde_json::{Map, Value};

use super::listing_body::{Patch, PatchOp};

/// Applies `patches` in order.
pub(super) fn apply(attributes: &mut Map<String, Value>, patches: &[Patch]) {
    for patch in patches {
        let given = patch.value.clone().unwrap_or_default();
        match patch.op {
            PatchOp::Add | PatchOp::Replace => {
                attributes.insert(patch.attribute.clone(), Value::Array(given));
            }
            PatchOp::Merge => {
                let entry = attributes
                    .entry(patch.attribute.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(existing) = entry {
                    merge(existing, given);
                }
            }
            PatchOp::Delete => {
                if patch.value.is_none() {
                    attributes.remove(&patch.attribute);
                } else if let Some(Value::Array(existing)) = attributes.get_mut(&patch.attribute) {
                    existing.retain(|value| !given.iter().any(|gone| same_scope(value, gone)));
                    if existing.is_empty() {
                        attributes.remove(&patch.attribute);
                    }
                }
            }
        }
    }
}

/// Whether two attribute values are for the same marketplace and language.
fn same_scope(a: &Value, b: &Value) -> bool {
    ["marketplace_id", "language_tag"]
        .iter()
        .all(|key| a.get(key) == b.get(key))
}

fn merge(existing: &mut Vec<Value>, given: Vec<Value>) {
    for value in given {
        match existing.iter_mut().find(|old| same_scope(old, &value)) {
            Some(Value::Object(old)) => {
                if let Value::Object(fields) = value {
                    old.extend(fields);
                }
            }
            _ => existing.push(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const US: &str = "ATVPDKIKX0DER";
    const CA: &str = "A2EUQ1WTGCTBG2";

    fn patch(op: PatchOp, attribute: &str, value: Option<Value>) -> Patch {
        Patch {
            op,
            attribute: attribute.into(),
            value: value.map(|value| value.as_array().unwrap().clone()),
        }
    }

    fn listing() -> Map<String, Value> {
        json!({
            "item_name": [{"value": "Mug", "marketplace_id": US}],
            "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 10}],
        })
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn replace_and_add_set_the_whole_attribute() {
        let mut attributes = listing();
        apply(
            &mut attributes,
            &[
                patch(
                    PatchOp::Replace,
                    "fulfillment_availability",
                    Some(json!([{"fulfillment_channel_code": "DEFAULT", "quantity": 3}])),
                ),
                patch(PatchOp::Add, "brand", Some(json!([{"value": "Acme"}]))),
            ],
        );
        assert_eq!(attributes["fulfillment_availability"][0]["quantity"], 3);
        assert_eq!(attributes["brand"], json!([{"value": "Acme"}]));
    }

    #[test]
    fn merge_updates_the_same_marketplace_and_appends_others() {
        let mut attributes = listing();
        apply(
            &mut attributes,
            &[patch(
                PatchOp::Merge,
                "item_name",
                Some(json!([
                    {"value": "Big mug", "marketplace_id": US},
                    {"value": "Tasse", "marketplace_id": CA},
                ])),
            )],
        );
        assert_eq!(
            attributes["item_name"],
            json!([
                {"value": "Big mug", "marketplace_id": US},
                {"value": "Tasse", "marketplace_id": CA},
            ])
        );
    }

    #[test]
    fn delete_removes_matching_values_or_the_whole_attribute() {
        let mut attributes = listing();
        apply(
            &mut attributes,
            &[patch(
                PatchOp::Delete,
                "item_name",
                Some(json!([{"marketplace_id": CA}])),
            )],
        );
        assert!(attributes.contains_key("item_name"));
        apply(
            &mut attributes,
            &[
                patch(
                    PatchOp::Delete,
                    "item_name",
                    Some(json!([{"marketplace_id": US}])),
                ),
                patch(PatchOp::Delete, "fulfillment_availability", None),
            ],
        );
        assert!(attributes.is_empty());
    }
}
