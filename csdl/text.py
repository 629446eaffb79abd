"""Text normalisation for the sector's files: NFC everywhere, header keys without diacritics."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")


# Cell texts repeat a lot (levels, ticks, header words): both are pure, so they are cached,
# typed so that 1, 1.0 and True stay apart.
@lru_cache(maxsize=1 << 16, typed=True)
def nfc(value: object) -> str:
    """NFC text with runs of white space (line breaks included) collapsed; '' for None."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=1 << 16, typed=True)
def fold(value: object) -> str:
    """A comparison key: no diacritics, đ→d, lower case, no spaces or punctuation."""
    text = unicodedata.normalize("NFD", nfc(value).replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return re.sub(r"[^0-9a-z]", "", text.lower())
