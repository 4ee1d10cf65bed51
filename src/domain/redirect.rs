//! Redirect allow-list: `AUTH_CLIENT_URL` plus `AUTH_ACCESS_CONTROL_ALLOWED_REDIRECT_URLS`,
//! compiled once at start-up into anchored regular expressions.
//!
//! Patterns are globs whose separators are `.` and `/`: `*` matches within one host
//! label or path segment, `**` across them. A pattern without a trailing `/**` gets one
//! (so sub-paths are allowed), and an `http(s)` pattern without a port also accepts the
//! scheme's default port written out. Query strings and fragments of the candidate are
//! ignored; everything else (scheme, host, port, path) must match, case-sensitively.

use regex::Regex;

#[derive(Debug, Clone)]
pub struct RedirectAllowList {
    patterns: Vec<Regex>,
}

impl RedirectAllowList {
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut compiled = Vec::new();
        for raw in patterns {
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            for variant in variants(raw) {
                compiled.push(glob_to_regex(&variant)?);
            }
        }
        Ok(RedirectAllowList { patterns: compiled })
    }

    pub fn allows(&self, candidate: &str) -> bool {
        let base = candidate.split_once('#').map_or(candidate, |(b, _)| b);
        let base = base.split_once('?').map_or(base, |(b, _)| b);
        let with_slash = format!("{base}/");
        self.patterns
            .iter()
            .any(|re| re.is_match(base) || re.is_match(&with_slash))
    }
}

/// The normalised pattern and, for http(s) without a port, the default-port variant.
fn variants(raw: &str) -> Vec<String> {
    let normalised = if raw.ends_with("/**") {
        raw.to_owned()
    } else if let Some(stripped) = raw.strip_suffix("/*") {
        format!("{stripped}/**")
    } else if raw.ends_with('/') {
        format!("{raw}**")
    } else {
        format!("{raw}/**")
    };
    let mut out = vec![normalised.clone()];
    for (scheme, port) in [("https://", "443"), ("http://", "80")] {
        if let Some(rest) = normalised.strip_prefix(scheme) {
            let host_end = rest.find('/').unwrap_or(rest.len());
            let host = &rest[..host_end];
            if !host.contains(':') {
                out.push(format!("{scheme}{host}:{port}{}", &rest[host_end..]));
            }
            break;
        }
    }
    out
}

fn glob_to_regex(glob: &str) -> Result<Regex, String> {
    let mut re = String::with_capacity(glob.len() * 2 + 2);
    re.push('^');
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                if chars.peek() == Some(&'*') {
                    chars.next();
                    re.push_str(".*");
                } else {
                    re.push_str("[^./]*");
                }
            }
            '?' => re.push_str("[^./]"),
            other => re.push_str(&regex::escape(other.encode_utf8(&mut [0u8; 4]))),
        }
    }
    re.push('$');
    Regex::new(&re).map_err(|e| format!("redirect pattern {glob:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream_list() -> RedirectAllowList {
        RedirectAllowList::new([
            "http://localhost:3000",
            "https://acme.com/path",
            "https://*.acme.io",
            "https://*-sub.acme.io",
            "myapp://my.app",
            "https://mydomainwithslash.com/",
        ])
        .expect("patterns compile")
    }

    #[test]
    fn allows_upstream_examples() {
        let l = upstream_list();
        for ok in [
            "http://localhost:3000",
            "http://localhost:3000/",
            "http://localhost:3000/subpath",
            "https://acme.com:443/path",
            "https://acme.com/path/sub?q=1#f",
            "https://123-subdomain.acme.io",
            "https://x-sub.acme.io/a",
            "myapp://my.app/subpath",
            "https://mydomainwithslash.com",
        ] {
            assert!(l.allows(ok), "{ok} should be allowed");
        }
    }

    #[test]
    fn rejects_upstream_counter_examples() {
        let l = upstream_list();
        for bad in [
            "https://localhost:3000",
            "http://localhost:4000",
            "http://localhost",
            "http://prefixlocalhost:3000",
            "https://acme.com/wrongpath",
            "https://subdomain.subdomain.acme.io",
            "https://acme.io",
            "https://simple.com.hijack.com",
            "https://acme.com/path.evil.com",
            "not-a-url",
            "javascript:alert(1)",
            "http://localhost:3000.evil.com",
        ] {
            assert!(!l.allows(bad), "{bad} should be rejected");
        }
    }
}
