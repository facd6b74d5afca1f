//! CSV as Brazilian spreadsheets write it: UTF-8 or Windows-1252 (Latin-1), `;` or `,`
//! separators, RFC 4180 quoting. A small reader and writer of our own (no dependency).

/// The text encoding a file was read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// Windows-1252, the superset of ISO-8859-1 that Excel on Windows writes.
    Windows1252,
}

impl Encoding {
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Windows1252 => "Windows-1252 (Latin-1)",
        }
    }
}

/// Windows-1252's 0x80–0x9F (where it differs from ISO-8859-1); undefined bytes keep their
/// Latin-1 control code point.
const CP1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}', '‘', '’',
    '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

/// Decodes a file: UTF-8 when it is valid UTF-8 (a byte-order mark is dropped), else
/// Windows-1252. Any byte sequence decodes, so this never fails.
pub fn decode(bytes: &[u8]) -> (String, Encoding) {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(body) {
        Ok(s) => (s.to_string(), Encoding::Utf8),
        Err(_) => (
            body.iter()
                .map(|&b| match b {
                    0x80..=0x9F => CP1252_HIGH[(b - 0x80) as usize],
                    _ => b as char,
                })
                .collect(),
            Encoding::Windows1252,
        ),
    }
}

/// Encodes text as Windows-1252; characters it lacks become `?`.
pub fn encode_windows1252(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c as u32 {
            n @ (0..=0x7F | 0xA0..=0xFF) => n as u8,
            _ => CP1252_HIGH.iter().position(|&h| h == c).map(|i| 0x80 + i as u8).unwrap_or(b'?'),
        })
        .collect()
}

/// The separator of a file: the more frequent of `;`, `,` and tab in its first line (outside
/// quotes); `,` when none appears.
pub fn detect_separator(text: &str) -> char {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted => break,
            ';' if !quoted => counts[0] += 1,
            ',' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    if counts[0] >= counts[1] && counts[0] >= counts[2] && counts[0] > 0 {
        ';'
    } else if counts[2] > counts[1] {
        '\t'
    } else {
        ','
    }
}

/// Reads records one by one: quoted fields may hold separators, doubled quotes and line
/// breaks; CRLF and LF both end a record; blank lines are skipped.
pub struct Reader<'a> {
    text: &'a str,
    pos: usize,
    separator: char,
    /// Fields kept per record; the rest are counted but dropped.
    max_fields: usize,
    /// 1-based line where the last returned record started (for error reports).
    pub line: usize,
    /// How many fields the last returned record had, including dropped ones.
    pub width: usize,
    next_line: usize,
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str, separator: char) -> Reader<'a> {
        Reader { text, pos: 0, separator, max_fields: usize::MAX, line: 0, width: 0, next_line: 1 }
    }

    /// Keeps at most `max` fields of a record (at least one), so a line of a million separators
    /// costs a counter, not a million strings; [`Reader::width`] still tells the real count.
    pub fn with_max_fields(mut self, max: usize) -> Reader<'a> {
        self.max_fields = max.max(1);
        self
    }
}

impl Iterator for Reader<'_> {
    type Item = Vec<String>;

    fn next(&mut self) -> Option<Vec<String>> {
        loop {
            if self.pos >= self.text.len() {
                return None;
            }
            self.line = self.next_line;
            let mut fields = Vec::new();
            let mut width = 0;
            let mut field = String::new();
            let mut quoted = false;
            let mut was_quoted = false;
            let mut chars = self.text[self.pos..].char_indices().peekable();
            let mut consumed = self.text.len() - self.pos;
            while let Some((i, c)) = chars.next() {
                if quoted {
                    if c == '"' {
                        if matches!(chars.peek(), Some((_, '"'))) {
                            field.push('"');
                            chars.next();
                        } else {
                            quoted = false;
                        }
                    } else {
                        if c == '\n' {
                            self.next_line += 1;
                        }
                        field.push(c);
                    }
                } else if c == '"' && field.is_empty() && !was_quoted {
                    quoted = true;
                    was_quoted = true;
                } else if c == self.separator {
                    width += 1;
                    if fields.len() < self.max_fields {
                        fields.push(std::mem::take(&mut field));
                    } else {
                        field.clear();
                    }
                    was_quoted = false;
                } else if c == '\n' || c == '\r' {
                    if c == '\r' && matches!(chars.peek(), Some((_, '\n'))) {
                        chars.next();
                        consumed = i + 2;
                    } else {
                        consumed = i + 1;
                    }
                    self.next_line += 1;
                    break;
                } else {
                    field.push(c);
                }
            }
            self.pos += consumed;
            width += 1;
            if width == 1 && field.trim().is_empty() && !was_quoted {
                continue;
            }
            if fields.len() < self.max_fields {
                fields.push(field);
            }
            self.width = width;
            return Some(fields);
        }
    }
}

/// Appends one record to `out`, quoting fields that need it, and ends it with CRLF.
/// Cells that a spreadsheet would run as a formula (`=`, `@`, `+`/`-` not followed by a
/// number) get a leading `'` so an exported file cannot carry formula injection.
pub fn write_record<S: AsRef<str>>(out: &mut String, fields: &[S], separator: char) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(separator);
        }
        let f = f.as_ref();
        let risky = match f.chars().next() {
            Some('=' | '@' | '\t' | '\r') => true,
            Some('+' | '-') => {
                !f[1..].chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | ',' | '(' | ')' | '-'))
            }
            _ => false,
        };
        let needs_quotes = risky || f.contains(separator) || f.contains(['"', '\n', '\r']) || f != f.trim();
        if needs_quotes {
            out.push('"');
            if risky {
                out.push('\'');
            }
            for c in f.chars() {
                if c == '"' {
                    out.push('"');
                }
                out.push(c);
            }
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf8_with_or_without_bom_and_falls_back_to_windows_1252() {
        assert_eq!(decode("João".as_bytes()), ("João".to_string(), Encoding::Utf8));
        assert_eq!(decode(b"\xEF\xBB\xBFJo\xC3\xA3o"), ("João".to_string(), Encoding::Utf8));
        assert_eq!(decode(b"Jo\xE3o \x80 \x93x\x94"), ("João € “x”".to_string(), Encoding::Windows1252));
        assert_eq!(encode_windows1252("João € “x” 日"), b"Jo\xE3o \x80 \x93x\x94 ?".to_vec());
    }

    #[test]
    fn detects_the_separator_from_the_first_line() {
        assert_eq!(detect_separator("nome;telefone;\"a,b\"\n1,2,3,4"), ';');
        assert_eq!(detect_separator("name,phone\n"), ',');
        assert_eq!(detect_separator("name\tphone"), '\t');
        assert_eq!(detect_separator("name"), ',');
    }

    #[test]
    fn reads_quoted_fields_line_breaks_and_blank_lines() {
        let text = "a;b;c\r\n\"x;y\";\"he said \"\"hi\"\"\";\"two\nlines\"\n\n1;;3\nlast;row";
        let mut r = Reader::new(text, ';');
        assert_eq!(r.next().unwrap(), vec!["a", "b", "c"]);
        assert_eq!(r.line, 1);
        assert_eq!(r.next().unwrap(), vec!["x;y", "he said \"hi\"", "two\nlines"]);
        assert_eq!(r.line, 2);
        assert_eq!(r.next().unwrap(), vec!["1", "", "3"]);
        assert_eq!(r.line, 5);
        assert_eq!(r.next().unwrap(), vec!["last", "row"]);
        assert_eq!(r.next(), None);
    }

    #[test]
    fn a_capped_reader_counts_the_fields_it_drops() {
        let text = format!("{}\nx;y\n", ";".repeat(9_999));
        let mut r = Reader::new(&text, ';').with_max_fields(3);
        assert_eq!(r.next().unwrap(), vec!["", "", ""]);
        assert_eq!(r.width, 10_000);
        assert_eq!(r.next().unwrap(), vec!["x", "y"]);
        assert_eq!(r.width, 2);
        assert_eq!(r.next(), None);
    }

    #[test]
    fn writes_what_it_reads_and_defuses_formulas() {
        let rows = vec![
            vec!["nome".to_string(), "telefone".into(), "obs".into()],
            vec!["Ana; Maria".into(), "+5511987654321".into(), "disse \"oi\"\nlinha 2".into()],
            vec!["=HYPERLINK(\"x\")".into(), "-10".into(), " espaço ".into()],
        ];
        let mut out = String::new();
        for r in &rows {
            write_record(&mut out, r, ';');
        }
        let back: Vec<Vec<String>> = Reader::new(&out, ';').collect();
        assert_eq!(back[0], rows[0]);
        assert_eq!(back[1], rows[1]);
        assert_eq!(back[2], vec!["'=HYPERLINK(\"x\")", "-10", " espaço "]);
    }
}
