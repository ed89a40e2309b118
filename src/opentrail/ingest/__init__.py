"""Ingest: records checked and indexed, native batch ingest, PutAuditEvents, and which trails cover an
event."""
