//! Custom templates through the whole service: a folder that overrides one template in
//! one locale; every other email keeps the built-ins, and a missing locale falls back to
//! the default locale's *same* template.

use std::path::PathBuf;

use serde_json::json;

use crate::common::*;

fn custom_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("email-workflows")
        .join(format!("templates-{}", std::process::id()));
    let reset = dir.join("en").join("password-reset");
    std::fs::create_dir_all(&reset).expect("create template dir");
    std::fs::write(
        reset.join("subject.txt"),
        "Custom reset for ${displayName}\n",
    )
    .expect("write subject");
    std::fs::write(
        reset.join("body.html"),
        "<html><body><p>Hi ${displayName}, <a href=\"${link}\">reset</a> (${locale})</p></body></html>",
    )
    .expect("write body");
    dir
}

#[tokio::test]
async fn a_custom_folder_overrides_one_template_and_the_rest_falls_back() {
    let dir = custom_dir();
    let path = format!("--templates-path={}", dir.display());
    let (app, smtp) = app_with_smtp(&[&path, "--email-passwordless-enabled"]).await;
    for (email, locale) in [
        ("en@example.com", "en"),
        ("de@example.com", "de"),
        ("it@example.com", "it"),
    ] {
        signed_up(&app, email).await;
        app.sql(&format!(
            "UPDATE auth.users SET locale = '{locale}', display_name = 'Jo <b>' WHERE email = '{email}'"
        ))
        .await;
        let r = app
            .post("/user/password/reset", json!({ "email": email }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    // English: the custom template, values HTML-escaped, plain text derived from it.
    let en = nth_email(&smtp, "en@example.com", 1).await;
    assert_eq!(en.subject().as_deref(), Some("Custom reset for Jo <b>"));
    let html = en.html().unwrap_or_default();
    assert!(
        html.contains("Hi Jo &lt;b&gt;") && html.contains("(en)"),
        "{html}"
    );
    let link = header(&en, "X-Link");
    assert!(en.text().unwrap_or_default().contains(&link));

    // German: the built-in German template (the custom folder has no German one).
    let de = nth_email(&smtp, "de@example.com", 1).await;
    assert_ne!(de.subject().as_deref(), Some("Custom reset for Jo <b>"));
    assert!(de.html().unwrap_or_default().contains("lang=\"de\""));

    // Italian is not shipped: the default locale's password-reset (here the custom one),
    // not email-verify as upstream would send.
    let it = nth_email(&smtp, "it@example.com", 1).await;
    assert_eq!(it.subject().as_deref(), Some("Custom reset for Jo <b>"));
    assert_eq!(header(&it, "X-Email-Template"), "password-reset");

    // Other templates in English stay built-in.
    let r = app
        .post(
            "/signin/passwordless/email",
            json!({"email": "en@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let magic = nth_email(&smtp, "en@example.com", 2).await;
    assert!(magic.html().unwrap_or_default().contains("lang=\"en\""));
    assert!(!magic.subject().unwrap_or_default().contains("Custom"));
}
