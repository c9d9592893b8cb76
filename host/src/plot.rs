//! `--plot FILE.svg`: grouped bars of phase medians per system (plotters).

use std::path::Path;

use anyhow::{Context, Result, bail};
use plotters::prelude::*;

use crate::report::{CompareReport, phase_summary};

const COLORS: [RGBColor; 6] = [
    RGBColor(0x4c, 0x72, 0xb0),
    RGBColor(0xdd, 0x84, 0x52),
    RGBColor(0x55, 0xa8, 0x68),
    RGBColor(0xc4, 0x4e, 0x52),
    RGBColor(0x81, 0x72, 0xb3),
    RGBColor(0x93, 0x78, 0x60),
];

/// Bars of median milliseconds (log scale) for each phase, one colour per
/// system. Written like every other output.
pub fn phase_medians(report: &CompareReport, path: &Path) -> Result<()> {
    let bars = Bars::of(report)?;
    let mut svg = String::new();
    {
        let width = (160 * bars.phases.len() as u32).max(800);
        let root = SVGBackend::with_string(&mut svg, (width, 560)).into_drawing_area();
        root.fill(&WHITE)?;
        bars.draw(&root)?;
        root.present().context("rendering the plot")?;
    }
    crate::fsio::write_output(path, svg.as_bytes())
}

/// What is drawn: systems and phases in the order the report first names
/// them, and the value range of the log axis.
struct Bars<'r> {
    report: &'r CompareReport,
    systems: Vec<&'r str>,
    phases: Vec<&'r str>,
    lo: f64,
    hi: f64,
}

impl<'r> Bars<'r> {
    fn of(report: &'r CompareReport) -> Result<Bars<'r>> {
        let mut systems: Vec<&str> = Vec::new();
        let mut phases: Vec<&str> = Vec::new();
        for r in &report.rows {
            if !systems.contains(&r.system.as_str()) {
                systems.push(&r.system);
            }
            if !phases.contains(&r.phase.as_str()) {
                phases.push(&r.phase);
            }
        }
        if phases.is_empty() {
            bail!("nothing to plot: the report has no measurements");
        }
        let mut bars = Bars {
            report,
            systems,
            phases,
            lo: 0.0,
            hi: 0.0,
        };
        let values: Vec<f64> = bars
            .systems
            .iter()
            .flat_map(|s| bars.phases.iter().filter_map(|p| bars.median_ms(s, p)))
            .filter(|v| *v > 0.0)
            .collect();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        bars.lo = min.max(1e-4) / 2.0;
        bars.hi = values.iter().copied().fold(0.0, f64::max) * 3.0;
        Ok(bars)
    }

    fn median_ms(&self, system: &str, phase: &str) -> Option<f64> {
        phase_summary(&self.report.rows, system, phase).map(|s| s.median_s * 1e3)
    }

    fn draw(&self, root: &DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<()> {
        let (report, phases, lo, hi) = (self.report, &self.phases, self.lo, self.hi);
        let title = format!(
            "{}: median time per phase ({} trees, {} train rows; log scale)",
            report.dataset, report.params.n_estimators, report.n_train
        );
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(70)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..phases.len() as f64, (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(phases.len() * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (x - x.floor() - 0.5).abs() < 1e-6 && i < phases.len() {
                    phases[i].to_string()
                } else {
                    String::new()
                }
            })
            .y_desc("milliseconds (median)")
            .y_label_formatter(&|v| {
                if *v >= 1.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.3}")
                }
            })
            .label_style(("sans-serif", 13))
            .draw()?;
        let group = 0.8;
        let bar = group / self.systems.len() as f64;
        for (j, system) in self.systems.iter().enumerate() {
            let color = COLORS[j % COLORS.len()];
            let bars: Vec<_> = phases
                .iter()
                .enumerate()
                .filter_map(|(i, phase)| {
                    let v = self.median_ms(system, phase)?;
                    let x0 = i as f64 + (1.0 - group) / 2.0 + j as f64 * bar;
                    Some(Rectangle::new(
                        [(x0, lo), (x0 + bar * 0.92, v)],
                        color.filled(),
                    ))
                })
                .collect();
            chart
                .draw_series(bars)?
                .label(*system)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()?;
        Ok(())
    }
}
