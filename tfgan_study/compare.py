r"""Compare the scores of several runs, for example one model over seeds.

    python -m tfgan_study.compare --model_dirs=fm/seed0,fm/seed1,fm/seed2 \
        --output=fid_by_step.png
    # With runs made elsewhere, from a CSV with the columns run, step, fid:
    python -m tfgan_study.compare --model_dirs=fm/seed0,fm/seed1,fm/seed2 \
        --baseline_csv=other.csv --baseline_label=pytorch

Prints a Markdown table of FID by step with each run's score (its lowest
FID, the study's rule) and the median score, and with --output draws FID
against step into a PNG. Runs evaluated with different feature networks,
sample counts, datasets or resolutions are rejected: their FIDs are not
comparable. Exit status: 0 compared, 2 bad input.
"""

import os

from absl import app
from absl import flags
from absl import logging

from tfgan_study import cli

_MODEL_DIRS = flags.DEFINE_list(
    "model_dirs", None, "Comma-separated model directories to compare."
)
_BASELINE_CSV = flags.DEFINE_string(
    "baseline_csv",
    None,
    "Optional CSV of runs made elsewhere, with the columns run, step, fid.",
)
_BASELINE_LABEL = flags.DEFINE_string(
    "baseline_label", "baseline", "Name of the --baseline_csv runs."
)
_OUTPUT = flags.DEFINE_string(
    "output", None, "Optional PNG path for the figure of FID against step."
)
flags.mark_flag_as_required("model_dirs")


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        logging.error("Unexpected arguments: %s", " ".join(argv[1:]))
        return cli.EXIT_BAD_INPUT
    if _OUTPUT.value:
        directory = os.path.dirname(os.path.abspath(_OUTPUT.value))
        if not os.path.isdir(directory):
            logging.error(
                "--output=%s: the directory %s does not exist.",
                _OUTPUT.value,
                directory,
            )
            return cli.EXIT_BAD_INPUT

    from tfgan_study import compare_lib

    model_dirs = _MODEL_DIRS.value
    try:
        if not model_dirs:
            raise compare_lib.CompareError("--model_dirs lists no directory.")
        names = compare_lib.run_names(model_dirs)
        runs = [
            compare_lib.load_run(model_dir, name)
            for model_dir, name in zip(model_dirs, names)
        ]
        compare_lib.check_comparable(runs)
        baseline = []
        if _BASELINE_CSV.value:
            baseline = compare_lib.load_baseline(_BASELINE_CSV.value)
    except compare_lib.CompareError as error:
        logging.error("%s", error)
        return cli.EXIT_BAD_INPUT

    print(compare_lib.format_table(runs))
    if baseline:
        print(f"\n{_BASELINE_LABEL.value}:\n")
        print(compare_lib.format_table(baseline))
    if _OUTPUT.value:
        compare_lib.plot(runs, baseline, _BASELINE_LABEL.value, _OUTPUT.value)
        logging.info("Wrote %s.", _OUTPUT.value)
    return cli.EXIT_OK


def run() -> None:
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run()
