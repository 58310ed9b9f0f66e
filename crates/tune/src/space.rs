//! One model's search space: its configured table, the searched parameters, and the
//! draws. A trial's parameters are a whole `[models.<name>]` table, so every parameter a
//! model accepts can be searched, and the model's own checks reject impossible values.

use clickrec_core::SplitMix64;
use clickrec_models::{CheckedModel, ModelKind, ModelsConfig};
use serde::Deserialize;

use crate::config::{Domain, Range};

/// The key of the iteration count of iterative models (ALS, BPR).
pub const ITERATIONS: &str = "iterations";

/// A model's configured table (`[models.<name>]`, or empty) and its searched parameters.
#[derive(Clone, Debug)]
pub struct Space {
    pub kind: ModelKind,
    /// Every parameter of the model, the configured values or defaults.
    pub base: toml::Table,
    pub dims: Vec<(String, Domain)>,
}

impl Space {
    /// `models` is the pipeline's `[models]`; a model missing there starts from defaults.
    pub fn new(
        kind: ModelKind,
        models: &ModelsConfig,
        dims: Vec<(String, Domain)>,
    ) -> Result<Self, String> {
        let configured = toml::Value::try_from(models)
            .ok()
            .and_then(|v| v.get(kind.name()).and_then(|t| t.as_table()).cloned())
            .unwrap_or_default();
        let base = full_table(kind, &configured)?;
        // Optional parameters are absent from `base`: a searched key is checked by
        // checking a draw (`deny_unknown_fields` names an unknown one).
        let space = Space { kind, base, dims };
        if !space.dims.is_empty() {
            checked_model(kind, &space.draw(0x5EED, 1, None))
                .map_err(|e| format!("tune.{}: {e}", kind.name()))?;
        }
        Ok(space)
    }

    /// Whether the model trains in iterations (the budget of successive halving).
    pub fn iterative(&self) -> bool {
        self.base.contains_key(ITERATIONS)
    }

    /// The smallest and largest iteration count the space allows (the configured count
    /// when `iterations` is not searched).
    pub fn iteration_range(&self) -> Option<(usize, usize)> {
        let configured = self.base.get(ITERATIONS)?.as_integer()? as usize;
        let Some((_, domain)) = self.dims.iter().find(|(p, _)| p == ITERATIONS) else {
            return Some((configured, configured));
        };
        let ints = |v: &[toml::Value]| -> Vec<usize> {
            v.iter()
                .filter_map(|x| x.as_integer())
                .map(|x| x.max(1) as usize)
                .collect()
        };
        match domain {
            Domain::Choices(values) => {
                let v = ints(values);
                Some((*v.iter().min()?, *v.iter().max()?))
            }
            Domain::Range(Range::IntUniform([a, b])) => {
                Some(((*a).max(1) as usize, (*b).max(1) as usize))
            }
            Domain::Range(_) => None,
        }
    }

    /// The parameters of configuration `index` of `trials` random draws. Configuration 0
    /// is the pipeline's own values, so the winner is never worse on the validation split
    /// than what the user had; every other is drawn from its own stream of `seed`, so a
    /// configuration never depends on how many were drawn before it. `skip` names a
    /// parameter not to draw (the budget under halving).
    pub fn draw(&self, seed: u64, index: usize, skip: Option<&str>) -> toml::Table {
        if index == 0 {
            return self.base.clone();
        }
        let mut rng = SplitMix64::new(stream(seed, self.kind, index));
        let mut table = self.base.clone();
        for (param, domain) in &self.dims {
            let value = match domain {
                Domain::Choices(values) => values[rng.below(values.len())].clone(),
                Domain::Range(range) => draw_range(*range, &mut rng),
            };
            if skip != Some(param.as_str()) {
                table.insert(param.clone(), value);
            }
        }
        table
    }

    /// Every combination of the listed values, in a fixed order (the last parameter
    /// varies fastest). Ranges have been rejected for grids.
    pub fn grid(&self) -> Vec<toml::Table> {
        let lists: Vec<(&String, &[toml::Value])> = self
            .dims
            .iter()
            .filter_map(|(p, d)| match d {
                Domain::Choices(values) => Some((p, values.as_slice())),
                Domain::Range(_) => None,
            })
            .collect();
        let total: usize = lists.iter().map(|(_, v)| v.len()).product();
        (0..total)
            .map(|mut index| {
                let mut table = self.base.clone();
                for (param, values) in lists.iter().rev() {
                    table.insert((*param).clone(), values[index % values.len()].clone());
                    index /= values.len();
                }
                table
            })
            .collect()
    }
}

/// A seed per (search seed, model, configuration): a hash, so nearby seeds and indices
/// give unrelated streams.
fn stream(seed: u64, kind: ModelKind, index: usize) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&seed.to_le_bytes());
    hasher.update(kind.name().as_bytes());
    hasher.update(&(index as u64).to_le_bytes());
    let bytes = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

fn draw_range(range: Range, rng: &mut SplitMix64) -> toml::Value {
    let unit = rng.next_f64();
    match range {
        Range::LogUniform([a, b]) => {
            toml::Value::Float(round_sig((a.ln() + unit * (b.ln() - a.ln())).exp()))
        }
        Range::Uniform([a, b]) => toml::Value::Float(round_sig(a + unit * (b - a))),
        Range::IntUniform([a, b]) => {
            let span = (b - a) as u64 + 1;
            toml::Value::Integer(a + rng.below(span as usize) as i64)
        }
    }
}

/// Six significant digits: values people can read and retype, and that survive the
/// round trip through `best.toml` and an `f32` parameter unchanged.
fn round_sig(x: f64) -> f64 {
    format!("{x:.5e}").parse().unwrap_or(x)
}

/// The model's table with every parameter, configured or default.
pub(crate) fn full_table(kind: ModelKind, table: &toml::Table) -> Result<toml::Table, String> {
    let config = models_config(kind, table)?;
    let mut full = toml::Value::try_from(&config)
        .ok()
        .and_then(|v| v.get(kind.name()).and_then(|t| t.as_table()).cloned())
        .ok_or_else(|| format!("[models.{}] cannot be written back as TOML", kind.name()))?;
    for (_, value) in full.iter_mut() {
        if let Some(x) = value.as_float() {
            *value = toml::Value::Float(shortest(x));
        }
    }
    Ok(full)
}

/// An `f32` parameter widened to `f64` prints as 0.009999999776482582; its shortest
/// `f32` spelling (0.01) reads back to the same `f32`.
fn shortest(x: f64) -> f64 {
    let narrow = x as f32;
    if f64::from(narrow) == x {
        narrow.to_string().parse().unwrap_or(x)
    } else {
        x
    }
}

/// The configured model of `models` with another iteration count (early stopping's best).
pub fn with_iterations(
    kind: ModelKind,
    models: &ModelsConfig,
    iterations: usize,
) -> Result<CheckedModel, String> {
    let mut table = Space::new(kind, models, Vec::new())?.base;
    table.insert(ITERATIONS.into(), toml::Value::Integer(iterations as i64));
    checked_model(kind, &table)
}

/// Checks a model table as `[models.<name>]` of a pipeline would be checked.
pub fn checked_model(kind: ModelKind, table: &toml::Table) -> Result<CheckedModel, String> {
    models_config(kind, table)?
        .check()
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
        .ok_or_else(|| format!("[models.{}] gave no model", kind.name()))
}

fn models_config(kind: ModelKind, table: &toml::Table) -> Result<ModelsConfig, String> {
    let mut models = toml::Table::new();
    models.insert(kind.name().to_owned(), toml::Value::Table(table.clone()));
    ModelsConfig::deserialize(models).map_err(|e| format!("models.{}: {e}", kind.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(text: &str) -> Space {
        let dims: std::collections::BTreeMap<String, Domain> = toml::from_str(text).unwrap();
        Space::new(
            ModelKind::Als,
            &ModelsConfig::default(),
            dims.into_iter().collect(),
        )
        .unwrap()
    }

    #[test]
    fn draws_are_seeded_per_configuration_and_in_range() {
        let s = space(
            "alpha = { log_uniform = [0.1, 50.0] }\nfactors = [16, 32]\niterations = { int_uniform = [5, 9] }",
        );
        assert_eq!(s.draw(1, 3, None), s.draw(1, 3, None));
        assert_ne!(s.draw(1, 3, None), s.draw(1, 4, None));
        assert_ne!(s.draw(1, 3, None), s.draw(2, 3, None));
        assert_eq!(s.draw(9, 0, None), s.base);
        for i in 1..200 {
            let t = s.draw(9, i, None);
            let alpha = t["alpha"].as_float().unwrap();
            assert!((0.1..=50.0).contains(&alpha), "{alpha}");
            let it = t["iterations"].as_integer().unwrap();
            assert!((5..=9).contains(&it));
            assert!([16, 32].contains(&t["factors"].as_integer().unwrap()));
            // Every draw is a valid ALS table.
            checked_model(ModelKind::Als, &t).unwrap();
        }
        // The budget parameter keeps its configured value when skipped.
        assert_eq!(
            s.draw(9, 0, Some(ITERATIONS))["iterations"].as_integer(),
            Some(15)
        );
        assert_eq!(s.iteration_range(), Some((5, 9)));
    }

    #[test]
    fn grid_enumerates_every_combination() {
        let s = space("factors = [8, 16]\nalpha = [1.0, 2.0, 4.0]");
        let grid = s.grid();
        assert_eq!(grid.len(), 6);
        let pairs: std::collections::BTreeSet<(i64, String)> = grid
            .iter()
            .map(|t| {
                (
                    t["factors"].as_integer().unwrap(),
                    t["alpha"].as_float().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(pairs.len(), 6);
    }

    #[test]
    fn unknown_parameters_and_bad_values_are_named() {
        let dims = vec![("alfa".to_owned(), Domain::Choices(vec![1.into()]))];
        let err = Space::new(ModelKind::Als, &ModelsConfig::default(), dims).unwrap_err();
        assert!(err.contains("tune.als") && err.contains("alfa"), "{err}");
        // An optional parameter (absent from the defaults' table) can be searched.
        let dims = vec![("last_events".to_owned(), Domain::Choices(vec![10.into()]))];
        Space::new(ModelKind::Sknn, &ModelsConfig::default(), dims).unwrap();
        let mut table = full_table(ModelKind::Als, &toml::Table::new()).unwrap();
        table.insert("factors".into(), 0.into());
        assert!(
            checked_model(ModelKind::Als, &table)
                .unwrap_err()
                .contains("factors")
        );
    }
}
