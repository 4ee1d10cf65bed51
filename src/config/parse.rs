//! Value parsers for upstream's flag syntax (Go `strconv.ParseBool`, Go durations, comma lists).

use std::time::Duration;

/// Go's `strconv.ParseBool`: `1 t T TRUE true True 0 f F FALSE false False`.
pub fn go_bool(s: &str) -> Result<bool, String> {
    match s.trim() {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        other => Err(format!(
            "invalid boolean {other:?} (use true/false, 1/0 or t/f)"
        )),
    }
}

/// Go's `time.ParseDuration`: a sequence of decimal numbers with units
/// `ns us µs ms s m h`, e.g. `300ms`, `1m`, `1h30m`, `1.5h`. A bare `0` is allowed.
pub fn go_duration(s: &str) -> Result<Duration, String> {
    let input = s.trim();
    let err = || format!("invalid duration {input:?} (use Go syntax such as 30s, 5m, 1h)");
    if input == "0" {
        return Ok(Duration::ZERO);
    }
    if input.is_empty() || input.starts_with('-') {
        return Err(err());
    }
    let body = input.strip_prefix('+').unwrap_or(input);
    let mut total = 0f64;
    let mut rest = body;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        if num_len == 0 {
            return Err(err());
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| err())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per_unit = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(err()),
        };
        rest = &rest[unit_len..];
        total += value * nanos_per_unit;
    }
    Ok(Duration::from_nanos(total.round() as u64))
}

/// Drops the empty items a comma list such as `a,,b,` leaves behind.
pub fn non_empty(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_bool_accepts_go_forms() {
        for t in ["1", "t", "T", "true", "TRUE", "True"] {
            assert_eq!(go_bool(t), Ok(true), "{t}");
        }
        for f in ["0", "f", "F", "false", "FALSE", "False"] {
            assert_eq!(go_bool(f), Ok(false), "{f}");
        }
        assert!(go_bool("yes").is_err());
        assert!(go_bool("").is_err());
    }

    #[test]
    fn go_duration_parses_units_and_sequences() {
        assert_eq!(go_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(go_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(go_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(go_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(go_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "5", "m", "1x", "-1m", "1m-"] {
            assert!(go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn non_empty_drops_blank_items() {
        let v = vec!["a".to_owned(), "".to_owned(), " b ".to_owned()];
        assert_eq!(non_empty(&v), vec!["a", "b"]);
    }
}
