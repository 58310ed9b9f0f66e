//! `recommend`: each model's top-N lists for the test users (or all users) → `recs/`.

use std::time::Instant;

use clickrec_core::{IdMaps, UserId, UserItemMatrix};
use clickrec_core::{peak_rss_bytes, reset_peak_rss};
use clickrec_io::{RecsWriter, read_split_id_maps};
use clickrec_models::ModelKind;
use clickrec_recommend::{
    RecommendRequest, Recommendations, Recommender, recommend_blocks_with_fallback,
};

use crate::artifacts::{
    RecommendRecord, TEST_SET_FILE, create_dir, load_model, load_recommender, read_matrix,
    read_test_set, recs_file,
};
use crate::config::{Fallback, ListSource, Plan, RecommendUsers};
use crate::error::PipelineError;
use crate::output::StageOutput;
use crate::progress::Bars;

/// The users who get lists: the test users, or every user of the train matrix.
pub(crate) fn recommend_users(
    plan: &Plan,
    matrix: &UserItemMatrix,
) -> Result<Vec<UserId>, PipelineError> {
    Ok(match plan.config.recommend.users {
        RecommendUsers::Test => read_test_set(&plan.out.join(TEST_SET_FILE))?
            .users()
            .to_vec(),
        RecommendUsers::All => (0..matrix.n_users() as u32).map(UserId).collect(),
    })
}

/// Streams the lists that `produce` hands out, block by block in user order, into
/// `recs/<source>.<ext>` with a progress bar over `users` users. `produce` gets the
/// file's path, for its errors.
pub(crate) fn write_lists(
    plan: &Plan,
    ids: &IdMaps,
    source: ListSource,
    users: usize,
    bars: &dyn Bars,
    produce: impl FnOnce(&std::path::Path, &mut dyn FnMut(Recommendations)) -> Result<(), PipelineError>,
) -> Result<RecommendRecord, PipelineError> {
    let started = Instant::now();
    let file = recs_file(plan, source);
    let path = plan.out.join(&file);
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    let mut writer = RecsWriter::create(&path, ids)?;
    let bar = bars.bar(source.name(), "users");
    bar.start(users as u64);
    let mut done = 0u64;
    let mut write_error = None;
    let mut writing = std::time::Duration::ZERO;
    produce(&path, &mut |block: Recommendations| {
        done += block.len() as u64;
        bar.advance_to(done);
        let write_started = Instant::now();
        if write_error.is_none()
            && let Err(e) = writer.write(&block)
        {
            write_error = Some(e);
        }
        writing += write_started.elapsed();
    })?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    bar.finish();
    let write_started = Instant::now();
    let written = writer.finish()?;
    writing += write_started.elapsed();
    Ok(RecommendRecord {
        model: source.name().to_owned(),
        users,
        rows: written.rows as usize,
        seconds: started.elapsed().as_secs_f64(),
        write_seconds: writing.as_secs_f64(),
        peak_rss_bytes: peak_rss_bytes(),
        file,
    })
}

pub(crate) fn run(plan: &Plan, bars: &dyn Bars) -> Result<StageOutput, PipelineError> {
    let dir = &plan.out;
    let config = &plan.config.recommend;
    let ids = read_split_id_maps(dir)?;
    let matrix = read_matrix(dir)?;
    let users = recommend_users(plan, &matrix)?;
    // A list holds each item once: a longer one is cut to the catalogue, with a note.
    let (n, capped) =
        clickrec_core::cap_at_catalogue("recommend.n", config.n, matrix.n_items(), "recommending");
    let request = RecommendRequest {
        n,
        candidates: clickrec_recommend::Candidates::All,
        exclude_seen: config.exclude_seen,
    };
    let mut records = Vec::new();
    let without_history = users
        .iter()
        .filter(|&&u| (u.0 as usize) >= matrix.n_users() || matrix.row(u).0.is_empty())
        .count();
    let text = format!(
        "{}{without_history} of {} users have no train history: {}\n",
        capped.unwrap_or_default(),
        users.len(),
        config.fallback().describe()
    );
    // One line per list, for `--verbose`.
    let mut details = String::new();
    let fallback = match config.fallback() {
        Fallback::None => None,
        Fallback::Popularity => Some(load_model(dir, &ids, ModelKind::Popularity)?),
    };
    for source in plan.generated_lists() {
        reset_peak_rss();
        let model = load_recommender(dir, &ids, source)?;
        let fallback = fallback.as_ref().map(|m| m as &dyn Recommender);
        // The user's own recent items are seen items by definition: `exclude_seen` would
        // empty its lists, so they always keep them (they can hit repeat targets only).
        let request = RecommendRequest {
            exclude_seen: request.exclude_seen && source != ListSource::Model(ModelKind::Recent),
            ..request.clone()
        };
        let record = write_lists(plan, &ids, source, users.len(), bars, |path, on_block| {
            recommend_blocks_with_fallback(
                model.as_ref(),
                fallback,
                &matrix,
                &users,
                &request,
                |block| {
                    on_block(block);
                    Ok(())
                },
            )
            .map_err(|e| PipelineError::Recommend {
                list: source.name(),
                path: path.to_owned(),
                source: e,
            })
        })?;
        details.push_str(&format!(
            "{}: top-{} for {} users in {:.2} s ({:.2} s of it writing) → {}\n",
            source.name(),
            n,
            users.len(),
            record.seconds,
            record.write_seconds,
            record.file
        ));
        records.push(record);
    }
    let artifacts = records.iter().map(|r| r.file.clone()).collect();
    Ok(StageOutput {
        text,
        details,
        summary: serde_json::to_value(&records).unwrap_or_default(),
        artifacts,
    })
}
