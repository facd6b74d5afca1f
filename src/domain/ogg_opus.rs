//! WebM (Matroska) Opus → Ogg Opus, without decoding. Browsers record voice notes as
//! `audio/webm;codecs=opus` (Chromium's MediaRecorder) but WhatsApp takes voice only as
//! `audio/ogg` with Opus: the Opus packets are the same, only the container differs. This reads
//! the EBML tree just enough to find the Opus track and its (Simple)Blocks, and writes them as
//! Ogg pages (RFC 3533) with the `OpusHead`/`OpusTags` headers and granule positions of RFC 7845.

/// Why a file could not be remuxed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemuxError {
    #[error("not a WebM/Matroska file")]
    NotWebm,
    #[error("the file is cut short or malformed")]
    Malformed,
    #[error("the recording has no Opus audio track")]
    NoOpusTrack,
    #[error("the recording has no audio")]
    NoAudio,
    #[error("laced blocks are not supported")]
    Laced,
}

/// The first four bytes of every EBML (WebM, Matroska) file.
pub const EBML_MAGIC: [u8; 4] = [0x1A, 0x45, 0xDF, 0xA3];

const ID_SEGMENT: u32 = 0x1853_8067;
const ID_CLUSTER: u32 = 0x1F43_B675;
const ID_TRACKS: u32 = 0x1654_AE6B;
const ID_TRACK_ENTRY: u32 = 0xAE;
const ID_AUDIO: u32 = 0xE1;
const ID_BLOCK_GROUP: u32 = 0xA0;
const ID_TRACK_NUMBER: u32 = 0xD7;
const ID_CODEC_ID: u32 = 0x86;
const ID_CODEC_PRIVATE: u32 = 0x63A2;
const ID_CHANNELS: u32 = 0x9F;
const ID_SIMPLE_BLOCK: u32 = 0xA3;
const ID_BLOCK: u32 = 0xA1;

/// Whether `data` starts like a WebM/Matroska file.
pub fn is_webm(data: &[u8]) -> bool {
    data.starts_with(&EBML_MAGIC)
}

#[derive(Default)]
struct Track {
    number: u64,
    codec: Vec<u8>,
    private: Vec<u8>,
    channels: u8,
}

/// An element's id (marker bits kept, as Matroska writes ids) and its length in bytes.
fn read_id(data: &[u8], pos: usize) -> Option<(u32, usize)> {
    let first = *data.get(pos)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 4 {
        return None;
    }
    let bytes = data.get(pos..pos + len)?;
    Some((bytes.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)), len))
}

/// A variable-size integer (marker bit removed); `None` value for "unknown size" (all ones).
fn read_vint(data: &[u8], pos: usize) -> Option<(Option<u64>, usize)> {
    let first = *data.get(pos)?;
    if first == 0 {
        return None;
    }
    let len = first.leading_zeros() as usize + 1;
    let bytes = data.get(pos..pos + len)?;
    let mask = if len == 8 { 0 } else { 0xFFu8 >> len };
    let mut value = u64::from(first & mask);
    let mut all_ones = (first & mask) == mask;
    for b in &bytes[1..] {
        value = (value << 8) | u64::from(*b);
        all_ones &= *b == 0xFF;
    }
    Some((if all_ones { None } else { Some(value) }, len))
}

fn uint(bytes: &[u8]) -> u64 {
    bytes.iter().take(8).fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// Opus packets of the first Opus track and the track's header, read from a WebM file.
fn demux(data: &[u8]) -> Result<(Track, Vec<&[u8]>), RemuxError> {
    if !is_webm(data) {
        return Err(RemuxError::NotWebm);
    }
    let mut tracks: Vec<Track> = Vec::new();
    let mut blocks: Vec<(u64, &[u8])> = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let Some((id, id_len)) = read_id(data, pos) else { break };
        let Some((size, size_len)) = read_vint(data, pos + id_len) else { break };
        let start = pos + id_len + size_len;
        // Containers we look inside: go on with their first child. A live recording leaves the
        // Segment's and Clusters' sizes unknown, which this handles the same way.
        if matches!(id, ID_SEGMENT | ID_CLUSTER | ID_TRACKS | ID_TRACK_ENTRY | ID_AUDIO | ID_BLOCK_GROUP) {
            if id == ID_TRACK_ENTRY {
                tracks.push(Track::default());
            }
            pos = start;
            continue;
        }
        let Some(size) = size else {
            return Err(RemuxError::Malformed);
        };
        let end = usize::try_from(size).ok().and_then(|s| start.checked_add(s));
        let body = match end.and_then(|e| data.get(start..e)) {
            Some(body) => body,
            // The last block of a recording stopped mid-write is dropped, not fatal.
            None if matches!(id, ID_SIMPLE_BLOCK | ID_BLOCK) && !blocks.is_empty() => break,
            None => return Err(RemuxError::Malformed),
        };
        match id {
            ID_TRACK_NUMBER => {
                if let Some(t) = tracks.last_mut() {
                    t.number = uint(body);
                }
            }
            ID_CODEC_ID => {
                if let Some(t) = tracks.last_mut() {
                    t.codec = body.to_vec();
                }
            }
            ID_CODEC_PRIVATE => {
                if let Some(t) = tracks.last_mut() {
                    t.private = body.to_vec();
                }
            }
            ID_CHANNELS => {
                if let Some(t) = tracks.last_mut() {
                    t.channels = u8::try_from(uint(body)).unwrap_or(0);
                }
            }
            ID_SIMPLE_BLOCK | ID_BLOCK => {
                let (track, n) = read_vint(body, 0).ok_or(RemuxError::Malformed)?;
                let flags = *body.get(n + 2).ok_or(RemuxError::Malformed)?;
                if flags & 0x06 != 0 {
                    return Err(RemuxError::Laced);
                }
                let frame = body.get(n + 3..).ok_or(RemuxError::Malformed)?;
                blocks.push((track.ok_or(RemuxError::Malformed)?, frame));
            }
            _ => {}
        }
        pos = start + body.len();
    }
    let index = tracks.iter().position(|t| t.codec == b"A_OPUS").ok_or(RemuxError::NoOpusTrack)?;
    let track = tracks.swap_remove(index);
    let packets: Vec<&[u8]> =
        blocks.into_iter().filter(|(n, p)| *n == track.number && !p.is_empty()).map(|(_, p)| p).collect();
    if packets.is_empty() {
        return Err(RemuxError::NoAudio);
    }
    Ok((track, packets))
}

/// Samples (at 48 kHz) one Opus packet decodes to, from its TOC byte (RFC 6716 §3.1).
pub fn packet_samples(packet: &[u8]) -> u64 {
    let Some(toc) = packet.first() else { return 0 };
    let config = toc >> 3;
    let frame: u64 = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 0x03 {
        0 => 1,
        1 | 2 => 2,
        _ => packet.get(1).map_or(0, |b| u64::from(b & 0x3F)),
    };
    frame * frames
}

/// The `OpusHead` identification header: the track's own when it has one, else one for its
/// channel count (mono when unknown) with no pre-skip.
fn opus_head(track: &Track) -> Vec<u8> {
    if track.private.starts_with(b"OpusHead") && track.private.len() >= 19 {
        return track.private.clone();
    }
    let mut head = b"OpusHead".to_vec();
    head.push(1); // version
    head.push(if track.channels == 0 { 1 } else { track.channels.min(2) });
    head.extend_from_slice(&0u16.to_le_bytes()); // pre-skip
    head.extend_from_slice(&48_000u32.to_le_bytes()); // input sample rate (informational)
    head.extend_from_slice(&0i16.to_le_bytes()); // output gain
    head.push(0); // channel mapping family: mono/stereo
    head
}

fn opus_tags() -> Vec<u8> {
    let vendor = b"Atende";
    let mut tags = b"OpusTags".to_vec();
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor);
    tags.extend_from_slice(&0u32.to_le_bytes()); // no comments
    tags
}

/// CRC-32 of Ogg pages: polynomial 0x04C11DB7, no reflection, initial value and final XOR 0.
pub fn ogg_crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for b in data {
        crc ^= u32::from(*b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04C1_1DB7 } else { crc << 1 };
        }
    }
    crc
}

/// The serial number of the one logical stream written (any fixed value is valid).
const SERIAL: u32 = 0x4154_4E44;
/// Audio pages carry about a second of 20 ms packets.
const PACKETS_PER_PAGE: usize = 50;

fn write_page(out: &mut Vec<u8>, packets: &[&[u8]], granule: u64, sequence: u32, flags: u8) {
    let start = out.len();
    out.extend_from_slice(b"OggS");
    out.push(0); // version
    out.push(flags);
    out.extend_from_slice(&granule.to_le_bytes());
    out.extend_from_slice(&SERIAL.to_le_bytes());
    out.extend_from_slice(&sequence.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]); // CRC, filled below
    let mut lacing = Vec::new();
    for p in packets {
        lacing.extend(std::iter::repeat_n(255u8, p.len() / 255));
        lacing.push((p.len() % 255) as u8);
    }
    out.push(lacing.len() as u8);
    out.extend_from_slice(&lacing);
    for p in packets {
        out.extend_from_slice(p);
    }
    let crc = ogg_crc(&out[start..]);
    out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
}

/// Segments (lacing values) a packet takes in a page.
fn segments(packet: &[u8]) -> usize {
    packet.len() / 255 + 1
}

/// Converts a WebM file with an Opus track into an Ogg Opus file.
pub fn webm_to_ogg(data: &[u8]) -> Result<Vec<u8>, RemuxError> {
    let (track, packets) = demux(data)?;
    if packets.iter().any(|p| segments(p) > 255) {
        return Err(RemuxError::Malformed);
    }
    let mut out = Vec::with_capacity(data.len() + data.len() / 20 + 256);
    let head = opus_head(&track);
    let tags = opus_tags();
    write_page(&mut out, &[&head], 0, 0, 0x02);
    write_page(&mut out, &[&tags], 0, 1, 0x00);
    let mut sequence = 2u32;
    let mut granule = 0u64;
    let mut page: Vec<&[u8]> = Vec::new();
    let mut page_segments = 0;
    for (i, packet) in packets.iter().enumerate() {
        if !page.is_empty() && (page.len() == PACKETS_PER_PAGE || page_segments + segments(packet) > 255) {
            write_page(&mut out, &page, granule, sequence, 0x00);
            sequence += 1;
            page.clear();
            page_segments = 0;
        }
        page.push(packet);
        page_segments += segments(packet);
        granule += packet_samples(packet);
        if i + 1 == packets.len() {
            write_page(&mut out, &page, granule, sequence, 0x04);
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One Ogg page read back: (flags, granule, sequence, packets), after checking its CRC.
    pub(crate) fn read_pages(mut data: &[u8]) -> Vec<(u8, u64, u32, Vec<Vec<u8>>)> {
        let mut pages = Vec::new();
        let mut partial: Vec<u8> = Vec::new();
        while !data.is_empty() {
            assert_eq!(&data[..4], b"OggS");
            let n = data[26] as usize;
            let lacing = &data[27..27 + n];
            let body_len: usize = lacing.iter().map(|l| *l as usize).sum();
            let len = 27 + n + body_len;
            let mut copy = data[..len].to_vec();
            copy[22..26].copy_from_slice(&[0, 0, 0, 0]);
            let crc = u32::from_le_bytes(data[22..26].try_into().unwrap());
            assert_eq!(ogg_crc(&copy), crc, "page CRC");
            let mut packets = Vec::new();
            let mut at = 27 + n;
            for l in lacing {
                partial.extend_from_slice(&data[at..at + *l as usize]);
                at += *l as usize;
                if *l < 255 {
                    packets.push(std::mem::take(&mut partial));
                }
            }
            let granule = u64::from_le_bytes(data[6..14].try_into().unwrap());
            let seq = u32::from_le_bytes(data[18..22].try_into().unwrap());
            pages.push((data[5], granule, seq, packets));
            data = &data[len..];
        }
        pages
    }

    fn element(id: &[u8], body: &[u8]) -> Vec<u8> {
        let mut e = id.to_vec();
        // 8-byte size, as some muxers write.
        e.push(0x01);
        e.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
        e.extend_from_slice(body);
        e
    }

    fn unknown_size(id: &[u8]) -> Vec<u8> {
        let mut e = id.to_vec();
        e.extend_from_slice(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        e
    }

    /// A WebM like Chromium's MediaRecorder writes: unknown-size Segment and Cluster, an Opus
    /// track with OpusHead, SimpleBlocks of 20 ms packets (TOC 0xFC: CELT 20 ms, one frame).
    pub(crate) fn sample_webm(packets: usize, with_head: bool) -> Vec<u8> {
        let mut f = element(&[0x1A, 0x45, 0xDF, 0xA3], &element(&[0x42, 0x82], b"webm"));
        f.extend(unknown_size(&[0x18, 0x53, 0x80, 0x67]));
        f.extend(element(&[0x15, 0x49, 0xA9, 0x66], &element(&[0x2A, 0xD7, 0xB1], &[0x0F, 0x42, 0x40])));
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, 1, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0, 0, 0]);
        let mut entry = element(&[0xD7], &[1]);
        entry.extend(element(&[0x86], b"A_OPUS"));
        if with_head {
            entry.extend(element(&[0x63, 0xA2], &head));
        }
        entry.extend(element(&[0xE1], &element(&[0x9F], &[1])));
        f.extend(element(&[0x16, 0x54, 0xAE, 0x6B], &element(&[0xAE], &entry)));
        f.extend(unknown_size(&[0x1F, 0x43, 0xB6, 0x75]));
        f.extend(element(&[0xE7], &[0]));
        for i in 0..packets {
            let mut block = vec![0x81, 0, (i * 20) as u8, 0x80];
            block.push(0xFC);
            block.extend(std::iter::repeat_n(i as u8, 40 + i % 7));
            f.extend(element(&[0xA3], &block));
        }
        f
    }

    #[test]
    fn opus_in_webm_becomes_ogg_opus_with_granules_and_crcs() {
        let ogg = webm_to_ogg(&sample_webm(120, true)).unwrap();
        let pages = read_pages(&ogg);
        assert_eq!(pages[0].0, 0x02, "the first page begins the stream");
        assert_eq!(&pages[0].3[0][..8], b"OpusHead");
        assert_eq!(u16::from_le_bytes([pages[0].3[0][10], pages[0].3[0][11]]), 312, "the track's pre-skip is kept");
        assert_eq!(&pages[1].3[0][..8], b"OpusTags");
        let audio: Vec<_> = pages[2..].iter().flat_map(|p| p.3.clone()).collect();
        assert_eq!(audio.len(), 120);
        assert_eq!(audio[7][0], 0xFC);
        assert_eq!(audio[9].len(), 1 + 40 + 9 % 7, "TOC byte and the packet body");
        assert_eq!(pages.len(), 2 + 3, "50 packets a page");
        assert_eq!(pages[2].1, 50 * 960, "granule = samples up to the page's last packet");
        assert_eq!(pages.last().unwrap().1, 120 * 960);
        assert_eq!(pages.last().unwrap().0, 0x04, "the last page ends the stream");
        assert!(pages.iter().enumerate().all(|(i, p)| p.2 == i as u32), "pages are numbered in order");
        assert!(crate::domain::media::sniff(&ogg, None) == "audio/ogg");
    }

    #[test]
    fn a_missing_opus_head_is_written_from_the_channel_count() {
        let ogg = webm_to_ogg(&sample_webm(3, false)).unwrap();
        let pages = read_pages(&ogg);
        let head = &pages[0].3[0];
        assert_eq!(&head[..8], b"OpusHead");
        assert_eq!((head[8], head[9]), (1, 1), "version 1, mono");
        assert_eq!(pages.len(), 3);
    }

    #[test]
    fn packet_durations_follow_the_toc_byte() {
        assert_eq!(packet_samples(&[0xFC]), 960, "CELT 20 ms, one frame");
        assert_eq!(packet_samples(&[0xFD]), 1920, "two frames");
        assert_eq!(packet_samples(&[0xF3, 0x03]), 3 * 480, "code 3: the count byte (CELT 10 ms)");
        assert_eq!(packet_samples(&[0x18]), 2880, "SILK 60 ms");
        assert_eq!(packet_samples(&[]), 0);
    }

    #[test]
    fn bad_input_is_refused_not_panicked_on() {
        assert_eq!(webm_to_ogg(b"OggS...."), Err(RemuxError::NotWebm));
        let full = sample_webm(2, true);
        for cut in 4..full.len() - 60 {
            // Any prefix either converts or is refused; never a panic.
            let _ = webm_to_ogg(&full[..cut]);
        }
        let mut no_blocks = sample_webm(0, true);
        assert_eq!(webm_to_ogg(&no_blocks), Err(RemuxError::NoAudio));
        no_blocks.truncate(40);
        assert!(webm_to_ogg(&no_blocks).is_err());
        let mut vorbis = sample_webm(2, true);
        let at = vorbis.windows(6).position(|w| w == b"A_OPUS").unwrap();
        vorbis[at..at + 6].copy_from_slice(b"A_VORB");
        assert_eq!(webm_to_ogg(&vorbis), Err(RemuxError::NoOpusTrack));
    }

    /// A real recording: 1.2 s of Chromium's fake microphone through `MediaRecorder`
    /// (`audio/webm;codecs=opus`), kept in `tests/fixtures/voice.webm`.
    #[test]
    fn a_chromium_recording_remuxes_to_valid_ogg_opus() {
        let webm = include_bytes!("../../tests/fixtures/voice.webm");
        let ogg = webm_to_ogg(webm).unwrap();
        let pages = read_pages(&ogg);
        assert_eq!(&pages[0].3[0][..8], b"OpusHead");
        assert_eq!(pages[0].3[0][9], 1, "Chromium records mono");
        let packets: Vec<Vec<u8>> = pages[2..].iter().flat_map(|p| p.3.clone()).collect();
        let samples: u64 = packets.iter().map(|p| packet_samples(p)).sum();
        assert_eq!(pages.last().unwrap().1, samples, "the last granule counts every sample");
        // About 1.2 s at 48 kHz (MediaRecorder stops on a packet boundary).
        assert!((40_000..=70_000).contains(&samples), "{samples} samples");
        assert_eq!(pages.last().unwrap().0, 0x04);
        // Every packet of the WebM's Opus track is carried over, byte for byte.
        let (_, originals) = demux(webm).unwrap();
        assert_eq!(originals.len(), packets.len());
        assert!(originals.iter().zip(&packets).all(|(a, b)| *a == b.as_slice()));
    }

    #[test]
    fn the_crc_matches_the_ogg_reference() {
        // CRC-32/MPEG-2 without final inversion and init 0 ("CRC-32/OGG") of "123456789".
        assert_eq!(ogg_crc(b"123456789"), 0x89A1_897F);
    }
}
