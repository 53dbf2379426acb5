//! The classifier's section of `summary.md` and `index.html`: where it was fitted, its
//! validation accuracy, and next to it the field accuracy with the per-leaf table.

use super::HeadSummary;
use super::field::{FieldReport, markdown as field_markdown};
use crate::class_map;

/// The Markdown section from the manifest's `head` (empty when it cannot be read).
pub fn markdown(head: &serde_json::Value) -> String {
    let Ok(s) = serde_json::from_value::<HeadSummary>(head.clone()) else {
        return String::new();
    };
    let mut md = format!(
        "## Classifier\n\nFitted head on {}{}: train accuracy {:.1} %, **validation accuracy {:.1} %** ({} validation images){}.\n\n",
        if s.train_source.is_empty() {
            "the training folder"
        } else {
            &s.train_source
        },
        s.augment
            .as_deref()
            .map(|a| format!(" (augmented: {a})"))
            .unwrap_or_default(),
        100.0 * s.train_accuracy,
        100.0 * s.validation_accuracy,
        s.validation_images,
        if s.train_left_out.is_empty() {
            String::new()
        } else {
            format!(
                "; left out of training: {}",
                class_map::describe(&s.train_left_out)
            )
        }
    );
    if let Some(accuracy) = s.field_accuracy {
        let report = FieldReport {
            accuracy: Some(accuracy),
            images: s.field_images,
            right: s.field.iter().filter(|l| l.right).count(),
            leaves: s.field,
            left_out: s.field_left_out,
            failed: Vec::new(),
        };
        md.push_str(&field_markdown(&report).replacen(
            "Field accuracy:",
            "**Field accuracy** (next to the validation accuracy above):",
            1,
        ));
        md.push('\n');
    }
    md
}

/// The same section as HTML: paragraphs and the table.
pub fn html(md: &str, esc: &dyn Fn(&str) -> String) -> String {
    let mut html = String::new();
    let mut table = String::new();
    for line in md.lines() {
        if line.starts_with('|') {
            table.push_str(line);
            table.push('\n');
            continue;
        }
        if !table.is_empty() {
            html.push_str(&crate::report::markdown_table_to_html(&table));
            table.clear();
        }
        if let Some(h) = line.strip_prefix("## ") {
            html.push_str(&format!("<h2>{}</h2>", esc(h)));
        } else if !line.trim().is_empty() {
            html.push_str(&format!("<p>{}</p>", esc(&line.replace("**", ""))));
        }
    }
    if !table.is_empty() {
        html.push_str(&crate::report::markdown_table_to_html(&table));
    }
    html
}
