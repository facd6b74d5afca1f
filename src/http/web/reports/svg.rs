//! Bar charts as inline SVG, drawn on the server (no chart library): a fixed viewBox that
//! scales to the card's width, one `<title>` per bar so a tap or hover shows the number, and
//! every label escaped. The same numbers are always in a table next to the chart.

use askama::filters::{escape, Html};

fn esc(s: &str) -> String {
    escape(s, Html).map(|e| e.to_string()).unwrap_or_default()
}

/// Series colours (the app's accent and a grey that reads on light and dark).
const COLOURS: [&str; 3] = ["#2563eb", "#94a3b8", "#16a34a"];

/// A grouped bar chart: one group per label, one bar per series; `names` name the series.
pub fn bars(title: &str, labels: &[String], series: &[Vec<i64>], names: &[&str]) -> String {
    let (w, h, left, bottom, top) = (640.0_f64, 220.0_f64, 34.0_f64, 26.0_f64, 10.0_f64);
    let max = series.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let groups = labels.len().max(1) as f64;
    let group_w = (w - left) / groups;
    let bar_w = (group_w * 0.8 / series.len().max(1) as f64).max(1.0);
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\" preserveAspectRatio=\"none\">",
        esc(title)
    );
    // Axis with the maximum, so bar heights can be read.
    out.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\" class=\"axis\"/><text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">0</text>",
        h - bottom,
        left - 4.0,
        top + 8.0,
        max as i64,
        left - 4.0,
        h - bottom
    ));
    let every = (labels.len() / 12).max(1);
    for (i, label) in labels.iter().enumerate() {
        let x0 = left + i as f64 * group_w + group_w * 0.1;
        for (s, values) in series.iter().enumerate() {
            let v = values.get(i).copied().unwrap_or(0);
            let bh = (v as f64 / max) * (h - bottom - top);
            let x = x0 + s as f64 * bar_w;
            out.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{}\"><title>{} · {}: {v}</title></rect>",
                h - bottom - bh,
                (bar_w - 1.0).max(1.0),
                COLOURS[s % COLOURS.len()],
                esc(label),
                esc(names.get(s).copied().unwrap_or("")),
            ));
        }
        if i % every == 0 {
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
                x0 + group_w * 0.4,
                h - 8.0,
                esc(label)
            ));
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_escape_labels_and_carry_the_numbers() {
        let svg = bars("<t>", &["a&b".into(), "c".into()], &[vec![3, 0], vec![1, 5]], &["in", "out"]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // askama escapes `&` as `&#38;`.
        assert!(svg.contains("a&#38;b · in: 3") && !svg.contains("a&b") && svg.contains("c · out: 5"), "{svg}");
        assert!(!svg.contains("<t>"));
        assert_eq!(svg.matches("<rect").count(), 4);
    }
}
