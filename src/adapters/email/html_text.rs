//! Small HTML helpers: escaping values, and a plain-text rendering of an HTML body
//! (for custom templates that only ship `body.html`).

/// Appends `s` to `out` with the five HTML-special characters escaped.
pub fn escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// `s` with the five HTML-special characters escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(s, &mut out);
    out
}

/// Elements whose content is not shown.
const HIDDEN: &[&str] = &["head", "style", "script", "title", "template"];
/// Elements that start a new paragraph.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "hr",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "body",
];
/// Elements that start a new line.
const LINES: &[&str] = &["br", "tr", "li", "dt", "dd"];

/// Plain-text version of an HTML document: tags stripped, hidden elements dropped,
/// blocks separated by blank lines, links shown as `label (href)`, entities decoded.
/// `${…}` placeholders pass through untouched.
pub fn html_to_text(src: &str) -> String {
    let mut out = String::new();
    let mut links: Vec<(String, usize)> = Vec::new();
    let mut rest = src;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("<!--") {
            rest = rest.find("-->").map(|i| &rest[i + 3..]).unwrap_or_default();
            continue;
        }
        if c == '<' {
            let Some(end) = tag_end(rest) else {
                out.push('<');
                rest = &rest[1..];
                continue;
            };
            let inner = &rest[1..end];
            rest = &rest[end + 1..];
            let closing = inner.starts_with('/');
            let name: String = inner
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            if name.is_empty() {
                // `<!DOCTYPE>` and the like.
                continue;
            }
            if !closing && HIDDEN.contains(&name.as_str()) && !inner.ends_with('/') {
                let close = format!("</{name}");
                let lower = rest.to_ascii_lowercase();
                rest = match lower.find(&close) {
                    Some(i) => {
                        let after = &rest[i..];
                        after.find('>').map(|j| &after[j + 1..]).unwrap_or_default()
                    }
                    None => "",
                };
                continue;
            }
            if BLOCKS.contains(&name.as_str()) {
                out.push_str("\n\n");
            } else if LINES.contains(&name.as_str()) {
                if !closing {
                    out.push('\n');
                    if name == "li" {
                        out.push_str("- ");
                    }
                }
            } else if name == "a" {
                if closing {
                    if let Some((href, start)) = links.pop() {
                        let label = out[start..].trim().to_owned();
                        if !href.is_empty() && label != href {
                            let shown = href.strip_prefix("mailto:").unwrap_or(&href);
                            if label.is_empty() {
                                out.push_str(shown);
                            } else if label != shown {
                                out.push_str(" (");
                                out.push_str(shown);
                                out.push(')');
                            }
                        }
                    }
                } else {
                    links.push((attribute(inner, "href").unwrap_or_default(), out.len()));
                }
            } else if name == "td" || name == "th" {
                out.push(' ');
            }
            continue;
        }
        if c == '&'
            && let Some((decoded, len)) = entity(rest)
        {
            out.push(decoded);
            rest = &rest[len..];
            continue;
        }
        out.push(if c.is_whitespace() && c != '\u{a0}' {
            ' '
        } else {
            c
        });
        rest = &rest[c.len_utf8()..];
    }
    tidy(&out)
}

/// Index of the `>` closing the tag that starts `s` (quotes respected).
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

/// The value of attribute `name` in a tag's inside text, entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find(name) {
        let at = from + pos;
        from = at + name.len();
        let before_ok = at == 0 || lower.as_bytes()[at - 1].is_ascii_whitespace();
        let after = tag[from..].trim_start();
        if !before_ok || !after.starts_with('=') {
            continue;
        }
        let value = after[1..].trim_start();
        let raw = match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
            _ => value
                .split(|c: char| c.is_whitespace())
                .next()
                .unwrap_or(""),
        };
        return Some(decode_entities(raw));
    }
    None
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '&'
            && let Some((d, len)) = entity(rest)
        {
            out.push(d);
            rest = &rest[len..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Decodes the entity at the start of `s` (which starts with `&`): the character and
/// the length consumed.
fn entity(s: &str) -> Option<(char, usize)> {
    let end = s[..s.len().min(12)].find(';')?;
    let body = &s[1..end];
    let c = if let Some(num) = body.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        char::from_u32(code)?
    } else {
        match body {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "nbsp" => ' ',
            "copy" => '©',
            "reg" => '®',
            "hellip" => '…',
            "mdash" => '—',
            "ndash" => '–',
            "laquo" => '«',
            "raquo" => '»',
            "euro" => '€',
            _ => return None,
        }
    };
    Some((c, end + 1))
}

/// Collapses spaces inside lines, trims lines, keeps at most one blank line in a row.
fn tidy(s: &str) -> String {
    let mut out = String::new();
    let mut blank = 0;
    for line in s.split('\n') {
        let line = line
            .split(' ')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(&line);
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn html_to_text_basics() {
        let html = r#"<!DOCTYPE html>
<html><head><title>T</title><style>p { color: red; }</style></head>
<body>
<!-- comment -->
<h1>Hello   <b>there</b></h1>
<p>Fish &amp; chips&nbsp;&#33; &#x263A;</p>
<p><a href="${link}" style="x">Click   here</a></p>
<p><a href='${link}'>${link}</a><br>next line</p>
<ul><li>one</li><li>two</li></ul>
</body></html>"#;
        let text = html_to_text(html);
        assert_eq!(
            text,
            "Hello there\n\nFish & chips ! \u{263A}\n\nClick here (${link})\n\n${link}\nnext line\n\n- one\n- two\n"
        );
    }

    #[test]
    fn attribute_parsing() {
        assert_eq!(
            attribute(r#"a class="x" href="u?a=1&amp;b=2""#, "href").unwrap(),
            "u?a=1&b=2"
        );
        assert_eq!(attribute("a data-href=x href=y", "href").unwrap(), "y");
        assert!(attribute("a", "href").is_none());
    }
}
