//! The Python reference (`python/reference.py`, built into the binary) as a
//! server: one process per system (scikit-learn n_jobs=1 and -1, cuML) that
//! fits and predicts on command (`fit`, `predict`, `done` on its standard
//! input, `@@ {json}` answers on its output), so that `compare` can run its
//! rounds of every system.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::cli::CompareArgs;
use forest::Params;

/// The Python reference, built into the binary so `compare` works from anywhere.
const REFERENCE_PY: &str = include_str!("../../python/reference.py");

/// The Python side's closing JSON (see python/reference.py); its times come
/// one at a time, as the rounds run.
#[derive(Debug, Deserialize)]
pub struct PythonResult {
    pub system: String,
    pub device: Option<String>,
    pub library: Option<String>,
    pub mse: Option<f64>,
    /// The test set's predictions of the last round.
    pub predictions: Option<Vec<f64>>,
    pub peak_rss_bytes: Option<u64>,
}

/// Whether `python` runs and imports scikit-learn; why not, if not.
pub fn python_ready(python: &str) -> Result<(), String> {
    match Command::new(python)
        .args(["-c", "import sklearn, numpy"])
        .output()
    {
        Err(e) => Err(format!("{python} cannot be run ({e})")),
        Ok(o) if !o.status.success() => Err(format!("{python} has no scikit-learn")),
        Ok(_) => Ok(()),
    }
}

/// `reference.py --serve` for one system: fits and predicts on command, so
/// that its runs can be interleaved with the other systems' (see the module
/// documentation).
pub struct PythonServer {
    pub system: String,
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    /// Its standard error (shown if it fails), and the script's directory.
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl PythonServer {
    /// Starts `system` and waits until its data is loaded; `Ok(Err(reason))`
    /// when the system cannot run here (cuML without a CUDA GPU).
    pub fn start(
        args: &CompareArgs,
        system: &str,
        (train, test): (&Path, &Path),
        (p, workers): (&Params, usize),
    ) -> Result<Result<PythonServer, String>> {
        use std::process::Stdio;
        let dir = tempfile::tempdir()
            .context("creating a temporary directory for the Python reference")?;
        let script = dir.path().join("reference.py");
        std::fs::write(&script, REFERENCE_PY).context("writing the Python reference")?;
        let stderr = dir.path().join("stderr.txt");
        let mut cmd = Command::new(&args.python);
        cmd.arg(&script)
            .args(["--system", system, "--serve", "--train"])
            .arg(train)
            .arg("--test")
            .arg(test)
            .args(["--n-estimators", &p.n_estimators.to_string()])
            .args([
                "--max-depth",
                &p.max_depth.map_or_else(|| "none".into(), |d| d.to_string()),
            ])
            .args(["--min-samples-split", &p.min_samples_split.to_string()])
            .args(["--min-samples-leaf", &p.min_samples_leaf.to_string()])
            .args(["--max-features", &p.max_features.to_string()])
            .args(["--bootstrap", if p.bootstrap { "true" } else { "false" }])
            .args(["--seed", &p.seed.to_string()])
            // For wasm-py, the sandboxed forest from Python: the same model.
            .args(["--splitter", &p.splitter.to_string()])
            .args(["--workers", &workers.to_string()]);
        if let Some(t) = &args.target {
            cmd.args(["--target", t]);
        }
        if let Some(m) = p.max_samples {
            cmd.args(["--max-samples", &m.to_string()]);
        }
        if let Some(n) = p.max_leaf_nodes {
            cmd.args(["--max-leaf-nodes", &n.to_string()]);
        }
        cmd.args([
            "--min-weight-fraction-leaf",
            &p.min_weight_fraction_leaf.to_string(),
        ])
        .args([
            "--min-impurity-decrease",
            &p.min_impurity_decrease.to_string(),
        ]);
        // stderr to a file: a pipe nobody reads could fill and stall it.
        let err_file = std::fs::File::create(&stderr).context("creating the Python stderr file")?;
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(err_file)
            .spawn()
            .with_context(|| format!("running {}", args.python))?;
        let stdin = child.stdin.take().context("the Python reference's stdin")?;
        let stdout = child
            .stdout
            .take()
            .context("the Python reference's stdout")?;
        let mut server = PythonServer {
            system: system.to_string(),
            child,
            stdin,
            stdout: std::io::BufRead::lines(std::io::BufReader::new(stdout)),
            stderr,
            _dir: dir,
        };
        let first = server.answer()?;
        if let Some(reason) = first.get("skipped").and_then(|r| r.as_str()) {
            let _ = server.child.wait();
            return Ok(Err(reason.to_string()));
        }
        if first.get("ready").is_none() {
            bail!("reference.py --system {system}: expected it to be ready, got {first}");
        }
        Ok(Ok(server))
    }

    /// The next `@@` answer; the lines before it are its log, shown indented.
    fn answer(&mut self) -> Result<serde_json::Value> {
        loop {
            match self.stdout.next() {
                Some(line) => {
                    let line = line.context("reading the Python reference's output")?;
                    match line.strip_prefix("@@ ") {
                        Some(json) => {
                            let v: serde_json::Value = serde_json::from_str(json)
                                .context("parsing the Python reference's answer")?;
                            if let Some(e) = v.get("error") {
                                bail!("reference.py --system {}: {e}", self.system);
                            }
                            return Ok(v);
                        }
                        None => println!("  {line}"),
                    }
                }
                None => {
                    let status = self.child.wait().ok();
                    let err = std::fs::read_to_string(&self.stderr).unwrap_or_default();
                    bail!(
                        "reference.py --system {} stopped ({}):\n{err}",
                        self.system,
                        status.map_or_else(|| "?".into(), |s| s.to_string())
                    );
                }
            }
        }
    }

    fn call(&mut self, command: &str, field: &str) -> Result<f64> {
        use std::io::Write;
        writeln!(self.stdin, "{command}")
            .and_then(|()| self.stdin.flush())
            .with_context(|| {
                format!("sending {command} to reference.py --system {}", self.system)
            })?;
        let v = self.answer()?;
        v.get(field)
            .and_then(|s| s.as_f64())
            .with_context(|| format!("reference.py answered {command} with {v}"))
    }

    /// Fits a fresh model: seconds.
    pub fn fit(&mut self) -> Result<f64> {
        self.call("fit", "train_s")
    }

    /// Predicts the test set with the last model: seconds.
    pub fn predict(&mut self) -> Result<f64> {
        self.call("predict", "predict_s")
    }

    /// Ends the process: its result (MSE, device, peak RSS).
    pub fn finish(mut self) -> Result<PythonResult> {
        use std::io::Write;
        writeln!(self.stdin, "done").context("ending the Python reference")?;
        let v = self.answer()?;
        let _ = self.child.wait();
        serde_json::from_value(v).context("parsing the Python reference's result")
    }
}
