"""``python -m app export ...``: see :mod:`app.cli`."""

from app.cli import run

if __name__ == "__main__":
    run()
