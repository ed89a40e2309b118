"""Delivery: the worker, its state and leases, log files, digests, signing keys, notifications and topics."""
