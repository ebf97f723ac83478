//! A tiny `--key value` / `--flag` parser (no dependency needed for four subcommands).

use std::collections::HashMap;
use std::str::FromStr;

/// Flags that take no value.
const FLAGS: &[&str] = &["quick", "no-pin", "no-iperf"];

pub(crate) struct Args {
    values: HashMap<String, String>,
}

impl Args {
    pub(crate) fn parse(argv: &[String]) -> Result<Self, String> {
        let mut values = HashMap::new();
        let mut it = argv.iter();
        while let Some(arg) = it.next() {
            let Some(key) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument {arg:?}"));
            };
            let (key, value) = match key.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None if FLAGS.contains(&key) => (key.to_string(), "true".to_string()),
                None => {
                    let value = it.next().ok_or_else(|| format!("--{key} needs a value"))?;
                    (key.to_string(), value.clone())
                }
            };
            values.insert(key, value);
        }
        Ok(Self { values })
    }

    pub(crate) fn flag(&self, key: &str) -> bool {
        self.values.get(key).is_some_and(|v| v != "false")
    }

    pub(crate) fn str(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub(crate) fn req(&self, key: &str) -> Result<&str, String> {
        self.str(key).ok_or_else(|| format!("--{key} is required"))
    }

    pub(crate) fn get<T: FromStr>(&self, key: &str) -> Result<Option<T>, String> {
        self.str(key)
            .map(|v| {
                v.parse()
                    .map_err(|_| format!("--{key}: cannot parse {v:?}"))
            })
            .transpose()
    }

    pub(crate) fn get_or<T: FromStr>(&self, key: &str, default: T) -> Result<T, String> {
        Ok(self.get(key)?.unwrap_or(default))
    }

    /// A byte size: plain, or with a `k`/`K`/`KiB` or `m`/`M`/`MiB` suffix.
    pub(crate) fn size(&self, key: &str) -> Result<Option<usize>, String> {
        self.str(key).map(parse_size).transpose()
    }
}

pub(crate) fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("KiB").or_else(|| t.strip_suffix(['k', 'K']))
    {
        (n, 1024)
    } else if let Some(n) = t.strip_suffix("MiB").or_else(|| t.strip_suffix(['m', 'M'])) {
        (n, 1024 * 1024)
    } else {
        (t, 1)
    };
    num.trim()
        .parse::<usize>()
        .map(|n| n * mult)
        .map_err(|_| format!("cannot parse size {text:?}"))
}
