//! Tests across modules: k-means against a naive oracle, determinism, and the
//! segment-popular recommender and summary on hand-computed logs.
#![allow(clippy::unwrap_used)]

use clickrec_core::{Behavior, CategoryId, EventLog, ItemId, SplitMix64, UserId, UserItemMatrix};
use clickrec_recommend::{RecommendRequest, recommend};

use crate::kmeans::lloyd;
use crate::*;

/// Seeded data in `blobs` clusters: centre + uniform noise, `n × dim` row-major.
fn blob_data(n: usize, dim: usize, blobs: usize, noise: f32, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    let mut unit = move || rng.next_f32();
    let centres: Vec<f32> = (0..blobs * dim).map(|_| unit() * 4.0).collect();
    let mut data = Vec::with_capacity(n * dim);
    for p in 0..n {
        let c = p % blobs;
        for d in 0..dim {
            data.push(centres[c * dim + d] + (unit() - 0.5) * noise);
        }
    }
    data
}

/// Textbook Lloyd in f64: nearest centroid (ties → lower index), mean update, an empty
/// centroid stays; stops when no assignment changes. Returns (assignment, centroids,
/// iterations, inertia of the final assignment against the final centroids).
fn naive_lloyd(
    points: &[f32],
    dim: usize,
    init: &[f32],
    max_iterations: u64,
) -> (Vec<u32>, Vec<f64>, u64, f64) {
    let n = points.len() / dim;
    let k = init.len() / dim;
    let mut centroids: Vec<f64> = init.iter().map(|&c| f64::from(c)).collect();
    let dist = |p: usize, c: &[f64], j: usize| -> f64 {
        (0..dim)
            .map(|d| (f64::from(points[p * dim + d]) - c[j * dim + d]).powi(2))
            .sum()
    };
    let nearest = |p: usize, c: &[f64]| -> u32 {
        let mut best = 0;
        for j in 1..k {
            if dist(p, c, j) < dist(p, c, best) {
                best = j;
            }
        }
        best as u32
    };
    let mut assignment = vec![u32::MAX; n];
    let mut iterations = 0;
    while iterations < max_iterations {
        let next: Vec<u32> = (0..n).map(|p| nearest(p, &centroids)).collect();
        let changed = next != assignment;
        assignment = next;
        iterations += 1;
        for j in 0..k {
            let members: Vec<usize> = (0..n).filter(|&p| assignment[p] == j as u32).collect();
            if members.is_empty() {
                continue;
            }
            for d in 0..dim {
                let sum: f64 = members
                    .iter()
                    .map(|&p| f64::from(points[p * dim + d]))
                    .sum();
                // Centroids live in f32, as in the implementation.
                centroids[j * dim + d] = f64::from((sum / members.len() as f64) as f32);
            }
        }
        if !changed {
            break;
        }
    }
    let assignment: Vec<u32> = (0..n).map(|p| nearest(p, &centroids)).collect();
    let inertia = (0..n)
        .map(|p| dist(p, &centroids, assignment[p] as usize))
        .sum();
    (assignment, centroids, iterations, inertia)
}

#[test]
fn lloyd_matches_a_naive_lloyd_from_the_same_start() {
    // More rows than one parallel chunk (4096), overlapping blobs so points do move.
    for (seed, k) in [(1u64, 5usize), (2, 8), (3, 3)] {
        let (n, dim) = (9_000, 6);
        let points = blob_data(n, dim, 5, 3.0, seed);
        // Start from k spread-out points.
        let init: Vec<f32> = (0..k)
            .flat_map(|j| points[j * 997 * dim..(j * 997 + 1) * dim].to_vec())
            .collect();
        let fit = lloyd(&points, dim, init.clone(), 50, 0.0);
        let (assignment, centroids, iterations, inertia) = naive_lloyd(&points, dim, &init, 50);
        assert!(iterations > 2, "the data should need a few iterations");
        assert_eq!(fit.iterations, iterations, "seed {seed}");
        assert_eq!(fit.assignment, assignment, "seed {seed}");
        for (a, b) in fit.centroids.iter().zip(&centroids) {
            assert!((f64::from(*a) - b).abs() < 1e-5, "{a} vs {b}");
        }
        assert!(((fit.inertia - inertia) / inertia).abs() < 1e-9);
    }
}

#[test]
fn lloyd_stops_at_max_iterations_and_on_tolerance() {
    let (n, dim) = (2_000, 4);
    let points = blob_data(n, dim, 4, 4.0, 9);
    let init = points[..3 * dim].to_vec();
    let one = lloyd(&points, dim, init.clone(), 1, 0.0);
    assert_eq!(one.iterations, 1);
    let (_, centroids, _, _) = naive_lloyd(&points, dim, &init, 1);
    for (a, b) in one.centroids.iter().zip(&centroids) {
        assert!((f64::from(*a) - b).abs() < 1e-5);
    }
    let full = lloyd(&points, dim, init.clone(), 100, 0.0);
    let loose = lloyd(&points, dim, init, 100, 1e9);
    assert_eq!(loose.iterations, 1);
    assert!(full.iterations > 1);
}

fn vectors_of(data: &[f32], dim: usize) -> UserVectors {
    UserVectors::from_factors(data.len() / dim, dim, data)
}

fn params(k: usize) -> CheckedSegment {
    SegmentParams {
        k,
        ..SegmentParams::default()
    }
    .check()
    .unwrap()
}

#[test]
fn fit_recovers_well_separated_blobs_and_reports_exact_inertia() {
    // Three directions (vectors are normalised), 100 users each, users 300..303 empty.
    let dim = 3;
    let mut data = blob_data(300, dim, 1, 0.2, 5);
    for (p, row) in data.chunks_exact_mut(dim).enumerate() {
        row[p % 3] += 5.0;
    }
    data.extend([0.0; 9]);
    let vectors = vectors_of(&data, dim);
    let seg = fit_segments(&vectors, &params(3), 11, None).unwrap();
    assert_eq!(seg.sizes(), vec![100, 100, 100]);
    assert_eq!(seg.users_without_vector(), 3);
    for u in 0..300 {
        assert_eq!(seg.segment_of(UserId(u)), seg.segment_of(UserId(u % 3)));
    }
    assert_eq!(seg.segment_of(UserId(301)), None);
    assert_eq!(seg.segment_of(UserId(999)), None);
    // Inertia: squared distances to each segment's mean, computed here from scratch.
    let mut expected = 0.0;
    for s in 0..3u32 {
        let members: Vec<&[f32]> = (0..300)
            .filter(|&u| seg.assignment[u] == Some(s))
            .map(|u| vectors.row(u).unwrap())
            .collect();
        let mean: Vec<f64> = (0..dim)
            .map(|d| members.iter().map(|r| f64::from(r[d])).sum::<f64>() / members.len() as f64)
            .collect();
        for (c, m) in seg.centroid(s as usize).iter().zip(&mean) {
            assert!((f64::from(*c) - m).abs() < 1e-6);
        }
        expected += members
            .iter()
            .map(|r| {
                (0..dim)
                    .map(|d| (f64::from(r[d]) - mean[d]).powi(2))
                    .sum::<f64>()
            })
            .sum::<f64>();
    }
    assert!((seg.inertia - expected).abs() < 1e-6 * expected.max(1.0));

    let sweep = inertia_sweep(&vectors, &[1, 3], &params(3), 11, None).unwrap();
    assert_eq!(sweep[1], (3, seg.inertia));
    assert!(sweep[0].1 > 10.0 * sweep[1].1);
}

#[test]
fn same_seed_same_segments_at_one_and_two_threads() {
    let dim = 16;
    let data = blob_data(20_000, dim, 12, 6.0, 3);
    let vectors = vectors_of(&data, dim);
    let run = |threads: usize, seed: u64| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| fit_segments(&vectors, &params(10), seed, None).unwrap())
    };
    let one = run(1, 42);
    let two = run(2, 42);
    assert!(one.iterations > 1);
    assert_eq!(one, two);
    assert_eq!(one.inertia.to_bits(), two.inertia.to_bits());
    assert_ne!(
        run(2, 43).centroids,
        one.centroids,
        "the seed should matter"
    );
}

#[test]
fn k_above_the_users_with_a_vector_is_an_error() {
    let data = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    let vectors = vectors_of(&data, 2); // users 0, 2, 3 have a vector
    let err = fit_segments(&vectors, &params(4), 1, None).unwrap_err();
    assert_eq!(err, SegmentError::TooFewUsers { k: 4, users: 3 });
    assert_eq!(
        err.to_string(),
        "segment.k = 4 is more than the 3 users with a vector: lower k"
    );
    assert!(fit_segments(&vectors, &params(3), 1, None).is_ok());
    assert!(inertia_sweep(&vectors, &[2, 5], &params(3), 1, None).is_err());
}

#[test]
fn given_centres_assign_each_user_to_the_nearest_without_iterating() {
    // Users 0..4 have a vector (normalised rows), user 4 has none; the other engine sees
    // exactly the rows of users 0..4.
    let data = [1.0, 0.0, 2.0, 0.1, 0.0, 1.0, 0.1, 3.0, 0.0, 0.0];
    let vectors = vectors_of(&data, 2);
    let rows = vectors.rows()[..8].to_vec();
    let seen = std::cell::RefCell::new(Vec::new());
    let centres = |points: &[f32], dim: usize, k: usize| {
        seen.borrow_mut().push((points.to_vec(), dim, k));
        Ok(vec![0.0, 1.0, 1.0, 0.0])
    };
    let seg = fit_segments(&vectors, &params(2), 1, Some(&centres)).unwrap();
    assert_eq!(*seen.borrow(), [(rows.clone(), 2, 2)]);
    assert_eq!(seg.assignment, [Some(1), Some(1), Some(0), Some(0), None]);
    assert_eq!(seg.centroids, [0.0, 1.0, 1.0, 0.0], "centres kept as given");
    assert_eq!(seg.iterations, 0);
    let centre = |s: u32| if s == 0 { [0.0, 1.0] } else { [1.0, 0.0] };
    let expected: f64 = rows
        .chunks_exact(2)
        .zip(&seg.assignment)
        .map(|(x, s)| {
            let c = centre(s.unwrap());
            (0..2)
                .map(|j| (f64::from(x[j]) - c[j]).powi(2))
                .sum::<f64>()
        })
        .sum();
    assert!(
        (seg.inertia - expected).abs() < 1e-6,
        "{} vs {expected}",
        seg.inertia
    );

    let short = |_: &[f32], _: usize, _: usize| Ok(vec![1.0, 2.0]);
    let err = fit_segments(&vectors, &params(2), 1, Some(&short)).unwrap_err();
    assert!(
        err.to_string().contains("2 centroid values for k = 2"),
        "{err}"
    );
    let failing = |_: &[f32], _: usize, _: usize| Err("cluster gone".to_string());
    let err = fit_segments(&vectors, &params(2), 1, Some(&failing)).unwrap_err();
    assert!(err.to_string().contains("cluster gone"), "{err}");
}

/// Users 0, 1 in segment 0; user 2 in segment 1; user 3 without a segment.
fn tiny() -> (Segmentation, EventLog) {
    use Behavior::*;
    // (user, item, category, behaviour); weights pv 1, fav 2, cart 3, buy 4.
    let rows = [
        (0, 4, 1, Pv),   // seg 0: item 4 = 1 + 3 + 1 = 5
        (0, 4, 1, Cart), //
        (0, 2, 0, Fav),  // seg 0: item 2 = 2 + 3 = 5 (ties with 4 → 2 first)
        (1, 2, 0, Cart), //
        (1, 4, 1, Pv),   //
        (1, 0, 0, Pv),   // seg 0: item 0 = 1
        (2, 3, 2, Buy),  // seg 1: item 3 = 4, item 1 = 1
        (2, 1, 2, Pv),   //
        (3, 1, 2, Buy),  // no segment: global only
        (3, 1, 2, Buy),
    ];
    let log = EventLog::from_columns(
        rows.iter().map(|r| UserId(r.0)).collect(),
        rows.iter().map(|r| ItemId(r.1)).collect(),
        rows.iter().map(|r| CategoryId(r.2)).collect(),
        rows.iter().map(|r| r.3).collect(),
        (0..rows.len() as i64).collect(),
    )
    .unwrap();
    let seg = Segmentation {
        k: 2,
        dim: 1,
        assignment: vec![Some(0), Some(0), Some(1), None],
        centroids: vec![0.0, 1.0],
        inertia: 0.5,
        iterations: 3,
    };
    (seg, log)
}

const WEIGHTS: [f32; 4] = [1.0, 2.0, 3.0, 4.0];

#[test]
fn segment_popular_ranks_by_weighted_counts_with_ties_to_lower_ids() {
    let (seg, log) = tiny();
    let popular = SegmentPopular::fit(&seg, &log, WEIGHTS, 6, 2);
    assert_eq!(
        popular.segment_list(0).unwrap(),
        &[(ItemId(2), 5.0), (ItemId(4), 5.0)]
    );
    assert_eq!(
        popular.segment_list(1).unwrap(),
        &[(ItemId(3), 4.0), (ItemId(1), 1.0)]
    );
    // Global: item 1 = 1 + 8 = 9, item 2 = 5, item 4 = 5.
    assert_eq!(popular.global(), &[(ItemId(1), 9.0), (ItemId(2), 5.0)]);
    assert_eq!(popular.segment_of(UserId(1)), Some(0));
    assert_eq!(popular.segment_of(UserId(3)), None);

    // Through the shared recommend loop: user 0 has seen items 2 and 4.
    let history = UserItemMatrix::from_triples(
        4,
        6,
        [(UserId(0), ItemId(2), 1.0), (UserId(0), ItemId(4), 1.0)],
    )
    .unwrap();
    let users = [UserId(0), UserId(1), UserId(2), UserId(3), UserId(9)];
    let recs = recommend(&popular, &history, &users, &RecommendRequest::top(5)).unwrap();
    let items = |k: usize| recs.get(k).items.to_vec();
    assert_eq!(items(0), Vec::<ItemId>::new());
    assert_eq!(items(1), vec![ItemId(2), ItemId(4)]);
    assert_eq!(items(2), vec![ItemId(3), ItemId(1)]);
    assert_eq!(items(3), vec![ItemId(1), ItemId(2)]);
    assert_eq!(
        items(4),
        vec![ItemId(1), ItemId(2)],
        "outside the user range"
    );
    assert_eq!(recs.get(2).scores, &[4.0, 1.0]);
}

#[test]
fn segment_popular_round_trips_as_json_and_rejects_foreign_items() {
    let (seg, log) = tiny();
    let popular = SegmentPopular::fit(&seg, &log, WEIGHTS, 6, 500);
    let json = serde_json::to_string(&popular).unwrap();
    let back: SegmentPopular = serde_json::from_str(&json).unwrap();
    assert_eq!(back, popular);
    // Only 4 items: item 4 is outside.
    let bad = json.replace("\"n_items\":6", "\"n_items\":4");
    let err = serde_json::from_str::<SegmentPopular>(&bad).unwrap_err();
    assert!(
        err.to_string().contains("outside the model's 4 items"),
        "{err}"
    );
}

#[test]
fn summary_by_hand() {
    let (seg, log) = tiny();
    let summary = summarize(&seg, &log, WEIGHTS, 2, vec![(1, 2.5)]);
    assert_eq!((summary.k, summary.users_without_vector), (2, 1));
    assert_eq!(summary.sweep, vec![(1, 2.5)]);
    assert_eq!(summary.inertia, 0.5);
    let s0 = &summary.segments[0];
    assert_eq!((s0.id, s0.size), (0, 2));
    // Segment 0: category 0 = 2 + 3 + 1 = 6, category 1 = 5; total 11.
    assert_eq!(
        s0.top_categories,
        vec![(CategoryId(0), 6.0 / 11.0), (CategoryId(1), 5.0 / 11.0)]
    );
    assert_eq!(s0.top_items, vec![(ItemId(2), 5.0), (ItemId(4), 5.0)]);
    let s1 = &summary.segments[1];
    assert_eq!((s1.id, s1.size), (1, 1));
    assert_eq!(s1.top_categories, vec![(CategoryId(2), 1.0)]);
    assert_eq!(s1.top_items, vec![(ItemId(3), 4.0), (ItemId(1), 1.0)]);
}
