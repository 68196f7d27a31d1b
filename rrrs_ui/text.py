"""User-supplied text inside Streamlit's Markdown: shown as typed, never rendered.

`st.markdown`, `st.caption`, `st.info/warning/error/success`, titles, metric and expander labels, page
links, button labels and radio options all render Markdown (and Streamlit's own `:color[...]` directives).
An id such as `![x](http://host/b.png)` made the browser fetch an outside URL: a leak of who is looking at
which patient. Every id, name, note, file name or error message that carries user values goes through `md`
before it is interpolated into such a string; free text such as a note body is shown with `st.text`.
Widgets whose options are plain text (selectbox, dataframe cells) need nothing.
"""

from __future__ import annotations

import re

# What can make Markdown do something: link and image brackets, raw HTML and autolinks, entities, emphasis,
# code, headings, tables, strike-through, `$` maths and the backslash itself. `[` also disarms Streamlit's
# `:color[...]` directives. Full stops, commas, hyphens, '@' and the like stay as typed ("P-ALPHA", e-mails).
_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~$&{}])")
_LIST_START = re.compile(r"^(\d*)([-+=.)])")  # "- x", "+ x", "1. x", "1) x" would start a list
_BREAKS = re.compile(r"\s*[\r\n]+\s*")
# GFM turns bare "http://..." and "www...." into links, and then takes a following `"\>` into the link: shown
# as typed instead (an escaped ':' or '.' is not a link).
_AUTOLINK = re.compile(r"(?i)(\w)(:)(?=//)|\b(www)(\.)")


def md(value: object) -> str:
    """`value` as literal text inside Markdown: the characters above backslash-escaped (CommonMark lets
    any ASCII punctuation be escaped), a leading list marker too, and line breaks folded to spaces so a value
    cannot start a block of its own. None is shown as an empty string."""
    text = _BREAKS.sub(" ", "" if value is None else str(value)).strip()
    text = _AUTOLINK.sub(lambda m: f"{m[1] or m[3]}\\{m[2] or m[4]}", _SPECIAL.sub(r"\\\1", text))
    return _LIST_START.sub(r"\1\\\2", text)
