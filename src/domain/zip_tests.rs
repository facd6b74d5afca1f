//! The ZIP writer checked by a reader written here from the specification (end record, ZIP64
//! records, central directory, local headers, CRC of every entry) and, where Python is
//! installed, by Python's `zipfile`.

use super::*;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Every entry of an archive as (name, bytes), read through the central directory and checked
/// against its local header and CRC.
fn read_archive(b: &[u8]) -> Vec<(String, Vec<u8>)> {
    let end = b.len() - 22;
    assert_eq!(u32_at(b, end), END_SIG, "end record last (no comment)");
    let mut count = u16_at(b, end + 10) as u64;
    let mut size = u32_at(b, end + 12) as u64;
    let mut start = u32_at(b, end + 16) as u64;
    if count == 0xFFFF || start == MAX32 || size == MAX32 {
        let locator = end - 20;
        assert_eq!(u32_at(b, locator), LOCATOR64_SIG);
        let end64 = u64_at(b, locator + 8) as usize;
        assert_eq!(u32_at(b, end64), END64_SIG);
        count = u64_at(b, end64 + 32);
        size = u64_at(b, end64 + 40);
        start = u64_at(b, end64 + 48);
    }
    let mut at = start as usize;
    let mut out = Vec::new();
    for _ in 0..count {
        assert_eq!(u32_at(b, at), CENTRAL_SIG);
        let flags = u16_at(b, at + 8);
        assert_eq!(u16_at(b, at + 10), 0, "stored");
        let crc = u32_at(b, at + 16);
        let len = u32_at(b, at + 24) as usize;
        let name_len = u16_at(b, at + 28) as usize;
        let extra_len = u16_at(b, at + 30) as usize;
        let mut offset = u32_at(b, at + 42) as u64;
        let name = String::from_utf8(b[at + 46..at + 46 + name_len].to_vec()).unwrap();
        if offset == MAX32 {
            let extra = at + 46 + name_len;
            assert_eq!(u16_at(b, extra), 1);
            offset = u64_at(b, extra + 4);
        }
        at += 46 + name_len + extra_len;
        let local = offset as usize;
        assert_eq!(u32_at(b, local), LOCAL_SIG, "{name}");
        assert_eq!(u16_at(b, local + 6), flags);
        let local_name_len = u16_at(b, local + 26) as usize;
        let local_extra = u16_at(b, local + 28) as usize;
        assert_eq!(&b[local + 30..local + 30 + local_name_len], name.as_bytes());
        let data_at = local + 30 + local_name_len + local_extra;
        let data = b[data_at..data_at + len].to_vec();
        assert_eq!(Crc32::of(&data), crc, "{name}");
        if flags & FLAG_DESCRIPTOR != 0 {
            let d = data_at + len;
            assert_eq!(u32_at(b, d), DESCRIPTOR_SIG);
            assert_eq!(u32_at(b, d + 4), crc);
            assert_eq!(u32_at(b, d + 8) as usize, len);
        } else {
            assert_eq!(u32_at(b, local + 14), crc);
            assert_eq!(u32_at(b, local + 22) as usize, len);
        }
        out.push((name, data));
    }
    assert_eq!(at as u64, start + size, "the central directory is as long as its records say");
    out
}

fn sample() -> Vec<u8> {
    let mut z = ZipWriter::new();
    let mut bytes = z.file("contact.json", r#"{"name":"Zoé"}"#.as_bytes(), 1_765_000_000_000).unwrap();
    bytes.extend(z.begin("messages/2026.jsonl", 1_765_000_000_000).unwrap());
    for chunk in [b"{\"a\":1}\n".to_vec(), b"{\"b\":2}\n".to_vec()] {
        bytes.extend(z.write(chunk).unwrap());
    }
    bytes.extend(z.end().unwrap());
    bytes.extend(z.file("media/empty", b"", 0).unwrap());
    bytes.extend(z.file("dados/ção.txt", "olá".as_bytes(), 0).unwrap());
    assert_eq!(z.written(), bytes.len() as u64);
    bytes.extend(z.finish().unwrap());
    bytes
}

#[test]
fn crc32_matches_the_standard_check_values() {
    assert_eq!(Crc32::of(b""), 0);
    assert_eq!(Crc32::of(b"123456789"), 0xCBF4_3926);
    assert_eq!(Crc32::of(b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
    let mut parts = Crc32::default();
    parts.update(b"1234");
    parts.update(b"56789");
    assert_eq!(parts.finish(), 0xCBF4_3926);
}

#[test]
fn whole_and_streamed_entries_read_back() {
    let entries = read_archive(&sample());
    let names: Vec<_> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["contact.json", "messages/2026.jsonl", "media/empty", "dados/ção.txt"]);
    assert_eq!(entries[1].1, b"{\"a\":1}\n{\"b\":2}\n");
    assert_eq!(entries[3].1, "olá".as_bytes());
}

#[test]
fn an_empty_archive_is_just_the_end_record() {
    let bytes = ZipWriter::new().finish().unwrap();
    assert_eq!(bytes.len(), 22);
    assert!(read_archive(&bytes).is_empty());
}

#[test]
fn unsafe_names_are_refused() {
    let mut z = ZipWriter::new();
    for name in ["", "../x", "a/../../x", "/etc/passwd", "a\\b", "C:x", "a//b", "./a", "a/", "x\u{0}y"] {
        assert_eq!(z.file(name, b"x", 0), Err(ZipError::BadName(name.to_string())), "{name:?}");
        assert!(z.begin(name, 0).is_err(), "{name:?}");
    }
    assert!(check_name(&"a".repeat(256)).is_err());
    assert!(check_name("tables/messages.jsonl").is_ok());
    assert_eq!(z.written(), 0, "nothing was written for refused names");
}

#[test]
fn entries_cannot_interleave() {
    let mut z = ZipWriter::new();
    assert_eq!(z.write(b"x".to_vec()), Err(ZipError::NoEntry));
    assert_eq!(z.end(), Err(ZipError::NoEntry));
    z.begin("a", 0).unwrap();
    assert_eq!(z.file("b", b"", 0), Err(ZipError::EntryOpen));
    assert!(z.begin("c", 0).is_err());
    assert!(ZipWriter::finish(z).is_err());
}

#[test]
fn more_than_65535_entries_use_zip64_end_records() {
    let mut z = ZipWriter::new();
    let mut bytes = Vec::new();
    for i in 0..70_000u32 {
        bytes.extend(z.file(&format!("f/{i}"), &i.to_le_bytes(), 0).unwrap());
    }
    bytes.extend(z.finish().unwrap());
    let entries = read_archive(&bytes);
    assert_eq!(entries.len(), 70_000);
    assert_eq!(entries[69_999], ("f/69999".to_string(), 69_999u32.to_le_bytes().to_vec()));
}

#[test]
fn dos_times_follow_the_calendar() {
    // 2026-12-08 01:02:03 UTC
    let (time, date) = dos_time(1_796_691_723_000);
    assert_eq!(date >> 9, 2026 - 1980);
    assert_eq!((date >> 5) & 0xF, 12);
    assert_eq!(date & 0x1F, 8);
    assert_eq!(time >> 11, 1);
    assert_eq!((time >> 5) & 0x3F, 2);
    assert_eq!((time & 0x1F) * 2, 2);
    assert_eq!(dos_time(0), (0, 33), "before 1980: 1980-01-01");
}

#[test]
fn python_zipfile_reads_the_archive() {
    let Ok(probe) = std::process::Command::new("python3").arg("--version").output() else {
        eprintln!("python3 not found: the zipfile cross-check did not run");
        return;
    };
    if !probe.status.success() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.zip");
    std::fs::write(&path, sample()).unwrap();
    let script = "import sys, zipfile, json\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        assert z.testzip() is None\n\
        print(json.dumps({i.filename: z.read(i).decode() for i in z.infolist()}))";
    let out = std::process::Command::new("python3").arg("-c").arg(script).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(read["contact.json"], r#"{"name":"Zoé"}"#);
    assert_eq!(read["messages/2026.jsonl"], "{\"a\":1}\n{\"b\":2}\n");
    assert_eq!(read["dados/ção.txt"], "olá");
}
