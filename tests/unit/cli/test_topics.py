"""``opentrail topic`` (``cli/topics.py``) on a data directory: a topic is the bootstrap account's, in
us-east-1, unless ``--account`` and ``--region`` say otherwise; ``create`` prints its ARN
(``arn:aws:sns:REGION:ACCOUNT:NAME``), ``list`` one ``ARN<tab>URL`` line per topic. The rules of names and
URLs, and the commands against a running server, are tested end to end (``tests/e2e/test_topics.py``)."""

from __future__ import annotations

from pathlib import Path

from opentrail.delivery import topics
from opentrail.organizations import accounts
from tests.support.cli import opentrail, printed, store_of


def bootstrap_of(data_dir: Path) -> str:
    with store_of(data_dir) as store:
        account = store.get_meta(accounts.BOOTSTRAP_KEY)
    assert account is not None
    return account


def test_a_topic_is_the_bootstrap_accounts_in_us_east_1_by_default(data_dir: Path) -> None:
    result = opentrail(
        "topic", "create", "--data-dir", str(data_dir), "--url", "https://hooks.example.com/", "alerts"
    )
    assert result.exit_code == 0, result.output
    arn = f"arn:aws:sns:us-east-1:{bootstrap_of(data_dir)}:alerts"
    assert result.stdout == arn + "\n"
    with store_of(data_dir) as store:
        topic = topics.get(store, arn)
    assert topic is not None
    assert (topic.name, topic.url) == ("alerts", "https://hooks.example.com/")


def test_another_accounts_topic_in_another_region(data_dir: Path) -> None:
    owner = printed(opentrail("account", "create", "--data-dir", str(data_dir)).stdout)["account_id"]
    args = ["--data-dir", str(data_dir), "--account", owner, "--region", "eu-west-1"]
    created = opentrail("topic", "create", *args, "--url", "http://127.0.0.1:9/", "audit_alerts-2")
    assert created.stdout == f"arn:aws:sns:eu-west-1:{owner}:audit_alerts-2\n"
    deleted = opentrail("topic", "delete", *args, "audit_alerts-2")
    assert deleted.stdout == f"topic arn:aws:sns:eu-west-1:{owner}:audit_alerts-2 deleted\n"
    assert opentrail("topic", "list", "--data-dir", str(data_dir)).stdout == ""


def test_the_list_is_every_accounts_topics_unless_one_is_named(data_dir: Path) -> None:
    other = printed(opentrail("account", "create", "--data-dir", str(data_dir)).stdout)["account_id"]
    opentrail("topic", "create", "--data-dir", str(data_dir), "--url", "http://127.0.0.1:1/a", "a")
    opentrail(
        "topic", "create", "--data-dir", str(data_dir), "--account", other, "--url", "https://b.example/", "b"
    )
    mine = f"arn:aws:sns:us-east-1:{bootstrap_of(data_dir)}:a\thttp://127.0.0.1:1/a"
    theirs = f"arn:aws:sns:us-east-1:{other}:b\thttps://b.example/"
    assert sorted(opentrail("topic", "list", "--data-dir", str(data_dir)).stdout.splitlines()) == sorted(
        [mine, theirs]
    )
    assert opentrail("topic", "list", "--data-dir", str(data_dir), "--account", other).stdout == theirs + "\n"


def test_delete_takes_the_bootstrap_accounts_topic_by_default(data_dir: Path) -> None:
    opentrail("topic", "create", "--data-dir", str(data_dir), "--url", "http://127.0.0.1:1/", "going")
    result = opentrail("topic", "delete", "--data-dir", str(data_dir), "going")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"topic arn:aws:sns:us-east-1:{bootstrap_of(data_dir)}:going deleted\n"
    assert opentrail("topic", "list", "--data-dir", str(data_dir)).stdout == ""
