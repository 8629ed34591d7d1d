//! Where a server function sends the browser next: always a path on this site, whatever the
//! request put into it.
//!
//! A target is resolved the way a browser resolves a `Location` header (the WHATWG URL
//! standard: tabs and line breaks are dropped, a backslash is a slash in an http URL, `.` and
//! `..` segments collapse), so what is checked is what the browser will follow. Only the result's
//! path, query and fragment, as serialised (percent-encoded) by the parser, are sent back.

use url::{Position, Url};

/// Stands for this site's origin when resolving a target. Only the path, query and fragment of
/// the result are used, so its name does not matter; `.invalid` never names a real host.
const ORIGIN: &str = "http://confo.invalid/";

/// `target` resolved on this site, if it stays there: its path, query and fragment, ready for a
/// `Location` header. `None` for another site's address or anything that would not be a plain
/// path on this one.
pub fn site_path(target: &str) -> Option<String> {
    let base = Url::parse(ORIGIN).expect("the origin is a valid URL");
    let resolved = base.join(target).ok()?;
    if resolved.origin() != base.origin() {
        return None;
    }
    let path = &resolved[Position::BeforePath..];
    // `/.//host` resolves to the path `//host`, which a browser would read as another site.
    if !path.starts_with('/') || path.starts_with("//") || path.starts_with("/\\") {
        return None;
    }
    // The parser percent-encodes what a header may not hold; checked all the same, as
    // `leptos_axum::redirect` panics on a value that is not a valid header.
    http::HeaderValue::from_str(path).ok()?;
    Some(path.to_owned())
}

/// Sends the browser to `target` on this site, or to the home page if it would leave it.
pub fn redirect(target: &str) {
    leptos_axum::redirect(&site_path(target).unwrap_or_else(|| "/".to_owned()));
}

#[cfg(test)]
mod tests {
    use super::site_path;

    #[test]
    fn targets_resolve_as_a_browser_resolves_them() {
        for (target, expected) in [
            ("/users/ada", Some("/users/ada")),
            ("/ns/shop/web?x=1#top", Some("/ns/shop/web?x=1#top")),
            ("/users/a b\"<>", Some("/users/a%20b%22%3C%3E")),
            ("/users/\u{e9}", Some("/users/%C3%A9")),
            ("/a/../b/./c", Some("/b/c")),
            ("", Some("/")),
            ("/\t/evil.example", None),
            ("/\n/evil.example", None),
            ("\\\\evil.example", None),
            ("/.//evil.example", None),
            ("http:evil.example", Some("/evil.example")),
            ("https://evil.example/", None),
            ("javascript:alert(1)", None),
            (
                "/users/x\r\nSet-Cookie: a=b",
                Some("/users/xSet-Cookie:%20a=b"),
            ),
        ] {
            assert_eq!(site_path(target).as_deref(), expected, "{target:?}");
        }
    }
}
