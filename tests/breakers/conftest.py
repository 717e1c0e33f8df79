"""Breaker fixtures: the feedback receiver process of tests/feedback, with low breaker thresholds."""

from __future__ import annotations

import pytest

from tests.feedback.conftest import FeedbackWorld, feedback

__all__ = ["FeedbackWorld", "feedback"]  # feedback: the receiver fixture, used through breaker_feedback

# Small windows so that a handful of reports trips a breaker.
BREAKER_SETTINGS = {
    "breaker_min_samples": "10",
    "breaker_min_complaint_samples": "10",
    "breaker_bounce_rates": "0.2,0.4,0.6",
    "breaker_complaint_rates": "0.1,0.5,0.9",
}


@pytest.fixture
def breaker_feedback(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> FeedbackWorld:
    """tests/feedback's receiver process, started with BREAKER_SETTINGS in its environment."""
    for name, value in BREAKER_SETTINGS.items():
        monkeypatch.setenv(f"POSTWAVE_{name.upper()}", value)
    world: FeedbackWorld = request.getfixturevalue("feedback")
    return world
