"""Shared foundations: settings, errors, value types, figure parsing and small text helpers."""
