use crate::{EvalConfig, EvalError};

#[test]
fn defaults_are_valid_and_documented() {
    let c = EvalConfig::default().check().unwrap();
    assert_eq!(c.ks(), &[5, 10, 20, 50, 100]);
    assert_eq!(c.bootstrap_samples(), 1000);
    assert_eq!(c.confidence(), 0.95);
    assert_eq!(c.seed(), 42);
    assert_eq!(c.headline_k(), 20);
    let from_toml: EvalConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(from_toml, EvalConfig::default());
}

#[test]
fn bad_values_name_their_key() {
    let bad = |f: fn(&mut EvalConfig)| {
        let mut c = EvalConfig::default();
        f(&mut c);
        c.check().unwrap_err()
    };
    let key = |e: EvalError| match e {
        EvalError::Config { key, .. } => key,
        other => panic!("{other}"),
    };
    let e = bad(|c| c.ks.clear());
    assert!(e.to_string().starts_with("evaluate.ks:"), "{e}");
    assert_eq!(key(bad(|c| c.ks = vec![5, 0])), "evaluate.ks");
    let e = bad(|c| c.ks = vec![10, 5, 10]);
    assert!(e.to_string().contains("10 twice"), "{e}");
    for confidence in [0.0, 1.0, -0.5, f64::NAN] {
        let c = EvalConfig {
            confidence,
            ..EvalConfig::default()
        };
        assert_eq!(key(c.check().unwrap_err()), "evaluate.confidence");
    }
    assert_eq!(
        key(bad(|c| c.bootstrap_samples = 1_000_000)),
        "evaluate.bootstrap_samples"
    );
}

#[test]
fn cut_offs_are_sorted_and_unknown_keys_rejected() {
    let c = EvalConfig {
        ks: vec![20, 5, 1],
        ..EvalConfig::default()
    }
    .check()
    .unwrap();
    assert_eq!(c.ks(), &[1, 5, 20]);
    let err = serde_json::from_str::<EvalConfig>(r#"{"k": [5]}"#).unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
    let c = EvalConfig {
        ks: vec![5, 10, 50],
        ..EvalConfig::default()
    }
    .check()
    .unwrap();
    assert_eq!(c.headline_k(), 10);
}
