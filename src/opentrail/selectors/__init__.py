"""Event selectors: parsing and validation, stored facts, the matching engine and the selector operations."""
