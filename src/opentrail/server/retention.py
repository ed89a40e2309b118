"""Retention, hourly: event history ingested before the window (OPENTRAIL_RETENTION_DAYS) goes, log
events older than their log group's retentionInDays, and metric datapoints older than
OPENTRAIL_METRIC_RETENTION_DAYS."""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

from opentrail.clock import to_millis
from opentrail.context import Services
from opentrail.errors import StoreError

log = logging.getLogger("opentrail")

RETENTION_CHECK_SECONDS = 3600.0


async def enforce_retention(services: Services) -> None:
    """Drop event history older than OPENTRAIL_RETENTION_DAYS (by ingestion day), once an hour."""
    while True:
        cutoff = services.clock.now() - services.settings.retention_days * 86400
        try:
            removed = await run_in_threadpool(services.store.purge_ingested_before, cutoff)
        except StoreError as err:
            log.warning("retention pass failed, will retry: %s", err)
        else:
            if removed:
                log.info("retention removed %d events ingested before %s", removed, cutoff)
        await purge_log_groups(services)
        await purge_metrics(services)
        await asyncio.sleep(RETENTION_CHECK_SECONDS)


async def purge_log_groups(services: Services) -> int:
    """Remove log events older than their group's retentionInDays (CloudWatch Logs' retention)."""
    try:
        removed = await run_in_threadpool(services.store.logs.purge, to_millis(services.clock.now()))
    except StoreError as err:
        log.warning("log group retention pass failed, will retry: %s", err)
        return 0
    if removed:
        log.info("log group retention removed %d log events", removed)
    return removed


async def purge_metrics(services: Services) -> None:
    """Drop metric seconds older than OPENTRAIL_METRIC_RETENTION_DAYS (and metrics left without any)."""
    cutoff = int(services.clock.now()) - services.settings.metric_retention_days * 86400
    try:
        removed = await run_in_threadpool(services.store.metrics.purge_before, cutoff)
    except StoreError as err:
        log.warning("metric retention pass failed, will retry: %s", err)
    else:
        if removed:
            log.info("retention removed %d metric seconds before %s", removed, cutoff)
