"""Exit statuses and flag parsing shared by the project's absl binaries."""

import sys

from absl import flags

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def parse_flags(argv: list[str]) -> list[str]:
    """Parse absl flags, exiting with status 2 on a malformed or missing flag.

    Pass it to `absl.app.run` as `flags_parser`, so that bad input on the
    command line ends with the same status as bad input found later.
    """
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        sys.stderr.write(f"Invalid flag: {error}\nSee --helpfull.\n")
        sys.exit(EXIT_BAD_INPUT)
