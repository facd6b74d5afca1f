//! Media types from content: the first bytes of a file say what it is, whatever the sender
//! claimed. Unknown binary content is `application/octet-stream`; readable UTF-8 is `text/plain`.

/// The MIME type `data` really has. `declared` (what the provider said) only refines what the
/// bytes cannot tell apart: a ZIP container that is an Office document, MP4 audio vs video.
pub fn sniff(data: &[u8], declared: Option<&str>) -> &'static str {
    let declared = declared.unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let starts = |magic: &[u8]| data.starts_with(magic);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return "image/jpeg";
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return "image/png";
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return "image/gif";
    }
    if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        return "image/webp";
    }
    if starts(b"%PDF-") {
        return "application/pdf";
    }
    if starts(b"OggS") {
        // WhatsApp voice notes are Opus in Ogg.
        return "audio/ogg";
    }
    if starts(b"ID3") || (data.len() >= 2 && data[0] == 0xFF && (data[1] & 0xE0) == 0xE0) {
        return "audio/mpeg";
    }
    if starts(b"#!AMR") {
        return "audio/amr";
    }
    if data.len() >= 12 && &data[4..8] == b"ftyp" {
        let brand = &data[8..12];
        if brand.starts_with(b"3gp") || brand.starts_with(b"3g2") {
            return "video/3gpp";
        }
        if brand == b"M4A " || declared.starts_with("audio/") {
            return "audio/mp4";
        }
        return "video/mp4";
    }
    if starts(b"PK\x03\x04") {
        return office_type(data, &declared);
    }
    if starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        // Old binary Office formats share one container.
        return match declared.as_str() {
            "application/vnd.ms-excel" => "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint" => "application/vnd.ms-powerpoint",
            _ => "application/msword",
        };
    }
    if !data.is_empty() && looks_like_text(data) {
        return "text/plain";
    }
    "application/octet-stream"
}

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PPTX: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";

/// A ZIP: an Office Open XML document names its main part early in the archive.
fn office_type(data: &[u8], declared: &str) -> &'static str {
    let head = &data[..data.len().min(64 * 1024)];
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if has(b"word/") {
        DOCX
    } else if has(b"xl/") {
        XLSX
    } else if has(b"ppt/") {
        PPTX
    } else {
        match declared {
            d if d == DOCX => DOCX,
            d if d == XLSX => XLSX,
            d if d == PPTX => PPTX,
            _ => "application/zip",
        }
    }
}

fn looks_like_text(data: &[u8]) -> bool {
    let head = &data[..data.len().min(8 * 1024)];
    // A multi-byte character cut at the end of the sample is still text.
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && e.valid_up_to() + 4 > head.len(),
    };
    valid && !head.iter().any(|b| *b == 0 || (*b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0C)))
}

/// The file extension people expect for a type (for downloads).
pub fn extension(mime: &str) -> &'static str {
    match mime {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/amr" => "amr",
        "audio/mp4" => "m4a",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "application/zip" => "zip",
        "application/msword" => "doc",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.ms-powerpoint" => "ppt",
        "text/plain" => "txt",
        m if m == DOCX => "docx",
        m if m == XLSX => "xlsx",
        m if m == PPTX => "pptx",
        _ => "bin",
    }
}

/// Whether `name` names a file of the media store: a SHA-256 in lowercase hex, nothing else.
pub fn is_media_name(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The media name a stored reference holds: the name itself, or the last component of the full
/// path that rows written before names were used hold; `None` for anything else.
pub fn name_of(reference: &str) -> Option<&str> {
    let name = reference.rsplit('/').next().unwrap_or(reference);
    is_media_name(name).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_names_are_bare_hashes() {
        let sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        assert!(is_media_name(sha));
        assert!(!is_media_name(&sha.to_uppercase()));
        assert!(!is_media_name(&sha[1..]));
        assert_eq!(name_of(&format!("./data/media/2c/{sha}")), Some(sha));
        assert_eq!(name_of(sha), Some(sha));
        assert_eq!(name_of("./data/media/../master.key"), None);
        assert_eq!(name_of(&format!("{sha}/..")), None);
        assert_eq!(name_of("../../../etc/passwd"), None);
    }

    #[test]
    fn images_are_told_apart_by_their_magic_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10], Some("image/png")), "image/jpeg");
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", None), "image/png");
        assert_eq!(sniff(b"GIF89a\x01\0", None), "image/gif");
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 ", None), "image/webp");
    }

    #[test]
    fn audio_and_video_containers_are_recognised() {
        assert_eq!(sniff(b"OggS\0\x02\0\0\0\0\0\0\0\0OpusHead", Some("audio/ogg; codecs=opus")), "audio/ogg");
        assert_eq!(sniff(b"ID3\x04\0\0\0\0\0\x21", None), "audio/mpeg");
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x64], None), "audio/mpeg");
        assert_eq!(sniff(b"\0\0\0\x18ftypmp42\0\0\0\0", Some("video/mp4")), "video/mp4");
        assert_eq!(sniff(b"\0\0\0\x18ftyp3gp4\0\0\0\0", None), "video/3gpp");
        assert_eq!(sniff(b"\0\0\0\x20ftypM4A \0\0\0\0", None), "audio/mp4");
        assert_eq!(sniff(b"\0\0\0\x18ftypisom\0\0\0\0", Some("audio/aac")), "audio/mp4");
    }

    #[test]
    fn documents_pdf_office_and_plain_zip() {
        assert_eq!(sniff(b"%PDF-1.7\n%\xE2\xE3", Some("image/jpeg")), "application/pdf");
        assert_eq!(sniff(b"PK\x03\x04\x14\0\0\0\x08\0[Content_Types].xml....word/document.xml", None), DOCX);
        assert_eq!(sniff(b"PK\x03\x04\x14\0\0\0\x08\0[Content_Types].xml....xl/workbook.xml", None), XLSX);
        assert_eq!(sniff(b"PK\x03\x04\x14\0\0\0\x08\0ppt/presentation.xml", None), PPTX);
        assert_eq!(sniff(b"PK\x03\x04\x14\0\0\0\x08\0something.txt", None), "application/zip");
        assert_eq!(sniff(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0], None), "application/msword");
    }

    #[test]
    fn text_and_unknown_bytes_fall_back() {
        assert_eq!(sniff("Olá, tudo bem?\nLinha 2".as_bytes(), Some("image/jpeg")), "text/plain");
        assert_eq!(sniff(&[0x00, 0x01, 0x02, 0x03, 0xFE], Some("image/jpeg")), "application/octet-stream");
        assert_eq!(sniff(b"", None), "application/octet-stream");
        assert_eq!(extension("image/jpeg"), "jpg");
        assert_eq!(extension("application/x-unknown"), "bin");
    }
}
