//! Serde for optional, nullable fields that must keep "absent" apart from "null".
//!
//! The service writes `"locations": null` on some nodes and leaves the key out on others; an
//! `Option<Option<T>>` keeps both, so a document round-trips unchanged: absent is `None`, null
//! is `Some(None)`, a value is `Some(Some(v))`. The generated `Deserialize` impls fill it; this
//! writes it back (a `None` is skipped by `skip_serializing_if`).

use serde::{Serialize, Serializer};

pub(crate) fn serialize<T: Serialize, S: Serializer>(
    value: &Option<Option<T>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        // Skipped by `skip_serializing_if`; a `None` reaching here is written as null.
        None | Some(None) => serializer.serialize_none(),
        Some(Some(v)) => v.serialize(serializer),
    }
}

#[cfg(test)]
mod tests {
    use crate::generated::ContentNode;

    #[test]
    fn absent_null_and_value_are_kept_apart() {
        for text in [
            r#"{"uid":"0","type":"DOCUMENT","content":null,"children":[]}"#,
            r#"{"uid":"0","type":"DOCUMENT","content":null,"children":[],"locations":null}"#,
            r#"{"uid":"0","type":"DOCUMENT","content":null,"children":[],"locations":[]}"#,
        ] {
            let node: ContentNode = serde_json::from_str(text).expect(text);
            let value: serde_json::Value = serde_json::from_str(text).expect("json");
            let via_value: ContentNode = serde_json::from_value(value).expect(text);
            assert_eq!(via_value, node);
            let wrapped = format!(
                r#"{{"content_tree": {{"uid":"0","type":"DOCUMENT","content":null,"children":[{text}]}}, "annotations": []}}"#
            );
            let document: crate::generated::OutputDocument =
                serde_json::from_str(&wrapped).expect(&wrapped);
            assert_eq!(document.content_tree.children[0], node);
            let back = serde_json::to_value(&node).expect("serializes");
            assert_eq!(
                back,
                serde_json::from_str::<serde_json::Value>(text).expect("json"),
                "{text}"
            );
        }
    }
}
