"""Ingest: native batch ingest, PutAuditEvents and which trails cover an event."""
