r"""Summarize one or more study directories of `python -m tuner.search`.

    python -m tuner.report --study_dir=/tmp/study_ns \
        --study_dir=/tmp/study_wgan --output_dir=/tmp/report --export_best=3

Writes into --output_dir (default STUDY_DIR/report, for the first study):

    trials.csv                    one row per ended trial: every trainer
                                  setting, FID, KID, IS, status, time
    summary.md                    studies, best trials, the figures' numbers
    fid_by_loss.png               box plots of the best trials' FIDs
    fid_by_penalty.png
    fid_by_normalization.png
    lowest_fid_by_trials.png      lowest FID against trials tried
    best_generators/<rank>_<study>_trial_<id>/   TF-Hub SavedModels

Exit status: 0 done, 2 bad input (a directory without a study, or a best
trial without a checkpoint to export), 3 an export failed its verification.
"""

import pathlib

from absl import app
from absl import flags
from absl import logging

from tfgan_study import cli

_STUDY_DIRS = flags.DEFINE_multi_string(
    "study_dir",
    None,
    "A study directory; repeat the flag to combine studies.",
)
_OUTPUT_DIR = flags.DEFINE_string(
    "output_dir", None, "Where the report goes; defaults to STUDY_DIR/report."
)
_EXPORT_BEST = flags.DEFINE_integer(
    "export_best", 0, "Export the generators of the K lowest-FID trials."
)

FIGURES = {
    "FID by loss": ("fid_by_loss.png", "loss"),
    "FID by penalty": ("fid_by_penalty.png", "penalty"),
    "FID by normalization": ("fid_by_normalization.png", "normalization"),
}
LOWEST_FID_FIGURE = "lowest_fid_by_trials.png"


def _export(rows, output_dir: pathlib.Path, count: int):
    """Export the generators of the `count` best rows.

    Returns:
      (row, export directory) per exported generator, best first.
    """
    from hub_export import export_lib
    from tuner import results

    best = results.ranked(rows)[:count]
    if len(best) < count:
        logging.warning(
            "--export_best=%d but only %d trials completed.", count, len(best)
        )
    exports = []
    for rank, row in enumerate(best, 1):
        name = pathlib.Path(row["study"]).name
        export_name = f"{rank}_{name}_trial_{row['trial_id']}"
        export_dir = output_dir / "best_generators" / export_name
        result = export_lib.export_run(
            str(results.best_model_dir(row)),
            export_dir,
            "best",
            overwrite=True,
        )
        logging.info(
            "Exported trial %s (fid=%.4g, step %d) to %s.",
            row["trial_id"],
            row["fid"],
            result.step,
            export_dir,
        )
        exports.append((row, export_dir))
    return exports


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        logging.error("Unexpected arguments: %s", " ".join(argv[1:]))
        return 2
    if not _STUDY_DIRS.value:
        logging.error("--study_dir is required.")
        return 2
    if _EXPORT_BEST.value < 0:
        logging.error(
            "--export_best must be at least 0. Received: %d.",
            _EXPORT_BEST.value,
        )
        return 2

    from tuner import figures
    from tuner import results
    from tuner import summary

    study_dirs = list(dict.fromkeys(_STUDY_DIRS.value))
    rows = []
    try:
        for study_dir in study_dirs:
            rows.extend(results.load_rows(study_dir))
    except ValueError as error:
        logging.error("%s", error)
        return 2
    output_dir = pathlib.Path(
        _OUTPUT_DIR.value or pathlib.Path(study_dirs[0]) / "report"
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    results.write_csv(rows, output_dir / "trials.csv")
    top = results.select_top(rows)
    titles = {}
    for title, (name, column) in FIGURES.items():
        figures.box_plot(top, column, title, output_dir / name)
        titles[title] = name
    figures.lowest_fid_plot(rows, output_dir / LOWEST_FID_FIGURE)
    titles["Lowest FID by trials tried"] = LOWEST_FID_FIGURE

    exports = []
    if _EXPORT_BEST.value:
        from hub_export import export_lib

        try:
            exports = _export(rows, output_dir, _EXPORT_BEST.value)
        except (ValueError, FileExistsError) as error:
            logging.error("%s", error)
            return 2
        except export_lib.ExportVerificationError as error:
            logging.error("%s", error)
            return 3
    (output_dir / "summary.md").write_text(
        summary.markdown(rows, study_dirs, titles, exports)
    )
    logging.info(
        "Report of %d trials from %d studies in %s.",
        len(rows),
        len(study_dirs),
        output_dir,
    )
    return 0


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
