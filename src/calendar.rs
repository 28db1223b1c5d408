//! Proleptic Gregorian calendar arithmetic and Vietnam time (pure), shared by the
//! dialog engine (fact review dates) and the report core (periods, deadlines).

/// Vietnam is UTC+7 all year (no daylight saving).
pub const UTC_OFFSET_SECS: i64 = 7 * 3600;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days in a month of a proleptic Gregorian year.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    let next = if month == 12 {
        days_from_civil(year + 1, 1, 1)
    } else {
        days_from_civil(year, month + 1, 1)
    };
    (next - days_from_civil(year, month, 1)) as u32
}

/// (year, month, day) of a day number.
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

/// Defines an instant type counted in `$unit` since the Unix epoch (UTC): a `Copy`
/// newtype over `i64`, ordered, stored and serialized as the bare number
/// (`#[serde(transparent)]`), so typing a field changes no stored or JSON format.
///
/// There is deliberately no `From<i64>` and no arithmetic operator: a raw number becomes
/// an instant only through the constructor where it is read, moves by a named amount
/// (`plus_*`), and changes unit only through [`UnixSecs::to_ms`] / [`UnixMs::to_secs`].
macro_rules! instant {
    ($(#[$doc:meta])* $name:ident, $unit:literal, $plus:ident) => {
        $(#[$doc])*
        #[derive(
            Debug,
            Clone,
            Copy,
            Default,
            PartialEq,
            Eq,
            PartialOrd,
            Ord,
            Hash,
            serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            #[doc = concat!("The raw number of ", $unit, ".")]
            pub const fn get(self) -> i64 {
                self.0
            }

            #[doc = concat!("This instant moved by `by` ", $unit, " (negative: earlier).")]
            pub const fn $plus(self, by: i64) -> $name {
                $name(self.0 + by)
            }

            #[doc = concat!(
                "The ", $unit, " from `earlier` to `self` (negative when `earlier` is in fact later)."
            )]
            pub const fn since(self, earlier: $name) -> i64 {
                self.0 - earlier.0
            }

            #[doc = concat!(
                "The ", $unit, " from `earlier` to `self`; 0 when `earlier` is in fact later."
            )]
            pub const fn saturating_since(self, earlier: $name) -> i64 {
                let d = self.0 - earlier.0;
                if d > 0 { d } else { 0 }
            }
        }
    };
}

instant!(
    /// An instant in whole Unix seconds (UTC).
    UnixSecs, "seconds", plus_secs
);
instant!(
    /// An instant in Unix milliseconds (UTC).
    UnixMs, "milliseconds", plus_ms
);

impl UnixSecs {
    /// The same instant in milliseconds (exact).
    pub const fn to_ms(self) -> UnixMs {
        UnixMs(self.0 * 1000)
    }
}

impl UnixMs {
    /// The whole second this instant falls in: rounds toward −∞ (`div_euclid`), so
    /// -1 ms is second -1, not 0, and `t.to_secs().to_ms() <= t` always.
    pub const fn to_secs(self) -> UnixSecs {
        UnixSecs(self.0.div_euclid(1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_milliseconds_convert_explicitly() {
        // (ms, its second rounded toward −∞)
        let cases: &[(i64, i64)] = &[
            (0, 0),
            (999, 0),
            (1000, 1),
            (1001, 1),
            (-1, -1),
            (-999, -1),
            (-1000, -1),
            (-1001, -2),
            (1_764_561_600_123, 1_764_561_600),
        ];
        for &(ms, secs) in cases {
            let t = UnixMs(ms);
            assert_eq!(t.to_secs(), UnixSecs(secs), "{ms} ms");
            assert!(t.to_secs().to_ms() <= t, "{ms} ms");
            assert!(t.saturating_since(t.to_secs().to_ms()) < 1000, "{ms} ms");
            // Whole seconds go round trip exactly.
            assert_eq!(UnixSecs(secs).to_ms().to_secs(), UnixSecs(secs));
            assert_eq!(UnixSecs(secs).to_ms().get(), secs * 1000);
        }
        assert_eq!(UnixSecs(10).plus_secs(-3).get(), 7);
        assert_eq!(UnixMs(10).plus_ms(5).get(), 15);
        assert_eq!(UnixSecs(10).saturating_since(UnixSecs(4)), 6);
        assert_eq!(UnixSecs(4).since(UnixSecs(10)), -6);
        assert_eq!(UnixMs(4).since(UnixMs(10)), -6);
        assert_eq!(UnixSecs(4).saturating_since(UnixSecs(10)), 0);
        assert_eq!(UnixMs(4).saturating_since(UnixMs(10)), 0);
    }

    #[test]
    fn instants_serialize_as_bare_numbers() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Entry {
            at_ms: UnixMs,
            at: Option<UnixSecs>,
        }
        let entry = Entry { at_ms: UnixMs(-1_500), at: Some(UnixSecs(1_764_561_600)) };
        let text = serde_json::to_string(&entry).unwrap();
        assert_eq!(text, r#"{"at_ms":-1500,"at":1764561600}"#);
        assert_eq!(serde_json::from_str::<Entry>(&text).unwrap(), entry);
        assert_eq!(serde_json::to_value(UnixMs(7)).unwrap(), serde_json::json!(7));
    }
}
