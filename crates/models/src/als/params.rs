//! `[models.als]`: ALS parameters, their defaults and their checking.

use serde::{Deserialize, Serialize};

use crate::ParamError;
use crate::factors::{FACTORS_RANGE, ITERATIONS_RANGE, MAX_FACTORS, MAX_ITERATIONS};

/// Largest `cg_steps`: see [`AlsParams::check`].
const MAX_CG_STEPS: usize = 100;

/// Parameters of implicit ALS, as in the `[models.als]` config table. Keys left out take
/// the documented defaults (the defaults of Python `implicit` 0.7.3, but 64 factors).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlsParams {
    /// Number of latent factors per user and item. Default 64; from 1 to 4096.
    pub factors: usize,
    /// L2 regularization λ added to the diagonal of every normal equation. Default 0.01;
    /// must be finite and ≥ 0.
    pub regularization: f32,
    /// Frequency scaling ν of λ (Rendle et al., "Revisiting the Performance of iALS on
    /// Item Recommendation Benchmarks", RecSys 2022): a row with `n` observed entries, out
    /// of `N` on the other side, is regularised by `λ·(n + unobserved_weight·N)^ν`.
    /// Default 0 (the same λ for every row, implicit's); from 0 to 2.
    #[serde(skip_serializing_if = "is_zero")]
    pub regularization_exp: f32,
    /// Weight α₀ of every unobserved pair (`p = 0`) in the loss; observed pairs keep their
    /// confidence `C`. Default 1 (implicit's); must be finite and > 0. The revisit tunes
    /// it per data set, together with λ and ν.
    #[serde(skip_serializing_if = "is_one")]
    pub unobserved_weight: f32,
    /// Confidence scale: an observed pair with matrix value `r` has confidence
    /// `C = alpha·|r|` (implicit's convention). Default 1.0; must be finite and ≥ 0.
    pub alpha: f32,
    /// ALS sweeps (each solves all users, then all items). Default 15; must be ≥ 1.
    pub iterations: usize,
    /// Conjugate-gradient steps per row and sweep, warm-started from the previous factor.
    /// Default 3; must be ≥ 1.
    pub cg_steps: usize,
    /// Initial factors are drawn uniformly from `[0, init_scale)` (implicit draws
    /// `rand() * 0.01`). Default 0.01; must be finite and > 0.
    pub init_scale: f32,
    /// After the last sweep, solve every user's factor exactly against the final item
    /// factors (a Cholesky solve per user, the solve serving folds new events in with),
    /// so a served user's list is what folding in their train row gives. Default true;
    /// false is implicit's algorithm to the letter (its last user sweep saw the item
    /// factors of the sweep before, in `cg_steps` CG steps).
    pub exact_user_solve: bool,
}

impl Default for AlsParams {
    fn default() -> Self {
        AlsParams {
            factors: 64,
            regularization: 0.01,
            regularization_exp: 0.0,
            unobserved_weight: 1.0,
            alpha: 1.0,
            iterations: 15,
            cg_steps: 3,
            init_scale: 0.01,
            exact_user_solve: true,
        }
    }
}

// Defaults are left out of what is written, so configs and model files that do not use
// the revisit's parameters keep their bytes.
fn is_zero(v: &f32) -> bool {
    *v == 0.0
}

fn is_one(v: &f32) -> bool {
    *v == 1.0
}

impl AlsParams {
    /// λ of a row with `n` observed entries when the other side has `others` rows: the
    /// frequency-scaled regularization of [`Self::regularization_exp`].
    pub(crate) fn row_regularization(&self, n: usize, others: usize) -> f32 {
        let count = n as f64 + f64::from(self.unobserved_weight) * others as f64;
        (f64::from(self.regularization) * count.powf(f64::from(self.regularization_exp))) as f32
    }

    /// Whether every row has the same λ (`regularization_exp = 0`): λ then goes into the
    /// shared Gram matrix once.
    pub(crate) fn uniform_regularization(&self) -> bool {
        self.regularization_exp == 0.0
    }
}

/// ALS parameters that passed [`AlsParams::check`]; only these can fit.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedAls {
    params: AlsParams,
}

impl CheckedAls {
    /// The checked values.
    pub fn params(&self) -> &AlsParams {
        &self.params
    }
}

impl AlsParams {
    /// Returns the params as [`CheckedAls`], or the first impossible value as a
    /// [`ParamError`] naming its key.
    pub fn check(&self) -> Result<CheckedAls, ParamError> {
        let err = |param, expected, found: &dyn ToString| {
            Err(ParamError::new("als", param, expected, found.to_string()))
        };
        if !(1..=MAX_FACTORS).contains(&self.factors) {
            return err("factors", FACTORS_RANGE, &self.factors);
        }
        if !(self.regularization.is_finite() && self.regularization >= 0.0) {
            return err(
                "regularization",
                "a finite number ≥ 0",
                &self.regularization,
            );
        }
        if !(0.0..=2.0).contains(&self.regularization_exp) {
            return err(
                "regularization_exp",
                "a number from 0 to 2",
                &self.regularization_exp,
            );
        }
        if !(self.unobserved_weight.is_finite() && self.unobserved_weight > 0.0) {
            return err(
                "unobserved_weight",
                "a finite number > 0",
                &self.unobserved_weight,
            );
        }
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return err("alpha", "a finite number ≥ 0", &self.alpha);
        }
        if !(1..=MAX_ITERATIONS).contains(&self.iterations) {
            return err("iterations", ITERATIONS_RANGE, &self.iterations);
        }
        // Conjugate-gradient steps per row solve: a few suffice (3 by default); as many as
        // factors solve exactly, so more only cost time.
        if !(1..=MAX_CG_STEPS).contains(&self.cg_steps) {
            return err("cg_steps", "an integer from 1 to 100", &self.cg_steps);
        }
        if !(self.init_scale.is_finite() && self.init_scale > 0.0) {
            return err("init_scale", "a finite number > 0", &self.init_scale);
        }
        Ok(CheckedAls {
            params: self.clone(),
        })
    }
}
