//! Server-rendered HTML pages (the OAuth2 provider's built-in sign-in, consent and device pages):
//! templates compiled into the binary from `page-templates/en/oauth2-ui/*.html` (English only for now), with
//! the email templates' `${name}` syntax and renderer.
//!
//! Escaping is by construction: a [`Slot::Text`] value is always HTML-escaped, and the
//! only unescaped values are [`Markup`], which is made from a rendered template or from
//! a `'static` literal of ours, never from input.

use super::email::html_text;
use super::email::templates::render_with;

/// HTML made by [`render`] (or a literal of ours): safe to insert as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Markup(String);

impl Markup {
    /// A fixed piece of HTML written in our source.
    pub fn fixed(html: &'static str) -> Markup {
        Markup(html.to_owned())
    }

    /// Pieces rendered one after the other.
    pub fn concat(parts: impl IntoIterator<Item = Markup>) -> Markup {
        Markup(parts.into_iter().map(|m| m.0).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A placeholder's value.
pub enum Slot<'a> {
    /// Text, HTML-escaped.
    Text(&'a str),
    /// Markup, inserted as it is.
    Html(&'a Markup),
}

/// The built-in page templates (English).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Layout,
    SignIn,
    Totp,
    Consent,
    Client,
    Scope,
    Alert,
    Message,
    MagicLink,
    Sent,
    /// The passkey button (with WebAuthn on).
    Passkey,
    /// The one script tag: `passkey.js`, external, with the page's nonce.
    Script,
    DeviceCode,
    DeviceSignIn,
    DeviceTotp,
    DeviceConsent,
    DeviceDone,
}

macro_rules! page_file {
    ($file:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/page-templates/en/oauth2-ui/",
            $file
        ))
    };
}

impl Page {
    pub const ALL: [Page; 17] = [
        Page::Layout,
        Page::SignIn,
        Page::Totp,
        Page::Consent,
        Page::Client,
        Page::Scope,
        Page::Alert,
        Page::Message,
        Page::MagicLink,
        Page::Sent,
        Page::Passkey,
        Page::Script,
        Page::DeviceCode,
        Page::DeviceSignIn,
        Page::DeviceTotp,
        Page::DeviceConsent,
        Page::DeviceDone,
    ];

    fn source(self) -> &'static str {
        match self {
            Page::Layout => page_file!("layout.html"),
            Page::SignIn => page_file!("signin.html"),
            Page::Totp => page_file!("totp.html"),
            Page::Consent => page_file!("consent.html"),
            Page::Client => page_file!("client.html"),
            Page::Scope => page_file!("scope.html"),
            Page::Alert => page_file!("alert.html"),
            Page::Message => page_file!("message.html"),
            Page::MagicLink => page_file!("magic-link.html"),
            Page::Sent => page_file!("sent.html"),
            Page::Passkey => page_file!("passkey.html"),
            Page::Script => page_file!("script.html"),
            Page::DeviceCode => page_file!("device-code.html"),
            Page::DeviceSignIn => page_file!("device-signin.html"),
            Page::DeviceTotp => page_file!("device-totp.html"),
            Page::DeviceConsent => page_file!("device-consent.html"),
            Page::DeviceDone => page_file!("device-done.html"),
        }
    }
}

/// Why a page cannot be rendered: a template and its caller disagree (a bug of ours).
#[derive(Debug, thiserror::Error)]
#[error("page template {page:?}: {reason}")]
pub struct PageError {
    page: Page,
    reason: String,
}

/// Renders `page`; every placeholder must have a slot.
pub fn render(page: Page, slots: &[(&str, Slot<'_>)]) -> Result<Markup, PageError> {
    let mut missing = None;
    let html = render_with(page.source(), |name, out| {
        match slots.iter().find(|(n, _)| *n == name) {
            Some((_, Slot::Text(t))) => html_text::escape_into(t, out),
            Some((_, Slot::Html(m))) => out.push_str(&m.0),
            None => missing = Some(name.to_owned()),
        }
    })
    .map_err(|reason| PageError { page, reason })?;
    if let Some(name) = missing {
        return Err(PageError {
            page,
            reason: format!("no value for ${{{name}}}"),
        });
    }
    Ok(Markup(html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_markup_is_not() {
        let m = Markup::fixed("<em>x</em>");
        let out = render(
            Page::Alert,
            &[("message", Slot::Text("<script>alert(\"1\")</script> & 'x'"))],
        )
        .unwrap();
        assert!(
            out.as_str()
                .contains("&lt;script&gt;alert(&quot;1&quot;)&lt;/script&gt; &amp; &#39;x&#39;")
        );
        let page = render(
            Page::Layout,
            &[
                ("title", Slot::Text("t")),
                ("nonce", Slot::Text("n")),
                ("script", Slot::Html(&Markup::default())),
                ("content", Slot::Html(&m)),
            ],
        )
        .unwrap();
        assert!(page.as_str().contains("<em>x</em>"));
        assert!(page.as_str().contains("<html lang=\"en\">"));
    }

    #[test]
    fn a_missing_slot_is_an_error() {
        assert!(render(Page::Alert, &[]).is_err());
    }

    #[test]
    fn every_template_parses_and_has_no_inline_script() {
        let handler = regex::Regex::new(r"\son[a-z]+\s*=").unwrap();
        for page in Page::ALL {
            assert!(render_with(page.source(), |_, _| {}).is_ok(), "{page:?}");
            let src = page.source().to_ascii_lowercase();
            if page == Page::Script {
                // Only an external script of ours, nonce'd, with no inline body.
                assert_eq!(
                    src.trim(),
                    "<script src=\"passkey.js\" nonce=\"${nonce}\" defer></script>"
                );
                continue;
            }
            assert!(!src.contains("<script"), "{page:?}");
            assert!(!handler.is_match(&src), "{page:?}: no inline event handler");
            assert!(!src.contains("javascript:"), "{page:?}");
        }
    }
}
