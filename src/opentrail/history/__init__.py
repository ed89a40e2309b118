"""Event history: LookupEvents."""
