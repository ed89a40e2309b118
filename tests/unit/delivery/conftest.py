"""Fixtures of the delivery unit tests: moto's server on loopback as the SNS-compatible service, and the
deployment's ``Sns`` pointed at it the standard way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opentrail.delivery.sns import Sns, open_sns
from opentrail.settings import Settings
from tests.support.sns import KEYS, MotoSns


@pytest.fixture(scope="module")
def moto_sns() -> Iterator[MotoSns]:
    """moto on a loopback port of the module's own; tests stop and start it to take SNS away."""
    moto = MotoSns()
    moto.start()
    try:
        yield moto
    finally:
        moto.stop()


@pytest.fixture
def sns(moto_sns: MotoSns, monkeypatch: pytest.MonkeyPatch) -> Sns:
    """The deployment's SNS as ``AWS_ENDPOINT_URL_SNS`` and the standard credentials make it: moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", moto_sns.endpoint)
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    made = open_sns(Settings(sns_timeout=1.0))
    assert made is not None
    return made
