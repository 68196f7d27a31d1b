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
import string

_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def md(value: object) -> str:
    """`value` as literal text inside Markdown: every ASCII punctuation character backslash-escaped
    (CommonMark lets any of them be escaped; that covers links, images, emphasis, code, HTML `<`, entities
    `&`, headings, lists, tables, `$` maths and `:` directives), and line breaks folded to spaces so a
    value cannot start a block of its own. None is shown as an empty string."""
    text = "" if value is None else str(value)
    return _SPECIAL.sub(r"\\\1", _BREAKS.sub(" ", text)).strip()
