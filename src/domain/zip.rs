//! A small ZIP writer of our own (PKWARE APPNOTE 6.3): stored entries only (no compression),
//! CRC-32 from our own table, UTF-8 names, ZIP64 records when the archive passes 4 GiB or
//! 65,535 entries. Built to stream: every call returns the bytes to send next, so an archive is
//! never held whole in memory. A whole file ([`ZipWriter::file`]) carries its sizes and CRC in
//! its header; a streamed entry ([`ZipWriter::begin`] → [`ZipWriter::write`] →
//! [`ZipWriter::end`]) puts them in a data descriptor after its bytes (flag bit 3). Names are
//! checked ([`check_name`]): no absolute paths, no `..`, no backslashes, so an archive cannot
//! write outside the folder it is unpacked into.

/// Why an archive could not be written as asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    #[error("entry name {0:?} is not a safe relative path")]
    BadName(String),
    #[error("an entry of more than 4 GiB cannot be stored")]
    EntryTooLarge,
    #[error("an entry is still open")]
    EntryOpen,
    #[error("no entry is open")]
    NoEntry,
}

const CRC_TABLE: [u32; 256] = crc_table();

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

/// The CRC-32 of ZIP (ISO-HDLC: reflected, polynomial 0x04C11DB7, initial and final XOR all ones).
#[derive(Clone, Copy, Debug)]
pub struct Crc32(u32);

impl Default for Crc32 {
    fn default() -> Self {
        Crc32(0xFFFF_FFFF)
    }
}

impl Crc32 {
    pub fn update(&mut self, data: &[u8]) {
        let mut c = self.0;
        for &b in data {
            c = CRC_TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
        }
        self.0 = c;
    }

    pub fn finish(self) -> u32 {
        self.0 ^ 0xFFFF_FFFF
    }

    pub fn of(data: &[u8]) -> u32 {
        let mut c = Crc32::default();
        c.update(data);
        c.finish()
    }
}

/// Whether `name` is a safe entry name: relative, `/`-separated, no empty, `.` or `..` part, no
/// backslash, colon or control character, at most 255 bytes.
pub fn check_name(name: &str) -> Result<(), ZipError> {
    let bad = name.is_empty()
        || name.len() > 255
        || name.starts_with('/')
        || name.chars().any(|c| c == '\\' || c == ':' || c.is_control())
        || name.split('/').any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        Err(ZipError::BadName(name.to_string()))
    } else {
        Ok(())
    }
}

/// MS-DOS date and time (UTC) of a Unix-millisecond instant; before 1980 reads as 1980-01-01.
pub fn dos_time(ms: i64) -> (u16, u16) {
    use chrono::{Datelike, Timelike};
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms).filter(|t| (1980..=2107).contains(&t.year())) else {
        return (0, (1 << 5) | 1);
    };
    let time = ((t.hour() as u16) << 11) | ((t.minute() as u16) << 5) | (t.second() as u16 / 2);
    let date = (((t.year() - 1980) as u16) << 9) | ((t.month() as u16) << 5) | t.day() as u16;
    (time, date)
}

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const DESCRIPTOR_SIG: u32 = 0x0807_4b50;
const END_SIG: u32 = 0x0605_4b50;
const END64_SIG: u32 = 0x0606_4b50;
const LOCATOR64_SIG: u32 = 0x0706_4b50;
/// Bit 3: sizes and CRC follow the data; bit 11: the name is UTF-8.
const FLAG_DESCRIPTOR: u16 = 1 << 3;
const FLAG_UTF8: u16 = 1 << 11;
const MAX32: u64 = 0xFFFF_FFFF;

struct Entry {
    name: String,
    flags: u16,
    time: (u16, u16),
    crc: u32,
    size: u64,
    offset: u64,
}

struct Open {
    crc: Crc32,
    size: u64,
}

/// An archive being written; see the module's documentation.
#[derive(Default)]
pub struct ZipWriter {
    offset: u64,
    entries: Vec<Entry>,
    open: Option<Open>,
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

impl ZipWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many bytes the archive has so far.
    pub fn written(&self) -> u64 {
        self.offset
    }

    fn local_header(&mut self, name: &str, flags: u16, time: (u16, u16), crc: u32, size: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(30 + name.len());
        put32(&mut out, LOCAL_SIG);
        put16(&mut out, 20);
        put16(&mut out, flags);
        put16(&mut out, 0); // stored
        put16(&mut out, time.0);
        put16(&mut out, time.1);
        put32(&mut out, crc);
        put32(&mut out, size as u32);
        put32(&mut out, size as u32);
        put16(&mut out, name.len() as u16);
        put16(&mut out, 0);
        out.extend_from_slice(name.as_bytes());
        self.entries.push(Entry { name: name.to_string(), flags, time, crc, size, offset: self.offset });
        out
    }

    /// A whole file: its header (sizes and CRC known) and its bytes.
    pub fn file(&mut self, name: &str, data: &[u8], modified_ms: i64) -> Result<Vec<u8>, ZipError> {
        check_name(name)?;
        if self.open.is_some() {
            return Err(ZipError::EntryOpen);
        }
        if data.len() as u64 >= MAX32 {
            return Err(ZipError::EntryTooLarge);
        }
        let mut out = self.local_header(name, FLAG_UTF8, dos_time(modified_ms), Crc32::of(data), data.len() as u64);
        out.extend_from_slice(data);
        self.offset += out.len() as u64;
        Ok(out)
    }

    /// Opens a streamed entry: returns its header; its bytes go through [`ZipWriter::write`].
    pub fn begin(&mut self, name: &str, modified_ms: i64) -> Result<Vec<u8>, ZipError> {
        check_name(name)?;
        if self.open.is_some() {
            return Err(ZipError::EntryOpen);
        }
        let out = self.local_header(name, FLAG_UTF8 | FLAG_DESCRIPTOR, dos_time(modified_ms), 0, 0);
        self.offset += out.len() as u64;
        self.open = Some(Open { crc: Crc32::default(), size: 0 });
        Ok(out)
    }

    /// Counts the next bytes of the open entry and hands them back to be sent as they are.
    pub fn write(&mut self, data: Vec<u8>) -> Result<Vec<u8>, ZipError> {
        let open = self.open.as_mut().ok_or(ZipError::NoEntry)?;
        open.size += data.len() as u64;
        if open.size >= MAX32 {
            return Err(ZipError::EntryTooLarge);
        }
        open.crc.update(&data);
        self.offset += data.len() as u64;
        Ok(data)
    }

    /// Closes the open entry: returns its data descriptor.
    pub fn end(&mut self) -> Result<Vec<u8>, ZipError> {
        let open = self.open.take().ok_or(ZipError::NoEntry)?;
        let crc = open.crc.finish();
        if let Some(entry) = self.entries.last_mut() {
            entry.crc = crc;
            entry.size = open.size;
        }
        let mut out = Vec::with_capacity(16);
        put32(&mut out, DESCRIPTOR_SIG);
        put32(&mut out, crc);
        put32(&mut out, open.size as u32);
        put32(&mut out, open.size as u32);
        self.offset += out.len() as u64;
        Ok(out)
    }

    /// The central directory and the end records: the archive's last bytes.
    pub fn finish(self) -> Result<Vec<u8>, ZipError> {
        if self.open.is_some() {
            return Err(ZipError::EntryOpen);
        }
        let start = self.offset;
        let mut out = Vec::with_capacity(self.entries.len() * 64 + 100);
        for e in &self.entries {
            let far = e.offset >= MAX32;
            put32(&mut out, CENTRAL_SIG);
            put16(&mut out, (3 << 8) | if far { 45 } else { 20 }); // made by Unix
            put16(&mut out, if far { 45 } else { 20 });
            put16(&mut out, e.flags);
            put16(&mut out, 0);
            put16(&mut out, e.time.0);
            put16(&mut out, e.time.1);
            put32(&mut out, e.crc);
            put32(&mut out, e.size as u32);
            put32(&mut out, e.size as u32);
            put16(&mut out, e.name.len() as u16);
            put16(&mut out, if far { 12 } else { 0 });
            put16(&mut out, 0); // comment
            put16(&mut out, 0); // disk
            put16(&mut out, 0); // internal attributes
            put32(&mut out, 0o100_644 << 16); // a regular file, rw-r--r--
            put32(&mut out, if far { MAX32 as u32 } else { e.offset as u32 });
            out.extend_from_slice(e.name.as_bytes());
            if far {
                put16(&mut out, 0x0001); // ZIP64 extra: only the offset is too large
                put16(&mut out, 8);
                put64(&mut out, e.offset);
            }
        }
        let size = out.len() as u64;
        let count = self.entries.len() as u64;
        let zip64 = count >= 0xFFFF || start >= MAX32 || size >= MAX32;
        if zip64 {
            let end64 = start + size;
            put32(&mut out, END64_SIG);
            put64(&mut out, 44);
            put16(&mut out, (3 << 8) | 45);
            put16(&mut out, 45);
            put32(&mut out, 0);
            put32(&mut out, 0);
            put64(&mut out, count);
            put64(&mut out, count);
            put64(&mut out, size);
            put64(&mut out, start);
            put32(&mut out, LOCATOR64_SIG);
            put32(&mut out, 0);
            put64(&mut out, end64);
            put32(&mut out, 1);
        }
        put32(&mut out, END_SIG);
        put16(&mut out, 0);
        put16(&mut out, 0);
        put16(&mut out, count.min(0xFFFF) as u16);
        put16(&mut out, count.min(0xFFFF) as u16);
        put32(&mut out, size.min(MAX32) as u32);
        put32(&mut out, start.min(MAX32) as u32);
        put16(&mut out, 0);
        Ok(out)
    }
}

#[cfg(test)]
#[path = "zip_tests.rs"]
mod tests;
