"""Testing helpers for users of the SDK (a pytest fixture capturing events in memory)."""
