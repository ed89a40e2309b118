"""Edits of a pagination token, for the tests that every edited token is refused: in process by the
sealer (``tests/unit/test_tokens.py``) and over HTTP by LookupEvents
(``tests/unit/history/test_lookup.py``)."""

from __future__ import annotations

from hypothesis import strategies as st

TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/$ "  # noqa: S105 - not a secret


@st.composite
def mutations(draw: st.DrawFn, token: str) -> str:
    """Any edit of ``token``: replace, insert or delete a character, truncate, or extend."""
    ch = st.one_of(st.sampled_from(TOKEN_ALPHABET), st.characters())
    i = draw(st.integers(0, len(token) - 1))
    how = draw(st.sampled_from(["replace", "insert", "delete", "truncate", "extend", "swap"]))
    if how == "replace":
        out = token[:i] + draw(ch.filter(lambda c: c != token[i])) + token[i + 1 :]
    elif how == "insert":
        out = token[:i] + draw(ch) + token[i:]
    elif how == "delete":
        out = token[:i] + token[i + 1 :]
    elif how == "truncate":
        out = token[:i]
    elif how == "extend":
        out = token + draw(st.text(TOKEN_ALPHABET, min_size=1, max_size=8))
    else:
        j = min(i + 1, len(token) - 1)
        out = token[:i] + token[j] + token[i] + token[j + 1 :]
    return out
