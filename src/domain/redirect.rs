//! Redirect allow-list: `AUTH_CLIENT_URL` plus `AUTH_ACCESS_CONTROL_ALLOWED_REDIRECT_URLS`,
//! compiled once at start-up into anchored regular expressions.
//!
//! Patterns are globs whose separators are `.` and `/`: `*` matches within one host
//! label or path segment, `**` across them. A pattern without a trailing `/**` gets one
//! (so sub-paths are allowed), and an `http(s)` pattern also accepts its host with the
//! scheme's default port written out or left out. Query strings and fragments of the
//! candidate are ignored; everything else (scheme, host, port, path) must match.
//!
//! Unlike upstream, which matches the raw string, the candidate is first parsed the way
//! browsers parse URLs (WHATWG): the glob then sees the host and path the browser will
//! actually visit. Without that, `https://attacker%2ecom\.acme.io` would pass the pattern
//! `https://*.acme.io` (the `*` swallowing `attacker%2ecom\`) while a browser goes to
//! `attacker.com`. Candidates with credentials (`user@host`) are refused outright.

use regex::Regex;
use url::Url;

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
        let Some(base) = normalise(candidate) else {
            return false;
        };
        let with_slash = format!("{base}/");
        self.patterns
            .iter()
            .any(|re| re.is_match(&base) || re.is_match(&with_slash))
    }
}

/// The candidate as a browser resolves it, without query and fragment: `\` read as `/`
/// in http(s) URLs, the host percent-decoded, lower-cased and IDNA-encoded, a default
/// port dropped, dot segments resolved. `None` when it is not an absolute URL or carries
/// credentials.
fn normalise(candidate: &str) -> Option<String> {
    let mut url = Url::parse(candidate).ok()?;
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url.into())
}

/// The normalised pattern and, for http(s), its variants with and without the default
/// port. The scheme and host of http(s) patterns are lower-cased, as candidates are.
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
    for (scheme, port) in [("https://", "443"), ("http://", "80")] {
        let Some(rest) = normalised
            .get(..scheme.len())
            .filter(|s| s.eq_ignore_ascii_case(scheme))
            .map(|_| &normalised[scheme.len()..])
        else {
            continue;
        };
        let host_end = rest.find('/').unwrap_or(rest.len());
        let authority = rest[..host_end].to_ascii_lowercase();
        let path = &rest[host_end..];
        let default_suffix = format!(":{port}");
        let bare = authority
            .strip_suffix(&default_suffix)
            .unwrap_or(&authority)
            .to_owned();
        let mut out = vec![format!("{scheme}{bare}{path}")];
        if !bare.contains(':') {
            out.push(format!("{scheme}{bare}:{port}{path}"));
        }
        return out;
    }
    vec![normalised]
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

    #[test]
    fn rejects_domain_shadowing() {
        let l = upstream_list();
        for bad in [
            // The allowed host as a prefix, label or path of another host.
            "https://acme.com.evil.com/path",
            "https://evil.com/acme.com/path",
            "https://evilacme.com/path",
            "https://x.acme.io.evil.com",
            "https://x.acme.io.evil.com/",
            "https://evil.com/.acme.io",
            "http://localhost:3000.evil.com/",
            // Credentials: the real host comes after `@`.
            "https://acme.com@evil.com/path",
            "http://localhost:3000@evil.com",
            "https://x.acme.io@evil.com",
            "https://x.acme.io:443@evil.com/",
            // Separators hidden in query, fragment, backslash or percent-encoding.
            "https://evil.com?.acme.io",
            "https://evil.com#.acme.io",
            "https://evil.com\\.acme.io",
            "https://attacker%2ecom\\.acme.io",
            "https://attacker%2Ecom%2F.acme.io",
            "https://evil.com%23.acme.io",
            // Dot segments resolve outside the allowed path.
            "https://acme.com/path/../admin",
            "https://acme.com/path/%2e%2e/admin",
        ] {
            assert!(!l.allows(bad), "{bad} should be rejected");
        }
    }

    #[test]
    fn ports_must_match() {
        let l = upstream_list();
        for ok in [
            "http://localhost:3000/a",
            "https://acme.com:443/path",
            "https://acme.com/path",
            "https://x.acme.io:443/",
        ] {
            assert!(l.allows(ok), "{ok} should be allowed");
        }
        for bad in [
            "http://localhost:3001",
            "http://localhost:80",
            "https://acme.com:8443/path",
            "http://acme.com/path",
            "http://acme.com:443/path",
            "https://x.acme.io:8443",
        ] {
            assert!(!l.allows(bad), "{bad} should be rejected");
        }
        // A pattern that spells out the default port accepts it either way.
        let explicit = RedirectAllowList::new(["https://app.example.com:443/cb"]).unwrap();
        assert!(explicit.allows("https://app.example.com/cb"));
        assert!(explicit.allows("https://app.example.com:443/cb/x"));
        assert!(!explicit.allows("https://app.example.com:444/cb"));
    }

    #[test]
    fn query_and_fragment_are_ignored_but_never_trusted() {
        let l = upstream_list();
        for ok in [
            "http://localhost:3000?next=https://evil.com",
            "http://localhost:3000/#https://evil.com",
            "https://acme.com/path?redirect=//evil.com#frag",
            "myapp://my.app/subpath?x=1#y",
        ] {
            assert!(l.allows(ok), "{ok} should be allowed");
        }
        for bad in [
            "https://evil.com/?to=http://localhost:3000/",
            "https://evil.com/#http://localhost:3000/",
            "https://evil.com?https://acme.com/path",
        ] {
            assert!(!l.allows(bad), "{bad} should be rejected");
        }
    }

    #[test]
    fn hosts_compare_as_browsers_see_them() {
        let l = upstream_list();
        assert!(
            l.allows("HTTP://LOCALHOST:3000/Case"),
            "scheme and host are case-insensitive"
        );
        let upper = RedirectAllowList::new(["https://App.Example.com/cb"]).unwrap();
        assert!(upper.allows("https://app.example.com/cb"));
        assert!(
            !upper.allows("https://app.example.com/CB"),
            "paths stay case-sensitive"
        );
        assert!(!l.allows("http://user@localhost:3000/"), "no credentials");
        assert!(!l.allows(""));
        assert!(!l.allows("/relative/path"));
        assert!(!l.allows("//evil.com"));
    }
}
