"""Records come back byte for byte: any record with the fields OpenTrail indexes, plus arbitrary others
in any JSON style, from every read path (a property test)."""

from __future__ import annotations

import itertools
import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opentrail.ingest.records import index_record
from opentrail.store import Store
from tests.support.store import ids, query

_WS = st.sampled_from(["", " ", "\n", "\t", "  ", "\r\n"])
_NUMBER = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.from_regex(r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
)
_TEXT = st.text(max_size=40)
_MODELLED = {
    "eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "eventID", "readOnly",
    "eventType", "eventCategory", "managementEvent", "userIdentity", "resources", "insightDetails",
    "eventData",
}  # fmt: skip
_IDENTITY_MODELLED = frozenset(
    {"type", "principalId", "arn", "accountId", "accessKeyId", "userName", "sessionContext"}
)


def _string(text: str) -> st.SearchStrategy[str]:
    return st.booleans().map(lambda ascii_only: json.dumps(text, ensure_ascii=ascii_only))


def _json_string() -> st.SearchStrategy[str]:
    return _TEXT.flatmap(_string)


def _object(members: st.SearchStrategy[list[tuple[str, str]]]) -> st.SearchStrategy[str]:
    """A JSON object from (already encoded key, encoded value) pairs, with arbitrary whitespace."""

    def render(data: tuple[list[tuple[str, str]], list[str]]) -> str:
        pairs, spaces = data
        ws = itertools.cycle(spaces or [""])
        body = ",".join(f"{next(ws)}{k}{next(ws)}:{next(ws)}{v}{next(ws)}" for k, v in pairs)
        return "{" + body + next(ws) + "}"

    return st.tuples(members, st.lists(_WS, min_size=1, max_size=5)).map(render)


def _key_value(
    value: st.SearchStrategy[str], exclude: frozenset[str] = frozenset()
) -> st.SearchStrategy[list[tuple[str, str]]]:
    keys = _TEXT.filter(lambda k: k not in exclude)
    return st.dictionaries(keys, value, max_size=6).flatmap(
        lambda d: st.tuples(*(st.tuples(_string(k), st.just(v)) for k, v in d.items())).map(list)
    )


_VALUE = st.recursive(
    st.one_of(st.sampled_from(["null", "true", "false"]), _NUMBER, _json_string()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(lambda xs: "[" + ",".join(xs) + "]"),
        _object(_key_value(inner)),
    ),
    max_leaves=12,
)


@st.composite
def cloudtrail_records(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    """A record with the fields OpenTrail indexes plus arbitrary others, as JSON text in any style."""
    seconds = draw(st.integers(0, 4_000_000_000))
    fraction = draw(st.sampled_from(["", ".000", ".5", ".123456"]))
    known = {
        "eventID": draw(st.text(min_size=1, max_size=64)),
        "eventName": draw(st.text(min_size=1, max_size=64)),
        "eventSource": draw(st.text(min_size=1, max_size=64)),
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + fraction + "Z",
        "awsRegion": draw(st.from_regex(r"[a-z]{2}-[a-z]{4,9}-[1-9]", fullmatch=True)),
        "userName": draw(st.text(min_size=1, max_size=32)),
    }
    identity = _object(
        _key_value(_VALUE, _IDENTITY_MODELLED).map(
            lambda extra: [(json.dumps("userName"), json.dumps(known["userName"])), *extra]
        )
    )
    members = [
        (json.dumps(k), json.dumps(known[k], ensure_ascii=draw(st.booleans())))
        for k in ("eventID", "eventName", "eventSource", "eventTime", "awsRegion")
    ]
    members.append(('"eventVersion"', json.dumps(draw(st.sampled_from(["1.0", "1.08", "1.11", "9.99"])))))
    members.append(('"userIdentity"', draw(identity)))
    members.extend(draw(_key_value(_VALUE, frozenset(_MODELLED))))
    order = draw(st.permutations(members))
    text = draw(_object(st.just(list(order))))
    return text.encode(), known


_accounts = (f"{n:012d}" for n in itertools.count(100_000_000_000))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cloudtrail_records())
def test_records_round_trip_byte_for_byte(store: Store, sent: tuple[bytes, dict[str, str]]) -> None:
    raw, known = sent
    account = next(_accounts)  # a fresh account per example: the store is shared by all examples
    stored_row = index_record(raw, account)
    store.append([stored_row])

    found = store.get_event(account, known["eventID"])
    assert found is not None
    by_id = store.lookup(
        query(account, region=known["awsRegion"], attribute="EventId", value=known["eventID"])
    )
    by_name = store.lookup(
        query(account, region=known["awsRegion"], attribute="EventName", value=known["eventName"])
    )
    by_user = store.lookup(
        query(account, region=known["awsRegion"], attribute="Username", value=known["userName"])
    )
    window = store.lookup(
        query(account, region=known["awsRegion"], start_ms=stored_row.time_ms, end_ms=stored_row.time_ms)
    )
    for events in (by_id, by_name, by_user, window):
        assert ids(events) == [known["eventID"]]
    for event in (found, *by_id, *by_name, *by_user, *window):
        assert event.row.record == raw
        assert json.loads(event.row.record) == json.loads(raw)
        assert event.row.account == account
        assert event.row.region == known["awsRegion"]
