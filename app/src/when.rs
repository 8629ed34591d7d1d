//! Times as people read them: how long ago ("5 minutes ago"), with the exact time (UTC) kept for
//! a tooltip. Relative times need no time zone, so the server can write them, also for pages
//! shown without JavaScript.

/// The exact time of Unix second `unix`: `2026-11-30 05:40 UTC`.
pub fn exact(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// How long before `now` (both Unix seconds) `then` was, in words; the date past a month.
pub fn ago(then: i64, now: i64) -> String {
    let seconds = now - then;
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    match seconds {
        i64::MIN..60 => "just now".to_owned(),
        60..3_600 => plural(seconds / 60, "minute"),
        3_600..86_400 => plural(seconds / 3_600, "hour"),
        86_400..172_800 => "yesterday".to_owned(),
        172_800..2_592_000 => plural(seconds / 86_400, "day"),
        _ => chrono::DateTime::from_timestamp(then, 0)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_how_long_ago() {
        let now = 1_796_000_000;
        for (before, words) in [
            (-5, "just now"),
            (0, "just now"),
            (59, "just now"),
            (60, "1 minute ago"),
            (5 * 60 + 59, "5 minutes ago"),
            (3_600, "1 hour ago"),
            (23 * 3_600, "23 hours ago"),
            (86_400, "yesterday"),
            (2 * 86_400, "2 days ago"),
            (29 * 86_400, "29 days ago"),
        ] {
            assert_eq!(ago(now - before, now), words, "{before} s before");
        }
        assert_eq!(ago(now - 40 * 86_400, now), "2026-10-21");
        assert_eq!(exact(now), "2026-11-30 00:53 UTC");
    }
}
