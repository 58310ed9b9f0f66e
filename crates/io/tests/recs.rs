//! Recommendation and test-pair files: round trips, orderings, every error with its
//! message, unknown-id counting.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

/// Named `recs` so that `cargo test -p clickrec-io recs` selects every test here.
mod recs {
    use std::fs::File;
    use std::path::{Path, PathBuf};

    use clickrec_core::{Behavior, IdMap, IdMaps, ItemId, TestSet, UserId};
    use clickrec_io::{
        ListOrder, Location, ReadOptions, RecsError, RecsFileSummary, RecsWriter, ValueProblem,
        read_recommendations, read_recommendations_with, read_test_pairs,
    };
    use clickrec_recommend::Recommendations;
    use polars::prelude::*;

    fn id_maps(users: &[&str], items: &[&str]) -> IdMaps {
        IdMaps {
            users: IdMap::from_externals(users).unwrap(),
            items: IdMap::from_externals(items).unwrap(),
            categories: IdMap::default(),
        }
    }

    /// Users `u0..`, items `i0..`.
    fn plain_ids(users: usize, items: usize) -> IdMaps {
        let users: Vec<String> = (0..users).map(|u| format!("u{u}")).collect();
        let items: Vec<String> = (0..items).map(|i| format!("i{i}")).collect();
        IdMaps {
            users: IdMap::from_externals(&users).unwrap(),
            items: IdMap::from_externals(&items).unwrap(),
            categories: IdMap::default(),
        }
    }

    fn write_text(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn write_frame(dir: &Path, name: &str, columns: Vec<Column>) -> PathBuf {
        let path = dir.join(name);
        let height = columns[0].len();
        let mut frame = DataFrame::new(height, columns).unwrap();
        ParquetWriter::new(File::create(&path).unwrap())
            .finish(&mut frame)
            .unwrap();
        path
    }

    fn lists(recs: &Recommendations) -> Vec<(u32, Vec<u32>)> {
        recs.iter()
            .map(|l| (l.user.0, l.items.iter().map(|i| i.0).collect()))
            .collect()
    }

    fn block(entries: &[(u32, &[(u32, f32)])]) -> Recommendations {
        let mut r = Recommendations::new();
        for (user, list) in entries {
            r.push(
                UserId(*user),
                list.iter().map(|&(item, score)| (ItemId(item), score)),
            )
            .unwrap();
        }
        r
    }

    fn write_all(path: &Path, ids: &IdMaps, blocks: &[Recommendations]) -> RecsFileSummary {
        let mut writer = RecsWriter::create(path, ids).unwrap();
        for b in blocks {
            writer.write(b).unwrap();
        }
        writer.finish().unwrap()
    }

    fn err_text(path: &Path, ids: &IdMaps) -> String {
        read_recommendations(path, ids).unwrap_err().to_string()
    }

    /// Ids with every character CSV must quote.
    fn awkward_ids() -> IdMaps {
        id_maps(
            &[
                "plain",
                "with,comma",
                "say \"hi\"",
                "two\nlines",
                "cr\r\nlf",
            ],
            &["a", "b,c", "\"q\"", "x\ny", "e", ",", "\""],
        )
    }

    fn awkward_blocks() -> Vec<Recommendations> {
        vec![
            block(&[
                (0, &[(1, 0.9), (0, 0.5), (6, -1.25)]),
                (1, &[(2, 3.0e-7), (3, 1.0e30)]),
            ]),
            block(&[(2, &[]), (3, &[(5, 2.0), (4, 1.0)])]),
            block(&[(4, &[(6, 0.1), (5, 0.0), (4, -0.0)])]),
        ]
    }

    fn assert_round_trip(name: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let ids = awkward_ids();
        let blocks = awkward_blocks();
        let summary = write_all(&path, &ids, &blocks);
        assert_eq!(summary, RecsFileSummary { users: 5, rows: 10 });
        assert!(!dir.path().join(format!(".{name}.tmp")).exists());

        let mut expected = Recommendations::new();
        for b in blocks {
            expected.append(b).unwrap();
        }
        let (back, report) = read_recommendations(&path, &ids).unwrap();
        // User 2's empty list writes no row, so it does not come back.
        let mut without_empty = Recommendations::new();
        for l in expected.iter().filter(|l| !l.items.is_empty()) {
            without_empty
                .push(
                    l.user,
                    l.items.iter().copied().zip(l.scores.iter().copied()),
                )
                .unwrap();
        }
        assert_eq!(back, without_empty);
        assert_eq!(report.rows, 10);
        assert_eq!(report.users, 4);
        assert_eq!(report.pairs, 10);
        assert_eq!(report.order, ListOrder::Rank);
        assert!(report.has_scores && !report.regrouped);
        assert_eq!(report.lists_with_rank_gaps, 0);
    }

    #[test]
    fn csv_round_trip_quotes_awkward_ids() {
        assert_round_trip("recs.csv");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        write_all(&path, &awkward_ids(), &awkward_blocks()[..1]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "user_id,rank,item_id,score\n\
             plain,1,\"b,c\",0.9\n\
             plain,2,a,0.5\n\
             plain,3,\"\"\"\",-1.25\n\
             \"with,comma\",1,\"\"\"q\"\"\",0.0000003\n\
             \"with,comma\",2,\"x\ny\",1000000000000000000000000000000\n"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Any id text — commas, quotes, line breaks, spaces, any characters — comes back
        /// from a CSV recommendation file as written.
        #[test]
        fn csv_ids_round_trip(
            users in proptest::collection::btree_set("[a-z,\"\r\n ]{1,6}|\\PC{1,5}", 1..6),
            items in proptest::collection::btree_set("[a-z,\"\r\n ]{1,6}|\\PC{1,5}", 1..6),
        ) {
            let users: Vec<&str> = users.iter().map(String::as_str).collect();
            let items: Vec<&str> = items.iter().map(String::as_str).collect();
            let ids = id_maps(&users, &items);
            let mut lists = Recommendations::new();
            for u in 0..users.len() {
                let ranked = (0..items.len()).map(|k| (ItemId(((k + u) % items.len()) as u32), 1.0 - k as f32 / 8.0));
                lists.push(UserId(u as u32), ranked).unwrap();
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("r.csv");
            write_all(&path, &ids, std::slice::from_ref(&lists));
            let (back, report) = read_recommendations(&path, &ids).unwrap();
            proptest::prop_assert_eq!(report.unknown_users, 0);
            proptest::prop_assert_eq!(back, lists);
        }
    }

    #[test]
    fn parquet_round_trip() {
        assert_round_trip("recs.parquet");
    }

    #[test]
    fn large_blocks_round_trip_in_parallel_ranges_and_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let ids = plain_ids(3000, 500);
        let mut blocks = Vec::new();
        let mut expected = Recommendations::new();
        for start in (0..3000u32).step_by(700) {
            let mut b = Recommendations::new();
            for u in start..(start + 700).min(3000) {
                let list: Vec<(ItemId, f32)> = (0..100u32)
                    .map(|k| (ItemId((u * 7 + k * 3) % 500), 100.0 - k as f32))
                    .collect();
                b.push(UserId(u), list.clone()).unwrap();
                expected.push(UserId(u), list).unwrap();
            }
            blocks.push(b);
        }
        // Upper-case extensions choose the format too.
        for name in ["RECS.PARQUET", "recs.CSV"] {
            let path = dir.path().join(name);
            let summary = write_all(&path, &ids, &blocks);
            assert_eq!(summary.rows, 300_000);
            let (back, report) = read_recommendations(&path, &ids).unwrap();
            assert_eq!(back, expected, "{name}");
            assert_eq!(report.rows, 300_000);
            assert!(!report.regrouped);
        }
    }

    #[test]
    fn rank_only_lists_write_empty_scores_and_read_back_as_nan() {
        let dir = tempfile::tempdir().unwrap();
        let ids = plain_ids(2, 3);
        for name in ["r.csv", "r.parquet"] {
            let path = dir.path().join(name);
            write_all(
                &path,
                &ids,
                &[block(&[(1, &[(2, f32::NAN), (0, f32::NAN)])])],
            );
            if name.ends_with(".csv") {
                let text = std::fs::read_to_string(&path).unwrap();
                assert_eq!(text, "user_id,rank,item_id,score\nu1,1,i2,\nu1,2,i0,\n");
            }
            let (back, _) = read_recommendations(&path, &ids).unwrap();
            assert_eq!(lists(&back), vec![(1, vec![2, 0])]);
            assert!(back.get(0).scores.iter().all(|s| s.is_nan()));
        }
    }

    #[test]
    fn score_order_is_descending_with_ties_in_file_order_and_any_row_order() {
        let dir = tempfile::tempdir().unwrap();
        let ids = plain_ids(3, 6);
        // Users interleaved (u1 comes back after u2): the reader regroups.
        let path = write_text(
            dir.path(),
            "s.csv",
            "user_id,item_id,score\n\
             u1,i0,0.5\n\
             u1,i1,0.9\n\
             u2,i5,1\n\
             u1,i2,0.5\n\
             u1,i3,-0\n\
             u1,i4,0\n\
             u0,i1,2e3\n",
        );
        let (recs, report) = read_recommendations(&path, &ids).unwrap();
        assert_eq!(
            lists(&recs),
            vec![(0, vec![1]), (1, vec![1, 0, 2, 3, 4]), (2, vec![5])]
        );
        assert_eq!(recs.get(1).scores, &[0.9, 0.5, 0.5, -0.0, 0.0]);
        assert_eq!(report.order, ListOrder::Score);
        assert!(report.regrouped);
        assert_eq!(report.lists_with_rank_gaps, 0);
    }

    #[test]
    fn contiguous_users_out_of_id_order_stream_in_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let ids = plain_ids(3, 3);
        let path = write_text(
            dir.path(),
            "r.csv",
            "user_id,item_id,rank\nu2,i0,1\nu0,i1,2\nu0,i2,1\nu1,i0,1\n",
        );
        let (recs, report) = read_recommendations(&path, &ids).unwrap();
        assert_eq!(
            lists(&recs),
            vec![(0, vec![2, 1]), (1, vec![0]), (2, vec![0])]
        );
        assert!(!report.regrouped);
        assert!(!report.has_scores);
    }

    #[test]
    fn gzip_csv_with_crlf_and_bom_reads_like_plain_csv() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let ids = plain_ids(2, 3);
        let path = dir.path().join("r.csv.gz");
        let mut gz = flate2::write::GzEncoder::new(
            File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(b"\xef\xbb\xbfuser_id,item_id,rank\r\nu1,i2,2\r\nu1,i0,1\r\n")
            .unwrap();
        gz.finish().unwrap();
        let (recs, _) = read_recommendations(&path, &ids).unwrap();
        assert_eq!(lists(&recs), vec![(1, vec![0, 2])]);
    }

    #[test]
    fn rank_wins_over_score_and_gaps_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let ids = plain_ids(2, 4);
        let path = write_text(
            dir.path(),
            "r.csv",
            "score,item_id,user_id,rank,extra\n\
             0.1,i0,u0,2,x\n\
             0.9,i1,u0,1,x\n\
             0.5,i2,u0,5.0,x\n\
             ,i3,u1,1,x\n",
        );
        let (recs, report) = read_recommendations(&path, &ids).unwrap();
        assert_eq!(lists(&recs), vec![(0, vec![1, 0, 2]), (1, vec![3])]);
        assert_eq!(recs.get(0).scores, &[0.9, 0.1, 0.5]);
        assert!(recs.get(1).scores[0].is_nan());
        assert_eq!(report.order, ListOrder::Rank);
        assert_eq!(report.lists_with_rank_gaps, 1);
    }

    #[test]
    fn parquet_input_with_integer_ids_and_float_ranks() {
        let dir = tempfile::tempdir().unwrap();
        let ids = id_maps(&["10", "20"], &["100", "200", "300"]);
        let path = write_frame(
            dir.path(),
            "r.parquet",
            vec![
                Column::new("USER_ID".into(), &[20u64, 20, 10]),
                Column::new("item_id".into(), &[300i32, 100, 200]),
                Column::new("rank".into(), &[2.0f64, 1.0, 1.0]),
            ],
        );
        let (recs, report) = read_recommendations(&path, &ids).unwrap();
        assert_eq!(lists(&recs), vec![(0, vec![1]), (1, vec![0, 2])]);
        assert_eq!(report.rows, 3);
    }

    #[test]
    fn csv_errors_name_file_line_column_and_value() {
        let dir = tempfile::tempdir().unwrap();
        let ids = plain_ids(3, 3);
        let cases: &[(&str, &str)] = &[
            (
                "user_id,rank\nu0,1\n",
                "no column item_id; the file has the columns \"user_id\", \"rank\"",
            ),
            (
                "user_id,item_id\nu0,i0\n",
                "no column rank or score; the file has the columns \"user_id\", \"item_id\"",
            ),
            (
                "user_id,item_id,rank\nu0,i0,1\nu0,i1,2\nu0,i2,1\n",
                "line 4, column rank, value \"1\": user \"u0\" already has rank 1 (at line 2)",
            ),
            (
                "user_id,item_id,rank\nu0,i0,1\nu0,i1,0\n",
                "line 3, column rank, value \"0\": rank must be at least 1",
            ),
            (
                "user_id,item_id,rank\nu0,i0,1\nu0,i1,2.5\n",
                "line 3, column rank, value \"2.5\": rank must be a whole number",
            ),
            (
                "user_id,item_id,rank\nu0,i0,first\n",
                "line 2, column rank, value \"first\": rank must be a whole number",
            ),
            (
                "user_id,item_id,score\nu0,i0,1\nu0,i1,NaN\n",
                "line 3, column score, value \"NaN\": score must be a finite number when it orders the list (no rank column)",
            ),
            (
                "user_id,item_id,score\nu0,i0,inf\n",
                "line 2, column score, value \"inf\": score must be a finite number when it orders the list (no rank column)",
            ),
            (
                "user_id,item_id,score\nu0,i0,\n",
                "line 2, column score, value \"\": a value is required",
            ),
            (
                "user_id,item_id,rank\nu0,i2,1\nu0,i1,2\nu0,i2,3\n",
                "line 4, column item_id, value \"i2\": item repeated in the list of user \"u0\" (first at line 2)",
            ),
            (
                "user_id,item_id,rank\n,i0,1\n",
                "line 2, column user_id, value \"\": a value is required",
            ),
            (
                "user_id,item_id,rank\nu0,i0\n",
                "line 2: expected at least 3 fields, found 2",
            ),
            (
                "user_id,item_id,rank\n\"u0,i0,1\n",
                "line 2: a quoted field is still open at the end of the file",
            ),
            ("", "the file is empty"),
            ("\n\n", "the file is empty"),
            (
                "user_id,item_id,rank\n",
                "the file has a header but no data rows",
            ),
        ];
        for (k, (text, message)) in cases.iter().enumerate() {
            let path = write_text(dir.path(), &format!("case{k}.csv"), text);
            assert_eq!(
                err_text(&path, &ids),
                format!("{}: {message}", path.display()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn duplicate_rank_across_regrouped_rows_names_both_lines() {
        let dir = tempfile::tempdir().unwrap();
        let ids = plain_ids(2, 3);
        let path = write_text(
            dir.path(),
            "r.csv",
            "user_id,item_id,rank\nu0,i0,1\nu1,i0,1\nu0,i1,1\n",
        );
        let err = read_recommendations(&path, &ids).unwrap_err();
        match err {
            RecsError::DuplicateRank {
                at, first, rank, ..
            } => {
                assert_eq!((at, first, rank), (Location::Line(4), Location::Line(2), 1));
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn parquet_errors_name_the_row_index() {
        let dir = tempfile::tempdir().unwrap();
        let ids = plain_ids(2, 3);
        let path = write_frame(
            dir.path(),
            "bad.parquet",
            vec![
                Column::new("user_id".into(), &["u0", "u0", "u1"]),
                Column::new("item_id".into(), &["i0", "i1", "i2"]),
                Column::new("rank".into(), &[1i64, 2, -4]),
            ],
        );
        assert_eq!(
            err_text(&path, &ids),
            format!(
                "{}: row index 2, column rank, value \"-4\": rank must be at least 1",
                path.display()
            )
        );
        let path = write_frame(
            dir.path(),
            "nulls.parquet",
            vec![
                Column::new("user_id".into(), &[Some("u0"), None]),
                Column::new("item_id".into(), &["i0", "i1"]),
                Column::new("score".into(), &[1.0f32, 0.5]),
            ],
        );
        assert_eq!(
            err_text(&path, &ids),
            format!(
                "{}: row index 1, column user_id, value \"\": a value is required",
                path.display()
            )
        );
        let path = write_frame(
            dir.path(),
            "dup.parquet",
            vec![
                Column::new("user_id".into(), &["u1", "u1"]),
                Column::new("item_id".into(), &["i1", "i1"]),
                Column::new("score".into(), &[1.0f32, 0.5]),
            ],
        );
        assert_eq!(
            err_text(&path, &ids),
            format!(
                "{}: row index 1, column item_id, value \"i1\": item repeated in the list of user \"u1\" (first at row index 0)",
                path.display()
            )
        );
        let path = write_frame(
            dir.path(),
            "types.parquet",
            vec![
                Column::new("user_id".into(), &["u1"]),
                Column::new("item_id".into(), &["i1"]),
                Column::new("rank".into(), &[true]),
            ],
        );
        assert_eq!(
            err_text(&path, &ids),
            format!(
                "{}: column \"rank\" has type bool, expected text or numbers",
                path.display()
            )
        );
        let path = write_frame(
            dir.path(),
            "empty.parquet",
            vec![
                Column::new("user_id".into(), Vec::<&str>::new()),
                Column::new("item_id".into(), Vec::<&str>::new()),
                Column::new("rank".into(), Vec::<u32>::new()),
            ],
        );
        assert_eq!(
            err_text(&path, &ids),
            format!("{}: the file has a header but no data rows", path.display())
        );
    }

    #[test]
    fn unusable_paths() {
        let dir = tempfile::tempdir().unwrap();
        let ids = plain_ids(1, 1);
        let txt = write_text(dir.path(), "recs.txt", "user_id,item_id,rank\n");
        assert_eq!(
            err_text(&txt, &ids),
            format!(
                "{}: unsupported file type: the name must end in .csv, .csv.gz or .parquet",
                txt.display()
            )
        );
        let json = dir.path().join("recs.json");
        assert_eq!(
            RecsWriter::create(&json, &ids).unwrap_err().to_string(),
            format!(
                "{}: unsupported file type: the name must end in .csv or .parquet",
                json.display()
            )
        );
        let missing = dir.path().join("missing.csv");
        assert_eq!(
            err_text(&missing, &ids),
            format!("{}: no such file", missing.display())
        );
        let empty = write_text(dir.path(), "empty.parquet", "");
        assert_eq!(
            err_text(&empty, &ids),
            format!("{}: the file is empty", empty.display())
        );
    }

    #[test]
    fn unknown_ids_fail_by_default_with_counts_and_are_counted_when_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let ids = plain_ids(2, 4);
        let path = write_text(
            dir.path(),
            "r.csv",
            "user_id,item_id,rank\n\
             u0,i0,1\n\
             u0,gone,2\n\
             u0,i1,3\n\
             stranger,i0,1\n\
             stranger,i1,2\n\
             u1,i2,1\n\
             ghost,i0,1\n",
        );
        assert_eq!(
            err_text(&path, &ids),
            format!(
                "{}: line 3, column item_id, value \"gone\": not in the id maps of the run \
                 (3 rows have an unknown user, 1 rows an unknown item; \
                 rerun with --skip-unknown to drop and count them)",
                path.display()
            )
        );
        let (recs, report) =
            read_recommendations_with(&path, &ids, &ReadOptions { skip_unknown: true }).unwrap();
        // The unknown item is left out: i1 moves up from rank 3 to position 2.
        assert_eq!(lists(&recs), vec![(0, vec![0, 1]), (1, vec![2])]);
        assert_eq!(report.rows, 7);
        assert_eq!(report.users, 2);
        assert_eq!(report.pairs, 3);
        assert_eq!(report.unknown_user_rows, 3);
        assert_eq!(report.unknown_users, 2);
        assert_eq!(report.unknown_item_rows, 1);
        assert_eq!(report.lists_with_unknown_items, 1);
        assert_eq!(report.lists_with_rank_gaps, 0);
    }

    /// Files named like `AtomicFile`'s temporary files (`.r.csv.XXXXXX.tmp`).
    fn temporary_files(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                let name = name.to_string_lossy();
                name.starts_with(".r.csv.") && name.ends_with(".tmp")
            })
            .count()
    }

    #[test]
    fn writer_rejects_blocks_out_of_order_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let ids = plain_ids(3, 2);
        let path = dir.path().join("r.csv");
        {
            let mut writer = RecsWriter::create(&path, &ids).unwrap();
            writer.write(&block(&[(1, &[(0, 1.0)])])).unwrap();
            let err = writer.write(&block(&[(1, &[(1, 1.0)])])).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "{}: ranked lists must come in increasing user order: user#1 follows user#1",
                    path.display()
                )
            );
            let err = writer.write(&block(&[(2, &[(5, 1.0)])])).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "{}: item id 5 is outside the 2 ids of the id maps",
                    path.display()
                )
            );
            assert_eq!(temporary_files(dir.path()), 1);
        }
        assert_eq!(temporary_files(dir.path()), 0);
        assert!(!path.exists());
    }

    #[test]
    fn test_pairs_from_csv_with_behaviour_names() {
        let dir = tempfile::tempdir().unwrap();
        let ids = plain_ids(4, 5);
        // Item i4 never occurs in train.
        let seen = [true, true, true, true, false];
        // User u3 has no train events.
        let has_train = [true, true, true, false];
        let path = write_text(
            dir.path(),
            "test.csv",
            "user_id,item_id,behavior\n\
             u2,i1,pv\n\
             u0,i0,BUY\n\
             u2,i1,cart\n\
             nobody,i1,pv\n\
             u0,i4,addtocart\n\
             u0,nothing,pv\n\
             u3,nothing,fav\n\
             u2,i3,view\n",
        );
        let (set, report) = read_test_pairs(&path, &ids, &seen, &has_train).unwrap();
        assert_eq!(set.users(), &[UserId(0), UserId(2), UserId(3)]);
        assert!(set.find(UserId(3)).unwrap().cold, "u3 has no train events");
        assert!(!set.find(UserId(2)).unwrap().cold);
        let u0 = set.find(UserId(0)).unwrap();
        assert_eq!(u0.targets, &[ItemId(0)]);
        assert_eq!(u0.conversion_targets, &[ItemId(0)]);
        assert!(!u0.cold);
        let u2 = set.find(UserId(2)).unwrap();
        assert_eq!(u2.targets, &[ItemId(1), ItemId(3)]);
        assert_eq!(u2.conversion_targets, &[ItemId(1)]);
        assert!(set.find(UserId(3)).unwrap().targets.is_empty());
        assert_eq!(set.counts().dropped_targets, 1);
        assert_eq!(set.counts().users_without_targets, 1);
        assert_eq!(report.rows, 8);
        assert!(report.has_behavior);
        assert_eq!(report.test_users, 3);
        assert_eq!(report.unknown_user_rows, 1);
        assert_eq!(report.unknown_users, 1);
        assert_eq!(report.unknown_item_rows, 2);
    }

    #[test]
    fn test_pairs_without_behaviour_and_from_parquet_codes() {
        let dir = tempfile::tempdir().unwrap();
        let ids = plain_ids(2, 3);
        let seen = [true; 3];
        let has_train = [true; 2];
        let path = write_text(
            dir.path(),
            "test.csv",
            "item_id,user_id\ni2,u1\ni0,u1\ni2,u1\n",
        );
        let (set, report) = read_test_pairs(&path, &ids, &seen, &has_train).unwrap();
        assert!(!report.has_behavior);
        assert_eq!(set.get(0).targets, &[ItemId(0), ItemId(2)]);
        assert!(set.get(0).conversion_targets.is_empty());

        let path = write_frame(
            dir.path(),
            "test.parquet",
            vec![
                Column::new("user_id".into(), &["u0", "u0", "u1"]),
                Column::new("item_id".into(), &["i0", "i1", "i2"]),
                Column::new("behavior".into(), &[3u8, 0, 2]),
            ],
        );
        let (set, _) = read_test_pairs(&path, &ids, &seen, &has_train).unwrap();
        let mut expected = TestSet::builder(&seen);
        expected
            .push_user(
                UserId(0),
                false,
                [(ItemId(0), Behavior::Buy), (ItemId(1), Behavior::Pv)],
            )
            .unwrap();
        expected
            .push_user(UserId(1), false, [(ItemId(2), Behavior::Cart)])
            .unwrap();
        assert_eq!(set, expected.finish());
    }

    #[test]
    fn test_pair_errors() {
        let dir = tempfile::tempdir().unwrap();
        let ids = plain_ids(2, 3);
        let seen = [true; 3];
        let has_train = [true; 2];
        let path = write_text(
            dir.path(),
            "test.csv",
            "user_id,item_id,behavior\nu0,i0,pv\nu0,i1,click\n",
        );
        let err = read_test_pairs(&path, &ids, &seen, &has_train).unwrap_err();
        assert!(matches!(
            err,
            RecsError::BadValue {
                problem: ValueProblem::UnknownBehavior,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            format!(
                "{}: line 3, column behavior, value \"click\": behaviour must be one of pv, fav, cart, buy, view, addtocart, transaction or a code 0-3",
                path.display()
            )
        );
        let path = write_text(dir.path(), "t2.csv", "user,item_id\nu0,i0\n");
        assert_eq!(
            read_test_pairs(&path, &ids, &seen, &has_train)
                .unwrap_err()
                .to_string(),
            format!(
                "{}: no column user_id; the file has the columns \"user\", \"item_id\"",
                path.display()
            )
        );
        assert_eq!(
            read_test_pairs(&path, &ids, &[true], &has_train)
                .unwrap_err()
                .to_string(),
            "seen_in_train covers 1 items but the id maps have 3 items"
        );
        assert_eq!(
            read_test_pairs(&path, &ids, &seen, &[true])
                .unwrap_err()
                .to_string(),
            "has_train covers 1 users but the id maps have 2 users"
        );
    }

    #[test]
    fn many_rows_read_in_parallel_ranges_keep_file_order_semantics() {
        let dir = tempfile::tempdir().unwrap();
        let ids = plain_ids(20_000, 50);
        let mut text = String::from("user_id,item_id,score\n");
        let mut expected = Vec::new();
        for u in 0..20_000u32 {
            // Every 1000th user also lists an unknown item; every 7000th is unknown.
            if u % 7000 == 3 {
                text.push_str(&format!("x{u},i1,1\nx{u},i2,0.5\n"));
                continue;
            }
            let items = [
                (u % 50, 0.25f32),
                ((u + 1) % 50, 0.75),
                ((u + 2) % 50, 0.25),
            ];
            for (item, score) in items {
                text.push_str(&format!("u{u},i{item},{score}\n"));
            }
            if u % 1000 == 0 {
                text.push_str(&format!("u{u},nope,0.5\n"));
            }
            expected.push((u, vec![(u + 1) % 50, u % 50, (u + 2) % 50]));
        }
        let path = write_text(dir.path(), "many.csv", &text);
        let (recs, report) =
            read_recommendations_with(&path, &ids, &ReadOptions { skip_unknown: true }).unwrap();
        assert_eq!(lists(&recs), expected);
        assert_eq!(report.unknown_users, 3);
        assert_eq!(report.unknown_user_rows, 6);
        assert_eq!(report.unknown_item_rows, 20);
        assert_eq!(report.lists_with_unknown_items, 20);
        assert!(!report.regrouped);

        // Two bad values far apart: the earlier one is reported.
        let mut lines: Vec<&str> = text.lines().collect();
        lines[20_000] = "u5000,i1,high";
        lines[50_000] = "u9000,i1,";
        let path = write_text(dir.path(), "bad.csv", &(lines.join("\n") + "\n"));
        assert_eq!(
            err_text(&path, &ids),
            format!(
                "{}: line 20001, column score, value \"high\": score is not a number",
                path.display()
            )
        );
    }

    /// Scale check: `RECS_USERS` users (default 1,000,000) × 100 items, written in blocks
    /// of 4096 users and read back, CSV and Parquet. Run with
    /// `cargo test -p clickrec-io --test recs -- --ignored --nocapture large`.
    #[test]
    #[ignore]
    fn large_round_trip_timing() {
        let users: u32 = std::env::var("RECS_USERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let n_items = 200_000u32;
        let ids = IdMaps {
            users: IdMap::from_externals((0..users).map(|u| format!("{}", 1_000_000 + u))).unwrap(),
            items: IdMap::from_externals((0..n_items).map(|i| format!("item{i}"))).unwrap(),
            categories: IdMap::default(),
        };
        let dir = tempfile::tempdir().unwrap();
        let make_block = |start: u32| {
            let mut b = Recommendations::new();
            for u in start..(start + 4096).min(users) {
                b.push(
                    UserId(u),
                    (0..100u32).map(|k| {
                        (
                            ItemId(
                                ((u64::from(u) * 7919 + u64::from(k) * 1543) % u64::from(n_items))
                                    as u32,
                            ),
                            1.0 - k as f32 / 100.0,
                        )
                    }),
                )
                .unwrap();
            }
            b
        };
        for name in ["big.csv", "big.parquet"] {
            let path = dir.path().join(name);
            let started = std::time::Instant::now();
            let mut writer = RecsWriter::create(&path, &ids).unwrap();
            for start in (0..users).step_by(4096) {
                writer.write(&make_block(start)).unwrap();
            }
            let summary = writer.finish().unwrap();
            let written = started.elapsed();
            let size = std::fs::metadata(&path).unwrap().len();
            let started = std::time::Instant::now();
            let (back, report) = read_recommendations(&path, &ids).unwrap();
            let read = started.elapsed();
            assert_eq!(report.rows, summary.rows);
            assert_eq!(back.len(), users as usize);
            assert_eq!(back.get(back.len() - 1), make_block(users - 1).get(0));
            eprintln!(
                "{name}: {} rows, {} MB, write {written:.1?}, read {read:.1?}",
                summary.rows,
                size >> 20
            );
        }
    }
}
