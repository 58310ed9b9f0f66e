//! `segments/assignments.csv`: each user's segment, `user_id,segment`, with the user's
//! external id written in the one CSV dialect ([`crate::csv_dialect`]), so any id text —
//! commas, quotes and line breaks included — reads back as written.

use std::path::Path;

use clickrec_core::{IdMap, UserId};

use crate::atomic::write_atomic_with;
use crate::error::ArtifactError;

/// Writes one row per user with a segment (`assignment[user]`), in dense-id order,
/// atomically.
pub fn write_segment_assignments(
    path: &Path,
    users: &IdMap<UserId>,
    assignment: &[Option<u32>],
) -> Result<(), ArtifactError> {
    write_atomic_with(path, |out| {
        let mut csv = crate::csv_dialect::writer(out);
        csv.write_record(["user_id", "segment"])?;
        for (user, segment) in assignment.iter().enumerate() {
            if let Some(segment) = segment {
                let external = users.external(UserId(user as u32));
                let segment = segment.to_string();
                csv.write_record([external, segment.as_str()])?;
            }
        }
        csv.flush()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any id text reads back as written, with its segment.
        #[test]
        fn ids_round_trip(
            names in proptest::collection::btree_set("[a-z,\"\\n\\r ]{1,8}|\\PC{0,6}", 1..12),
            seed in 0u32..7,
        ) {
            let names: Vec<String> = names.into_iter().collect();
            let users = IdMap::<UserId>::from_externals(names.iter().map(String::as_str)).unwrap();
            let assignment: Vec<Option<u32>> = (0..names.len() as u32)
                .map(|u| ((u + seed) % 3 != 0).then_some(u % 4))
                .collect();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("assignments.csv");
            write_segment_assignments(&path, &users, &assignment).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            let mut rows = Vec::new();
            crate::csv_dialect::for_each_record(&bytes, b',', |fields, _, _| {
                rows.push((
                    String::from_utf8(fields[0].to_vec()).unwrap(),
                    String::from_utf8(fields[1].to_vec()).unwrap(),
                ));
            })
            .unwrap();
            let expected: Vec<(String, String)> = std::iter::once(("user_id".to_owned(), "segment".to_owned()))
                .chain(assignment.iter().enumerate().filter_map(|(u, s)| {
                    s.map(|s| (names[u].clone(), s.to_string()))
                }))
                .collect();
            prop_assert_eq!(rows, expected);
        }
    }
}
