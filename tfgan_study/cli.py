"""Exit statuses and flag parsing shared by the project's absl binaries."""

import sys

from absl import flags

# The exit statuses of every binary of the project. The trainer's are a
# contract: the search reads them from trial processes.
EXIT_OK = 0
# Anything unexpected (an uncaught exception also ends with 1).
EXIT_ERROR = 1
# Bad flags or files: nothing was started or written.
EXIT_BAD_INPUT = 2
# The trainer met a non-finite loss and kept its last good checkpoint.
EXIT_DIVERGED = 3
# The export did not reproduce the checkpoint's images.
EXIT_VERIFICATION_FAILED = 3
# Stopped by SIGTERM after saving.
EXIT_INTERRUPTED = 4


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
