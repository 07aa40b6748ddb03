r"""Export a trained run as a TF2 SavedModel for `hub.load`.

    python -m hub_export.export --model_dir=/tmp/run --export_dir=/tmp/hub

The module's functions, signatures and attributes are described in
`hub_export/export_lib.py`. The export is written under a temporary name,
reloaded and compared with the restored networks, then renamed to
--export_dir, so a failed export leaves nothing behind.

Exit status: 0 exported, 2 bad input (no run, no such checkpoint, or a
non-empty --export_dir without --overwrite), 3 the reloaded export did not
match the restored networks (nothing written).
"""

import pathlib

from absl import app
from absl import flags
from absl import logging

from tfgan_study import cli

_MODEL_DIR = flags.DEFINE_string(
    "model_dir", None, "Directory of the trained run."
)
_EXPORT_DIR = flags.DEFINE_string(
    "export_dir", None, "Directory to create for the SavedModel."
)
_CHECKPOINT = flags.DEFINE_string(
    "checkpoint",
    None,
    "Checkpoint to export: best (lowest FID), latest, or a step number. "
    "Defaults to best when some checkpoint has a recorded FID, else latest.",
)
_OVERWRITE = flags.DEFINE_boolean(
    "overwrite", False, "Replace --export_dir if it exists and is not empty."
)
flags.mark_flags_as_required(["model_dir", "export_dir"])


def _path_error() -> str | None:
    """Return why the paths cannot work, checked before TensorFlow loads.

    export_lib checks the same conditions again. Checking them here too makes
    the common mistakes fail before the slow TensorFlow import.
    """
    config_path = pathlib.Path(_MODEL_DIR.value) / "config.json"
    if not config_path.exists():
        return (
            f"{_MODEL_DIR.value} contains no training run: {config_path} is "
            "missing."
        )
    export_dir = pathlib.Path(_EXPORT_DIR.value)
    if _OVERWRITE.value or not export_dir.is_dir():
        return None
    if any(export_dir.iterdir()):
        return (
            f"export_dir {export_dir} exists and is not empty. Set overwrite "
            "(--overwrite) to replace it, or choose another export_dir."
        )
    return None


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        logging.error("Unexpected arguments: %s", " ".join(argv[1:]))
        return cli.EXIT_BAD_INPUT
    error = _path_error()
    if error:
        logging.error("%s", error)
        return cli.EXIT_BAD_INPUT

    # TensorFlow is imported here so that flag errors return quickly.
    from hub_export import export_lib

    try:
        result = export_lib.export_run(
            _MODEL_DIR.value,
            _EXPORT_DIR.value,
            _CHECKPOINT.value,
            _OVERWRITE.value,
        )
    except (ValueError, FileExistsError) as error:
        logging.error("%s", error)
        return cli.EXIT_BAD_INPUT
    except export_lib.ExportVerificationError as error:
        logging.error("%s Nothing was written.", error)
        return cli.EXIT_VERIFICATION_FAILED
    logging.info(
        "Exported step %d (checkpoint %s) of %s to %s.",
        result.step,
        result.checkpoint,
        _MODEL_DIR.value,
        result.export_dir,
    )
    return cli.EXIT_OK


def run() -> None:
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run()
