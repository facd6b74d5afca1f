//! QR codes drawn as inline SVG (no image files, no scripts): the Conexões page shows a
//! WhatsApp Web session's QR this way, redrawn as it rotates.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// The SVG of `code`, sized for a phone camera at arm's length; `None` when the text is too long
/// for a QR code.
pub fn svg(code: &str) -> Option<String> {
    let qr = QrCode::with_error_correction_level(code.as_bytes(), EcLevel::L).ok()?;
    let image = qr
        .render::<svg::Color<'_>>()
        .min_dimensions(264, 264)
        .dark_color(svg::Color("#111111"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    // Inline in HTML: the XML declaration has no place there.
    let start = image.find("<svg")?;
    Some(image[start..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whatsapp_code_becomes_inline_svg_and_nothing_else() {
        let code = "2@Yk3xq0Vf1sN8,dGhpcyBpcyBhIHRlc3Q=,c2Vzc2lvbg==,aWRlbnRpdHk=";
        let image = svg(code).unwrap();
        assert!(image.starts_with("<svg") && image.trim_end().ends_with("</svg>"), "{image}");
        assert!(!image.contains("<script") && !image.contains(code));
        // Different codes draw differently.
        assert_ne!(svg("2@other").unwrap(), image);
        assert!(svg(&"x".repeat(5000)).is_none());
    }
}
