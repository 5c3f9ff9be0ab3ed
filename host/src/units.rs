//! The units limits are given in: sizes (`256MiB`, `1.5G`, `64MB`) and
//! seconds. Below the gateway and the capabilities, which both read them.

use std::time::Duration;

use serde::Deserialize;

/// A size: bytes, or a string such as `64MiB`.
#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
pub enum Size {
    /// A number of bytes.
    Bytes(u64),
    /// A size with its unit.
    Text(String),
}

impl Size {
    /// The number of bytes it says.
    pub fn bytes(&self) -> Result<u64, String> {
        match self {
            Size::Bytes(n) => Ok(*n),
            Size::Text(t) => parse_size(t).map(|n| n as u64),
        }
    }
}

/// `256MiB`, `1G`, `1.5GiB`, `64MB`, `512k`, `1000`: a number of bytes,
/// with a unit as it means it: `KiB`, `MiB`, `GiB` (and `K`, `M`, `G`) are
/// binary, `KB`, `MB`, `GB` decimal (SI).
pub fn parse_size(spec: &str) -> Result<usize, String> {
    let spec = spec.trim();
    let split = spec
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(spec.len());
    let (number, unit) = spec.split_at(split);
    let number: f64 = number
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite())
        .ok_or_else(|| format!("expected a size such as 256MiB, 1.5G or 64MB, got {spec:?}"))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => (1u64 << 10) as f64,
        "m" | "mib" => (1u64 << 20) as f64,
        "g" | "gib" => (1u64 << 30) as f64,
        "t" | "tib" => (1u64 << 40) as f64,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => {
            return Err(format!(
                "unknown size unit in {spec:?} (use KiB, MiB, GiB (or K, M, G), or KB, MB, GB)"
            ));
        }
    };
    let bytes = number * scale;
    if bytes.fract() != 0.0 {
        return Err(format!("{spec:?} is not a whole number of bytes"));
    }
    if bytes > usize::MAX as f64 {
        return Err(format!("{spec:?} is too large"));
    }
    Ok(bytes as usize)
}

/// `seconds` as a limit: `None` for 0 (no limit).
pub fn parse_seconds(seconds: f64) -> Result<Option<Duration>, String> {
    if seconds == 0.0 {
        Ok(None)
    } else if seconds.is_finite() && seconds > 0.0 {
        Ok(Some(Duration::from_secs_f64(seconds)))
    } else {
        Err(format!(
            "{seconds}: expected a number of seconds (0: no limit)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_mean_their_units() {
        let ok = [
            ("1000", 1000),
            ("512k", 512 << 10),
            ("256MiB", 256 << 20),
            ("1G", 1 << 30),
            ("1.5G", 3 << 29),
            ("1.5GiB", 3 << 29),
            ("64MB", 64_000_000),
            ("2kb", 2000),
            ("10 MiB", 10 << 20),
        ];
        for (spec, bytes) in ok {
            assert_eq!(parse_size(spec), Ok(bytes), "{spec}");
        }
        for bad in ["", "x", "1.5", "12 parsecs", "-1M", "1e3"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
