//! What is wrong with JSON text, in words a person can act on: the parser's own message
//! ("expected ident at line 3 column 5") names its grammar, not the mistake.

/// Where `error` is and what to do about it: `line 3, column 5: a word is not one JSON knows
/// ...`. The parser's message stays available as [`technical`].
pub fn json_problem(error: &serde_json::Error) -> String {
    format!(
        "line {}, column {}: {}",
        error.line(),
        error.column(),
        explain(error)
    )
}

/// The parser's own message, without its place (for whoever wants the technical term).
pub fn technical(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

fn explain(error: &serde_json::Error) -> String {
    let detail = technical(error);
    let words = [
        (
            "expected `,` or `}`",
            "a comma is missing between two entries, or a } is missing",
        ),
        (
            "expected `,` or `]`",
            "a comma is missing between two items, or a ] is missing",
        ),
        (
            "expected `:`",
            "a colon is missing between a name and its value",
        ),
        (
            "expected ident",
            "this word is not one JSON knows: write true, false or null, and put text in double quotes",
        ),
        (
            "expected value",
            "a value is missing here, or text is not in double quotes",
        ),
        (
            "key must be a string",
            "names must be in double quotes, like \"port\"",
        ),
        (
            "trailing comma",
            "remove the comma before the closing bracket",
        ),
        (
            "EOF while parsing",
            "the text ends too early: a bracket or a quote is not closed",
        ),
        (
            "control character",
            "a line break or tab inside text must be written \\n or \\t",
        ),
        (
            "invalid escape",
            "a backslash inside text starts an escape: write \\\\ for a backslash",
        ),
        (
            "trailing characters",
            "there is more after the end of the JSON: remove it",
        ),
        ("invalid number", "this is not a number JSON can hold"),
        ("number out of range", "this number is too large for JSON"),
    ];
    words
        .iter()
        .find(|(grammar, _)| detail.starts_with(grammar))
        .map_or(detail.clone(), |(_, plain)| (*plain).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> String {
        json_problem(&serde_json::from_str::<serde_json::Value>(text).unwrap_err())
    }

    #[test]
    fn mistakes_are_told_in_words_with_their_place() {
        assert_eq!(
            problem("{\n  \"a\": 1\n  \"b\": true\n}"),
            "line 3, column 3: a comma is missing between two entries, or a } is missing"
        );
        assert_eq!(
            problem("{\"mode\": fast}"),
            "line 1, column 12: this word is not one JSON knows: write true, false or null, and put text in double quotes"
        );
        assert_eq!(
            problem("{\"a\": [1, 2,]}"),
            "line 1, column 13: remove the comma before the closing bracket"
        );
        assert_eq!(
            problem("{\"a\": 1"),
            "line 1, column 7: the text ends too early: a bracket or a quote is not closed"
        );
        assert_eq!(
            problem("{a: 1}"),
            "line 1, column 2: names must be in double quotes, like \"port\""
        );
        let error = serde_json::from_str::<serde_json::Value>("{\"mode\": fast}").unwrap_err();
        assert_eq!(technical(&error), "expected ident");
    }
}
