//! MLlib over Spark Connect through raw ML commands: fit an estimator on a SQL relation,
//! save the fitted model to the shared storage, free it on the server, read what it saved.
//!
//! The client crate's ML wrappers do not send a fit, so the `MlCommand` messages are built
//! here from the protobuf types. MLlib over Connect needs Spark ≥ 4.0. ALS reads a SQL
//! relation; KMeans and logistic regression read vectors written by [`crate::vectors`].

use std::path::Path;

use spark_connect_proto as proto;

use crate::client::{SparkClient, sql_relation};
use crate::columns::{f32_rows, row_count, u32_column};
use crate::error::{Cause, SparkError};
use crate::table_files::read_table;
use crate::vectors::{Stored, dense_rows, vector_dataset, write_vectors};

/// The MLlib estimator class of implicit/explicit ALS.
pub const ALS_ESTIMATOR: &str = "org.apache.spark.ml.recommendation.ALS";
/// The MLlib estimator class of k-means.
pub const KMEANS_ESTIMATOR: &str = "org.apache.spark.ml.clustering.KMeans";
/// The MLlib estimator class of logistic regression.
pub const LOGISTIC_ESTIMATOR: &str = "org.apache.spark.ml.classification.LogisticRegression";

/// The oldest Spark whose Connect server runs MLlib commands.
pub const ML_MIN_VERSION: (u32, u32) = (4, 0);

/// One MLlib parameter value, typed as the estimator's `Param` expects it (an `IntParam`
/// takes an `Int`, a `LongParam` a `Long`: the server does not convert between them).
#[derive(Clone, Debug, PartialEq)]
pub enum MlValue {
    Int(i32),
    Long(i64),
    Double(f64),
    Bool(bool),
    Str(String),
}

impl MlValue {
    fn literal(&self) -> proto::expression::Literal {
        use proto::expression::literal::LiteralType;
        let literal_type = match self {
            MlValue::Int(v) => LiteralType::Integer(*v),
            MlValue::Long(v) => LiteralType::Long(*v),
            MlValue::Double(v) => LiteralType::Double(*v),
            MlValue::Bool(v) => LiteralType::Boolean(*v),
            MlValue::Str(v) => LiteralType::String(v.clone()),
        };
        proto::expression::Literal {
            literal_type: Some(literal_type),
            ..Default::default()
        }
    }
}

/// The parameters of MLlib's ALS (`org.apache.spark.ml.recommendation.ALS`), in MLlib's
/// own terms. Note MLlib scales `reg_param` by each row's number of ratings (ALS-WR).
#[derive(Clone, Debug, PartialEq)]
pub struct SparkAlsParams {
    /// `rank`: factors per user and item.
    pub rank: u32,
    /// `maxIter`: ALS sweeps.
    pub max_iter: u32,
    /// `regParam`: λ, scaled per row by its number of ratings.
    pub reg_param: f64,
    /// `alpha`: confidence scale of implicit preferences, `c = 1 + alpha·r`.
    pub alpha: f64,
    /// `seed` of the initial factors.
    pub seed: i64,
    /// `implicitPrefs`: true for click logs.
    pub implicit_prefs: bool,
    /// `nonnegative`: constrain factors to ≥ 0.
    pub nonnegative: bool,
    /// `numUserBlocks` / `numItemBlocks`: partitions of each side (MLlib's default is 10).
    pub blocks: u32,
    /// `userCol`, `itemCol`, `ratingCol` of the dataset (integer ids, float rating).
    pub user_col: String,
    pub item_col: String,
    pub rating_col: String,
}

impl Default for SparkAlsParams {
    /// MLlib's defaults, with implicit preferences and clickrec's column names.
    fn default() -> Self {
        SparkAlsParams {
            rank: 10,
            max_iter: 10,
            reg_param: 0.1,
            alpha: 1.0,
            seed: 0,
            implicit_prefs: true,
            nonnegative: false,
            blocks: 10,
            user_col: "user".into(),
            item_col: "item".into(),
            rating_col: "rating".into(),
        }
    }
}

impl SparkAlsParams {
    /// The parameters as MLlib `Param` names and typed values, in a fixed order. MLlib's
    /// integer parameters are Java `int`s: a count above `i32::MAX` is an error naming it.
    pub fn ml_values(&self) -> Result<Vec<(&'static str, MlValue)>, SparkError> {
        Ok(vec![
            ("rank", java_int("rank", self.rank)?),
            ("maxIter", java_int("maxIter", self.max_iter)?),
            ("regParam", MlValue::Double(self.reg_param)),
            ("alpha", MlValue::Double(self.alpha)),
            ("seed", MlValue::Long(self.seed)),
            ("implicitPrefs", MlValue::Bool(self.implicit_prefs)),
            ("nonnegative", MlValue::Bool(self.nonnegative)),
            ("numUserBlocks", java_int("numUserBlocks", self.blocks)?),
            ("numItemBlocks", java_int("numItemBlocks", self.blocks)?),
            ("userCol", MlValue::Str(self.user_col.clone())),
            ("itemCol", MlValue::Str(self.item_col.clone())),
            ("ratingCol", MlValue::Str(self.rating_col.clone())),
        ])
    }
}

/// Dense ALS factors read back from a saved MLlib model, indexed by dense id.
#[derive(Clone, Debug, PartialEq)]
pub struct AlsFactors {
    /// Factors per row.
    pub rank: usize,
    /// `users × rank`, row-major; row `u` belongs to user id `u`.
    pub user_factors: Vec<f32>,
    /// `items × rank`, row-major; row `i` belongs to item id `i`.
    pub item_factors: Vec<f32>,
    /// How many user / item rows MLlib gave factors (ids absent from the dataset get
    /// none: their rows stay zero, so they score 0 like an unseen id).
    pub users_with_factors: usize,
    pub items_with_factors: usize,
}

impl AlsFactors {
    /// The number of user rows.
    pub fn users(&self) -> usize {
        self.user_factors.len() / self.rank.max(1)
    }

    /// The number of item rows.
    pub fn items(&self) -> usize {
        self.item_factors.len() / self.rank.max(1)
    }
}

/// `MlCommand::Fit` of the estimator class `estimator` with `params` on `dataset`.
pub fn fit_command(
    estimator: &str,
    uid: &str,
    params: &[(&str, MlValue)],
    dataset: proto::Relation,
) -> proto::MlCommand {
    proto::MlCommand {
        command: Some(proto::ml_command::Command::Fit(proto::ml_command::Fit {
            estimator: Some(proto::MlOperator {
                name: estimator.to_string(),
                uid: uid.to_string(),
                r#type: proto::ml_operator::OperatorType::Estimator as i32,
            }),
            params: Some(ml_params(params)),
            dataset: Some(dataset),
        })),
    }
}

/// `MlCommand::Write`: save the cached model `model_id` to `path`, replacing what is there.
pub fn write_command(model_id: &str, path: &str) -> proto::MlCommand {
    proto::MlCommand {
        command: Some(proto::ml_command::Command::Write(
            proto::ml_command::Write {
                r#type: Some(proto::ml_command::write::Type::ObjRef(proto::ObjectRef {
                    id: model_id.to_string(),
                })),
                params: None,
                path: path.to_string(),
                should_overwrite: Some(true),
                options: Default::default(),
            },
        )),
    }
}

/// `MlCommand::Delete`: free the cached model `model_id` on the server.
pub fn delete_command(model_id: &str) -> proto::MlCommand {
    proto::MlCommand {
        command: Some(proto::ml_command::Command::Delete(
            proto::ml_command::Delete {
                obj_refs: vec![proto::ObjectRef {
                    id: model_id.to_string(),
                }],
                evict_only: None,
            },
        )),
    }
}

fn ml_params(params: &[(&str, MlValue)]) -> proto::MlParams {
    proto::MlParams {
        params: params
            .iter()
            .map(|(name, value)| (name.to_string(), value.literal()))
            .collect(),
    }
}

/// Fits `estimator` on `dataset` (described as `dataset_text` in errors) and returns the
/// server's id of the cached model.
pub fn fit(
    client: &SparkClient,
    estimator: &str,
    params: &[(&str, MlValue)],
    dataset: proto::Relation,
    dataset_text: &str,
) -> Result<String, SparkError> {
    let short = estimator.rsplit('.').next().unwrap_or(estimator);
    client.require_version(
        ML_MIN_VERSION.0,
        ML_MIN_VERSION.1,
        &format!("MLlib over Spark Connect ({short})"),
    )?;
    let what = format!("fit {estimator} on {dataset_text}");
    let command = fit_command(estimator, &format!("{short}_clickrec"), params, dataset);
    let responses = run(client, command, &what)?;
    model_ref(&responses).ok_or_else(|| SparkError::Protocol {
        url: client.url().to_string(),
        what,
        detail: "no model reference (MlCommandResult.operator_info.obj_ref) in the answer".into(),
    })
}

/// Saves the cached model `model_id` to `path` (a folder the cluster can write).
pub fn save(client: &SparkClient, model_id: &str, path: &str) -> Result<(), SparkError> {
    run(
        client,
        write_command(model_id, path),
        &format!("save model {model_id} to {path}"),
    )
    .map(|_| ())
}

/// Frees the cached model `model_id` on the server.
pub fn delete(client: &SparkClient, model_id: &str) -> Result<(), SparkError> {
    run(
        client,
        delete_command(model_id),
        &format!("delete model {model_id}"),
    )
    .map(|_| ())
}

/// Fits implicit ALS on MLlib over the rows of `dataset_sql` (integer user and item ids
/// below `users` / `items`, a float rating), saves the model under `model_dir` (an absolute
/// path on the shared storage: MLlib writes Parquet `userFactors` / `itemFactors` there),
/// frees it on the server, and reads the factors back as dense row-major arrays.
pub fn fit_als(
    client: &SparkClient,
    dataset_sql: &str,
    params: &SparkAlsParams,
    users: usize,
    items: usize,
    model_dir: &Path,
) -> Result<AlsFactors, SparkError> {
    let dir = fit_and_save(
        client,
        ALS_ESTIMATOR,
        &params.ml_values()?,
        sql_relation(dataset_sql),
        &format!("`{dataset_sql}`"),
        model_dir,
    )?;
    let rank = params.rank as usize;
    let (user_factors, users_with_factors) = read_factors(&dir, "userFactors", rank, users)?;
    let (item_factors, items_with_factors) = read_factors(&dir, "itemFactors", rank, items)?;
    Ok(AlsFactors {
        rank,
        user_factors,
        item_factors,
        users_with_factors,
        items_with_factors,
    })
}

/// Fits `estimator` on `dataset`, saves the model to `model_dir` (absolute, on the shared
/// storage), frees it on the server, and returns the folder as Spark names it.
fn fit_and_save(
    client: &SparkClient,
    estimator: &str,
    params: &[(&str, MlValue)],
    dataset: proto::Relation,
    dataset_text: &str,
    model_dir: &Path,
) -> Result<String, SparkError> {
    let dir = shared_path(client, model_dir)?;
    let model_id = fit(client, estimator, params, dataset, dataset_text)?;
    let saved = save(client, &model_id, &dir);
    // Free the server's copy whether or not the save worked; a save error comes first.
    let deleted = delete(client, &model_id);
    saved?;
    deleted?;
    Ok(dir)
}

/// Writes `rows` (`n × dim`, row-major) and their labels under `work_dir/rows` (absolute,
/// on the shared storage), fits `estimator` on them as MLlib vectors, saves the model to
/// `work_dir/model`, and returns the folder of the saved model's data.
fn fit_on_vectors(
    client: &SparkClient,
    estimator: &str,
    params: &[(&str, MlValue)],
    rows: &[f32],
    dim: usize,
    labels: Option<&[bool]>,
    work_dir: &Path,
) -> Result<String, SparkError> {
    let table_dir = work_dir.join("rows");
    write_vectors(&table_dir, rows, dim, labels)?;
    let table = format!(
        "SELECT * FROM parquet.`{}`",
        shared_path(client, &table_dir)?
    );
    let dir = fit_and_save(
        client,
        estimator,
        params,
        vector_dataset(&table, labels.is_some()),
        &format!("the vectors of `{table}`"),
        &work_dir.join("model"),
    )?;
    Ok(format!("{dir}/data"))
}

/// The parameters of MLlib's KMeans (`org.apache.spark.ml.clustering.KMeans`).
#[derive(Clone, Debug, PartialEq)]
pub struct SparkKMeansParams {
    /// `k`: clusters.
    pub k: u32,
    /// `maxIter`: Lloyd iterations.
    pub max_iter: u32,
    /// `tol`: stop when every centre moves less than this.
    pub tol: f64,
    /// `seed` of the k-means|| initialisation.
    pub seed: i64,
}

impl SparkKMeansParams {
    /// The parameters as MLlib `Param` names and typed values.
    pub fn ml_values(&self) -> Result<Vec<(&'static str, MlValue)>, SparkError> {
        Ok(vec![
            ("k", java_int("k", self.k)?),
            ("maxIter", java_int("maxIter", self.max_iter)?),
            ("tol", MlValue::Double(self.tol)),
            ("seed", MlValue::Long(self.seed)),
            ("initMode", MlValue::Str("k-means||".into())),
            ("distanceMeasure", MlValue::Str("euclidean".into())),
            ("featuresCol", MlValue::Str(crate::vectors::FEATURES.into())),
        ])
    }
}

/// The parameters of MLlib's binomial logistic regression
/// (`org.apache.spark.ml.classification.LogisticRegression`), L2 only, with an intercept.
#[derive(Clone, Debug, PartialEq)]
pub struct SparkLogisticParams {
    /// `maxIter`: L-BFGS iterations.
    pub max_iter: u32,
    /// `regParam`: L2 weight on the *mean* log-loss, `½·regParam·|w|²`.
    pub reg_param: f64,
    /// `tol`: convergence tolerance.
    pub tol: f64,
}

impl SparkLogisticParams {
    /// The parameters as MLlib `Param` names and typed values. Features are standardised
    /// by the caller, so MLlib's own standardisation is off.
    pub fn ml_values(&self) -> Result<Vec<(&'static str, MlValue)>, SparkError> {
        Ok(vec![
            ("maxIter", java_int("maxIter", self.max_iter)?),
            ("regParam", MlValue::Double(self.reg_param)),
            ("elasticNetParam", MlValue::Double(0.0)),
            ("tol", MlValue::Double(self.tol)),
            ("fitIntercept", MlValue::Bool(true)),
            ("standardization", MlValue::Bool(false)),
            ("family", MlValue::Str("binomial".into())),
            ("featuresCol", MlValue::Str(crate::vectors::FEATURES.into())),
            ("labelCol", MlValue::Str(crate::vectors::LABEL.into())),
        ])
    }
}

/// A count as the Java `int` MLlib's integer parameters take; above `i32::MAX` is an error
/// naming the parameter.
fn java_int(name: &str, v: u32) -> Result<MlValue, SparkError> {
    i32::try_from(v)
        .map(MlValue::Int)
        .map_err(|_| SparkError::Param {
            name: name.to_string(),
            detail: format!("{v} is above {}, the largest Java int", i32::MAX),
        })
}

/// Fits k-means on MLlib over `points` (`n × dim`, row-major), written as a Parquet table
/// under `work_dir` (absolute, on the shared storage) with the model beside it; returns the
/// `k × dim` centres in cluster-index order.
pub fn fit_kmeans(
    client: &SparkClient,
    points: &[f32],
    dim: usize,
    params: &SparkKMeansParams,
    work_dir: &Path,
) -> Result<Vec<f32>, SparkError> {
    let what = fit_on_vectors(
        client,
        KMEANS_ESTIMATOR,
        &params.ml_values()?,
        points,
        dim,
        None,
        work_dir,
    )?;
    let batches = read_table(Path::new(&what), &["clusterIdx", "clusterCenter"])?;
    let index = u32_column(&batches, "clusterIdx", &what)?;
    let centres = dense_rows(&batches, "clusterCenter", dim, &what, Stored::Vectors)?;
    let k = params.k as usize;
    if index.len() != k {
        return Err(SparkError::Value {
            what,
            row: index.len(),
            column: "clusterIdx".into(),
            detail: format!(
                "MLlib returned {} centres for k = {k} (fewer distinct vectors than k)",
                index.len()
            ),
        });
    }
    let mut ordered = vec![0f32; k * dim];
    for (row, &c) in index.iter().enumerate() {
        let c = c as usize;
        if c >= k {
            return Err(SparkError::Value {
                what,
                row,
                column: "clusterIdx".into(),
                detail: format!("{c} is not below k = {k}"),
            });
        }
        for (slot, &v) in ordered[c * dim..(c + 1) * dim]
            .iter_mut()
            .zip(&centres[row * dim..(row + 1) * dim])
        {
            *slot = v as f32;
        }
    }
    Ok(ordered)
}

/// Fits binomial logistic regression on MLlib over `rows` (`n × dim`, row-major) and their
/// `labels`, written under `work_dir` like [`fit_kmeans`]; returns the `dim` coefficients
/// and the intercept of the logit of `true`.
pub fn fit_logistic(
    client: &SparkClient,
    rows: &[f32],
    dim: usize,
    labels: &[bool],
    params: &SparkLogisticParams,
    work_dir: &Path,
) -> Result<(Vec<f64>, f64), SparkError> {
    let what = fit_on_vectors(
        client,
        LOGISTIC_ESTIMATOR,
        &params.ml_values()?,
        rows,
        dim,
        Some(labels),
        work_dir,
    )?;
    let batches = read_table(Path::new(&what), &["interceptVector", "coefficientMatrix"])?;
    let coefficients = dense_rows(
        &batches,
        "coefficientMatrix",
        dim,
        &what,
        Stored::SingleRowMatrices,
    )?;
    let intercept = dense_rows(&batches, "interceptVector", 1, &what, Stored::Vectors)?;
    if row_count(&batches) != 1 {
        return Err(SparkError::Value {
            what,
            row: 0,
            column: "coefficientMatrix".into(),
            detail: format!("{} rows, expected one", row_count(&batches)),
        });
    }
    Ok((coefficients, intercept[0]))
}

/// Reads `DIR/PART` (Parquet rows `id: int, features: array<float>`) into a dense
/// `rows × rank` array; returns it and how many rows were present.
fn read_factors(
    dir: &str,
    part: &str,
    rank: usize,
    rows: usize,
) -> Result<(Vec<f32>, usize), SparkError> {
    let what = format!("{dir}/{part}");
    let batches = read_table(Path::new(&what), &["id", "features"])?;
    let ids = u32_column(&batches, "id", &what)?;
    let features = f32_rows(&batches, "features", rank, &what)?;
    let mut dense = vec![0.0_f32; rows * rank];
    let mut seen = vec![false; rows];
    for (row, &id) in ids.iter().enumerate() {
        let id = id as usize;
        if id >= rows || seen[id] {
            return Err(SparkError::Value {
                what,
                row,
                column: "id".into(),
                detail: if id >= rows {
                    format!("{id} is not below the {rows} dense ids of the dataset")
                } else {
                    format!("{id} appears twice")
                },
            });
        }
        seen[id] = true;
        dense[id * rank..(id + 1) * rank].copy_from_slice(&features[row * rank..(row + 1) * rank]);
    }
    debug_assert_eq!(ids.len(), row_count(&batches));
    Ok((dense, ids.len()))
}

/// The model folder as the absolute UTF-8 path that Spark SQL can quote.
fn shared_path(client: &SparkClient, dir: &Path) -> Result<String, SparkError> {
    let bad = |detail: &str| SparkError::Ml {
        url: client.url().to_string(),
        what: format!("save a model to {}", dir.display()),
        message: detail.into(),
    };
    let text = dir
        .to_str()
        .ok_or_else(|| bad("the path is not UTF-8"))?
        .trim_end_matches('/');
    if !dir.is_absolute() {
        return Err(bad(
            "the path must be absolute (the server resolves relative paths against its own folder); use the shared storage path (engine.storage)",
        ));
    }
    if text.contains('`') {
        return Err(bad(
            "the path contains a backtick, which Spark SQL cannot quote",
        ));
    }
    Ok(text.to_string())
}

fn run(
    client: &SparkClient,
    command: proto::MlCommand,
    what: &str,
) -> Result<Vec<proto::ExecutePlanResponse>, SparkError> {
    client
        .run_command(proto::command::CommandType::MlCommand(command))
        .map_err(|e| SparkError::Ml {
            url: client.url().to_string(),
            what: what.to_string(),
            message: Cause::client(&e),
        })
}

/// The object reference of a fitted model in the answer to a fit.
fn model_ref(responses: &[proto::ExecutePlanResponse]) -> Option<String> {
    use proto::execute_plan_response::ResponseType;
    use proto::ml_command_result::{ResultType, ml_operator_info::Type};
    responses
        .iter()
        .find_map(|response| match &response.response_type {
            Some(ResponseType::MlCommandResult(result)) => match &result.result_type {
                Some(ResultType::OperatorInfo(info)) => match &info.r#type {
                    Some(Type::ObjRef(object)) => Some(object.id.clone()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::expression::literal::LiteralType;

    fn params_of(command: &proto::MlCommand) -> &proto::ml_command::Fit {
        match &command.command {
            Some(proto::ml_command::Command::Fit(fit)) => fit,
            other => panic!("not a fit: {other:?}"),
        }
    }

    #[test]
    fn als_fit_names_the_estimator_and_the_dataset() {
        let sql = "SELECT user, item, rating FROM parquet.`/s/matrix`";
        let command = fit_command(
            ALS_ESTIMATOR,
            "ALS_clickrec",
            &SparkAlsParams::default().ml_values().expect("valid params"),
            sql_relation(sql),
        );
        let fit = params_of(&command);
        let estimator = fit.estimator.as_ref().expect("an estimator");
        assert_eq!(estimator.name, "org.apache.spark.ml.recommendation.ALS");
        assert_eq!(estimator.uid, "ALS_clickrec");
        assert_eq!(
            estimator.r#type,
            proto::ml_operator::OperatorType::Estimator as i32
        );
        match fit.dataset.as_ref().and_then(|d| d.rel_type.as_ref()) {
            Some(proto::relation::RelType::Sql(q)) => assert_eq!(q.query, sql),
            other => panic!("the dataset is not a SQL relation: {other:?}"),
        }
    }

    #[test]
    fn als_params_are_typed_as_mllib_expects() {
        let params = SparkAlsParams {
            rank: 32,
            max_iter: 15,
            reg_param: 0.05,
            alpha: 40.0,
            seed: 7,
            blocks: 4,
            ..SparkAlsParams::default()
        };
        let command = fit_command(
            ALS_ESTIMATOR,
            "u",
            &params.ml_values().expect("valid params"),
            sql_relation("SELECT 1"),
        );
        let sent = &params_of(&command).params.as_ref().expect("params").params;
        let get = |name: &str| {
            sent.get(name)
                .and_then(|l| l.literal_type.clone())
                .unwrap_or_else(|| panic!("no param {name}"))
        };
        assert_eq!(get("rank"), LiteralType::Integer(32));
        assert_eq!(get("maxIter"), LiteralType::Integer(15));
        assert_eq!(get("numUserBlocks"), LiteralType::Integer(4));
        assert_eq!(get("numItemBlocks"), LiteralType::Integer(4));
        assert_eq!(get("regParam"), LiteralType::Double(0.05));
        assert_eq!(get("alpha"), LiteralType::Double(40.0));
        assert_eq!(get("seed"), LiteralType::Long(7));
        assert_eq!(get("implicitPrefs"), LiteralType::Boolean(true));
        assert_eq!(get("nonnegative"), LiteralType::Boolean(false));
        assert_eq!(get("userCol"), LiteralType::String("user".into()));
        assert_eq!(get("itemCol"), LiteralType::String("item".into()));
        assert_eq!(get("ratingCol"), LiteralType::String("rating".into()));
        assert_eq!(sent.len(), 12);
    }

    fn sent(params: &[(&str, MlValue)]) -> Vec<(String, LiteralType)> {
        let command = fit_command(KMEANS_ESTIMATOR, "u", params, sql_relation("SELECT 1"));
        let mut sent: Vec<_> = params_of(&command)
            .params
            .as_ref()
            .expect("params")
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.literal_type.clone().expect("a value")))
            .collect();
        sent.sort_by(|a, b| a.0.cmp(&b.0));
        sent
    }

    #[test]
    fn kmeans_and_logistic_params_are_typed_as_mllib_expects() {
        let kmeans = SparkKMeansParams {
            k: 8,
            max_iter: 30,
            tol: 1e-4,
            seed: 42,
        };
        let text = |v: &str| LiteralType::String(v.into());
        assert_eq!(
            sent(&kmeans.ml_values().expect("valid")),
            [
                ("distanceMeasure".to_string(), text("euclidean")),
                ("featuresCol".into(), text("features")),
                ("initMode".into(), text("k-means||")),
                ("k".into(), LiteralType::Integer(8)),
                ("maxIter".into(), LiteralType::Integer(30)),
                ("seed".into(), LiteralType::Long(42)),
                ("tol".into(), LiteralType::Double(1e-4)),
            ]
        );
        let logistic = SparkLogisticParams {
            max_iter: 200,
            reg_param: 0.5,
            tol: 1e-6,
        };
        assert_eq!(
            sent(&logistic.ml_values().expect("valid")),
            [
                ("elasticNetParam".to_string(), LiteralType::Double(0.0)),
                ("family".into(), text("binomial")),
                ("featuresCol".into(), text("features")),
                ("fitIntercept".into(), LiteralType::Boolean(true)),
                ("labelCol".into(), text("label")),
                ("maxIter".into(), LiteralType::Integer(200)),
                ("regParam".into(), LiteralType::Double(0.5)),
                ("standardization".into(), LiteralType::Boolean(false)),
                ("tol".into(), LiteralType::Double(1e-6)),
            ]
        );
    }

    #[test]
    fn a_count_beyond_a_java_int_is_refused_by_name() {
        let params = SparkAlsParams {
            rank: u32::MAX,
            ..SparkAlsParams::default()
        };
        let e = params.ml_values().expect_err("rank above i32::MAX");
        assert!(
            e.to_string().contains("rank") && e.to_string().contains("4294967295"),
            "{e}"
        );
    }

    #[test]
    fn write_overwrites_the_path_of_the_model_and_delete_frees_it() {
        match write_command("model-1", "/s/als").command {
            Some(proto::ml_command::Command::Write(w)) => {
                assert_eq!(w.path, "/s/als");
                assert_eq!(w.should_overwrite, Some(true));
                assert_eq!(
                    w.r#type,
                    Some(proto::ml_command::write::Type::ObjRef(proto::ObjectRef {
                        id: "model-1".into()
                    }))
                );
            }
            other => panic!("not a write: {other:?}"),
        }
        match delete_command("model-1").command {
            Some(proto::ml_command::Command::Delete(d)) => {
                assert_eq!(
                    d.obj_refs,
                    [proto::ObjectRef {
                        id: "model-1".into()
                    }]
                );
                assert_eq!(d.evict_only, None);
            }
            other => panic!("not a delete: {other:?}"),
        }
    }

    #[test]
    fn the_model_reference_is_found_in_the_fit_answer() {
        use proto::execute_plan_response::ResponseType;
        use proto::ml_command_result::{MlOperatorInfo, ResultType, ml_operator_info::Type};
        let answer = proto::ExecutePlanResponse {
            response_type: Some(ResponseType::MlCommandResult(proto::MlCommandResult {
                result_type: Some(ResultType::OperatorInfo(MlOperatorInfo {
                    r#type: Some(Type::ObjRef(proto::ObjectRef { id: "abc".into() })),
                    ..Default::default()
                })),
            })),
            ..Default::default()
        };
        assert_eq!(
            model_ref(&[proto::ExecutePlanResponse::default(), answer]),
            Some("abc".into())
        );
        assert_eq!(model_ref(&[proto::ExecutePlanResponse::default()]), None);
    }
}
