//! Places inside one field's value: an item of a list or a key of an object, addressed by a
//! JSON Pointer (RFC 6901) relative to the field, such as `/servers/0/port`, and named in words
//! for people who do not write JSON. Changes there are made with the edit model
//! ([`crate::edit`]).

use json_patch::jsonptr::{Pointer, PointerBuf};

/// The pointer to `key` (an object key or a list index) inside the value at `path`.
pub fn child(path: &str, key: &str) -> String {
    let mut pointer = Pointer::parse(path).map_or_else(|_| PointerBuf::new(), Pointer::to_buf);
    pointer.push_back(key);
    pointer.to_string()
}

/// `path` in words, such as `servers › 0 › port` (`the value` for the whole field).
pub fn describe(path: &str) -> String {
    match Pointer::parse(path) {
        Ok(pointer) if !pointer.is_root() => pointer
            .tokens()
            .map(|t| t.decoded().into_owned())
            .collect::<Vec<_>>()
            .join(" › "),
        _ => "the value".to_owned(),
    }
}

/// `path` inside the field called `field`, in words: `servers › 0 › port`, or just `servers`.
pub fn place(field: &str, path: &str) -> String {
    match describe(path).as_str() {
        "the value" => field.to_owned(),
        inside => format!("{field} › {inside}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_slashes_and_tildes_are_addressed_exactly() {
        let path = child(&child("", "a/b"), "c~d");
        assert_eq!(path, "/a~1b/c~0d");
        assert_eq!(describe(&path), "a/b › c~d");
        assert_eq!(place("f", &path), "f › a/b › c~d");
        assert_eq!(place("f", ""), "f");
    }
}
