"""``opentrail serve``: the whole service (API, ingestion, event history, delivery) on one port."""

from __future__ import annotations

import gc

import click

from opentrail import __version__
from opentrail.cli.common import data_dir_option, err_console, local_settings
from opentrail.organizations import accounts
from opentrail.store import redacted


@click.command()
@data_dir_option
@click.option("--host", default=None, help="Listen address [127.0.0.1].")
@click.option("--port", type=int, default=None, help="Listen port [8790].")
@click.option("--log-level", default=None, help="uvicorn log level [info].")
@click.option(
    "--role",
    type=click.Choice(["all", "api", "worker"]),
    default=None,
    help="api: serve calls only; worker: deliver, notify, enforce retention (HTTP /health only); all [all].",
)
def serve(
    data_dir: str | None, host: str | None, port: int | None, log_level: str | None, role: str | None
) -> None:
    """Start the service (API, ingestion, event history) on the embedded defaults."""
    import uvicorn

    from opentrail.server import connections
    from opentrail.server.app import create_app

    settings = local_settings(data_dir, host=host, port=port, log_level=log_level, role=role)
    connections.reserve_descriptors(settings.max_connections)
    app = create_app(settings)
    services = app.state.services
    account = services.store.get_meta(accounts.BOOTSTRAP_KEY)
    console = err_console()
    console.print(f"OpenTrail {__version__} listening on [bold]{settings.endpoint}[/bold]")
    console.print(f"database {redacted(settings.database)}; buckets {settings.storage}")
    if settings.role != "all":
        console.print(f"role {settings.role}")
    if settings.root_access_key_id:
        console.print(f"account {account}; root credentials from OPENTRAIL_ROOT_ACCESS_KEY_ID")
    else:
        creds = settings.credentials_file.resolve()
        console.print(f"account {account}; root credentials in {creds}")
        console.print(
            f"  export AWS_SHARED_CREDENTIALS_FILE={creds} AWS_ENDPOINT_URL={settings.endpoint} "
            "AWS_DEFAULT_REGION=us-east-1"
        )
    # Everything built so far lives as long as the process: out of the collector's sight, a full
    # collection walks only what requests allocate (an in-process gen2 pass took 32 ms before).
    gc.collect()
    gc.freeze()
    # A request allocates thousands of short-lived containers (a 50-event page, a 100-record batch):
    # at the default 700 the collector ran several times a call and promoted what a call still held.
    gc.set_threshold(5000, 20, 20)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
        # Header, body and keep-alive deadlines and the connection cap: OPENTRAIL_HEADER_TIMEOUT etc.
        **connections.uvicorn_options(settings, app.state.metrics),
    )
