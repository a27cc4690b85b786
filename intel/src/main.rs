//! `tollgate-intel` CLI: `train` and `eval` (the offline behaviour workbench; see README.md).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tollgate-intel",
    version,
    about = "Tollgate behaviour workbench: train and evaluate the behaviour model on trace files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train the behaviour model on trace files (+ synthetic bots); subject-wise CV, writes JSON.
    Train {
        #[command(flatten)]
        data: DataArgs,
        /// Model file to write.
        #[arg(long, default_value = "model/models/behaviour-v3.json")]
        out: PathBuf,
        /// Subject-wise folds for the validation report.
        #[arg(long, default_value_t = 5)]
        folds: usize,
        #[command(flatten)]
        fit: FitArgs,
        /// Also print leave-one-family-out CV (opt-in: ≈ 15× the fits of the subject-wise CV;
        /// human folds = --folds).
        #[arg(long)]
        lofo: bool,
    },
    /// Score trace files with the live scoring path; per-record JSON lines and a summary.
    Eval {
        #[command(flatten)]
        data: DataArgs,
        /// Model file [default: the compiled-in model]. Ignored with --cv.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Write one JSON line per record (id, label, score, decision, reasons, ...).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Draw ROC curves and score histograms to this SVG file.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Subject-wise k-fold cross-validation (never scores a subject it trained on).
        #[arg(long)]
        cv: Option<usize>,
        #[command(flatten)]
        fit: FitArgs,
        /// Include every feature value, the raw logit and each feature's contribution to it in the --out lines.
        #[arg(long)]
        with_features: bool,
        /// Also run leave-one-family-out CV: every bot family held out in turn, humans in
        /// subject-wise folds (--lofo-folds); ≈ (families × folds) fits, about 15× --cv 5.
        #[arg(long)]
        lofo: bool,
        /// Subject-wise human folds of --lofo.
        #[arg(long, default_value_t = 5)]
        lofo_folds: usize,
    },
    /// Adversarial rounds: train, generate candidate bots from every generator, add the ones the
    /// model scores as most human, retrain; per round: held-out bots allowed per family, humans
    /// blocked / challenged+blocked by subject-wise CV.
    Adversarial {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        fit: FitArgs,
        /// Rounds after the baseline (round 0).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Candidate batch per round (multiplier of the default synthetic counts).
        #[arg(long, default_value_t = 0.5)]
        candidate_scale: f64,
        /// Candidates added per round (the most human-scored).
        #[arg(long, default_value_t = 300)]
        keep: usize,
        /// Held-out evaluation batch (multiplier of the default synthetic counts).
        #[arg(long, default_value_t = 0.3)]
        eval_scale: f64,
        /// Subject-wise folds for the human rates (< 2: in-sample).
        #[arg(long, default_value_t = 5)]
        folds: usize,
    },
}

/// Model fitting options shared by `train` and `eval --cv`.
#[derive(Debug, clap::Args)]
struct FitArgs {
    /// L2 penalty of the regression (per 1000 units of record weight).
    #[arg(long, default_value_t = 10.0)]
    l2: f64,
    /// Boosted trees fitted on the regression's residual (0 = regression only).
    #[arg(long, default_value_t = 300)]
    trees: usize,
    /// Depth of each tree (4 ships since session 29; 3 before).
    #[arg(long, default_value_t = 4)]
    depth: usize,
    /// Shrinkage of each tree's output.
    #[arg(long, default_value_t = 0.1)]
    learning_rate: f64,
    /// Smallest hessian weight of a tree leaf.
    #[arg(long, default_value_t = 40.0)]
    min_child_weight: f64,
    /// Share of the features each tree may split on (drawn per tree; 1 = all).
    #[arg(long, default_value_t = 1.0)]
    colsample: f64,
    /// Subject-wise folds for cross-fitted calibration knots (< 2: in-sample human logits).
    #[arg(long, default_value_t = 4)]
    calib_folds: usize,
    /// One set of pointer thresholds for every device (the most lenient human source decides)
    /// instead of knots per inferred device class.
    #[arg(long)]
    no_device_calibration: bool,
    /// Margin of the device-class block knots below their source's quantile, in human logit
    /// IQRs (allow knots have none).
    #[arg(long, default_value_t = 1.0)]
    device_margin: f64,
    /// Pointer's share of the human tail budget for sessions with pointer and keys (their pair
    /// knots sit at this share of the allow quantile; the keys' at the rest).
    #[arg(long, default_value_t = 0.5)]
    pair_pointer_share: f64,
    /// Comma-separated feature names left out of the fit (ablations).
    #[arg(long, default_value = "")]
    exclude_features: String,
}

impl FitArgs {
    fn options(self, seed: u64) -> anyhow::Result<tollgate_intel::train::FitOptions> {
        Ok(tollgate_intel::train::FitOptions {
            l2: self.l2,
            boost: tollgate_intel::boost::BoostOptions {
                trees: self.trees,
                depth: self.depth,
                learning_rate: self.learning_rate,
                min_child_weight: self.min_child_weight,
                colsample: self.colsample,
                seed,
                ..Default::default()
            },
            calib_folds: self.calib_folds,
            device_calibration: !self.no_device_calibration,
            device_margin: self.device_margin,
            pair_pointer_share: self.pair_pointer_share,
            exclude: tollgate_intel::train::feature_mask(&self.exclude_features)?,
            ..Default::default()
        })
    }
}

/// Data selection shared by `train` and `eval`.
#[derive(Debug, clap::Args)]
struct DataArgs {
    /// Trace files (.jsonl or .jsonl.gz), read in place.
    #[arg(long, num_args = 1.., required = true)]
    traces: Vec<PathBuf>,
    /// Seed for synthetic bots and folds.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Multiplier of the default synthetic bot counts (0 = none).
    #[arg(long, default_value_t = 1.0)]
    synthetic_scale: f64,
    /// Keep every n-th record of each file (quick runs).
    #[arg(long, default_value_t = 1)]
    stride: usize,
    /// Score the trace records as collector captures of coalesced device samples (as
    /// Chromium's collector sends them) instead of as traces.
    #[arg(long)]
    as_captures: bool,
    /// Keep pointer coordinates logged as fractions (every x and y within [-1, 2], some
    /// fractional) as they are; by default they are rescaled to pixels by the screen's short side.
    /// The shipped model is trained with this flag (see intel/scripts/retrain.sh).
    #[arg(long)]
    keep_unit_coords: bool,
    /// Add login-length pointer windows of the pointer-only people (three approaches, each
    /// ending in a click): `score` reports them without training on them, `train` trains on them
    /// and calibrates with them like any human source.
    #[arg(long, value_enum, default_value_t = tollgate_intel::cli::LoginWindows::Off)]
    login_windows: tollgate_intel::cli::LoginWindows,
}

impl DataArgs {
    fn options(self) -> tollgate_intel::cli::DataOptions {
        tollgate_intel::cli::DataOptions {
            traces: self.traces,
            seed: self.seed,
            synth_scale: self.synthetic_scale,
            stride: self.stride,
            as_captures: self.as_captures,
            keep_unit_coords: self.keep_unit_coords,
            login_windows: self.login_windows,
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Train {
            data,
            out,
            folds,
            fit,
            lofo,
        } => {
            let fit = fit.options(data.seed)?;
            let opts = tollgate_intel::cli::TrainOptions {
                data: data.options(),
                out,
                folds,
                fit,
                lofo: lofo.then_some(folds),
            };
            tollgate_intel::cli::run_train(&opts)?;
            Ok(())
        }
        Command::Eval {
            data,
            model,
            out,
            plot,
            cv,
            fit,
            with_features,
            lofo,
            lofo_folds,
        } => {
            let fit = fit.options(data.seed)?;
            let opts = tollgate_intel::cli::EvalOptions {
                data: data.options(),
                model,
                out,
                plot,
                cv,
                fit,
                with_features,
                lofo: lofo.then_some(lofo_folds),
            };
            tollgate_intel::cli::run_eval(&opts)?;
            Ok(())
        }
        Command::Adversarial {
            data,
            fit,
            rounds,
            candidate_scale,
            keep,
            eval_scale,
            folds,
        } => {
            let fit = fit.options(data.seed)?;
            let seed = data.seed;
            let opts = tollgate_intel::adversarial::AdversarialOptions {
                seed,
                rounds,
                candidate_scale,
                keep,
                eval_scale,
                folds,
                fit,
            };
            tollgate_intel::cli::run_adversarial(&data.options(), &opts)?;
            Ok(())
        }
    }
}
