"""Keep the useapi token out of what upstream sends back, however it is disguised.

Upstream (or a proxy in front of it) may echo the bearer token: raw, JSON-escaped
(`"\\u0073k-…"` decodes to the token although its bytes never appear), or cut short (the token
less its last character). Whatever upstream sent ends up in `/job` replies, alerts, error texts
and the database, so the client masks it once, on the *decoded* value: every run of the token's
characters that holds at least `TokenMask.run` characters of its *secret part* becomes `***`,
the whole run, prefix characters included.

The secret part: a useapi token begins `user:<id>-`, and so does every job id of the same user
(`user:<id>-pixverse:…`). That prefix is public and of any length (a 12-digit user id makes it
18 characters), so it counts for nothing: a run must cover at least 16 characters (`MIN_RUN`)
of what follows it. Sixteen random characters do not stand in an ordinary text by chance
(62¹⁶ ≈ 5·10²⁸ to one), while any echo worth the name (the whole token, the token less its
last character, the secret part alone) holds 16 of them or more. A secret part of 16 characters
or fewer is masked from one character short of its length (`len - 1`), so a partial echo is
still caught; one of 8 or fewer (`SHORT`) is too short to stand for the token alone, so the
prefix is then part of the secret. A token that does not begin `user:<digits>-` is all secret;
one of 8 characters or fewer is masked only whole, since shorter runs would mask ordinary
words.

The hot path (a watcher tick decodes ~3 MB of scheduler lists at 10,000 jobs) must stay cheap,
so `may_hold(raw)` decides on the raw bytes whether the decoded value needs a walk at all: a
run worth masking holds `run` consecutive characters of the secret part, so written raw it
contains one of a few disjoint chunks of the secret part (see `_chunk_starts`); written with
escapes it contains `\\u` (or `\\/`, `\\"`, `\\\\` where the token has those characters); in
UTF-16/32 it has a NUL within its first four bytes. That is one `bytes in` scan per chunk (two
or three for a 30-character token) and a memchr for a backslash, far cheaper than walking the
decoded value (`value`), which only a body that trips one gets. Job ids, which share only the
prefix, never trip it.
"""

from __future__ import annotations

import re
from typing import Any, Final

__all__ = ["MASK", "MIN_RUN", "SHORT", "TokenMask"]

MASK: Final = "***"
#: Runs holding this many of the secret part's characters are masked (shorter secret parts:
#: see the module doc).
MIN_RUN: Final = 16
#: Secret parts this short are not told apart from the prefix: the token is masked only whole.
SHORT: Final = 8

#: The public prefix of a useapi token, which the user's job ids share.
_PREFIX: Final = re.compile(r"user:[0-9]+-")

#: JSON escapes that may stand for a character of the token, by that character (`\\u` always).
_ESCAPES: Final = {"/": b"\\/", '"': b'\\"', "\\": b"\\\\"}


def _chunk_starts(length: int, run: int, chunk: int) -> range:
    """Where the chunks of a secret of `length` characters start, such that every window of
    `run` characters of it holds one whole chunk of `chunk` characters: the first one ends at
    `run`, then one every `run - chunk + 1` characters, the most that still leaves no window of
    `run` without a whole chunk."""
    return range(run - chunk, length - chunk + 1, run - chunk + 1)


class TokenMask:
    """Masks runs of one token's characters in decoded upstream values (see the module doc)."""

    __slots__ = ("_chunks", "_escapes", "_grams", "_raw_chunks", "_reach", "prefix", "run", "token")

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("TokenMask needs a token")
        self.token = token
        public = _PREFIX.match(token)
        #: Characters of the public `user:<id>-` prefix (0: the token is all secret).
        self.prefix: int = (
            public.end() if public is not None and len(token) - public.end() > SHORT else 0
        )
        secret = token[self.prefix :]
        n = len(secret)
        #: The fewest characters of the secret part a masked run holds.
        self.run: int = n if n <= SHORT else min(MIN_RUN, n - 1)
        self._grams = frozenset(secret[i : i + self.run] for i in range(n - self.run + 1))
        size = (self.run + 1) // 2
        self._chunks = tuple(
            dict.fromkeys(secret[i : i + size] for i in _chunk_starts(n, self.run, size))
        )
        self._raw_chunks = tuple(c.encode() for c in self._chunks)
        #: How far before a chunk's position a window of the secret holding it may start.
        self._reach = self.run - size
        self._escapes = (b"\\u", *(e for c, e in _ESCAPES.items() if c in token))

    def __repr__(self) -> str:  # never the token
        return f"TokenMask(run={self.run})"

    def may_hold(self, raw: bytes) -> bool:
        """Whether the JSON text `raw` may hold, once decoded, a run worth masking. False is
        certain; True only asks for `value` to look."""
        return (
            any(c in raw for c in self._raw_chunks)
            # a memchr for a backslash first: far cheaper than a search for `\\u`
            or (b"\\" in raw and any(e in raw for e in self._escapes))
            or b"\x00" in raw[:4]
        )

    def text(self, s: str) -> str:
        """`s` with every run of the token's characters that holds `run` or more characters of
        its secret part replaced by `***`, the whole run (prefix characters before it too;
        overlapping or adjacent runs become one). Returns `s` itself when nothing was masked."""
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
        spans: list[tuple[int, int]] = []
        token = self.token
        for i in sorted(starts):
            if s[i : i + self.run] not in self._grams:
                continue
            begin, end = i, i + self.run
            if spans and spans[-1][1] >= begin:  # the same run, one character further
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
                continue
            # A new run: it may go on to the left with characters that are not in any window
            # of the secret (the prefix, `user:<id>-`): the whole run is masked.
            while begin > 0 and s[begin - 1 : end] in token:
                begin -= 1
            while spans and spans[-1][1] >= begin:
                begin = min(begin, spans.pop()[0])
            spans.append((begin, end))
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
                    items = [
                        (self.text(k) if isinstance(k, str) else k, v) for k, v in node.items()
                    ]
                    node.clear()
                    node.update(items)
        return root
