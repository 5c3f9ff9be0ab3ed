//! `format_date_time`: IMF-fixdate timestamps for `Date` headers.

/// `format_date_time(timestamp)`: `Www, DD Mon YYYY HH:MM:SS GMT` in UTC,
/// with English names; fractional seconds are dropped (floor) and the year
/// is right-aligned in four columns with spaces, as CPython does for years
/// below 1000.
pub fn format_date_time(timestamp: f64) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = timestamp.floor() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday (index 3 with Monday = 0).
    let weekday = (days + 3).rem_euclid(7) as usize;
    format!(
        "{}, {:02} {} {:>4} {:02}:{:02}:{:02} GMT",
        DAYS[weekday],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The current time as a [`format_date_time`] string; formatted once a
/// second per thread, as every response needs it.
pub fn now() -> String {
    thread_local! {
        static DATE: PerSecond = const { PerSecond::new() };
    }
    DATE.with(|date| date.get(|secs| format_date_time(secs as f64)))
}

/// A timestamp text that changes once a second: formatted again only when
/// the second changes (kept in a thread-local by each user).
pub(crate) struct PerSecond(std::cell::RefCell<(u64, String)>);

impl PerSecond {
    pub(crate) const fn new() -> Self {
        PerSecond(std::cell::RefCell::new((u64::MAX, String::new())))
    }

    /// The text for the current second, made by `format(unix seconds)`.
    pub(crate) fn get(&self, format: impl FnOnce(u64) -> String) -> String {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut last = self.0.borrow_mut();
        if last.0 != secs {
            *last = (secs, format(secs));
        }
        last.1.clone()
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day)
/// (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::format_date_time;

    #[test]
    fn conformance_case_98() {
        assert_eq!(format_date_time(0.0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            format_date_time(1_700_000_000.9),
            "Tue, 14 Nov 2023 22:13:20 GMT"
        );
        assert_eq!(format_date_time(-1.0), "Wed, 31 Dec 1969 23:59:59 GMT");
        assert_eq!(
            format_date_time(253_402_300_799.0),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
        assert_eq!(
            format_date_time(-62_135_596_800.0),
            "Mon, 01 Jan    1 00:00:00 GMT"
        );
    }
}
