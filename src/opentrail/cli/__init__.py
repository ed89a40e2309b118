"""The ``opentrail`` command line: one module per group of commands."""
