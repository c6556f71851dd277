"""Fixtures of the portal tests; the helpers they share are in helpers.py."""

from __future__ import annotations

import pytest


@pytest.fixture
def a(world):
    """Vendor A: customers 0 and 1, each with a manager and a staff user; an admin and a rep."""
    return world["a"]


@pytest.fixture
def b(world):
    """Vendor B, the stranger: none of its ids may open anything for vendor A's users."""
    return world["b"]
