//! CSV input: a header row, then numeric rows. Every error names the file,
//! the line and, where it applies, the column. A feature cell may be missing
//! ([`MISSING_MARKERS`]: empty, `NaN`, `NA`, ...); a target may not.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::{Context, Result, bail};

/// Longest field accepted; no number needs more, and it bounds memory on bad input.
const MAX_FIELD_BYTES: usize = 256;

/// Longest record (a line, or more where a quoted field spans lines): a
/// header of tens of thousands of named columns fits, and a file without
/// line breaks is refused after this much instead of being read whole.
pub const MAX_RECORD_BYTES: u64 = 8 << 20;

/// Cells that mean "missing value" (read as NaN): pandas' default
/// `na_values`, so a file that pandas reads with gaps reads the same here.
pub const MISSING_MARKERS: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// What to read of a CSV file.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Bytes the parsed cells may take in memory (8 per cell read): past
    /// this, reading stops with an error naming the line.
    pub budget: u64,
    /// Columns to parse, by name; the others are passed over unread (they
    /// may hold anything). `None`: every column.
    pub only: Option<Vec<String>>,
}

impl ReadOptions {
    /// Every column, within `budget` bytes.
    pub fn all(budget: u64) -> ReadOptions {
        ReadOptions { budget, only: None }
    }
}

/// A numeric CSV file, cells row-major.
#[derive(Debug)]
pub struct Table {
    pub path: PathBuf,
    /// Every column of the file, read or not.
    pub headers: Vec<String>,
    /// Position in a row of `cells` of each column, if it was read.
    slot: Vec<Option<usize>>,
    pub n_rows: usize,
    cells: Vec<f64>,
    /// 1-based file line of each row (quoted fields may span lines).
    lines: Vec<u64>,
    /// Size of the input, bytes (for load throughput).
    pub bytes: u64,
}

/// Features (row-major f32) and, when present, targets, ready for the component.
#[derive(Debug, Clone)]
pub struct Xy {
    pub feature_names: Vec<String>,
    pub target_name: Option<String>,
    pub n_rows: usize,
    pub features: Vec<f32>,
    pub targets: Option<Vec<f64>>,
    /// The sample weight column's name and values, when one was asked for.
    pub weights: Option<(String, Vec<f64>)>,
    /// Size of the CSV it came from, bytes.
    pub source_bytes: u64,
}

impl Xy {
    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }
}

/// `" weighted by 'COLUMN'"` when the rows have sample weights, for status
/// lines; empty otherwise.
pub fn weighted_by(xy: &Xy) -> String {
    xy.weights
        .as_ref()
        .map_or(String::new(), |(name, _)| format!(" weighted by '{name}'"))
}

pub fn read_csv(path: &Path, options: &ReadOptions) -> Result<Table> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    parse_csv(file, path, options)
}

/// Parses CSV from any reader, streaming (the file is never held whole);
/// `path` only names it in errors.
pub fn parse_csv(input: impl std::io::Read, path: &Path, options: &ReadOptions) -> Result<Table> {
    let shown = path.display();
    let marks = Rc::new(RefCell::new(LineMarks::default()));
    let mut line_index = LineIndex {
        marks: marks.clone(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .buffer_capacity(1 << 16)
        .from_reader(Counting {
            inner: input,
            marks: marks.clone(),
        });
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) if refused(&e) => bail!("{shown}: {}", csv_error_text(&e, &mut line_index)),
        Err(e) => bail!(
            "{shown}: cannot read the header row: {}",
            csv_error_text(&e, &mut line_index)
        ),
    };
    check_headers(&headers, &shown)?;
    let slot = slots(&headers, options.only.as_deref());
    let width = slot.iter().flatten().count();
    let mut cells = Vec::new();
    let mut lines = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        marks.borrow_mut().record_start = reader.position().byte();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => bail!("{shown}: {}", csv_error_text(&e, &mut line_index)),
        }
        let line = record
            .position()
            .map_or(0, |p| line_index.line_at(p.byte()));
        for (col, field) in record.iter().enumerate() {
            if slot[col].is_none() {
                continue;
            }
            let at = || {
                format!(
                    "{shown}: line {line}, column '{}' ({})",
                    headers[col],
                    col + 1
                )
            };
            cells.push(parse_cell(field, at)?);
        }
        lines.push(line);
        if (cells.len() as u64).saturating_mul(8) > options.budget {
            bail!(
                "{shown}: line {line}: the data read so far takes more than {} of memory, the limit for this job (--max-memory; a sandbox addresses at most 4096 MiB)",
                mib_text(options.budget)
            );
        }
    }
    if lines.is_empty() {
        bail!("{shown}: no data rows after the header");
    }
    let bytes = marks.borrow().read;
    debug_assert_eq!(cells.len(), lines.len() * width);
    Ok(Table {
        path: path.to_path_buf(),
        n_rows: lines.len(),
        headers,
        slot,
        cells,
        lines,
        bytes,
    })
}

fn mib_text(bytes: u64) -> String {
    format!("{} MiB", bytes >> 20)
}

fn check_headers(headers: &[String], shown: &std::path::Display) -> Result<()> {
    if headers.is_empty() || headers.len() == 1 && headers[0].is_empty() {
        bail!("{shown}: the file is empty (expected a header row, then one row per sample)");
    }
    let mut seen = HashMap::new();
    for (i, name) in headers.iter().enumerate() {
        if name.is_empty() {
            bail!("{shown}: line 1: column {} has an empty name", i + 1);
        }
        if let Some(first) = seen.insert(name.as_str(), i) {
            bail!(
                "{shown}: line 1: column name '{name}' appears twice (columns {} and {})",
                first + 1,
                i + 1
            );
        }
    }
    Ok(())
}

/// Where each column goes in a row of cells (`None`: not read).
fn slots(headers: &[String], only: Option<&[String]>) -> Vec<Option<usize>> {
    let mut next = 0;
    headers
        .iter()
        .map(|h| {
            only.is_none_or(|names| names.contains(h)).then(|| {
                next += 1;
                next - 1
            })
        })
        .collect()
}

fn parse_cell(field: &str, at: impl Fn() -> String) -> Result<f64> {
    if field.len() > MAX_FIELD_BYTES {
        bail!(
            "{}: a field of {} bytes exceeds the {MAX_FIELD_BYTES}-byte limit",
            at(),
            field.len()
        );
    }
    // Numbers first: the markers are looked up only for a cell that is not
    // one (and for `nan`, which parses), not for every cell of a file.
    let missing = || MISSING_MARKERS.contains(&field);
    let value: f64 = match field.parse::<f64>() {
        Ok(v) if v.is_nan() && missing() => return Ok(f64::NAN),
        Ok(v) => v,
        Err(_) if missing() => return Ok(f64::NAN),
        Err(_) => bail!("{}: cannot parse '{field}' as a number", at()),
    };
    if !value.is_finite() {
        bail!(
            "{}: '{field}' is not a finite number (a missing value is an empty cell or NaN)",
            at()
        );
    }
    Ok(value)
}

/// Whether `e` is [`Counting`]'s refusal of input that cannot be CSV.
fn refused(e: &csv::Error) -> bool {
    matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::InvalidData)
}

fn csv_error_text(e: &csv::Error, lines: &mut LineIndex) -> String {
    let mut line =
        |pos: &Option<csv::Position>| pos.as_ref().map_or(0, |p| lines.line_at(p.byte()));
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => {
            format!(
                "line {}: {len} fields, but the header has {expected_len}",
                line(pos)
            )
        }
        csv::ErrorKind::Utf8 { pos, err } => {
            format!(
                "line {}: field {} is not valid UTF-8",
                line(pos),
                err.field() + 1
            )
        }
        csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => io.to_string(),
        _ => e.to_string(),
    }
}

/// Line-ending bytes seen by [`Counting`] and not yet passed by the parser,
/// so that line numbers can be told while the file streams through.
#[derive(Default)]
struct LineMarks {
    /// Bytes read so far.
    read: u64,
    /// `\n` bytes read so far.
    newlines: u64,
    /// Offset where the record being parsed starts.
    record_start: u64,
    /// Offsets of `\r` and `\n` bytes (true for `\n`) read ahead of the parser.
    pending: VecDeque<(u64, bool)>,
    /// Line (from 1) at the oldest pending offset.
    line: u64,
}

/// A reader that notes where line endings are as bytes go by.
struct Counting<R> {
    inner: R,
    marks: Rc<RefCell<LineMarks>>,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    /// Also refuses input that cannot be a CSV file before it costs memory:
    /// a NUL byte (a binary file, /dev/zero, a sparse file's hole), or a
    /// record that goes on past [`MAX_RECORD_BYTES`].
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut m = self.marks.borrow_mut();
        let at = m.read;
        for (i, &b) in buf[..n].iter().enumerate() {
            match b {
                b'\n' | b'\r' => {
                    m.pending.push_back((at + i as u64, b == b'\n'));
                    m.newlines += u64::from(b == b'\n');
                }
                0 => {
                    return Err(bad_input(format!(
                        "line {}: a NUL byte (at byte {}): this is not a text CSV file",
                        m.newlines + 1,
                        at + i as u64
                    )));
                }
                _ => {}
            }
        }
        m.read += n as u64;
        if m.read - m.record_start > MAX_RECORD_BYTES {
            return Err(bad_input(format!(
                "line {}: a record longer than {} MiB (no line break in {} MiB: is this a CSV file?)",
                m.newlines + 1,
                MAX_RECORD_BYTES >> 20,
                MAX_RECORD_BYTES >> 20
            )));
        }
        Ok(n)
    }
}

fn bad_input(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

/// File line (from 1) of a record's byte offset. Counted here because the csv
/// crate's own line numbers lag by one after a CRLF line ending (it places the
/// next record on the LF). Offsets are asked for in increasing order, so the
/// line endings before an offset can be forgotten once it is asked for.
struct LineIndex {
    marks: Rc<RefCell<LineMarks>>,
}

impl LineIndex {
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut m = self.marks.borrow_mut();
        let m = &mut *m;
        m.line = m.line.max(1);
        while let Some(&(pos, newline)) = m.pending.front()
            && pos < byte
        {
            m.line += u64::from(newline);
            m.pending.pop_front();
        }
        // A record "starting" on line-ending bytes really starts after them.
        let mut next = byte;
        while let Some(&(pos, newline)) = m.pending.front()
            && pos == next
        {
            m.line += u64::from(newline);
            m.pending.pop_front();
            next += 1;
        }
        m.line
    }
}

impl Table {
    /// Number of cells (rows × columns).
    pub fn n_values(&self) -> usize {
        self.cells.len()
    }

    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    fn column(&self, name: &str) -> Result<usize> {
        self.headers
            .iter()
            .position(|h| h == name)
            .with_context(|| {
                format!(
                    "{}: no column named '{name}' (columns: {})",
                    self.path.display(),
                    self.headers.join(", ")
                )
            })
    }

    /// For training: the target is `target` or, by default, the last column;
    /// `weight` names a column of sample weights; every other column is a
    /// feature.
    pub fn for_training(&self, target: Option<&str>, weight: Option<&str>) -> Result<Xy> {
        let t = match target {
            Some(name) => self.column(name)?,
            None => self.headers.len() - 1,
        };
        let w = weight.map(|name| self.column(name)).transpose()?;
        if w == Some(t) {
            bail!(
                "{}: column '{}' cannot be both the target and the sample weights",
                self.path.display(),
                self.headers[t]
            );
        }
        if self.headers.len() < 2 {
            bail!(
                "{}: only one column ('{}'); training needs at least one feature column and a target column",
                self.path.display(),
                self.headers[0]
            );
        }
        if w.is_some() && self.headers.len() < 3 {
            bail!(
                "{}: only the target and the weight columns; training needs at least one feature column too",
                self.path.display()
            );
        }
        let features: Vec<usize> = (0..self.headers.len())
            .filter(|&c| c != t && Some(c) != w)
            .collect();
        let mut xy = self.select(&features, Some(t))?;
        if let Some(w) = w {
            xy.weights = Some((self.headers[w].clone(), self.weights(w)?));
        }
        // The forest crate refuses these too, by row; here the user gets the line.
        let targets = xy.targets.as_deref().unwrap_or_default();
        if let Some(r) = forest::first_target_beyond_limit(targets) {
            bail!(
                "{}: line {}, column '{}' ({}): target {:e} is too large; {}",
                self.path.display(),
                self.lines[r],
                self.headers[t],
                t + 1,
                targets[r],
                forest::target_range_text(self.n_rows)
            );
        }
        Ok(xy)
    }

    /// For prediction with a model trained on `model_features` columns: the
    /// columns are found by name when the model knows the names (so their order
    /// may differ), else by position. The target (for the MSE) is the column
    /// `target` names: an error if `required` and the file lacks it, else
    /// none. A model without names (positional) takes a column named
    /// `target`, else a last column beyond its features.
    pub fn for_prediction(
        &self,
        model_features: usize,
        names: Option<&[String]>,
        target: Option<&str>,
        required: bool,
    ) -> Result<Xy> {
        let shown = self.path.display();
        let target_col = match target {
            Some(name) if required => Some(self.column(name)?),
            Some(name) => self.headers.iter().position(|h| h == name),
            None if names.is_none() => self.headers.iter().position(|h| h == "target"),
            None => None,
        };
        let features: Vec<usize> = match names {
            Some(names) => names
                .iter()
                .map(|n| {
                    self.headers.iter().position(|h| h == n).with_context(|| {
                        format!("{shown}: the model needs feature column '{n}', which the file lacks (columns: {})", self.headers.join(", "))
                    })
                })
                .collect::<Result<_>>()?,
            None => {
                let cols: Vec<usize> = (0..self.headers.len()).filter(|&c| Some(c) != target_col).collect();
                if cols.len() < model_features {
                    bail!("{shown}: {} feature columns, but the model was trained on {model_features}", cols.len());
                }
                cols[..model_features].to_vec()
            }
        };
        let target_col = target_col.or_else(|| {
            (names.is_none() && self.headers.len() == model_features + 1)
                .then_some(self.headers.len() - 1)
        });
        self.select(&features, target_col)
    }

    /// Column `c` as sample weights: each 0 or a positive finite number, not
    /// all 0 (the forest crate's rule, see `forest::check_sample_weight`),
    /// an error naming the line otherwise.
    fn weights(&self, c: usize) -> Result<Vec<f64>> {
        let width = self.slot.iter().flatten().count().max(1);
        let s = self.slot[c].context("the weight column was not read")?;
        let w: Vec<f64> = self.cells.chunks_exact(width).map(|row| row[s]).collect();
        let at = |r: usize| {
            format!(
                "{}: line {}, column '{}' ({})",
                self.path.display(),
                self.lines[r],
                self.headers[c],
                c + 1
            )
        };
        if let Some(r) = w.iter().position(|v| v.is_nan()) {
            bail!(
                "{}: the sample weight is missing (every row needs one)",
                at(r)
            );
        }
        if let Err(e) = forest::check_sample_weight(&w, w.len()) {
            // The crate names the row; the user gets the line.
            let row = w
                .iter()
                .position(|&v| !(v == 0.0 || v.is_normal() && v > 0.0));
            match row {
                Some(r) => bail!(
                    "{}: sample weight {:?}; weights must be 0 or positive finite numbers",
                    at(r),
                    w[r]
                ),
                None => bail!("{}: {}", self.path.display(), e),
            }
        }
        Ok(w)
    }

    /// Columns `features` (and `target`) by header index; they must have been read.
    fn select(&self, features: &[usize], target: Option<usize>) -> Result<Xy> {
        let width = self.slot.iter().flatten().count().max(1);
        let slot = |c: usize| {
            self.slot[c].with_context(|| {
                format!(
                    "{}: column '{}' was not read",
                    self.path.display(),
                    self.headers[c]
                )
            })
        };
        let feature_slots: Vec<usize> = features.iter().map(|&c| slot(c)).collect::<Result<_>>()?;
        let target_slot = target.map(slot).transpose()?;
        let mut x = Vec::with_capacity(self.n_rows * features.len());
        for (r, row) in self.cells.chunks_exact(width).enumerate() {
            for (&c, &s) in features.iter().zip(&feature_slots) {
                let v = row[s] as f32;
                if v.is_infinite() {
                    bail!(
                        "{}: line {}, column '{}' ({}): {:e} is too large for a 32-bit float feature",
                        self.path.display(),
                        self.lines[r],
                        self.headers[c],
                        c + 1,
                        row[s]
                    );
                }
                x.push(v);
            }
        }
        let targets: Option<Vec<f64>> =
            target_slot.map(|t| self.cells.chunks_exact(width).map(|row| row[t]).collect());
        if let (Some(t), Some(ys)) = (target, &targets)
            && let Some(r) = ys.iter().position(|y| y.is_nan())
        {
            bail!(
                "{}: line {}, column '{}' ({}): the target is missing (only features may have missing values)",
                self.path.display(),
                self.lines[r],
                self.headers[t],
                t + 1
            );
        }
        Ok(Xy {
            feature_names: features.iter().map(|&c| self.headers[c].clone()).collect(),
            target_name: target.map(|t| self.headers[t].clone()),
            n_rows: self.n_rows,
            features: x,
            targets,
            weights: None,
            source_bytes: self.bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> ReadOptions {
        ReadOptions::all(u64::MAX)
    }

    #[test]
    fn windows_line_endings_and_quoted_headers_read_the_same() {
        let unix = parse_csv(
            &b"a,\"b\",target\n1,2,3\n4,5,6\n"[..],
            Path::new("u.csv"),
            &all(),
        )
        .unwrap();
        let windows = parse_csv(
            &b"a,\"b\",target\r\n1,2,3\r\n4,5,6\r\n"[..],
            Path::new("w.csv"),
            &all(),
        )
        .unwrap();
        assert_eq!(unix.headers, windows.headers);
        assert_eq!(unix.cells, windows.cells);
        assert_eq!(windows.lines, vec![2, 3]);
    }

    #[test]
    fn error_positions_count_lines_from_one() {
        let err = parse_csv(
            &b"a,target\r\n1,2\r\n3,x\r\n"[..],
            Path::new("w.csv"),
            &all(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "w.csv: line 3, column 'target' (2): cannot parse 'x' as a number"
        );
    }

    /// Hands out its bytes a few at a time, as a slow pipe would.
    struct Trickle<'a>(&'a [u8], usize);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn line_numbers_survive_streaming_in_tiny_chunks() {
        // CRLF, blank lines, a quoted header spanning two lines, no final newline.
        let text = b"\"a\nb\",target\r\n1,2\r\n\r\n3,4\n\n\n5,6\r\n7,8";
        for chunk in [1, 2, 3, 7, 64] {
            let t = parse_csv(Trickle(text, chunk), Path::new("t.csv"), &all()).unwrap();
            assert_eq!(t.lines, vec![3, 5, 8, 9], "chunks of {chunk}");
            assert_eq!(t.cells, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
            assert_eq!(t.bytes, text.len() as u64);
        }
        let bad = b"a,target\r\n1,2\r\n\r\n3,4\r\n5\r\n";
        for chunk in [1, 5, 4096] {
            let err = parse_csv(Trickle(bad, chunk), Path::new("b.csv"), &all()).unwrap_err();
            assert_eq!(
                err.to_string(),
                "b.csv: line 5: 1 fields, but the header has 2",
                "chunks of {chunk}"
            );
        }
    }

    #[test]
    fn a_large_file_streams_with_exact_line_numbers() {
        let mut text = String::from("x,target\n");
        for i in 0..50_000 {
            text.push_str(&format!("{i}.5,{}\r\n", i % 7));
        }
        text.push_str("1,oops\n");
        let err =
            parse_csv(Trickle(text.as_bytes(), 1000), Path::new("big.csv"), &all()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "big.csv: line 50002, column 'target' (2): cannot parse 'oops' as a number"
        );
    }

    #[test]
    fn binary_input_is_refused_at_its_first_nul_byte() {
        let mut text = b"a,target\n1,2\n3,".to_vec();
        text.extend(std::iter::repeat_n(0u8, 1 << 20));
        for chunk in [1, 7, 1 << 16] {
            let err = parse_csv(Trickle(&text, chunk), Path::new("z.csv"), &all()).unwrap_err();
            assert_eq!(
                err.to_string(),
                "z.csv: line 3: a NUL byte (at byte 15): this is not a text CSV file",
                "chunks of {chunk}"
            );
        }
        let err = parse_csv(&[0u8; 100][..], Path::new("zero"), &all()).unwrap_err();
        assert!(
            err.to_string().starts_with("zero: line 1: a NUL byte"),
            "{err}"
        );
    }

    /// An endless reader of one repeated byte, counting what was taken.
    struct Endless(u8, u64);

    impl std::io::Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(self.0);
            self.1 += buf.len() as u64;
            Ok(buf.len())
        }
    }

    #[test]
    fn a_record_without_end_is_refused_after_the_record_limit() {
        // No delimiter at all, a quoted field spanning endless lines, and a
        // data row after a good header and row.
        for (head, fill) in [
            (&b""[..], b'7'),
            (&b"a,target\n\"x"[..], b'\n'),
            (&b"a,b\n1,2\n"[..], b'5'),
        ] {
            let mut input = std::io::Read::chain(head, Endless(fill, 0));
            let err = parse_csv(&mut input, Path::new("e.csv"), &all()).unwrap_err();
            assert!(
                err.to_string()
                    .contains("a record longer than 8 MiB (no line break in 8 MiB"),
                "{err}"
            );
            let (_, rest) = input.into_inner();
            assert!(
                rest.1 < MAX_RECORD_BYTES + (1 << 17),
                "read {} bytes",
                rest.1
            );
        }
    }

    #[test]
    fn reading_stops_at_the_memory_budget_naming_the_line() {
        let text = b"a,b,target\n1,2,3\n4,5,6\n7,8,9\n";
        // Two rows of three cells fit in 48 bytes; the third does not.
        let t = parse_csv(&text[..], Path::new("m.csv"), &ReadOptions::all(72)).unwrap();
        assert_eq!(t.n_rows, 3);
        let err = parse_csv(&text[..], Path::new("m.csv"), &ReadOptions::all(71)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("m.csv: line 4: the data read so far takes more than 0 MiB of memory"),
            "{err}"
        );
    }

    #[test]
    fn columns_left_out_are_not_parsed() {
        let text = b"id,x,note,target\nabc,1,,10\n\"a, b\",2,free text,20\n";
        let only = ReadOptions {
            budget: u64::MAX,
            only: Some(vec!["x".into(), "target".into()]),
        };
        let t = parse_csv(&text[..], Path::new("p.csv"), &only).unwrap();
        assert_eq!(t.cells, vec![1.0, 10.0, 2.0, 20.0]);
        let xy = t
            .for_prediction(1, Some(&["x".to_string()]), Some("target"), true)
            .unwrap();
        assert_eq!(xy.features, vec![1.0, 2.0]);
        assert_eq!(xy.targets, Some(vec![10.0, 20.0]));
        // Read whole, the same file fails on its text column.
        let err = parse_csv(&text[..], Path::new("p.csv"), &all()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "p.csv: line 2, column 'id' (1): cannot parse 'abc' as a number"
        );
    }
}
