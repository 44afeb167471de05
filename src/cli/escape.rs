//! Terminal-safe text (SPEC §11.4): control characters that come from mail
//! (a subject with `ESC [2J`, a CR that rewrites the line, a newline that
//! forges a log line, a bidi override that reverses an address) are shown
//! escaped wherever text reaches a terminal or the log: `status`, `close`,
//! `extend` and every log line.
//!
//! One helper, [`escape_controls`], does it for values; [`LogWriter`] applies
//! it to each formatted log line (every control character except the line's
//! final newline), so no tracing call site can forget it.

use std::borrow::Cow;
use std::io::{self, Write};

/// Is this character shown escaped? C0 and C1 controls, DEL, and the
/// invisible bidirectional / line-separator format characters that change
/// how the surrounding text is displayed.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

/// `text` with every unsafe character written as a Rust-style escape
/// (`\n`, `\r`, `\t`, `\u{1b}`), borrowed unchanged when there is none.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A log sink for tracing-subscriber's `fmt` layer: each event arrives as
/// one formatted line, which is written to stderr with its control
/// characters escaped (the final newline kept).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

impl LogWriter {
    pub fn new() -> LogWriter {
        LogWriter
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = EscapingStderr;
    fn make_writer(&'a self) -> Self::Writer {
        EscapingStderr
    }
}

/// See [`LogWriter`].
#[derive(Debug)]
pub struct EscapingStderr;

impl Write for EscapingStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (body, nl) = match text.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (text.as_ref(), ""),
        };
        let line = format!("{}{nl}", escape_controls(body));
        io::stderr().lock().write_all(line.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_obey() {
        let table = [
            ("Jautājums par projektu", "Jautājums par projektu"),
            ("a\r\nBcc: x@y", "a\\r\\nBcc: x@y"),
            ("\u{1b}[2J\u{1b}]0;title\u{7}", "\\u{1b}[2J\\u{1b}]0;title\\u{7}"),
            ("tab\there", "tab\\there"),
            ("\u{9b}31m C1 CSI", "\\u{9b}31m C1 CSI"),
            ("del\u{7f}", "del\\u{7f}"),
            ("evil\u{202e}vl.sif@", "evil\\u{202e}vl.sif@"),
            ("line\u{2028}sep", "line\\u{2028}sep"),
            ("nul\0", "nul\\u{0}"),
        ];
        for (input, want) in table {
            assert_eq!(escape_controls(input), want, "{input:?}");
        }
        assert!(matches!(escape_controls("plain ā"), Cow::Borrowed(_)));
    }
}
