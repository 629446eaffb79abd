"""Text from the data shown literally inside Streamlit markdown (no Streamlit import here).

Streamlit renders st.markdown, st.write of a string, st.subheader, st.info… as Markdown. A name
such as "**đậm**" or "[link](http://x)" in a sector file must appear as typed, never bold or as a
link (nor an image that the browser would fetch). Raw HTML is not rendered by Streamlit without
unsafe_allow_html, but escaping `<` keeps it visibly literal too. Tables (st.dataframe) show text
as text and need none of this.
"""
from __future__ import annotations

import re

# Every ASCII punctuation character CommonMark lets a backslash escape that could start markup,
# plus `$` (Streamlit renders $…$ as LaTeX) and `:` (Streamlit's :icons: and :color[text]).
_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&:=^])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")  # a newline in a name must not start a new block


def literal(value: object) -> str:
    """Markdown that displays `value` exactly as text."""
    text = _CONTROL.sub(" ", "" if value is None else str(value))
    return _MARKUP.sub(r"\\\1", text)

