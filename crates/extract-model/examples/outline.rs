//! Print the node types of an output document as an indented outline:
//! `cargo run -p extract-model --example outline -- OUTPUT.json`.

use extract_model::{ContentNode, OutputDocument};

fn outline(node: &ContentNode, depth: usize) {
    let text: String = node
        .content
        .as_deref()
        .unwrap_or("")
        .chars()
        .take(60)
        .collect();
    println!("{}{} {text}", "  ".repeat(depth), node.r#type);
    for child in &node.children {
        outline(child, depth + 1);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: outline OUTPUT.json")?;
    outline(
        &OutputDocument::from_json(&std::fs::read(path)?)?.content_tree,
        0,
    );
    Ok(())
}
