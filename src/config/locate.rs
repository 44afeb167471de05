//! Where a key is in the TOML text: line and column for the messages
//! `FILE:LINE:COL: key: message`.

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut off = offset.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let before = text.get(..off).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

/// The bare key starting at `offset`, when there is one (for messages such
/// as "duplicate key").
pub(super) fn key_at(text: &str, offset: usize) -> Option<String> {
    let rest = text.get(offset..)?;
    let k: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let after = rest.get(k.len()..).unwrap_or("").trim_start();
    (!k.is_empty() && (after.starts_with('=') || after.starts_with(']') || after.starts_with('.')))
        .then_some(k)
}

/// One step of a dotted key such as `staff[1].email`.
#[derive(Debug, PartialEq)]
pub(super) enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

pub(super) fn split_key(key: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => part.split_at(i),
            None => (part, ""),
        };
        if !name.is_empty() {
            out.push(Seg::Key(name));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let Some((index, after)) = r.split_once(']') else {
                break;
            };
            if let Ok(i) = index.parse() {
                out.push(Seg::Index(i));
            }
            rest = after;
        }
    }
    out
}

/// Finds where a dotted key is in the TOML text, for semantic problems.
pub(super) struct Locator<'a> {
    text: &'a str,
    root: Option<toml::Spanned<toml::de::DeTable<'a>>>,
}

impl<'a> Locator<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Locator {
            text,
            root: toml::de::DeTable::parse(text).ok(),
        }
    }

    /// Line and column of the key's value; of the nearest enclosing key
    /// present in the file when the key itself is absent (a default).
    pub(super) fn find(&self, key: &str) -> Option<(usize, usize)> {
        let root = self.root.as_ref()?;
        let mut best: Option<usize> = None;
        let mut cur: Option<&toml::Spanned<toml::de::DeValue<'a>>> = None;
        let mut complete = true;
        for seg in split_key(key) {
            let next = match seg {
                Seg::Key(k) => {
                    let table = match cur {
                        None => Some(root.get_ref()),
                        Some(c) => c.get_ref().as_table(),
                    };
                    table
                        .and_then(|t| t.get_key_value(k))
                        .map(|(kk, vv)| (kk.span().start, vv))
                }
                Seg::Index(i) => cur
                    .and_then(|c| c.get_ref().as_array())
                    .and_then(|a| a.get(i))
                    .map(|v| (v.span().start, v)),
            };
            match next {
                Some((at, v)) => {
                    best = Some(at);
                    cur = Some(v);
                }
                None => {
                    complete = false;
                    break;
                }
            }
        }
        // Point at the value itself when the whole path was found and it is
        // not a table (a table's span is less helpful than its key).
        if let (true, Some(v)) = (complete, cur) {
            if !v.get_ref().is_table() {
                best = Some(v.span().start);
            }
        }
        best.map(|o| line_col(self.text, o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_lines_and_characters() {
        let text = "a = 1\nbē = \"x\"\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // After the two-byte ē the column counts characters, not bytes.
        let off = text.find('=').map(|_| text.rfind('=').unwrap()).unwrap();
        assert_eq!(line_col(text, off), (2, 4));
        assert_eq!(line_col(text, 10_000), (3, 1));
    }

    #[test]
    fn split_key_handles_indexes() {
        assert_eq!(
            split_key("staff[1].email"),
            vec![Seg::Key("staff"), Seg::Index(1), Seg::Key("email")]
        );
        assert_eq!(split_key("reply"), vec![Seg::Key("reply")]);
        assert_eq!(split_key("[0].surname"), vec![Seg::Index(0), Seg::Key("surname")]);
        assert_eq!(split_key("."), vec![]);
    }

    #[test]
    fn locator_points_at_values_and_falls_back_to_tables() {
        let text = "[imap]\nhost = \"x\"\n\n[[staff]]\nemail = \"a\"\n[[staff]]\nemail = \"b\"\n";
        let loc = Locator::new(text);
        assert_eq!(loc.find("imap.host"), Some((2, 8)));
        assert_eq!(loc.find("staff[1].email"), Some((7, 9)));
        // Absent key: the table's header line.
        assert_eq!(loc.find("imap.port").map(|x| x.0), Some(1));
        assert_eq!(loc.find("nothing.here"), None);
    }
}
