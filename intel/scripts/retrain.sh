#!/bin/sh
# Reproduce the shipped behaviour model and its evaluation exactly (issue 14): build the
# workbench, train with the shipped settings (subject-wise 5-fold CV + leave-one-family-out CV,
# 5 human folds), write model/models/behaviour-v3.json, then regenerate the goldens that pin
# the compiled-in model's outputs. Run from the repository root; the trace files are read in
# place from ../shared/data/traces (or $TOLLGATE_TRACES), never copied.
#
#   intel/scripts/retrain.sh            # full settings (what ships)
#   SCREEN=1 intel/scripts/retrain.sh   # reduced screening settings, evaluation only (no write)
#
# Settings are listed once here; the model file's `notes.trained_with` repeats them.
set -eu
D=${TOLLGATE_TRACES:-../shared/data/traces}
TRACES="$D/sapimouse-dev.jsonl.gz $D/aalto-dev.jsonl.gz $D/delbot.jsonl.gz"
# Features measured not to help are `trainable: false` in model/src/features/mod.rs; an
# ablation adds e.g. EXTRA="--exclude-features key_p2p_autocorr" or EXTRA="--no-device-calibration".
# Coordinates logged as fractions (166 of DELBOT's NaturalMouseMotion files, 52 of its people's)
# are kept as logged for training: rescaling them was measured and not shipped (verifier/README.md,
# "Coordinates logged as fractions"). Scoring (`eval`, the verifier) rescales them.
DATA="--keep-unit-coords"
FIT="--seed 1 --l2 10 --depth 4 --learning-rate 0.1 --min-child-weight 40 --device-margin 1 ${EXTRA:-}"
cargo build --release -p tollgate-intel
BIN=target/release/tollgate-intel
if [ "${SCREEN:-0}" = 1 ]; then
    # Screening: 80 trees, 2 calibration folds, 3 LOFO human folds (≈ 3 min on 2 cores).
    # shellcheck disable=SC2086
    $BIN eval --traces $TRACES $DATA --cv 5 --lofo --lofo-folds 3 --trees 80 --calib-folds 2 $FIT
    exit 0
fi
# shellcheck disable=SC2086
$BIN train --traces $TRACES $DATA --folds 5 --lofo --trees 300 --calib-folds 4 $FIT \
    --out model/models/behaviour-v3.json
TOLLGATE_REGEN_FEATURES=1 cargo test -p tollgate-model --test features_golden feature_values
TOLLGATE_REGEN_MODEL_OUTPUTS=1 cargo test -p tollgate-model --test features_golden model_outputs
cargo test -p tollgate-model
