//! Small but valid media files, built in code, for the media customers "send".

/// An 8×8 grey baseline JPEG (JFIF): one block, DC and AC Huffman tables with a single code each.
pub(crate) fn jpeg() -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8]; // SOI
                                  // APP0 JFIF 1.1, no density units, 1:1, no thumbnail.
    v.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
    // DQT: table 0, 8-bit, all ones.
    v.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
    v.extend_from_slice(&[1u8; 64]);
    // SOF0: 8-bit, 8×8, one component (id 1, 1×1 sampling, table 0).
    v.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00]);
    // DHT: DC table 0 and AC table 0, one code of length 1 for symbol 0 (DC category 0 / AC EOB).
    for class in [0x00u8, 0x10] {
        v.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, class, 1]);
        v.extend_from_slice(&[0u8; 15]);
        v.push(0x00);
    }
    // SOS: one component, tables 0/0, full spectral selection.
    v.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
    // Entropy-coded data: DC "0" (diff 0), AC "0" (EOB), padded with ones.
    v.push(0x3F);
    v.extend_from_slice(&[0xFF, 0xD9]); // EOI
    v
}

/// A 1×1 lossless WebP (stickers are WebP).
pub(crate) fn webp() -> Vec<u8> {
    vec![
        b'R', b'I', b'F', b'F', 0x1A, 0, 0, 0, b'W', b'E', b'B', b'P', b'V', b'P', b'8', b'L', 0x0D, 0, 0, 0, 0x2F, 0,
        0, 0, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xFE, 0x07, 0x00,
    ]
}

/// CRC-32 as Ogg uses it (polynomial 0x04C11DB7, no reflection, initial 0, no final xor).
fn ogg_crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04C1_1DB7 } else { crc << 1 };
        }
    }
    crc
}

fn ogg_page(header_type: u8, granule: u64, seq: u32, packets: &[Vec<u8>]) -> Vec<u8> {
    let mut segments = Vec::new();
    for p in packets {
        let mut n = p.len();
        while n >= 255 {
            segments.push(255u8);
            n -= 255;
        }
        segments.push(n as u8);
    }
    let mut page = Vec::new();
    page.extend_from_slice(b"OggS");
    page.push(0);
    page.push(header_type);
    page.extend_from_slice(&granule.to_le_bytes());
    page.extend_from_slice(&0x5741_5349u32.to_le_bytes()); // stream serial "WASI"
    page.extend_from_slice(&seq.to_le_bytes());
    page.extend_from_slice(&[0, 0, 0, 0]); // CRC, filled below
    page.push(segments.len() as u8);
    page.extend_from_slice(&segments);
    for p in packets {
        page.extend_from_slice(p);
    }
    let crc = ogg_crc(&page);
    page[22..26].copy_from_slice(&crc.to_le_bytes());
    page
}

/// One second of silence as mono Ogg/Opus (OpusHead, OpusTags, 50 × 20 ms CELT frames).
pub(crate) fn ogg_opus() -> Vec<u8> {
    let pre_skip: u16 = 312;
    let mut head = b"OpusHead".to_vec();
    head.push(1); // version
    head.push(1); // channels
    head.extend_from_slice(&pre_skip.to_le_bytes());
    head.extend_from_slice(&48_000u32.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes());
    head.push(0); // mapping family
    let vendor = b"wa-sim";
    let mut tags = b"OpusTags".to_vec();
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor);
    tags.extend_from_slice(&0u32.to_le_bytes());
    // TOC 0xF8: config 31 (CELT fullband 20 ms), mono, one frame; then a silent frame.
    let frames: Vec<Vec<u8>> = (0..50).map(|_| vec![0xF8, 0xFF, 0xFE]).collect();
    let granule = u64::from(pre_skip) + 50 * 960;
    let mut out = ogg_page(0x02, 0, 0, &[head]);
    out.extend(ogg_page(0x00, 0, 1, &[tags]));
    out.extend(ogg_page(0x04, granule, 2, &frames));
    out
}

fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(payload);
    b
}

/// A minimal ISO-BMFF (MP4) file: `ftyp` and a `moov` with a movie header and no tracks.
pub(crate) fn mp4() -> Vec<u8> {
    let mut ftyp = b"isom".to_vec();
    ftyp.extend_from_slice(&0x200u32.to_be_bytes());
    ftyp.extend_from_slice(b"isomiso2mp41");
    let mut mvhd = vec![0u8; 4]; // version 0, flags 0
    mvhd.extend_from_slice(&0u32.to_be_bytes()); // creation
    mvhd.extend_from_slice(&0u32.to_be_bytes()); // modification
    mvhd.extend_from_slice(&1000u32.to_be_bytes()); // timescale
    mvhd.extend_from_slice(&1000u32.to_be_bytes()); // duration: 1 s
    mvhd.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate 1.0
    mvhd.extend_from_slice(&0x0100u16.to_be_bytes()); // volume 1.0
    mvhd.extend_from_slice(&[0u8; 10]);
    for m in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        mvhd.extend_from_slice(&m.to_be_bytes());
    }
    mvhd.extend_from_slice(&[0u8; 24]);
    mvhd.extend_from_slice(&1u32.to_be_bytes()); // next track id
    let mut out = mp4_box(b"ftyp", &ftyp);
    out.extend(mp4_box(b"moov", &mp4_box(b"mvhd", &mvhd)));
    out
}

/// A one-page PDF 1.4 saying "wa-sim document", with a correct xref table.
pub(crate) fn pdf() -> Vec<u8> {
    let content = "BT /F1 14 Tf 20 50 Td (wa-sim document) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{body}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1));
    for off in offsets {
        out.push_str(&format!("{off:010} 00000 n \n"));
    }
    out.push_str(&format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1));
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_have_their_magic_numbers() {
        let j = jpeg();
        assert_eq!(&j[..3], &[0xFF, 0xD8, 0xFF]);
        assert_eq!(&j[j.len() - 2..], &[0xFF, 0xD9]);
        assert_eq!(&webp()[8..12], b"WEBP");
        let o = ogg_opus();
        assert_eq!(&o[..4], b"OggS");
        assert_eq!(&o[28..36], b"OpusHead");
        assert_eq!(&mp4()[4..8], b"ftyp");
        let p = pdf();
        assert!(p.starts_with(b"%PDF-1.4"));
        assert!(p.ends_with(b"%%EOF\n"));
    }

    #[test]
    fn ogg_crc_matches_known_value() {
        // CRC-32/MPEG-2 style without init/xorout ("CRC-32/BZIP2" minus the inversions) of "123456789".
        assert_eq!(ogg_crc(b"123456789"), 0x89A1_897F);
    }

    #[test]
    fn pdf_xref_points_at_objects() {
        let p = String::from_utf8(pdf()).unwrap();
        let start: usize = p.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        assert!(p[start..].starts_with("xref"));
        let first_obj: usize = p[start..].lines().nth(3).unwrap()[..10].parse().unwrap();
        assert!(p[first_obj..].starts_with("1 0 obj"));
    }
}
