//! Figures, their targets, the printed table and the JSON result file.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

/// A condition a figure must meet.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// value >= x
    AtLeast(f64),
    /// value <= x
    AtMost(f64),
    /// value / baseline >= x
    RatioAtLeast(f64),
    /// value / baseline <= x
    RatioAtMost(f64),
}

impl Target {
    fn describe(&self, unit: &str) -> String {
        match self {
            Target::AtLeast(x) => format!(">= {} {unit}", human(*x)),
            Target::AtMost(x) => format!("<= {} {unit}", human(*x)),
            Target::RatioAtLeast(x) => format!(">= {x}x"),
            Target::RatioAtMost(x) => format!("<= {x}x"),
        }
    }
}

/// One measured figure: the median of its runs, with its same-run baseline.
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    /// The raw-SQLite (or other same-run) reference and its value.
    pub baseline: Option<(String, f64)>,
    pub targets: Vec<Target>,
    /// Every run's value, for the JSON file.
    pub runs: Vec<f64>,
    /// Context printed under the table (what was measured, why a target missed).
    pub note: String,
}

impl Figure {
    pub fn new(name: impl Into<String>, runs: Vec<f64>, unit: &'static str) -> Figure {
        Figure {
            name: name.into(),
            value: median(&runs),
            unit,
            baseline: None,
            targets: Vec::new(),
            runs,
            note: String::new(),
        }
    }

    pub fn against(mut self, baseline: impl Into<String>, value: f64) -> Figure {
        self.baseline = Some((baseline.into(), value));
        self
    }

    pub fn target(mut self, t: Target) -> Figure {
        self.targets.push(t);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Figure {
        self.note = note.into();
        self
    }

    pub fn ratio(&self) -> Option<f64> {
        self.baseline.as_ref().filter(|(_, b)| *b > 0.0).map(|(_, b)| self.value / b)
    }

    /// None when the figure has no target.
    pub fn met(&self) -> Option<bool> {
        if self.targets.is_empty() {
            return None;
        }
        Some(self.targets.iter().all(|t| match t {
            Target::AtLeast(x) => self.value >= *x,
            Target::AtMost(x) => self.value <= *x,
            Target::RatioAtLeast(x) => self.ratio().is_some_and(|r| r >= *x),
            Target::RatioAtMost(x) => self.ratio().is_some_and(|r| r <= *x),
        }))
    }
}

pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// `q` in 0..=1 of sorted `v` (nearest rank).
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// 1234567.0 -> "1,234,567"; small values keep their decimals.
pub fn human(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    if x.abs() >= 1000.0 {
        let n = x.round() as i64;
        let digits = n.abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if n < 0 {
            out.insert(0, '-');
        }
        out
    } else if x.abs() >= 100.0 || x == x.trunc() {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// The table, as printed and as pasted into BENCHMARKS.md (Markdown).
pub fn table(figures: &[Figure]) -> String {
    let mut rows = vec![[
        "figure".to_string(),
        "value".into(),
        "baseline (same run)".into(),
        "ratio".into(),
        "target".into(),
        "met".into(),
    ]];
    for f in figures {
        rows.push([
            f.name.clone(),
            format!("{} {}", human(f.value), f.unit),
            f.baseline.as_ref().map_or("-".into(), |(n, v)| format!("{n}: {}", human(*v))),
            f.ratio().map_or("-".into(), |r| format!("{r:.2}x")),
            if f.targets.is_empty() {
                "-".into()
            } else {
                f.targets.iter().map(|t| t.describe(f.unit)).collect::<Vec<_>>().join(", ")
            },
            match f.met() {
                None => "-".into(),
                Some(true) => "yes".into(),
                Some(false) => "MISSED".into(),
            },
        ]);
    }
    let widths: Vec<usize> =
        (0..6).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        out.push('|');
        for (c, cell) in r.iter().enumerate() {
            let _ = write!(out, " {cell:<w$} |", w = widths[c]);
        }
        out.push('\n');
        if i == 0 {
            out.push('|');
            for w in &widths {
                let _ = write!(out, "{}|", "-".repeat(w + 2));
            }
            out.push('\n');
        }
    }
    let notes: Vec<&Figure> = figures.iter().filter(|f| !f.note.is_empty()).collect();
    if !notes.is_empty() {
        out.push('\n');
        for f in notes {
            let _ = writeln!(out, "- {}: {}", f.name, f.note);
        }
    }
    out
}

pub fn write_json(path: &Path, mode: &str, machine: Value, figures: &[Figure]) -> std::io::Result<()> {
    let figs: Vec<Value> = figures
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "value": f.value,
                "unit": f.unit,
                "runs": f.runs,
                "baseline": f.baseline.as_ref().map(|(n, v)| json!({"name": n, "value": v})),
                "ratio": f.ratio(),
                "targets": f.targets.iter().map(|t| t.describe(f.unit)).collect::<Vec<_>>(),
                "met": f.met(),
                "note": f.note,
            })
        })
        .collect();
    let doc = json!({ "mode": mode, "machine": machine, "figures": figs });
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
}
