//! TOML errors without values: `toml`'s own `Display` quotes the offending source line, and
//! serde's messages quote values (`invalid type: string "…"`), so an inline `secret`,
//! `mac_secret` or `seed` would reach `check-config`'s output and the reload ERROR log. This
//! module turns a [`toml::de::Error`] into file, line, column, the key's name and a message with
//! every quoted value removed; the source text itself is never copied into it.

use std::fmt;
use std::path::PathBuf;

/// Where a TOML file is broken, and why, with no value from the file in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TomlLocation {
    pub path: PathBuf,
    /// 1-based line and column (in characters) of the error, when `toml` reported a span.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The key at the error (a bare/dotted key name as written), when one could be read safely.
    pub key: Option<String>,
    /// The table header the key is in (`[[sites]]`, `[store]`), if any.
    pub table: Option<String>,
    /// `toml`'s message with every quoted or back-ticked value removed.
    pub message: String,
}

impl fmt::Display for TomlLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, ":{l}:{c}")?;
        }
        f.write_str(": ")?;
        match (&self.key, &self.table) {
            (Some(k), Some(t)) => write!(f, "key `{k}` in {t}: ")?,
            (Some(k), None) => write!(f, "key `{k}`: ")?,
            (None, Some(t)) => write!(f, "in {t}: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

/// Characters of a key name as the error report may show it (bare keys, dotted keys). Quoted
/// keys are not shown: their text could be anything.
fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// A table header line (`[store]`, `[[sites]]`, `[server.rate_limit]`), if `line` is one.
fn header(line: &str) -> Option<String> {
    let t = line.trim();
    let inner = t.strip_prefix('[')?;
    let (inner, double) = match inner.strip_prefix('[') {
        Some(i) => (i.strip_suffix("]]")?, true),
        None => (inner.strip_suffix(']')?, false),
    };
    let name = inner.trim();
    if name.is_empty() || !name.chars().all(is_key_char) {
        return None;
    }
    Some(if double {
        format!("[[{name}]]")
    } else {
        format!("[{name}]")
    })
}

/// The key an error at byte `pos` of `line` belongs to: the key starting at `pos` if the error
/// points at a key, else the last `key =` before `pos` on the line. Only key characters are taken.
fn key_at(line: &str, pos: usize) -> Option<String> {
    let pos = pos.min(line.len());
    let at: String = line
        .get(pos..)?
        .chars()
        .take_while(|&c| is_key_char(c))
        .collect();
    let before = line.get(..pos)?;
    let points_at_key = !at.is_empty()
        && line
            .get(pos + at.len()..)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
        && before
            .trim_end()
            .chars()
            .last()
            .is_none_or(|c| matches!(c, '{' | ','));
    if points_at_key {
        return Some(at);
    }
    let eq = before.rfind('=')?;
    let name: String = before[..eq]
        .trim_end()
        .chars()
        .rev()
        .take_while(|&c| is_key_char(c))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (!name.is_empty()).then_some(name)
}

/// serde/toml messages whose back-ticked words are key names, not values.
const KEY_MESSAGES: [&str; 4] = [
    "unknown field",
    "missing field",
    "duplicate key",
    "duplicate field",
];

/// `msg` with every `"…"` / `'…'` / `` `…` `` quotation removed from the part before
/// "expected" (where serde and toml put the value they found); the "expected …" part describes
/// types, variants and field names of the schema and is kept. Multi-line messages are joined.
pub(crate) fn redact_message(msg: &str) -> String {
    let msg = msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let split = msg.find("expected").unwrap_or(msg.len());
    let (found, expected) = msg.split_at(split);
    let keep_backticks = KEY_MESSAGES.iter().any(|p| found.starts_with(p));
    let mut out = String::with_capacity(msg.len());
    let mut chars = found.chars().peekable();
    while let Some(c) = chars.next() {
        let quote = matches!(c, '"' | '\'') || (c == '`' && !keep_backticks);
        if !quote {
            out.push(c);
            continue;
        }
        // Skip to the closing quote (backslash escapes inside "…"); an unterminated quote
        // swallows the rest of this part.
        let mut escaped = false;
        for d in chars.by_ref() {
            if escaped {
                escaped = false;
            } else if d == '\\' && c == '"' {
                escaped = true;
            } else if d == c {
                break;
            }
        }
        while out.ends_with(' ') {
            out.pop();
        }
    }
    if keep_backticks {
        // Key names only: anything but key characters inside back-ticks is dropped.
        out = strip_non_key_backticks(&out);
    }
    out.push_str(expected);
    out
}

fn strip_non_key_backticks(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut parts = s.split('`');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    let mut inside = true;
    for p in parts {
        if inside {
            if p.chars().all(is_key_char) {
                out.push('`');
                out.push_str(p);
                out.push('`');
            } else {
                while out.ends_with(' ') {
                    out.pop();
                }
            }
        } else {
            out.push_str(p);
        }
        inside = !inside;
    }
    out
}

impl TomlLocation {
    /// Locate `err` in `text` (the file it came from) without copying any of `text`'s values.
    pub fn new(path: PathBuf, text: &str, err: &toml::de::Error) -> Self {
        let mut loc = Self {
            path,
            line: None,
            column: None,
            key: None,
            table: None,
            message: redact_message(err.message()),
        };
        let Some(span) = err.span() else {
            return loc;
        };
        let start = span.start.min(text.len());
        let Some(prefix) = text.get(..start) else {
            return loc;
        };
        let line_start = prefix.rfind('\n').map_or(0, |i| i + 1);
        let line_no = prefix.matches('\n').count() + 1;
        loc.line = Some(line_no);
        loc.column = Some(prefix[line_start..].chars().count() + 1);
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |i| line_start + i);
        let line = &text[line_start..line_end];
        loc.key = key_at(line, start - line_start);
        loc.table = prefix[..line_start].lines().rev().find_map(header);
        if let Some(h) = header(line) {
            loc.table = Some(h);
        }
        // Belt and braces: whatever the message says, it never carries this line's value.
        if let Some((_, value)) = line.split_once('=') {
            let value = value.trim().trim_matches(|c| matches!(c, '"' | '\''));
            if value.len() >= 4 && loc.message.contains(value) {
                loc.message = loc.message.replace(value, "…");
            }
        }
        loc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_removed_and_key_names_kept() {
        assert_eq!(
            redact_message("invalid type: string \"hunter2-secret\", expected u32"),
            "invalid type: string, expected u32"
        );
        assert_eq!(
            redact_message("invalid type: integer `123456789`, expected a string"),
            "invalid type: integer, expected a string"
        );
        assert_eq!(
            redact_message("unknown variant `s3cr3t`, expected `memory` or `redis`"),
            "unknown variant, expected `memory` or `redis`"
        );
        assert_eq!(
            redact_message("unknown field `secrte`, expected one of `sitekey`, `secret`"),
            "unknown field `secrte`, expected one of `sitekey`, `secret`"
        );
        assert_eq!(
            redact_message("duplicate key `secret`"),
            "duplicate key `secret`"
        );
        assert_eq!(
            redact_message("unknown field `a b=c`, expected x"),
            "unknown field, expected x"
        );
    }

    #[test]
    fn located_by_line_column_key_and_table() {
        let text = "[store]\nbackend = \"memory\"\n\n[[sites]]\nsitekey = \"a\"\nsecret = 12345678901234567\n";
        let err = toml::from_str::<super::super::ConfigFile>(text).unwrap_err();
        let loc = TomlLocation::new("c.toml".into(), text, &err);
        assert_eq!(loc.line, Some(6));
        assert_eq!(loc.key.as_deref(), Some("secret"));
        assert_eq!(loc.table.as_deref(), Some("[[sites]]"));
        let shown = loc.to_string();
        assert!(!shown.contains("12345678901234567"), "{shown}");
        assert!(shown.starts_with("c.toml:6:"), "{shown}");
    }
}
