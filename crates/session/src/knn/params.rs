//! Parameters of the session-kNN family, as written in `[models.sknn]`, `[models.vsknn]`,
//! `[models.stan]` and `[models.vstan]`, and their checked form.

use serde::{Deserialize, Serialize};

use crate::error::ParamError;

/// How the current session is compared with a neighbour session. `i` ranges over the
/// current session's distinct items with weight `w(i)` (1 for SKNN, a position weight
/// for the others), `N` is the neighbour's set of distinct items.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Similarity {
    /// Σ_{i∈N} w(i) / (√(Σ_i w(i)²) · √|N|): plain cosine of the sets when w = 1.
    Cosine,
    /// Σ_{i∈N} w(i) / (number of distinct current items): session-rec's `vec`.
    Vec,
    /// |S ∩ N| / |S ∪ N| over the sets (SKNN only).
    Jaccard,
    /// 2|S ∩ N| / (2|S ∩ N| + |S| + |N|), session-rec's `binary` (SKNN only).
    Binary,
}

/// A decay over a position, as session-rec names them. For the weight of the current
/// session's `p`-th of `L` events (`weighting`): same 1, div p/L, quadratic (p/L)², log
/// 1/log₁₀(L − p + 1.7), linear 1 − 0.1(L − p) (at least 0). For the score of a
/// neighbour whose most recent shared item is `step` events back (`weighting_score`,
/// step 1 = the last event): same 1, div 1/step, quadratic 1/step², log
/// 1/log₁₀(step + 1.7), linear 1 − 0.1·step (at least 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decay {
    Same,
    Div,
    Quadratic,
    Log,
    Linear,
}

impl Decay {
    /// Weight of the `p`-th (1-based) of `len` events of the current session.
    pub(crate) fn position(self, p: usize, len: usize) -> f64 {
        let (p, len) = (p as f64, len as f64);
        match self {
            Decay::Same => 1.0,
            Decay::Div => p / len,
            Decay::Quadratic => (p / len) * (p / len),
            Decay::Log => 1.0 / (len - p + 1.7).log10(),
            Decay::Linear => (1.0 - 0.1 * (len - p)).max(0.0),
        }
    }

    /// Weight of a neighbour matched `step` (≥ 1) events back.
    pub(crate) fn step(self, step: usize) -> f64 {
        let s = step as f64;
        match self {
            Decay::Same => 1.0,
            Decay::Div => 1.0 / s,
            Decay::Quadratic => 1.0 / (s * s),
            Decay::Log => 1.0 / (s + 1.7).log10(),
            Decay::Linear => (1.0 - 0.1 * s).max(0.0),
        }
    }
}

/// `[models.sknn]`: session-based kNN (Jannach & Ludewig, RecSys 2017).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SknnParams {
    /// Neighbour sessions that vote. Default 100.
    pub k: usize,
    /// Candidate sessions: the most recent sessions that share an item with the current
    /// one. Default 2500; 0 = every such session.
    pub sample_size: usize,
    /// Default `cosine`.
    pub similarity: Similarity,
    /// Batch lists: query with the user's last N train events instead of the last
    /// train session. Default: the last session.
    pub last_events: Option<usize>,
}

impl Default for SknnParams {
    fn default() -> Self {
        SknnParams {
            k: 100,
            sample_size: 2500,
            similarity: Similarity::Cosine,
            last_events: None,
        }
    }
}

/// `[models.vsknn]`: vector-multiplication session kNN, V-SKNN (Ludewig & Jannach,
/// "Evaluation of session-based recommendation algorithms", UMUAI 2018): recent events of
/// the session weigh more, and so do neighbours that match a recent event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VsknnParams {
    /// Default 100.
    pub k: usize,
    /// Default 2500; 0 = every candidate session.
    pub sample_size: usize,
    /// `vec` (default) or `cosine`.
    pub similarity: Similarity,
    /// Position weight of the current session's events. Default `div`.
    pub weighting: Decay,
    /// Weight of a neighbour by how far back its most recent shared event is. Default `div`.
    pub weighting_score: Decay,
    /// IDF weight λ: an item's vote is multiplied by 1 + λ·ln(sessions / events of the
    /// item). Default 0 (off).
    pub idf_weighting: f64,
    /// See [`SknnParams::last_events`].
    pub last_events: Option<usize>,
}

impl Default for VsknnParams {
    fn default() -> Self {
        VsknnParams {
            k: 100,
            sample_size: 2500,
            similarity: Similarity::Vec,
            weighting: Decay::Div,
            weighting_score: Decay::Div,
            idf_weighting: 0.0,
            last_events: None,
        }
    }
}

/// `[models.stan]`: sequence and time aware neighbourhood, STAN (Garg, Gupta, Anand,
/// Sen, Gionis: "Sequence and Time Aware Neighborhood for Session-based
/// Recommendations", SIGIR 2019).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StanParams {
    /// Default 200.
    pub k: usize,
    /// Default 2500; 0 = every candidate session.
    pub sample_size: usize,
    /// `cosine` (default) or `vec`.
    pub similarity: Similarity,
    /// λ₁, position in the current session: the p-th of L events weighs
    /// exp((p − L)/λ₁). Default 1.02; 0 turns it off.
    pub lambda_spw: f64,
    /// λ₂ in days, recency of the neighbour: similarity × exp(−Δt/λ₂) with Δt the time
    /// from the neighbour's end to the current event. Default 5; 0 turns it off.
    pub lambda_snh: f64,
    /// λ₃, position in the neighbour: an item's vote × exp(−|p − p*|/λ₃), p* the
    /// neighbour's last position of a shared item. Default 2.05; 0 turns it off.
    pub lambda_inh: f64,
    /// See [`SknnParams::last_events`].
    pub last_events: Option<usize>,
}

impl Default for StanParams {
    fn default() -> Self {
        StanParams {
            k: 200,
            sample_size: 2500,
            similarity: Similarity::Cosine,
            lambda_spw: 1.02,
            lambda_snh: 5.0,
            lambda_inh: 2.05,
            last_events: None,
        }
    }
}

/// `[models.vstan]`: V-STAN (Ludewig, Latifi, Jannach: "Empirical analysis of
/// session-based recommendation algorithms", UMUAI 2021): STAN plus V-SKNN's weight of
/// the neighbour's match position and IDF.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VstanParams {
    /// Default 200.
    pub k: usize,
    /// Default 2500; 0 = every candidate session.
    pub sample_size: usize,
    /// `cosine` (default) or `vec`.
    pub similarity: Similarity,
    /// As [`StanParams::lambda_spw`]. Default 1.02.
    pub lambda_spw: f64,
    /// As [`StanParams::lambda_snh`]. Default 5 (days).
    pub lambda_snh: f64,
    /// As [`StanParams::lambda_inh`]. Default 2.05.
    pub lambda_inh: f64,
    /// λ_ipw: a neighbour whose most recent shared item is the p-th of the current L
    /// events votes × exp((p − L)/λ_ipw). Default 1.02; 0 turns it off.
    pub lambda_ipw: f64,
    /// λ_idf: votes × 1 + λ_idf·ln(sessions / events of the item). Default 5; 0 = off.
    pub lambda_idf: f64,
    /// See [`SknnParams::last_events`].
    pub last_events: Option<usize>,
}

impl Default for VstanParams {
    fn default() -> Self {
        VstanParams {
            k: 200,
            sample_size: 2500,
            similarity: Similarity::Cosine,
            lambda_spw: 1.02,
            lambda_snh: 5.0,
            lambda_inh: 2.05,
            lambda_ipw: 1.02,
            lambda_idf: 5.0,
            last_events: None,
        }
    }
}

/// How the current session's events are weighed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum PositionWeight {
    Same,
    /// session-rec's V-SKNN decays.
    Decay(Decay),
    /// STAN: exp((p − L)/λ).
    Exp(f64),
}

impl PositionWeight {
    pub(crate) fn weight(self, p: usize, len: usize) -> f64 {
        match self {
            PositionWeight::Same => 1.0,
            PositionWeight::Decay(d) => d.position(p, len),
            PositionWeight::Exp(lambda) => ((p as f64 - len as f64) / lambda).exp(),
        }
    }
}

/// How a neighbour's vote decays with the distance (in events, 1 = the last event) from
/// the end of the current session to the most recent event it shares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum MatchWeight {
    Same,
    Decay(Decay),
    /// V-STAN: exp(−(step − 1)/λ).
    Exp(f64),
}

impl MatchWeight {
    pub(crate) fn weight(self, step: usize) -> f64 {
        match self {
            MatchWeight::Same => 1.0,
            MatchWeight::Decay(d) => d.step(step),
            MatchWeight::Exp(lambda) => (-((step - 1) as f64) / lambda).exp(),
        }
    }
}

/// Checked kNN settings shared by the four models; only `check()` makes them.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedKnn {
    pub(crate) model: &'static str,
    pub(crate) k: usize,
    pub(crate) sample_size: usize,
    pub(crate) similarity: Similarity,
    pub(crate) position: PositionWeight,
    pub(crate) matched: MatchWeight,
    /// Seconds; `None`: no recency decay of the neighbour.
    pub(crate) recency_s: Option<f64>,
    /// λ of exp(−|p − p*|/λ) in the neighbour; `None`: off.
    pub(crate) neighbour_position: Option<f64>,
    /// IDF weight λ; 0 = off.
    pub(crate) idf: f64,
    pub(crate) last_events: Option<usize>,
}

impl CheckedKnn {
    pub fn model(&self) -> &'static str {
        self.model
    }
}

fn check_common(
    model: &'static str,
    k: usize,
    similarity: Similarity,
    allowed: &[Similarity],
    last_events: Option<usize>,
) -> Result<(), ParamError> {
    if k == 0 {
        return Err(ParamError::new(model, "k", "at least 1 neighbour", k));
    }
    if !allowed.contains(&similarity) {
        return Err(ParamError::new(
            model,
            "similarity",
            if allowed.len() == 2 {
                "cosine or vec"
            } else {
                "cosine, vec, jaccard or binary"
            },
            format!("{similarity:?}").to_lowercase(),
        ));
    }
    if last_events == Some(0) {
        return Err(ParamError::new(
            model,
            "last_events",
            "at least 1 event (leave it out to query with the last session)",
            0,
        ));
    }
    Ok(())
}

/// A λ that is off at 0, else finite and positive.
fn lambda(model: &'static str, param: &'static str, value: f64) -> Result<Option<f64>, ParamError> {
    if value == 0.0 {
        Ok(None)
    } else if value.is_finite() && value > 0.0 {
        Ok(Some(value))
    } else {
        Err(ParamError::new(
            model,
            param,
            "a finite λ > 0, or 0 to turn it off",
            value,
        ))
    }
}

fn idf(model: &'static str, param: &'static str, value: f64) -> Result<f64, ParamError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(ParamError::new(model, param, "a finite weight ≥ 0", value))
    }
}

const SEC_PER_DAY: f64 = 24.0 * 3600.0;

impl SknnParams {
    pub fn check(&self) -> Result<CheckedKnn, ParamError> {
        let model = "sknn";
        check_common(
            model,
            self.k,
            self.similarity,
            &[
                Similarity::Cosine,
                Similarity::Vec,
                Similarity::Jaccard,
                Similarity::Binary,
            ],
            self.last_events,
        )?;
        Ok(CheckedKnn {
            model,
            k: self.k,
            sample_size: self.sample_size,
            similarity: self.similarity,
            position: PositionWeight::Same,
            matched: MatchWeight::Same,
            recency_s: None,
            neighbour_position: None,
            idf: 0.0,
            last_events: self.last_events,
        })
    }
}

const WEIGHTED: [Similarity; 2] = [Similarity::Cosine, Similarity::Vec];

impl VsknnParams {
    pub fn check(&self) -> Result<CheckedKnn, ParamError> {
        let model = "vsknn";
        check_common(model, self.k, self.similarity, &WEIGHTED, self.last_events)?;
        Ok(CheckedKnn {
            model,
            k: self.k,
            sample_size: self.sample_size,
            similarity: self.similarity,
            position: PositionWeight::Decay(self.weighting),
            matched: MatchWeight::Decay(self.weighting_score),
            recency_s: None,
            neighbour_position: None,
            idf: idf(model, "idf_weighting", self.idf_weighting)?,
            last_events: self.last_events,
        })
    }
}

impl StanParams {
    pub fn check(&self) -> Result<CheckedKnn, ParamError> {
        let model = "stan";
        check_common(model, self.k, self.similarity, &WEIGHTED, self.last_events)?;
        Ok(CheckedKnn {
            model,
            k: self.k,
            sample_size: self.sample_size,
            similarity: self.similarity,
            position: lambda(model, "lambda_spw", self.lambda_spw)?
                .map_or(PositionWeight::Same, PositionWeight::Exp),
            matched: MatchWeight::Same,
            recency_s: lambda(model, "lambda_snh", self.lambda_snh)?.map(|d| d * SEC_PER_DAY),
            neighbour_position: lambda(model, "lambda_inh", self.lambda_inh)?,
            idf: 0.0,
            last_events: self.last_events,
        })
    }
}

impl VstanParams {
    pub fn check(&self) -> Result<CheckedKnn, ParamError> {
        let model = "vstan";
        check_common(model, self.k, self.similarity, &WEIGHTED, self.last_events)?;
        Ok(CheckedKnn {
            model,
            k: self.k,
            sample_size: self.sample_size,
            similarity: self.similarity,
            position: lambda(model, "lambda_spw", self.lambda_spw)?
                .map_or(PositionWeight::Same, PositionWeight::Exp),
            matched: lambda(model, "lambda_ipw", self.lambda_ipw)?
                .map_or(MatchWeight::Same, MatchWeight::Exp),
            recency_s: lambda(model, "lambda_snh", self.lambda_snh)?.map(|d| d * SEC_PER_DAY),
            neighbour_position: lambda(model, "lambda_inh", self.lambda_inh)?,
            idf: idf(model, "lambda_idf", self.lambda_idf)?,
            last_events: self.last_events,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_check_and_bad_values_are_named() {
        assert!(SknnParams::default().check().is_ok());
        assert!(VsknnParams::default().check().is_ok());
        assert!(StanParams::default().check().is_ok());
        assert!(VstanParams::default().check().is_ok());
        let e = SknnParams {
            k: 0,
            ..SknnParams::default()
        }
        .check()
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "models.sknn.k: expected at least 1 neighbour, found 0"
        );
        let e = StanParams {
            similarity: Similarity::Jaccard,
            ..StanParams::default()
        }
        .check()
        .unwrap_err();
        assert_eq!(e.param, "similarity");
        let e = VstanParams {
            lambda_snh: -1.0,
            ..VstanParams::default()
        }
        .check()
        .unwrap_err();
        assert_eq!(e.param, "lambda_snh");
        let e = VsknnParams {
            idf_weighting: f64::NAN,
            ..VsknnParams::default()
        }
        .check()
        .unwrap_err();
        assert_eq!(e.param, "idf_weighting");
    }

    #[test]
    fn decays_match_session_rec() {
        assert_eq!(Decay::Div.position(2, 4), 0.5);
        assert_eq!(Decay::Div.step(4), 0.25);
        assert_eq!(Decay::Quadratic.step(2), 0.25);
        assert_eq!(Decay::Linear.step(20), 0.0);
        assert!((MatchWeight::Exp(1.0).weight(1) - 1.0).abs() < 1e-12);
    }
}
