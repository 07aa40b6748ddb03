r"""Write a PNG grid of samples from a generator module.

    python -m hub_export.sample --module=/tmp/hub --num_samples=64 --seed=0 \
        --output=grid.png

The module is a SavedModel directory or a TF-Hub handle, loaded with
`hub.load` (with `tf.saved_model.load` for a directory when tensorflow_hub
cannot be imported). z_dim comes from the module's z_dim attribute or its
input shape, and the latent distribution from its attributes, else z is
uniform in [-1, 1] (see `hub_export/sample_lib.py`). The same seed gives the
same PNG.

Exit status: 0 written, 2 bad input (invalid flag, missing module, or a
module without a usable generator).
"""

import os

from absl import app
from absl import flags
from absl import logging

from tfgan_study import cli

_MODULE = flags.DEFINE_string(
    "module", None, "SavedModel directory or TF-Hub handle of the generator."
)
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 64, "Images in the grid.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the latents.")
_OUTPUT = flags.DEFINE_string("output", None, "Path of the PNG to write.")
_NUM_COLUMNS = flags.DEFINE_integer(
    "num_columns",
    None,
    "Grid width in images; defaults to ceil(sqrt(--num_samples)).",
)
_Z_DIM = flags.DEFINE_integer(
    "z_dim",
    None,
    "Latent size, for modules that state none; it must match the module's "
    "z_dim when the module states one.",
)
flags.mark_flags_as_required(["module", "output"])


def _flag_errors() -> list[str]:
    """Return the flag errors found before TensorFlow loads."""
    errors = []
    module = _MODULE.value
    if "://" not in module and not os.path.isdir(module):
        errors.append(
            f"--module {module} not found. Expected a SavedModel directory "
            "or a TF-Hub handle URL."
        )
    if os.path.isdir(_OUTPUT.value):
        errors.append(
            f"--output {_OUTPUT.value} is a directory. Expected the path of "
            "a PNG file, such as grid.png."
        )
    if _SEED.value is not None and not 0 <= _SEED.value < 2**32:
        errors.append(
            f"--seed must be in [0, 2**32). Received: {_SEED.value}."
        )
    for flag in (_NUM_SAMPLES, _NUM_COLUMNS, _Z_DIM):
        if flag.value is not None and flag.value < 1:
            errors.append(
                f"--{flag.name} must be at least 1. Received: {flag.value}."
            )
    return errors


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        logging.error("Unexpected arguments: %s", " ".join(argv[1:]))
        return cli.EXIT_BAD_INPUT
    errors = _flag_errors()
    if errors:
        for message in errors:
            logging.error("%s", message)
        return cli.EXIT_BAD_INPUT

    # TensorFlow is imported here so that flag errors return quickly.
    from hub_export import sample_lib

    try:
        sample_lib.write_sample_grid(
            _MODULE.value,
            _OUTPUT.value,
            _NUM_SAMPLES.value,
            _SEED.value,
            _NUM_COLUMNS.value,
            _Z_DIM.value,
        )
    except ValueError as error:
        logging.error("%s", error)
        return cli.EXIT_BAD_INPUT
    return cli.EXIT_OK


def run() -> None:
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run()
