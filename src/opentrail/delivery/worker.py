"""Trail delivery: the worker that turns the event log into log files and signed digest chains (§5).

Each trail with delivery state has one document of kind ``delivery`` (same account, home region and ARN
as the trail). It holds everything the worker needs to resume after a crash (DESIGN.md rule 2):

- ``cursor``: the highest sequence already delivered; ``batch``: the range being delivered
  (``first``, ``last`` and the delivery time ``at``), written BEFORE any object. A crash between
  writing files and advancing the cursor re-reads the same range and rewrites the same objects: every
  key and byte is a function of (trail ARN, source region, first and last sequence, ``at``).
- ``until``: set by StopLogging and DeleteTrail to the store's high sequence at that call; delivery
  finishes that range, writes final digests and goes quiet (or drops the document after a delete).
- ``regions``: per source region, the digest chain (``window`` start, the log files delivered since,
  the ``previous`` link) — digests are per (trail, source region) as CloudTrail's are.
- ``status``: the GetTrailStatus delivery facts, and the notification facts (``LatestNotification*``),
  which only ``DeliveryHooks.record_notification`` writes (the notifier reports outcomes after the
  files are out).

An organization trail has one such document per account it covers: the management account's own
(like any trail's), and one in each member account's name with the same ARN (``member`` set), each with
its own cursor over that account's events and its own digest chains, under
``AWSLogs/<o-id>/<account>/``. ``cover`` creates and ends the members' documents as the organization's
membership (or the trail's IsOrganizationTrail) changes (``hooks``).

``DeliveryHooks.lock`` keeps one process's passes and hooks from overlapping. Between processes (several nodes
on one PostgreSQL), each document is delivered by the node holding its ``lease`` (``leases.py``): every
write of the worker is fenced by it, and hooks that reset a state other than ``until``/``deleted`` bump
its ``generation``, so a pass that read the state before such a reset writes nothing of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool

from opentrail.clock import Clock, format_time
from opentrail.context import Services
from opentrail.delivery.digests import ListedLog, PreviousDigest, build_digest, metadata
from opentrail.delivery.hooks import DeliveryHooks
from opentrail.delivery.layout import digest_key, log_file_key
from opentrail.delivery.leases import LeaseLost, Leases, new_node_id, node_id
from opentrail.delivery.logfiles import build_log_file, unique_suffix
from opentrail.delivery.notifications import Notice
from opentrail.delivery.signing import Signer
from opentrail.delivery.state import KIND, DigestChain, LogRange, State, load_state, save_state
from opentrail.errors import ConfigError, StoreError
from opentrail.selectors import picker
from opentrail.storage import SSE_KMS, SSE_S3, Encryption, NoSuchBucket, Storage, StorageError
from opentrail.store import Doc, LogRow, Store
from opentrail.trails import model as trails

log = logging.getLogger("opentrail.delivery")

MAX_FILE_EVENTS = 50_000
# CloudTrail caps a file at 50 MB compressed; capping the uncompressed records keeps us well inside.
MAX_FILE_BYTES = 50 * 1024 * 1024
READ_CHUNK = 10_000
# The loop looks for due work this often, so StopLogging/DeleteTrail flush within about a second.
TICK_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300.0


@dataclass(slots=True)
class _Picked:
    """The events of a range a trail delivers, as the store's rows, and their streams' regions."""

    rows: list[LogRow]
    regions: dict[int, str]


# -- the pass -------------------------------------------------------------------------------------------


@dataclass
class Deliverer:
    store: Store
    storage: Storage
    signer: Signer
    clock: Clock
    interval: float
    digest_interval: float
    # Announces each delivered log file to the trail's topic; None delivers without notifications.
    notify: Callable[[Notice], None] | None = None
    # Which states this node delivers; by default a node of its own, alone unless the store is shared.
    leases: Leases | None = None
    # The trail hooks of this store, whose lock the passes take; by default hooks of its own.
    hooks: DeliveryHooks | None = None

    def __post_init__(self) -> None:
        if self.leases is None:
            self.leases = Leases(self.store, self.clock, new_node_id(), 15.0, shared=self.store.shared)
        if self.hooks is None:
            self.hooks = DeliveryHooks(self.store)

    @property
    def _leases(self) -> Leases:
        assert self.leases is not None  # noqa: S101  -- set in __post_init__
        return self.leases

    def run_once(self, force: bool = False) -> None:
        """One pass over the states this node holds a lease on (blocking; the loop runs it in a thread)."""
        assert self.hooks is not None  # noqa: S101  -- set in __post_init__
        with self.hooks.lock:
            high = self.store.high_sequence()
            for doc in self._leases.plan(self.store.list_docs(KIND)):
                try:
                    self._trail(doc, high, force)
                except (StoreError, KeyError) as err:
                    log.warning("delivery of %s deferred: %s", doc.arn, err)
                except LeaseLost as err:
                    log.info("delivery of %s left to another node: %s", doc.arn, err)

    def _save(self, doc: Doc, state: State, settle: Callable[[dict[str, Any]], None] | None = None) -> None:
        save_state(self.store, doc, state, settle, self._leases.fence(doc))

    def _hold(self, doc: Doc, state: State) -> None:
        """Before an object is written or the state dropped: this node still holds the lease (renewed),
        and no hook reset the state since the pass read it; else ``LeaseLost``."""

        def same(stored: dict[str, Any]) -> None:
            if stored.get("generation", 0) != state.generation:
                raise LeaseLost(f"delivery state of {doc.arn} was reset during the pass")

        self._leases.renew(doc, same)

    def _drop(self, doc: Doc, state: State) -> None:
        """A finished state goes (only by its lease holder: another node may have taken it over)."""
        self._hold(doc, state)
        self.store.delete_doc(KIND, doc.account, doc.arn)

    def _trail(self, doc: Doc, high: int, force: bool) -> None:
        state = load_state(doc)
        # A member's state of an organization trail: the trail lives in its management account.
        owner = doc.account if state.member is None else doc.arn.split(":")[4]
        live = self.store.get_doc(trails.KIND, owner, doc.arn)
        if live is not None and not state.deleted:
            state.trail = live.body
        trail = msgspec.convert(state.trail, trails.Trail)
        active = state.until is not None or trail.is_logging
        now = self.clock.now()
        if not active:
            if state.deleted:  # deleted while stopped: nothing left to finish
                self._drop(doc, state)
            return
        if now < state.retry_at:
            return
        if state.until is None and state.started != trail.start_logging_time:
            return  # StartLogging is between its trail write and resetting this state: wait for it
        # Sooner than the interval once a full file's worth may be waiting (an upper bound: the log
        # also holds other trails' and accounts' events), so a pending file never outgrows the cap.
        backlog = high - state.cursor >= MAX_FILE_EVENTS
        due = force or backlog or state.until is not None or now >= state.last_flush + self.interval
        if due and not self._deliver(doc, state, trail):
            return
        if state.until is not None and state.batch is None and state.cursor >= state.until:
            self._finish(doc, state, trail)
            return
        if trail.log_file_validation_enabled:
            self._digests(doc, state, trail, final=False)
        else:
            state.regions = {r: DigestChain() for r in state.regions}

    # -- log files --------------------------------------------------------------------------------------

    def _read(self, state: State, trail: trails.Trail) -> tuple[int, _Picked]:
        """The next range after the cursor: (its last sequence, the events of it the trail selects)."""
        account, region = picker.log_of(trail, state.member)
        wanted = picker.Picker(trail)
        last = state.cursor
        picked = _Picked([], {})
        size = 0
        while len(picked.rows) < MAX_FILE_EVENTS and size < MAX_FILE_BYTES:
            part = self.store.read_log(account, last, READ_CHUNK, state.until, region)
            if part.last == last:
                break
            picked.regions.update(part.regions)
            last = part.last
            for row in part.rows:
                if wanted(row):
                    picked.rows.append(row)
                    size += len(row[6])
                    if len(picked.rows) >= MAX_FILE_EVENTS or size >= MAX_FILE_BYTES:
                        last = row[0]  # the rest of this part goes in the next file
                        break
        return last, picked

    def _replay(self, trail: trails.Trail, batch: LogRange, member: str | None = None) -> _Picked:
        account, region = picker.log_of(trail, member)
        wanted = picker.Picker(trail)
        picked = _Picked([], {})
        after = batch.first - 1
        while after < batch.last:
            part = self.store.read_log(account, after, READ_CHUNK, batch.last, region)
            if part.last == after:
                break
            picked.regions.update(part.regions)
            picked.rows.extend(row for row in part.rows if wanted(row))
            after = part.last
        return picked

    def _deliver(self, doc: Doc, state: State, trail: trails.Trail) -> bool:
        """Deliver every range up to now (or ``until``); False when storage failed (cursor kept)."""
        while True:
            if state.batch is None:
                last, picked = self._read(state, trail)
                if last == state.cursor:
                    state.last_flush = self.clock.now()
                    self._save(doc, state)
                    return True
                if not picked.rows:  # nothing selected: move on without a file
                    state.cursor = last
                    continue
                # Fixed before any write: a retry after a crash or failure rewrites the same objects.
                state.batch = LogRange(first=picked.rows[0][0], last=last, at=self.clock.now())
                self._save(doc, state)
            else:
                picked = self._replay(trail, state.batch, state.member)
            batch = state.batch
            try:
                written = self._write(trail, doc, state, batch, picked)
            except StorageError as err:
                self._failed(doc, state, err)
                return False
            if trail.log_file_validation_enabled:
                for region, listed in written:
                    state.regions.setdefault(region, DigestChain()).logs.append(msgspec.to_builtins(listed))
            state.cursor, state.batch = batch.last, None
            state.failures, state.retry_at = 0, 0.0
            attempt = format_time(batch.at)
            state.status.update(
                LatestDeliveryTime=batch.at,
                LatestDeliveryAttemptTime=attempt,
                LatestDeliveryAttemptSucceeded=attempt,
            )
            state.status.pop("LatestDeliveryError", None)
            self._announce(trail, doc.account, written)
            self._save(doc, state)

    def _announce(self, trail: trails.Trail, account: str, written: list[tuple[str, ListedLog]]) -> None:
        """Before the cursor moves past the files: one notification per file, kept in the notifier's
        outbox (a crash before the cursor moves delivers the same files again, and finds their
        notifications already kept); it sends them in the background, so a slow or failing topic never
        holds up delivery."""
        if self.notify is None or trail.sns_topic_arn is None:
            return
        for _, listed in written:
            self.notify(Notice(account, trail.trail_arn, trail.sns_topic_arn, listed.bucket, (listed.key,)))

    def _write(
        self, trail: trails.Trail, doc: Doc, state: State, batch: LogRange, picked: _Picked
    ) -> list[tuple[str, ListedLog]]:
        account = doc.account
        by_stream: dict[int, list[LogRow]] = {}
        for row in picked.rows:
            by_stream.setdefault(row[1], []).append(row)
        written = []
        for region, rows in sorted((picked.regions[s], rows) for s, rows in by_stream.items()):
            seed = f"{trail.trail_arn}\0{region}\0{rows[0][0]}\0{rows[-1][0]}".encode()
            unique = unique_suffix(hashlib.sha256(seed).digest())
            key = log_file_key(trail.s3_key_prefix, account, region, batch.at, unique, _org_id(trail))
            built = build_log_file([row[6] for row in rows], [row[5] / 1000 for row in rows])
            sse = _sse(trail, digest=False)
            self._hold(doc, state)
            self.storage.put_object(trail.s3_bucket_name, key, built.data, {}, "application/x-gzip", sse)
            listed = ListedLog(
                trail.s3_bucket_name, key, built.sha256_hex, built.newest_event_time, built.oldest_event_time
            )
            written.append((region, listed))
        return written

    def _failed(self, doc: Doc, state: State, err: StorageError, digest: bool = False) -> None:
        now = self.clock.now()
        text = "NoSuchBucket" if isinstance(err, NoSuchBucket) else f"InternalError: {err}"
        if digest:
            state.status["LatestDigestDeliveryError"] = text
        else:
            state.status.update(LatestDeliveryError=text, LatestDeliveryAttemptTime=format_time(now))
        state.failures += 1
        backoff = min(self.interval * 2 ** (state.failures - 1), 8 * self.interval, MAX_BACKOFF_SECONDS)
        state.retry_at = now + backoff
        log.warning("delivery for %s failed (retry in %.0f s): %s", doc.arn, backoff, err)
        self._save(doc, state)

    # -- digests ----------------------------------------------------------------------------------------

    def _regions(self, state: State, trail: trails.Trail) -> list[str]:
        regions = set(state.regions)
        regions.add(trail.home_region)
        return sorted(regions)

    def _digests(self, doc: Doc, state: State, trail: trails.Trail, *, final: bool) -> bool:
        period = max(1, round(self.digest_interval))
        now = int(self.clock.now())
        changed = False
        # Final digests end at the recorded ``closing`` time, not "now": one rewritten after a crash gets
        # the same key and bytes, instead of a second final digest beside the first.
        closing = now if state.closing is None else int(state.closing)
        for region in self._regions(state, trail):
            chain = state.regions.setdefault(region, DigestChain())
            if chain.window is None:
                chain.window = float(closing if final else now)
                changed = True
            start = int(chain.window)
            # A region the trail stopped covering (UpdateTrail made it single-region) ends its chain
            # with a final digest, as StopLogging does, and the chain is dropped.
            left = not trail.is_multi_region_trail and region != trail.home_region
            if final or left:
                if final and start >= closing and chain.previous is not None and not chain.logs:
                    continue  # closed already: this final digest was written and recorded before a crash
                # At least a second long, so its key never equals the previous digest's.
                end = max(closing, start + 1)
            elif now >= start + period:
                end = start + period
            else:
                continue
            try:
                self._hold(doc, state)
                self._digest(doc.account, trail, region, chain, start, end)
            except StorageError as err:
                self._failed(doc, state, err, digest=True)
                return False
            changed = True
            state.status["LatestDigestDeliveryTime"] = float(end)
            state.status.pop("LatestDigestDeliveryError", None)
            if left and not final:
                del state.regions[region]
        if changed:
            self._save(doc, state)
        return True

    def _digest(
        self, account: str, trail: trails.Trail, region: str, chain: DigestChain, start: int, end: int
    ) -> None:
        # Signed with the SOURCE region's key: validate-logs asks ListPublicKeys in the region it
        # validates (its --region), which is also the source region whose digests it lists (§5.8). And
        # with the trail owner's key: validate-logs asks with the owner's credentials, for an organization
        # trail's member digests too (AWS's keys are per region, OpenTrail's per account and region).
        key = self.signer.current_key(picker.account_of(trail), region)
        bucket = trail.s3_bucket_name
        name = digest_key(
            trail.s3_key_prefix, account, region, trail.name, trail.home_region, end, _org_id(trail)
        )
        previous = None if chain.previous is None else PreviousDigest(**chain.previous)
        digest = build_digest(
            account=account,
            start=start,
            end=end,
            bucket=bucket,
            key=name,
            fingerprint=key.public.fingerprint,
            log_files=[msgspec.convert(entry, ListedLog) for entry in chain.logs],
            previous=previous,
        )
        signature = key.sign(digest.signing_string.encode())
        self.storage.put_object(
            bucket, name, digest.gz_bytes, metadata(signature), "application/x-gzip", _sse(trail, digest=True)
        )
        link = digest.link(signature)
        chain.previous = {
            "bucket": link.bucket,
            "key": link.key,
            "sha256_hex": link.sha256_hex,
            "signature_hex": link.signature_hex,
        }
        chain.logs = []
        chain.window = float(end)

    def _finish(self, doc: Doc, state: State, trail: trails.Trail) -> None:
        """Logging stopped or the trail was deleted: final digests, then quiet.

        Crash-safe like log files: the final digests' end time is recorded before any is written, so a
        restart rewrites the same objects, and skips those already recorded (see ``_digests``); the
        chains are dropped in the same write that clears ``until``, so a restart never finds the stop
        unfinished with its chains gone (it would open new chains, each with an empty final digest)."""
        if trail.log_file_validation_enabled:
            if state.closing is None:
                state.closing = float(int(self.clock.now()))
                self._save(doc, state)
            if not self._digests(doc, state, trail, final=True):
                return
        resumed = state.resume is not None
        if state.deleted and not resumed:
            self._drop(doc, state)
            return
        state.regions, state.batch, state.closing = {}, None, None
        if state.resume is not None:  # StartLogging came before this stop was finished: carry it out now
            state.cursor, state.resume = state.resume, None
        until = state.until

        # ``until`` and ``deleted`` are written by the hooks too: cleared only if still what this pass saw.
        def settle(body: dict[str, Any]) -> None:
            if body.get("until") == until:
                body["until"] = None
            if resumed:
                body["deleted"] = False

        self._save(doc, state, settle)


def _org_id(trail: trails.Trail) -> str | None:
    """The organization id an organization trail's keys carry (``AWSLogs/<o-id>/<account>/...``)."""
    return trail.organization_id if trail.is_organization_trail else None


def _sse(trail: trails.Trail, *, digest: bool) -> Encryption | None:
    """A trail with a KMS key has its log files stored SSE-KMS under that key; its digests SSE-S3, as
    CloudTrail's are (they are never encrypted with the trail's key)."""
    if trail.kms_key_id is None:
        return None
    return Encryption(SSE_S3) if digest else Encryption(SSE_KMS, trail.kms_key_id)


# -- the loop -------------------------------------------------------------------------------------------


def deliverer(
    services: Services, hooks: DeliveryHooks, notify: Callable[[Notice], None] | None = None
) -> Deliverer:
    """The worker of this node, sharing ``hooks``'s lock with the trail listeners."""
    if services.signer is None:
        raise ConfigError("delivery needs a signer; build services with server.app.build_services")
    settings = services.settings
    node = node_id(settings.node_id)
    leases = Leases(services.store, services.clock, node, settings.lease_seconds, services.store.shared)
    return Deliverer(
        store=services.store,
        storage=services.storage,
        signer=services.signer,
        clock=services.clock,
        interval=settings.delivery_interval,
        digest_interval=settings.digest_interval,
        notify=notify,
        leases=leases,
        hooks=hooks,
    )


async def run_worker(
    services: Services, hooks: DeliveryHooks, notify: Callable[[Notice], None] | None = None
) -> None:
    """The delivery worker: a pass every tick, blocking work in a thread."""
    worker = deliverer(services, hooks, notify)
    tick = min(TICK_SECONDS, services.settings.delivery_interval)
    try:
        await run_in_threadpool(hooks.cover_all)
    except StoreError as err:
        log.warning("organization trails' coverage not checked at start: %s", err)
    while True:
        try:
            await run_in_threadpool(worker.run_once)
        except (StoreError, StorageError) as err:
            log.warning("delivery pass failed, will retry: %s", err)
        except Exception:
            # The worker's boundary: an unforeseen failure in one pass must not end delivery for good;
            # the cursor did not move, so the next pass retries the same range.
            log.exception("delivery pass failed unexpectedly, will retry")
        await asyncio.sleep(tick)
