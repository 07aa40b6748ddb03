#!/usr/bin/env bash
# Install tfgan_study into .venv, train SNDCGAN on Fashion-MNIST for a short
# run with evaluation, export the best generator and draw a sample grid.
#
#   TFDS_DATA_DIR=/path/to/tfds EVAL_MODEL=/path/to/features bash quickstart.sh
#
# TFDS_DATA_DIR must hold fashion_mnist prepared (this project never
# downloads data; `tfds build fashion_mnist` prepares it on a machine with
# internet). Give absolute paths: the script changes into the repository
# before it uses them. EVAL_MODEL is the feature
# network; it defaults to TF-GAN's Inception module on TF-Hub. STEPS,
# EVAL_EVERY and NUM_EVAL_SAMPLES shorten or lengthen the run; RUN_DIR says
# where it goes.
set -euo pipefail
cd "$(dirname "$0")"

STEPS="${STEPS:-400}"
EVAL_EVERY="${EVAL_EVERY:-200}"
NUM_EVAL_SAMPLES="${NUM_EVAL_SAMPLES:-2000}"
RUN_DIR="${RUN_DIR:-runs/quickstart}"
EVAL_MODEL="${EVAL_MODEL:-https://tfhub.dev/tensorflow/tfgan/eval/inception/1}"

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet -c requirements.lock -e ".[test]"

.venv/bin/python -m tfgan_study.train \
  --model_dir="$RUN_DIR" \
  --dataset=fashion_mnist \
  --architecture=sndcgan --loss=ns --normalization=spectral_norm \
  --training_steps="$STEPS" \
  --eval_every_steps="$EVAL_EVERY" \
  --checkpoint_every_steps="$EVAL_EVERY" \
  --log_every_steps=50 \
  --num_eval_samples="$NUM_EVAL_SAMPLES" \
  --eval_model="$EVAL_MODEL"

.venv/bin/python -m hub_export.export \
  --model_dir="$RUN_DIR" --export_dir="$RUN_DIR/hub" --overwrite

.venv/bin/python -m hub_export.sample \
  --module="$RUN_DIR/hub" --num_samples=64 --seed=0 \
  --output="$RUN_DIR/samples.png"

echo "Scores per checkpoint: $RUN_DIR/scores.csv"
echo "Exported generator: $RUN_DIR/hub; samples: $RUN_DIR/samples.png"
