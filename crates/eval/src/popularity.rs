//! Train popularity of items and its percentile, for the popularity-bias figure.

use clickrec_core::UserItemMatrix;

/// For every item of the catalogue (`train.n_items()` items), the number of catalogue items
/// whose train popularity is at most its own. An item's popularity is the number of train
/// users that have it (its column count in the train matrix).
pub(crate) fn at_most_as_popular(train: &UserItemMatrix) -> Vec<u32> {
    let n_items = train.n_items();
    let mut popularity = vec![0u32; n_items];
    for &item in train.csr().indices() {
        popularity[item as usize] += 1;
    }
    let mut sorted = popularity.clone();
    sorted.sort_unstable();
    popularity
        .iter()
        .map(|&p| sorted.partition_point(|&q| q <= p) as u32)
        .collect()
}

/// The train-popularity percentile of every item, in (0, 100]:
///
/// `percentile(i) = 100 · |{ j in catalogue : popularity(j) ≤ popularity(i) }| / n_items`
///
/// where popularity is the number of train users who have the item (the column count of
/// the train matrix) and the catalogue is every item of the train matrix, including items
/// no train user has. The most popular item(s) are at 100; tied items share one
/// percentile (the share of the catalogue that is at most as popular); an item is at p
/// when p % of the catalogue is at most as popular as it.
pub fn popularity_percentiles(train: &UserItemMatrix) -> Vec<f64> {
    let n = train.n_items() as f64;
    at_most_as_popular(train)
        .into_iter()
        .map(|c| 100.0 * f64::from(c) / n)
        .collect()
}
