"""The budget of body bytes in flight (``server/bodies/budget.py``)."""

from __future__ import annotations

from opentrail.server.bodies.budget import Budget


def test_reservations_fit_or_take_nothing() -> None:
    budget = Budget(100)
    assert budget.reserve(60)
    assert not budget.reserve(41)
    assert budget.held == 60
    assert budget.reserve(40)
    budget.release(100)
    assert budget.held == 0
    budget.release(5)  # never below zero
    assert budget.held == 0
