"""Metric filters at work: every log event of a group, matched against the group's metric filters,
becomes metric datapoints (``transform``), by a consumer of the log events with a durable cursor
(``worker``)."""
