"""Event selectors: the selector model, parsing and validation, stored facts, the matching engine, the
trail-level picker delivery uses, and the selector operations."""
