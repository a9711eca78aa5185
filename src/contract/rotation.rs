//! The session_key rotation policy applied on each `wx.login`, and the
//! fault-injection settings. Plain data, parsed from the CLI and from flows.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Whether a `wx.login` refreshes the user's session_key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RotationPolicy {
    Never,
    Always,
    /// Each login refreshes with probability P, drawn from the seeded
    /// per-user random stream.
    Probability(f64),
    /// Every N-th login of a user refreshes.
    Every(u32),
}

impl FromStr for RotationPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || {
            format!("invalid rotation policy `{s}`: expected never, always, a probability 0..1 (e.g. 0.3) or every:N")
        };
        match s {
            "never" => Ok(RotationPolicy::Never),
            "always" => Ok(RotationPolicy::Always),
            _ => {
                if let Some(n) = s.strip_prefix("every:").or_else(|| s.strip_prefix("every ")) {
                    return match n.trim().parse::<u32>() {
                        Ok(n) if n > 0 => Ok(RotationPolicy::Every(n)),
                        _ => Err(bad()),
                    };
                }
                match s.parse::<f64>() {
                    Ok(p) if (0.0..=1.0).contains(&p) => Ok(RotationPolicy::Probability(p)),
                    _ => Err(bad()),
                }
            }
        }
    }
}

impl fmt::Display for RotationPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RotationPolicy::Never => f.write_str("never"),
            RotationPolicy::Always => f.write_str("always"),
            RotationPolicy::Probability(p) => write!(f, "{p}"),
            RotationPolicy::Every(n) => write!(f, "every:{n}"),
        }
    }
}

impl Serialize for RotationPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for RotationPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(f64),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Num(n) => n.to_string(),
            Raw::Text(t) => t,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The full rotation model: a policy plus an optional minimum period between
/// refreshes and an optional session TTL (after which the next login must
/// refresh and `checkSession` fails).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    pub policy: RotationPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_period_secs: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<f64>,
}

/// The longest period, TTL or latency the mock accepts: a day for periods
/// and TTLs, a minute for latency (an endpoint that never answers is a
/// timeout fault, not a latency).
pub const MAX_PERIOD_SECS: f64 = 86_400.0;
pub const MAX_LATENCY_MS: u64 = 60_000;

impl Rotation {
    pub fn policy(policy: RotationPolicy) -> Self {
        Rotation { policy, min_period_secs: None, ttl_secs: None }
    }

    /// Refuses a negative, infinite or absurdly long period or TTL.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [("min_period_secs", self.min_period_secs), ("ttl_secs", self.ttl_secs)] {
            if let Some(v) = v
                && !(v.is_finite() && (0.0..=MAX_PERIOD_SECS).contains(&v))
            {
                return Err(format!("rotation {name} is {v}: expected 0 to {MAX_PERIOD_SECS} seconds"));
            }
        }
        Ok(())
    }
}

impl fmt::Display for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.policy)?;
        if let Some(p) = self.min_period_secs {
            write!(f, ", min period {p}s")?;
        }
        if let Some(t) = self.ttl_secs {
            write!(f, ", ttl {t}s")?;
        }
        Ok(())
    }
}

/// One endpoint's injected fault: latency (fixed + uniform jitter) and, at
/// `rate`, an errcode instead of the real answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub jitter_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errcode: Option<i64>,
    #[serde(default)]
    pub rate: f64,
}

/// Faults per server endpoint name (`jscode2session`, `token`,
/// `stable_token`, `checksession`, `getuserphonenumber`,
/// `resetusersessionkey`).
pub type Faults = BTreeMap<String, Fault>;

/// The server endpoints faults can target.
pub const FAULT_ENDPOINTS: &[&str] =
    &["jscode2session", "token", "stable_token", "checksession", "getuserphonenumber", "resetusersessionkey"];

/// Checks endpoint names, rates and errcodes of a fault table.
pub fn validate_faults(faults: &Faults) -> Result<(), String> {
    for (name, fault) in faults {
        if !FAULT_ENDPOINTS.contains(&name.as_str()) {
            return Err(format!("unknown fault endpoint `{name}`; expected one of {}", FAULT_ENDPOINTS.join(", ")));
        }
        if !(0.0..=1.0).contains(&fault.rate) {
            return Err(format!("fault rate for `{name}` is {}, expected 0..1", fault.rate));
        }
        for (what, v) in [("latency_ms", fault.latency_ms), ("jitter_ms", fault.jitter_ms)] {
            if v > MAX_LATENCY_MS {
                return Err(format!("fault {what} for `{name}` is {v}: at most {MAX_LATENCY_MS} (one minute)"));
            }
        }
        if let Some(code) = fault.errcode
            && crate::wechat::api::ApiError::from_code(code).is_none()
        {
            return Err(format!("fault errcode {code} for `{name}` is not one the mock knows (try -1 or 45011)"));
        }
    }
    Ok(())
}

/// Parses a command-line fault, `ENDPOINT:key=value,…` with keys
/// `errcode`, `rate`, `latency_ms`, `jitter_ms`.
pub fn parse_fault_arg(arg: &str) -> Result<(String, Fault), String> {
    let (endpoint, spec) = arg.split_once(':').unwrap_or((arg, ""));
    let mut fault = Fault::default();
    for pair in spec.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| format!("fault `{arg}`: `{pair}` is not key=value"))?;
        let bad = || format!("fault `{arg}`: `{k}` needs a number, got `{v}`");
        let whole = |v: &str| {
            v.parse::<u64>().map_err(|_| format!("fault `{arg}`: `{k}` needs a whole number of ms, got `{v}`"))
        };
        match k {
            "errcode" => fault.errcode = Some(v.parse::<i64>().map_err(|_| bad())?),
            "rate" => fault.rate = v.parse::<f64>().map_err(|_| bad())?,
            "latency_ms" => fault.latency_ms = whole(v)?,
            "jitter_ms" => fault.jitter_ms = whole(v)?,
            _ => return Err(format!("fault `{arg}`: unknown key `{k}` (errcode, rate, latency_ms, jitter_ms)")),
        }
    }
    if fault.errcode.is_some() && fault.rate == 0.0 {
        fault.rate = 1.0;
    }
    let faults = Faults::from([(endpoint.to_string(), fault)]);
    validate_faults(&faults)?;
    Ok((endpoint.to_string(), fault))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_and_print_back() {
        for text in ["never", "always", "0.3", "every:4"] {
            assert_eq!(text.parse::<RotationPolicy>().unwrap().to_string(), text);
        }
        assert_eq!("1".parse::<RotationPolicy>(), Ok(RotationPolicy::Probability(1.0)));
        assert!("1.5".parse::<RotationPolicy>().is_err());
        assert!("every:0".parse::<RotationPolicy>().is_err());
        assert!("sometimes".parse::<RotationPolicy>().is_err());
    }

    #[test]
    fn fault_args_parse_with_clear_errors() {
        let (name, f) = parse_fault_arg("jscode2session:errcode=-1,rate=0.1,latency_ms=50").unwrap();
        assert_eq!(name, "jscode2session");
        assert_eq!(f, Fault { latency_ms: 50, jitter_ms: 0, errcode: Some(-1), rate: 0.1 });
        assert_eq!(parse_fault_arg("token:errcode=45011").unwrap().1.rate, 1.0);
        assert!(parse_fault_arg("jscode2sesion:rate=1").unwrap_err().contains("unknown fault endpoint"));
        assert!(parse_fault_arg("token:errcode=12345").unwrap_err().contains("not one the mock knows"));
        assert!(parse_fault_arg("token:speed=3").unwrap_err().contains("unknown key"));
        assert!(parse_fault_arg("token:latency_ms=18446744073709551615").unwrap_err().contains("at most 60000"));
        assert!(parse_fault_arg("token:latency_ms=-5").unwrap_err().contains("whole number"));
        assert!(parse_fault_arg("token:rate=NaN").unwrap_err().contains("expected 0..1"));
    }

    #[test]
    fn rotation_periods_must_be_finite_and_bounded() {
        let r = |p: f64| Rotation { min_period_secs: Some(p), ..Rotation::policy(RotationPolicy::Always) };
        assert!(r(30.0).validate().is_ok());
        for bad in [-1.0, f64::INFINITY, f64::NAN, 1e12] {
            assert!(r(bad).validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn policy_deserializes_from_yaml_number_or_string() {
        let p: RotationPolicy = serde_yaml::from_str("0.25").unwrap();
        assert_eq!(p, RotationPolicy::Probability(0.25));
        let p: RotationPolicy = serde_yaml::from_str("every:2").unwrap();
        assert_eq!(p, RotationPolicy::Every(2));
    }
}
