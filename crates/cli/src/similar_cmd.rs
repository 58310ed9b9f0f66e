//! `clickrec similar`: nearest neighbours of items from a fitted model of a run directory.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use clickrec_io::read_split_id_maps;
use clickrec_models::ModelKind;

use crate::failure::usage;

#[derive(Debug, Args)]
#[command(after_help = "\
Prints CSV on stdout: item_id,rank,similar_item_id,score (external ids). Item-kNN lists its
stored neighbours; ALS and BPR rank by cosine of item factors; EASE by the item's
row of its weight matrix.

Examples:
  clickrec similar --run runs/quickstart --model item_knn --item 1234 --n 10
  clickrec similar --run runs/quickstart --model als --item 1234 --item 977")]
pub struct SimilarArgs {
    /// Run directory whose train stage fitted the model.
    #[arg(long, value_name = "RUN_DIR")]
    pub run: PathBuf,
    /// item_knn, als, bpr or ease.
    #[arg(long)]
    pub model: String,
    /// External item id (repeatable).
    #[arg(long = "item", value_name = "ITEM_ID", required = true)]
    pub items: Vec<String>,
    /// Neighbours per item.
    #[arg(long, default_value_t = 10)]
    pub n: usize,
}

pub fn run(args: &SimilarArgs) -> anyhow::Result<()> {
    let kind = ModelKind::from_name(&args.model).filter(|k| {
        matches!(
            k,
            ModelKind::ItemKnn | ModelKind::Als | ModelKind::Bpr | ModelKind::Ease
        )
    });
    let Some(kind) = kind else {
        return usage(format!(
            "--model {:?}: expected one of item_knn, als, bpr, ease (the models with item similarities)",
            args.model
        ));
    };
    let file = args.run.join(clickrec_pipeline::model_file(kind));
    if !file.is_file() {
        return usage(format!(
            "{}: no {kind} model in this run directory: its pipeline needs a [models.{kind}] table and a finished train stage (`clickrec train PIPELINE.toml`)",
            file.display()
        ));
    }
    let ids = read_split_id_maps(&args.run)?;
    let lookup = ids.items.lookup_table();
    let mut items = Vec::new();
    for external in &args.items {
        match lookup.get(external.as_str()) {
            Some(&item) => items.push((external, item)),
            None => {
                return usage(format!(
                    "--item {external:?}: not an item of {} ({} items)",
                    args.run.display(),
                    ids.items.len()
                ));
            }
        }
    }
    // An item has fewer neighbours than the catalogue has items: say so when more are asked.
    let (n, note) = clickrec_core::cap_at_catalogue("--n", args.n, ids.items.len(), "listing");
    eprint!("{}", note.unwrap_or_default());
    let model = clickrec_pipeline::load_model(&args.run, &ids, kind)?;
    // Every list first, so that an error leaves no half-written CSV on stdout.
    let lists = items
        .into_iter()
        .map(|(external, item)| Ok((external, model.similar_items(item, n)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "item_id,rank,similar_item_id,score")?;
    for (external, list) in lists {
        for (rank, (other, score)) in list.into_iter().enumerate() {
            writeln!(
                out,
                "{},{},{},{score}",
                csv_field(external),
                rank + 1,
                csv_field(ids.items.external(other))
            )?;
        }
    }
    Ok(())
}

/// Quotes a CSV field when it needs it.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
