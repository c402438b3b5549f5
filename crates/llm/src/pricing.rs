//! Dollars per 1k tokens, by model.

use std::collections::BTreeMap;

use crate::LlmError;

/// Price of one model in dollars per 1k tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input_per_1k: f64,
    pub output_per_1k: f64,
}

/// Published list prices of common models; local models are free and
/// simply absent. Overridable per deployment through `LlmConfig::prices`.
const DEFAULTS: &[(&str, f64, f64)] = &[
    ("gpt-4o", 0.0025, 0.01),
    ("gpt-4o-mini", 0.00015, 0.0006),
    ("gpt-4.1", 0.002, 0.008),
    ("gpt-4.1-mini", 0.0004, 0.0016),
    ("gpt-4.1-nano", 0.0001, 0.0004),
    ("gpt-4-turbo", 0.01, 0.03),
    ("gpt-4", 0.03, 0.06),
    ("gpt-3.5-turbo", 0.0005, 0.0015),
    ("o1", 0.015, 0.06),
    ("o1-mini", 0.0011, 0.0044),
    ("o3", 0.002, 0.008),
    ("o3-mini", 0.0011, 0.0044),
    ("o4-mini", 0.0011, 0.0044),
    ("claude-3-haiku", 0.00025, 0.00125),
    ("claude-3-5-haiku", 0.0008, 0.004),
    ("claude-haiku-4-5", 0.001, 0.005),
    ("claude-3-5-sonnet", 0.003, 0.015),
    ("claude-3-7-sonnet", 0.003, 0.015),
    ("claude-sonnet-4", 0.003, 0.015),
    ("claude-3-opus", 0.015, 0.075),
    ("claude-opus-4", 0.015, 0.075),
    ("claude-opus-4-5", 0.005, 0.025),
];

/// Model name → price. Lookup takes an exact match, else the longest entry
/// that prefixes the model, so dated snapshots (`gpt-4o-mini-2024-07-18`)
/// find their family and `gpt-4o-mini` never falls back to `gpt-4o`.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    prices: BTreeMap<String, Price>,
}

impl Default for PriceTable {
    fn default() -> Self {
        PriceTable {
            prices: DEFAULTS
                .iter()
                .map(|&(m, i, o)| {
                    (
                        m.to_string(),
                        Price {
                            input_per_1k: i,
                            output_per_1k: o,
                        },
                    )
                })
                .collect(),
        }
    }
}

impl PriceTable {
    /// The defaults plus `overrides`, each `"model=INPUT:OUTPUT"`.
    pub fn with_overrides(overrides: &[String]) -> Result<Self, LlmError> {
        let mut table = PriceTable::default();
        for entry in overrides {
            let (model, price) = parse_entry(entry).ok_or_else(|| {
                LlmError::Config(format!(
                    "price entry '{entry}' is not 'model=INPUT:OUTPUT' (dollars per 1k tokens)"
                ))
            })?;
            table.prices.insert(model, price);
        }
        Ok(table)
    }

    pub fn set(&mut self, model: &str, price: Price) {
        self.prices.insert(model.to_string(), price);
    }

    pub fn lookup(&self, model: &str) -> Option<Price> {
        if let Some(p) = self.prices.get(model) {
            return Some(*p);
        }
        self.prices
            .iter()
            .filter(|(k, _)| model.starts_with(k.as_str()))
            .max_by_key(|(k, _)| k.len())
            .map(|(_, p)| *p)
    }

    /// Dollars for one call; 0 for models without a price (local models).
    pub fn cost(&self, model: &str, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        self.lookup(model).map_or(0.0, |p| {
            (prompt_tokens as f64 * p.input_per_1k + completion_tokens as f64 * p.output_per_1k)
                / 1000.0
        })
    }
}

fn parse_entry(entry: &str) -> Option<(String, Price)> {
    let (model, prices) = entry.split_once('=')?;
    let (i, o) = prices.split_once(':')?;
    let price = Price {
        input_per_1k: i.trim().parse().ok().filter(|v: &f64| *v >= 0.0)?,
        output_per_1k: o.trim().parse().ok().filter(|v: &f64| *v >= 0.0)?,
    };
    let model = model.trim();
    (!model.is_empty()).then(|| (model.to_string(), price))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_prefers_longest_prefix() {
        let t = PriceTable::default();
        assert_eq!(
            t.lookup("gpt-4o-mini-2024-07-18").unwrap().input_per_1k,
            0.00015
        );
        assert_eq!(t.lookup("gpt-4o-2024-08-06").unwrap().input_per_1k, 0.0025);
        assert_eq!(
            t.lookup("claude-sonnet-4-20250514").unwrap().output_per_1k,
            0.015
        );
        assert!(t.lookup("llama3.1:8b").is_none());
        assert_eq!(t.cost("llama3.1:8b", 1000, 1000), 0.0);
        let c = t.cost("gpt-4o", 1000, 500);
        assert!((c - (0.0025 + 0.005)).abs() < 1e-12);
    }

    #[test]
    fn overrides_parse_and_reject_garbage() {
        let t = PriceTable::with_overrides(&["llama3=0.001:0.002".into()]).unwrap();
        assert!((t.cost("llama3", 1000, 1000) - 0.003).abs() < 1e-12);
        assert!(PriceTable::with_overrides(&["llama3".into()]).is_err());
        assert!(PriceTable::with_overrides(&["x=a:b".into()]).is_err());
        assert!(PriceTable::with_overrides(&["x=-1:1".into()]).is_err());
    }
}
