"""Helpers for tests that scan report outputs for values that must not be there."""

from __future__ import annotations

from fractions import Fraction

__all__ = ["distinctive"]


def distinctive(value: float) -> str | None:
    """The first 10 significant digits of a float as repr/JSON writes it, or None when the value
    proves nothing: round values (50.0) and simple fractions (69.444... = 625/9, the share of a
    small group) are found in any table of numbers."""
    if value != value or abs(value) < 1e-6:
        return None
    if abs(Fraction(value).limit_denominator(10_000) - Fraction(value)) < 1e-9:
        return None
    text = repr(float(value))
    if "e" in text:
        return None
    digits = 0
    for i, ch in enumerate(text):
        if ch.isdigit() and (digits or ch != "0"):
            digits += 1
            if digits == 10:
                return text[:i + 1]
    return None
