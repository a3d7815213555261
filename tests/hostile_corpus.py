"""Hostile inputs found by attacking the model and the app, as data (used by several test files).

* :data:`SHAPES`: generators of scenario files of a given size in the shapes that are costly to
  parse (the quadratic dotted key first); ``scripts/parse_budget.py`` times each at the size limit.
* ``tests/hostile/*``: the failing inputs as files, each with the text its refusal must contain
  in :data:`FILE_EXPECTATIONS` (``""`` for files that must load).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from model.fields import FIELD_NAMES

HOSTILE_DIR = Path(__file__).resolve().parent / "hostile"


def field_like_json_keys(size: int) -> bytes:
    """A flat JSON file of ``size`` bytes of unknown keys that look like field names
    (``gw_built_7``): each is close enough to a field for difflib's full ratio (~1 ms a key), so
    suggesting for all ~33,000 of a 1 MB file took 20-45 s to refuse."""
    parts: list[str] = []
    total = 2
    for i in range(size):
        part = f'"{FIELD_NAMES[i % len(FIELD_NAMES)]}_{i}": 1'
        total += len(part) + 1
        if total > size:
            break
        parts.append(part)
    return ("{" + ",".join(parts) + "}").encode()


def unknown_table_headers_toml(size: int, n: int = 1_999) -> bytes:
    """A TOML file of ``n`` unknown table headers that look like field names (``[gw_built_7]``):
    no ``=`` or ``.``, so only the line bound held them (2,000 took ~1 s)."""
    lines = "".join(f"[{FIELD_NAMES[i % len(FIELD_NAMES)]}_{i}]\n" for i in range(n))
    return lines.encode()[:size]


def _fill(unit: str, size: int, head: str = "", tail: str = "") -> str:
    n = max(1, (size - len(head) - len(tail)) // len(unit))
    return head + unit * n + tail


SHAPES: dict[str, Callable[[int], tuple[bytes, str]]] = {
    # tomllib is quadratic in the parts of a dotted key: 88 KB took ~8 GB before the pre-scan
    "dotted key": lambda n: (_fill(".a", n, "a", " = 1\n").encode(), "toml"),
    "dotted key, quoted parts": lambda n: (_fill('."a"', n, '"a"', " = 1\n").encode(), "toml"),
    "dotted table header": lambda n: (_fill(".a", n, "[a", "]\n").encode(), "toml"),
    "dotted key in inline table": lambda n: (_fill(".a", n, "x = {a", " = 1}\n").encode(), "toml"),
    "16 dots per line": lambda n: (
        "".join(f"[x{i}.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a]\n" for i in range(1999)).encode()[:n],
        "toml",
    ),
    "newlines": lambda n: (b"\n" * n, "toml"),
    "many keys": lambda n: ("".join(f"k{i} = {i}\n" for i in range(n // 10)).encode()[:n], "toml"),
    "many table headers": lambda n: (_fill("[[a]]\n", n).encode(), "toml"),
    "wide inline table": lambda n: (
        ("x = {" + ", ".join(f"k{i} = 1" for i in range(n // 10)) + "}\n").encode()[:n],
        "toml",
    ),
    "one-line array of floats": lambda n: (
        _fill("1.5, ", 4 * 16, "x = [", "1]\n").encode(),
        "toml",
    ),
    "deep TOML arrays": lambda n: (("x = " + "[" * (n // 2 - 4)).encode(), "toml"),
    "deep inline tables": lambda n: (("x = " + "{a=" * (n // 3 - 2)).encode(), "toml"),
    "long TOML string": lambda n: (_fill("a", n, 'name = "', '"\n').encode(), "toml"),
    "long TOML integer": lambda n: (
        _fill("9", n, "[scenario]\ngw_built = ", "\n").encode(),
        "toml",
    ),
    "long TOML float": lambda n: (
        _fill("1", n, "[scenario]\ngw_built = 1.", "\n").encode(),
        "toml",
    ),
    "deep JSON arrays": lambda n: (b"[" * n, "json"),
    "deep JSON objects": lambda n: (_fill('{"a":', n).encode(), "json"),
    "long JSON integer": lambda n: (
        _fill("9", n, '{"scenario": {"gw_built": ', "}}").encode(),
        "json",
    ),
    "long JSON float": lambda n: (
        _fill("1", n, '{"scenario": {"gw_built": 0.', "}}").encode(),
        "json",
    ),
    "many JSON keys": lambda n: (
        ("{" + ", ".join(f'"k{i}": 1' for i in range(n // 12)) + "}").encode()[:n],
        "json",
    ),
    "long JSON string": lambda n: (_fill("a", n, '{"name": "', '"}').encode(), "json"),
    "field-like unknown JSON keys": lambda n: (field_like_json_keys(n), "json"),
    "unknown TOML table headers": lambda n: (unknown_table_headers_toml(n), "toml"),
}

#: tests/hostile/<file> -> text its refusal must contain ("" = the file loads, gw_built = 4.5).
FILE_EXPECTATIONS: dict[str, str] = {
    "dotted-key-88kb.toml": "'.' characters",
    "flat-with-preset.toml": "put inputs under [scenario]",
    "bom.toml": "",
    "bom.json": "",
    "empty.toml": "file is empty",
    "empty.json": "file is empty",
    "comments-only.toml": "file is empty",
    "duplicate-keys.json": "'gw_built' is given twice",
    "huge-int.json": "gw_built = <a number of 5,001 digits> is out of range",
    "huge-int.toml": "a number of 5,001 digits",
    "too-many-lines.toml": "5,001 lines",
    "deep-arrays.toml": "nested too deeply",
    "shares-above-one.json": "exceeds 1",
    "unknown-table-headers.toml": "1,999 table headers",
    # dated curves (methodology 4.8): the year, the value and the allowed range named
    "curve-bad-points.toml": "curve value for 2026 = 'twelve' is not a number",
    "curve-too-many-points.json": "curve has 101 points (allowed: 1 to 100)",
    "curve-not-a-table.json": "curves.lease_rate must be a table",
}


def unknown_keys_json(n: int = 20_000) -> bytes:
    """A JSON scenario file with ``n`` unknown keys (one problem each)."""
    body = ", ".join(f'"k{i}": 1' for i in range(n))
    return ('{"scenario": {' + body + "}}").encode()
