//! Standard output of a command: JSON or text, written in one go at the end. A reader
//! that goes away early (`| head`) is not an error: the rest is dropped quietly.

use std::io::Write;

use serde::Serialize;

use super::Failure;

pub struct Output {
    json: bool,
    text: String,
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output {
            json,
            text: String::new(),
        }
    }

    pub fn json(&self) -> bool {
        self.json
    }

    /// One line of text.
    pub fn line(&mut self, line: impl AsRef<str>) {
        self.text.push_str(line.as_ref());
        self.text.push('\n');
    }

    /// A value as one line of JSON.
    pub fn value(&mut self, value: &impl Serialize) -> Result<(), Failure> {
        let text = serde_json::to_string(value)
            .map_err(|e| Failure::setup(format!("encoding the output: {e}")))?;
        self.line(text);
        Ok(())
    }

    /// `field  value` lines, the names padded to one column.
    pub fn fields(&mut self, rows: &[(&str, String)]) {
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (name, value) in rows {
            self.line(format!("{name:<width$}  {value}"));
        }
    }

    /// A table: a header row and rows, columns padded to their widest cell.
    pub fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let render = |cells: Vec<&str>| {
            let mut line = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    line.push_str(cell);
                } else {
                    let width = widths.get(i).copied().unwrap_or(0);
                    let pad = width.saturating_sub(cell.chars().count());
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad + 2));
                }
            }
            line
        };
        self.line(render(header.to_vec()));
        for row in rows {
            self.line(render(row.iter().map(String::as_str).collect()));
        }
    }

    /// Writes everything to stdout; a closed pipe ends the output without an error.
    pub fn flush(&mut self) -> Result<(), Failure> {
        let text = std::mem::take(&mut self.text);
        let mut stdout = std::io::stdout().lock();
        match stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(Failure::setup(format!("writing to stdout: {e}"))),
        }
    }
}
