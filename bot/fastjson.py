"""JSON through orjson where it gives exactly what the standard library gives, else `json`.

A watcher tick decodes ~1.7 MB of scheduler lists at 10,000 jobs and encodes the snapshot it
stores; orjson does either in a fraction of the time. Its results differ from `json`'s in a few
places, each handled here: it reads integers beyond 64 bits as floats (silently), refuses NaN,
Infinity, lone surrogates and encodings other than UTF-8 when reading, and refuses integers
beyond 64 bits and lone surrogates when writing.

One rule on top of `json` (issue 9, defect 1): `loads` never gives a string that holds a lone
UTF-16 surrogate. `"\\ud800"` is valid JSON, but such a string cannot be encoded as UTF-8, so
SQLite, PostgreSQL and httpx refuse it wherever it goes next; one job id holding one stopped its
provider's watcher on every tick, across restarts. Each lone surrogate becomes U+FFFD (the
replacement character), at this boundary, for upstream bodies and stored rows alike, so a
snapshot stored by older code loads healed. orjson already refuses lone surrogates, so only
the `json` path pays for the scrub; a body orjson reads costs nothing more.

The same for NUL (`"\\u0000"`, valid JSON too): PostgreSQL refuses it in any text column, and
no id or name means one. It can only stand in JSON as that escape, so one `in` test per body
finds it; such a body takes the `json` path and is healed the same way.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

__all__ = ["NestedTooDeep", "dumps", "loads"]


class NestedTooDeep(ValueError, RecursionError):
    """JSON nested past the decoder's recursion limit. A ValueError, like any body that
    cannot be decoded, so every caller that handles those handles this one; and still a
    RecursionError, for a caller that wants to say so."""


#: `bytes.translate` table: a digit → `0`; what may stand right before a JSON number (`[`, `,`,
#: `:`, `-`, white space) → `|`; anything else → `x`.
_NUMBER_SHAPE = bytes(
    ord("0") if c in b"0123456789" else ord("|") if c in b"[,:- \t\r\n" else ord("x")
    for c in range(256)
)
#: Where an integer of 19 digits or more may start (2**63 has 19 digits).
_LONG_INT = b"|" + b"0" * 19

#: A surrogate code point in decoded text (JSON read from bytes with `surrogatepass`, as
#: `json.loads` reads them, or a `str` that already holds one).
_RAW_SURROGATE = re.compile("[\ud800-\udfff]")
#: A `\\u` escape of a surrogate may be there (a cheap test before the exact scan below).
_SURROGATE_ESCAPE_HINT = re.compile(r"\\u[dD][89a-fA-F]")
#: Left to right, an escaped backslash (so that `\\\\ud800` is not read as an escape), a
#: high+low escape pair (one valid character), a lone high or low surrogate escape, or NUL.
_SURROGATE_ESCAPE = re.compile(
    r"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}(?:\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
    r"|\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u0000"
)
#: The escape of NUL: the one way a NUL can stand in JSON text (a raw NUL byte is no JSON).
_NUL_ESCAPE = "\\u0000"


def loads(data: bytes | str) -> Any:
    """`json.loads(data)`, through orjson wherever that gives the same value, except that no
    string in the result holds a lone surrogate or a NUL (each becomes U+FFFD).

    Text in which a run of 19 digits or more may be a number (right after `[`, `,`, `:`, `-`
    or white space, or at the start: a cheap scan that a digit run inside a string seldom
    trips) is read by the standard library, and so is what orjson refuses; its
    errors (ValueError) stay the errors, and nesting deeper than the interpreter's recursion
    limit (~1,000) is `NestedTooDeep`, a ValueError too.
    """
    if isinstance(data, str):
        try:
            raw = data.encode()
        except UnicodeEncodeError:  # a lone surrogate
            return _std_loads(data)
    else:
        raw = data
    shape = raw.translate(_NUMBER_SHAPE)
    if (
        _LONG_INT not in shape
        and not shape.startswith(_LONG_INT[1:])
        and _NUL_ESCAPE.encode() not in raw
    ):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return _std_loads(data)


def _std_loads(data: bytes | str) -> Any:
    """`json.loads` of the text with its lone surrogates healed; RecursionError →
    `NestedTooDeep`."""
    # Decoded as `json.loads` decodes bytes (its encoding guess, surrogates passed through),
    # so that what is healed is exactly what it would have read.
    text = (
        data if isinstance(data, str) else data.decode(json.detect_encoding(data), "surrogatepass")
    )
    try:
        return json.loads(_heal_surrogates(text))
    except RecursionError:
        raise NestedTooDeep("JSON nested deeper than the decoder's recursion limit") from None


def _heal_surrogates(text: str) -> str:
    """JSON text whose strings can hold no lone surrogate or NUL once decoded: each lone
    surrogate, raw or as a `\\uD8xx` escape, and each `\\u0000` becomes U+FFFD; a raw
    high+low pair becomes the character it encodes; anything else is left as it is."""
    if not text.isascii() and _RAW_SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if "\\u" in text and (_SURROGATE_ESCAPE_HINT.search(text) or _NUL_ESCAPE in text):
        text = _SURROGATE_ESCAPE.sub(_heal_escape, text)
    return text


def healed(text: str) -> str:
    """`text` as `loads` would have given it: each lone surrogate and each NUL as U+FFFD (what
    no database can hold). `text` itself when it holds neither (a cheap check)."""
    if "\x00" not in text and (text.isascii() or not _RAW_SURROGATE.search(text)):
        return text
    text = text.replace("\x00", "\ufffd")
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _heal_escape(m: re.Match[str]) -> str:
    found = m.group()
    return "\\ufffd" if len(found) == 6 else found  # 6: one lone `\uXXXX`


def dumps(value: Any) -> str:
    """Compact JSON text (`separators=(",", ":")`). orjson writes UTF-8 where the standard
    library writes `\\uXXXX` escapes: a different text, the same value. What orjson refuses
    (integers beyond 64 bits, lone surrogates) is written by the standard library.

    Only for values without floats that are NaN or infinite: orjson writes those as null."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"))
