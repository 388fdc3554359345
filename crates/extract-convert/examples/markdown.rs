//! Print an output document as Markdown: `cargo run -p extract-convert --example markdown -- OUTPUT.json`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: markdown OUTPUT.json")?;
    let document = extract_model::OutputDocument::from_json(&std::fs::read(path)?)?;
    println!("{}", extract_convert::to_markdown(&document));
    Ok(())
}
