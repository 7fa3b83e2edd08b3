"""Keep the useapi token out of what upstream sends back, however it is disguised.

Upstream (or a proxy in front of it) may echo the bearer token: raw, JSON-escaped
(`"\\u0073k-…"` decodes to the token although its bytes never appear), or cut short (the token
less its last character). Whatever upstream sent ends up in `/job` replies, alerts, error texts
and the database, so the client masks it once, on the *decoded* value: every run of at least
`TokenMask.run` consecutive characters of the token becomes `***`.

Why 16 characters (`MIN_RUN`): a useapi token begins `user:<id>-`, and so does every job id of
the same user (`user:<id>-pixverse:…`): about 10–14 characters that legitimately stand in
ordinary ids. A run of 16 needs at least two more characters from the token's random part to
match by chance — six of them for a 4-digit user id, about 62⁶ ≈ 5·10¹⁰ to one — while any echo
worth the name (the whole token, the token less its last character, half of a 32-character
one) is 16 characters or more. A token of 16 characters or fewer is masked from one character
short of its length (`len - 1`), so a partial echo is still caught; a token of 8 or fewer only
whole (`SHORT`), since shorter runs would mask ordinary words.

The hot path (a watcher tick decodes ~3 MB of scheduler lists at 10,000 jobs) must stay cheap,
so `may_hold(raw)` decides on the raw bytes whether the decoded value needs a walk at all: a
run of the token's characters, written raw, contains one of a few disjoint chunks of the
token (see `_chunk_starts`); written with escapes it contains `\\u` (or `\\/`, `\\"`, `\\\\`
where the token has those characters); in UTF-16/32 it has a NUL within its first four bytes.
That is one `bytes in` scan per chunk (two or three for a 30-character token, ~1.5 ms a 3 MB
tick each) and a memchr for a backslash; only a body that trips one is walked (`value`, ~17 ms
for 10,000 jobs).
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["MASK", "MIN_RUN", "SHORT", "TokenMask"]

MASK: Final = "***"
#: Runs of this many of the token's characters are masked (shorter tokens: see the module doc).
MIN_RUN: Final = 16
#: Tokens this short are masked only whole.
SHORT: Final = 8

#: JSON escapes that may stand for a character of the token, by that character (`\\u` always).
_ESCAPES: Final = {"/": b"\\/", '"': b'\\"', "\\": b"\\\\"}


def _chunk_starts(length: int, run: int, chunk: int) -> range:
    """Where the chunks of the token start, such that every window of `run` characters of the
    token holds one whole chunk of `chunk` characters.

    The first chunk ends at `run` (it starts as late as it can, to stay clear of the `user:<id>`
    prefix that ids share); then one every `run - chunk + 1` characters, the most that still
    leaves no window of `run` without a whole chunk."""
    return range(run - chunk, length - chunk + 1, run - chunk + 1)


class TokenMask:
    """Masks runs of one token's characters in decoded upstream values (see the module doc)."""

    __slots__ = ("_chunks", "_escapes", "_grams", "_raw_chunks", "_reach", "run", "token")

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("TokenMask needs a token")
        self.token = token
        n = len(token)
        #: The shortest run of the token's characters that is masked.
        self.run: int = n if n <= SHORT else min(MIN_RUN, n - 1)
        self._grams = frozenset(token[i:i + self.run] for i in range(n - self.run + 1))
        size = (self.run + 1) // 2
        self._chunks = tuple(dict.fromkeys(
            token[i:i + size] for i in _chunk_starts(n, self.run, size)))
        self._raw_chunks = tuple(c.encode() for c in self._chunks)
        #: How far before a chunk's position a run holding it may start.
        self._reach = self.run - size
        self._escapes = (b"\\u", *(e for c, e in _ESCAPES.items() if c in token))

    def __repr__(self) -> str:  # never the token
        return f"TokenMask(run={self.run})"

    def may_hold(self, raw: bytes) -> bool:
        """Whether the JSON text `raw` may hold, once decoded, a run worth masking. False is
        certain; True only asks for `value` to look."""
        return (any(c in raw for c in self._raw_chunks)
                # one memchr for a backslash is ~50x cheaper than a search for `\u`
                or (b"\\" in raw and any(e in raw for e in self._escapes))
                or b"\x00" in raw[:4])

    def text(self, s: str) -> str:
        """`s` with every run of `run` or more of the token's characters replaced by `***`
        (overlapping runs become one). Returns `s` itself when nothing was masked."""
        n = len(s)
        if n < self.run:
            return s
        starts: set[int] = set()
        for chunk in self._chunks:
            at = s.find(chunk)
            while at != -1:
                starts.update(range(max(0, at - self._reach), min(at, n - self.run) + 1))
                at = s.find(chunk, at + 1)
        if not starts:
            return s
        spans: list[list[int]] = []
        for i in sorted(starts):
            if s[i:i + self.run] in self._grams:
                if spans and spans[-1][1] >= i:
                    spans[-1][1] = i + self.run
                else:
                    spans.append([i, i + self.run])
        if not spans:
            return s
        out: list[str] = []
        done = 0
        for begin, end in spans:
            out += (s[done:begin], MASK)
            done = end
        out.append(s[done:])
        return "".join(out)

    def value(self, root: Any) -> Any:
        """Mask every string (dict keys too) in a decoded JSON value, in place where it is a
        list or dict; returns the value (a new one only when `root` is itself a string).

        Iterative, not recursive: a body nested a thousand deep that the decoder accepted must
        not fail here."""
        if isinstance(root, str):
            return self.text(root)
        stack: list[Any] = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                for i, item in enumerate(node):
                    if isinstance(item, str):
                        masked = self.text(item)
                        if masked is not item:
                            node[i] = masked
                    elif isinstance(item, list | dict):
                        stack.append(item)
            elif isinstance(node, dict):
                rekey = False
                for key, item in node.items():
                    if isinstance(item, str):
                        masked = self.text(item)
                        if masked is not item:
                            node[key] = masked  # same key: the dict keeps its size
                    elif isinstance(item, list | dict):
                        stack.append(item)
                    if isinstance(key, str) and self.text(key) is not key:
                        rekey = True
                if rekey:
                    items = [(self.text(k) if isinstance(k, str) else k, v)
                             for k, v in node.items()]
                    node.clear()
                    node.update(items)
        return root
