"""``python -m app export ...``: see :mod:`app.cli`."""

import sys

try:
    from app.cli import run
except KeyboardInterrupt:  # Ctrl-C while starting: the same quiet exit as during the export
    sys.stderr.write("interrupted\n")
    raise SystemExit(130) from None

if __name__ == "__main__":
    run()
