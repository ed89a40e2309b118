"""Event history: LookupEvents and its rate limit."""
