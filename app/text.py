"""Text made safe for Streamlit's Markdown: the one escape function, and source citations.

Streamlit renders every message, caption, label and help text as Markdown, where ``$...$`` is
KaTeX maths, ``[a](b)`` a link and ``:red[...]`` a colour. Text a user or a data file supplies must
show literally; so must the project's own text that quotes money ("US$ 43 B ... US$ 14 B" would
otherwise become italic maths). :func:`escape_markdown` is the one function for both.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"(```.*?```|`[^`\n]*`)", re.DOTALL)


def escape_markdown(text: object, *, keep_markup: bool = False) -> str:
    """Text that Streamlit shows literally.

    Parameters
    ----------
    text : object
        The text (anything else is converted with ``str``).
    keep_markup : bool
        False (default, for user and data text): every ASCII punctuation character is
        backslash-escaped and line breaks become spaces, so no link, markup, HTML, emoji code or
        maths survives. True (for the project's own Markdown, e.g. the methodology): only ``$``
        outside code is escaped, so bold, lists and tables still render but money never turns
        into maths.

    Examples
    --------
    >>> escape_markdown("US$43 B/GW, lease US$14 B")
    'US\\\\$43 B\\\\/GW\\\\, lease US\\\\$14 B'
    >>> escape_markdown("**Preset:** US$ 12.5 B; `x$`", keep_markup=True)
    '**Preset:** US\\\\$ 12.5 B; `x$`'
    """
    raw = str(text)
    if keep_markup:
        parts = _FENCE.split(raw)
        return "".join(p if i % 2 else re.sub(r"(?<!\\)\$", r"\\$", p) for i, p in enumerate(parts))
    out = []
    for ch in raw.replace("\r", " ").replace("\n", " "):
        if not ch.isprintable():
            out.append(" ")
        elif ch.isascii() and not ch.isalnum() and ch != " ":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def cite(source: str, year: int | str | None) -> str:
    """A source with its year, written once: ``Note (news report, July 1, 2026)``.

    Examples
    --------
    >>> cite("BofA note (news report, July 1)", 2026)
    'BofA note (news report, July 1, 2026)'
    >>> cite("AWS Bedrock price list", 2026)
    'AWS Bedrock price list (2026)'
    >>> cite("Report, 2026", 2026)
    'Report, 2026'
    """
    text = str(source).strip()
    if year is None or str(year) == "" or str(year) in text:
        return text
    if text.endswith(")"):
        return f"{text[:-1]}, {year})"
    return f"{text} ({year})"


__all__ = ["cite", "escape_markdown"]
