//! How both programs show a model's feature importances: named, ranked,
//! one line per feature.

/// `values` (a model's importances, in feature order) paired with the
/// feature names (else `x0`, `x1`, … as scikit-learn names unnamed
/// features). Values come from a sandboxed component: a list longer or
/// shorter than the names, or values that are not numbers, are shown as
/// they are.
pub fn named(values: &[f64], names: Option<&[String]>) -> Vec<(String, f64)> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| (name(names, i), v))
        .collect()
}

/// Feature `i`'s name, else `x{i}` as scikit-learn names unnamed features.
pub fn name(names: Option<&[String]>, i: usize) -> String {
    let name = names.and_then(|n| n.get(i)).cloned();
    name.unwrap_or_else(|| format!("x{i}"))
}

/// [`named`], largest first (ties in feature order).
pub fn ranked(values: &[f64], names: Option<&[String]>) -> Vec<(String, f64)> {
    let mut ranked = named(values, names);
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked
}

/// Lines for the first `top` of `ranked`: rank, name, importance.
pub fn lines(ranked: &[(String, f64)], top: usize) -> Vec<String> {
    let shown = &ranked[..top.min(ranked.len())];
    let w = shown.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    shown
        .iter()
        .enumerate()
        .map(|(k, (name, v))| format!("{:>4}. {name:<w$}  {v:.6}", k + 1))
        .collect()
}

/// What `info` prints about them: a heading and every feature ranked, or
/// why there are none.
pub fn info_lines(values: &[f64], names: Option<&[String]>) -> Vec<String> {
    if values.is_empty() {
        return vec![
            "Feature importances: not stored (a model file of format 4: train it again)".into(),
        ];
    }
    let ranked = ranked(values, names);
    let mut out = vec![
        "Feature importances (impurity-based, as scikit-learn's feature_importances_):".into(),
    ];
    out.extend(lines(&ranked, ranked.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranked_lines_name_and_order_the_features() {
        let names = vec!["age".to_string(), "bmi".to_string()];
        let r = ranked(&[0.25, 0.75, 0.0], Some(&names));
        assert_eq!(r[0], ("bmi".to_string(), 0.75));
        assert_eq!(r[2], ("x2".to_string(), 0.0));
        assert_eq!(lines(&r, 2), ["   1. bmi  0.750000", "   2. age  0.250000"]);
        assert_eq!(info_lines(&[], None).len(), 1);
        // A component's nonsense is shown, not trusted.
        assert_eq!(ranked(&[f64::NAN, 1.0], None).len(), 2);
    }
}
