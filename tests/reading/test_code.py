"""Reading inline code (`python -c`, `node -e`, `mongosh --eval`, `awk`, ...): what a reviewer
is told it does, and that what cannot be read is said to be unreadable."""

from __future__ import annotations

import pytest

from bot.reading.code import MAX_CODE_BYTES, read_inline
from bot.reading.findings import Budget, Effect, Finding, OutOfTime, unlimited


class FakeShell:
    """Stands in for the shell reader: records each command; one starting `rm ` deletes."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    def __call__(self, command: str) -> list[Finding]:
        self.commands.append(command)
        if command.startswith("rm "):
            return [Finding(Effect.destructive, f"deletes files ({command})")]
        return []


def read(language: str, code: str, shell: FakeShell | None = None) -> list[Finding]:
    return read_inline(language, code, unlimited(), shell or FakeShell())


def worst(findings: list[Finding]) -> Effect | None:
    return max((f.effect for f in findings), key=lambda effect: effect.rank, default=None)


def said(findings: list[Finding]) -> str:
    return " | ".join(finding.reason for finding in findings)


HARMLESS = [
    ("python", "print(1+1)"),
    ("python", "import sys; print(sys.version)"),
    ("python", "import sys, json; print(json.load(sys.stdin)['a'])"),
    ("python", "import json, sys; json.dump({'a': 1}, sys.stdout)"),
    ("python", "import numpy; print(numpy.__version__)"),
    ("python", "import importlib.metadata as m; print(m.version('requests'))"),
    ("python", "import platform, math; print(platform.python_version(), math.pi)"),
    ("python", "import os; print(os.getcwd(), os.listdir('.'), os.path.exists('setup.py'))"),
    ("python", "from pathlib import Path; print([p.name for p in Path('.').glob('*.py')])"),
    ("python", "print(open('README.md').read()[:100])"),
    ("python", "import datetime; print(datetime.datetime.now().isoformat())"),
    ("python", "print(', '.join(sorted({'b': 1, 'a': 2}.keys())))"),
    ("python", "def f(x):\n    return x * 2\nprint(f(21))"),
    ("python", "import subprocess; subprocess.run(['git', 'status'])"),
    ("node", "console.log(process.version)"),
    ("node", "console.log(require('./package.json').version)"),
    ("node", "console.log(JSON.stringify({a: 1, b: [1, 2]}))"),
    ("node", "process.version"),
    ("node", "console.log(process.argv.slice(2).join(' '))"),
    ("node", "const {version} = require('./package.json'); console.log(version)"),
    ("perl", 'print "hello\\n"'),
    ("perl", "print if /ERROR/"),
    ("perl", "s/foo/bar/g"),
    ("perl", 'print "$]\\n"'),
    ("ruby", "puts RUBY_VERSION"),
    ("ruby", 'puts "hi"'),
    ("php", 'echo PHP_VERSION . "\\n";'),
    ("lua", "print(_VERSION)"),
    ("powershell", "Write-Output 'hi'"),
    ("powershell", "Get-ChildItem | Where-Object { $_.Length -gt 1MB } | Select-Object Name"),
    ("powershell", "Get-Process | Sort-Object CPU | Format-Table"),
    ("powershell", "$PSVersionTable.PSVersion"),
    ("awk", "{print $1}"),
    ("awk", "$3 > 1000 {print $1}"),
    ("awk", "/foo|bar/ { n++ } END { print n / 2 }"),
    ("awk", '{ print $1 > "/dev/stderr" }'),
    ("mongo", "db.users.find().limit(5)"),
    ("mongo", 'db.orders.countDocuments({status: "deleted"})'),
    ("mongo", "db.runCommand({ping: 1})"),
    ("mongo", "show dbs"),
    ("mongo", "use shop\ndb.orders.find({total: {$gt: 10}}).sort({total: -1}).toArray()"),
    ("mongo", "printjson(db.serverStatus()); rs.status(); db.hello()"),
    ("mongo", "db.orders.aggregate([{$group: {_id: '$status', n: {$sum: 1}}}])"),
]


@pytest.mark.parametrize(("language", "code"), HARMLESS)
def test_code_that_only_reads_has_no_finding(language: str, code: str) -> None:
    assert read(language, code) == []


FOUND = [
    # Python
    (
        "python",
        "import shutil; shutil.rmtree('/data')",
        Effect.destructive,
        "deletes a directory tree (shutil.rmtree('/data'))",
    ),
    (
        "python",
        "from shutil import rmtree as r; r('/srv')",
        Effect.destructive,
        "deletes a directory tree (shutil.rmtree('/srv'))",
    ),
    ("python", "import os; os.remove('/etc/app.conf')", Effect.destructive, "deletes a file"),
    (
        "python",
        "from pathlib import Path; Path('/tmp/x').unlink()",
        Effect.destructive,
        "deletes a file (Path('/tmp/x').unlink())",
    ),
    (
        "python",
        "import os, signal; os.kill(1, signal.SIGKILL)",
        Effect.destructive,
        "stops a process",
    ),
    ("python", "open('/etc/hosts', 'w').write('')", Effect.destructive, "overwrites a system file"),
    ("python", "open('out.txt', 'a').write('x')", Effect.mutating, "appends to a file"),
    ("python", "import os; os.makedirs('build')", Effect.mutating, "creates a directory"),
    (
        "python",
        "import requests; requests.post('https://x.example/hook')",
        Effect.mutating,
        "sends an HTTP POST",
    ),
    (
        "python",
        "import requests; requests.delete('https://x.example/a/1')",
        Effect.destructive,
        "sends an HTTP DELETE",
    ),
    (
        "python",
        "import boto3; boto3.client('s3').delete_bucket(Bucket='logs')",
        Effect.destructive,
        "delete_bucket(Bucket='logs')",
    ),
    (
        "python",
        "import sqlite3; sqlite3.connect('app.db').execute('DROP TABLE users')",
        Effect.destructive,
        "runs SQL that drops data (DROP TABLE users)",
    ),
    (
        "python",
        "import sqlalchemy as sa\nwith sa.create_engine('x').begin() as c:\n"
        "    c.execute(sa.text('TRUNCATE orders'))",
        Effect.destructive,
        "empties a table",
    ),
    (
        "python",
        "import os; print(os.environ.get('AWS_SECRET_ACCESS_KEY'))",
        Effect.sensitive,
        "reads environment variables",
    ),
    (
        "python",
        "print(open('/home/me/.ssh/id_rsa').read())",
        Effect.sensitive,
        "reads a secret file",
    ),
    (
        "python",
        "import os; list(map(os.remove, ['a', 'b']))",
        Effect.destructive,
        "deletes a file (os.remove)",
    ),
    # node
    (
        "node",
        "require('fs').rmSync('/srv',{recursive:true})",
        Effect.destructive,
        "deletes files (require('fs').rmSync('/srv',{recursive:true}))",
    ),
    (
        "node",
        "import {unlinkSync as rm} from 'node:fs'; rm('/srv/a')",
        Effect.destructive,
        "deletes files",
    ),
    ("node", "fs.writeFileSync('/etc/hosts', '')", Effect.destructive, "overwrites a system file"),
    ("node", "process.kill(1234)", Effect.destructive, "stops a process"),
    ("node", "console.log(process.env.TOKEN)", Effect.sensitive, "reads environment variables"),
    ("node", "['/a', '/b'].forEach(fs.unlinkSync)", Effect.destructive, "deletes files"),
    # the other scripting languages
    ("perl", 'unlink "/var/log/app.log"', Effect.destructive, "deletes files"),
    ("perl", "use File::Path; rmtree('/data')", Effect.destructive, "deletes a directory tree"),
    ("perl", 'open(my $fh, ">", "/etc/motd")', Effect.destructive, "overwrites a system file"),
    (
        "ruby",
        'require "fileutils"; FileUtils.rm_rf("/var/app")',
        Effect.destructive,
        'deletes a directory tree (FileUtils.rm_rf("/var/app"))',
    ),
    ("ruby", "puts ENV['HOME']", Effect.sensitive, "reads environment variables"),
    ("php", 'unlink("/var/www/index.php");', Effect.destructive, "deletes a file"),
    ("php", 'file_put_contents("cache.txt", "x");', Effect.mutating, "overwrites a file"),
    ("lua", 'os.remove("/tmp/lock")', Effect.destructive, "deletes a file"),
    (
        "powershell",
        "Remove-Item -Recurse -Force C:\\data",
        Effect.destructive,
        "deletes files (Remove-Item -Recurse -Force C:\\data)",
    ),
    ("powershell", "Stop-Service -Name nginx", Effect.destructive, "stops a service"),
    ("powershell", "Stop-Computer -Force", Effect.destructive, "shuts down the computer"),
    ("powershell", "Format-Volume -DriveLetter D", Effect.destructive, "formats a volume"),
    ("powershell", "Get-Process node | Stop-Process", Effect.destructive, "stops a process"),
    (
        "powershell",
        "Get-ChildItem *.log | ForEach-Object { Remove-Item $_ }",
        Effect.destructive,
        "deletes files",
    ),
    ("powershell", "Set-Content -Path notes.txt -Value hi", Effect.mutating, "writes a file"),
    ("powershell", "echo $env:GITHUB_TOKEN", Effect.sensitive, "reads environment variables"),
    # awk
    (
        "awk",
        '{ print $1 > "users.txt" }',
        Effect.mutating,
        'overwrites a file (print > "users.txt")',
    ),
    ("awk", '{ print >> "/etc/hosts" }', Effect.destructive, "appends to a system file"),
    ("awk", 'BEGIN { getline line < "/etc/shadow" }', Effect.sensitive, "reads a secret file"),
    ("awk", 'BEGIN { print ENVIRON["HOME"] }', Effect.sensitive, "reads environment variables"),
    # the mongo shell
    ("mongo", "db.orders.drop()", Effect.destructive, "drops collection orders"),
    ("mongo", "db.dropDatabase()", Effect.destructive, "drops the current database"),
    ("mongo", "db.getSiblingDB('crm').dropDatabase()", Effect.destructive, "drops database crm"),
    ("mongo", "db.orders.deleteMany({})", Effect.destructive, "deletes every document of orders"),
    ("mongo", "db.carts.remove({})", Effect.destructive, "deletes every document of carts"),
    (
        "mongo",
        "db.orders.deleteMany({status: 'void'})",
        Effect.destructive,
        "deletes documents of orders",
    ),
    (
        "mongo",
        "db.users.updateMany({}, {$set: {active: false}})",
        Effect.destructive,
        "updates every document of users",
    ),
    (
        "mongo",
        "db.users.updateMany({plan: 'free'}, {$set: {active: false}})",
        Effect.mutating,
        "updates documents of users",
    ),
    (
        "mongo",
        "db.getSiblingDB('crm').contacts.deleteMany({})",
        Effect.destructive,
        "deletes every document of contacts",
    ),
    ("mongo", "db.getCollection('audit').drop()", Effect.destructive, "drops collection audit"),
    (
        "mongo",
        "db.getCollectionNames().forEach(c => db[c].drop())",
        Effect.destructive,
        "drops collection db[c]",
    ),
    ("mongo", "db.adminCommand({shutdown: 1})", Effect.destructive, "shuts down the server"),
    ("mongo", "db.dropUser('reporting')", Effect.destructive, "drops a user"),
    ("mongo", "db.orders.dropIndexes()", Effect.destructive, "drops indexes of orders"),
    (
        "mongo",
        "db.staging.renameCollection('orders', true)",
        Effect.destructive,
        "renames collection staging over another, dropping it",
    ),
    (
        "mongo",
        "db.users.updateMany(filter, {$set: {a: 1}})",
        Effect.destructive,
        "updates documents of users chosen at run time",
    ),
    ("mongo", "db.orders.insertOne({total: 1})", Effect.mutating, "inserts documents into orders"),
    ("mongo", "db.orders.createIndex({total: 1})", Effect.mutating, "indexes of orders"),
    (
        "mongo",
        "db.orders.aggregate([{$match: {}}, {$out: 'copy'}])",
        Effect.mutating,
        "writes aggregation results",
    ),
]


@pytest.mark.parametrize(("language", "code", "effect", "words"), FOUND)
def test_code_says_what_it_does(language: str, code: str, effect: Effect, words: str) -> None:
    findings = read(language, code)
    assert worst(findings) is effect, said(findings)
    assert words in said(findings)


UNREADABLE = [
    ("python", "__import__('os').system('x')", "inline python code calls __import__"),
    ("python", "exec(input())", "inline python code calls exec"),
    ("python", "eval('1+1')", "inline python code calls eval"),
    ("python", "import os; getattr(os, 'sys' + 'tem')('id')", "getattr with a name built"),
    ("python", "import os\nprint = os.system\nprint('id')", "rebinds print"),
    ("python", "from os import *; remove('x')", "imports everything from os"),
    ("python", "import numpy as np; np.save('a.npy', [1])", "calls numpy.save"),
    ("python", "print(1 +", "inline python code does not parse"),
    ("python", "list(map(exec, ['import os']))", "uses exec as a value"),
    ("python", "open(path, mode).write('x')", "opens a file in a mode chosen at run time"),
    ("python", "import os\nm = os\nm.system('id')", "calls m.system"),
    ("node", "eval('1+1')", "inline node code calls eval"),
    ("node", "new Function('return 1')()", "builds a function from a string"),
    ("node", "require(name)", "calls require with a name built at run time"),
    ("node", "fs[method]('/x')", "calls a function chosen at run time"),
    ("node", "let process = {}; process.exit()", "rebinds process"),
    ("node", "import('fs').then(m => m.readdirSync('.'))", "calls a function chosen at run time"),
    ("node", "console.log(", "inline node code does not parse"),
    ("node", "const _ = require('lodash'); _.remove([1])", "calls lodash.remove"),
    ("node", "['1 + 1'].map(globalThis.eval)", "uses eval"),
    ("perl", "foo($x)", "inline perl code runs foo($x)"),
    ("perl", "s/x/`id`/e", "inline perl code runs s/x/`id`/e"),
    ("perl", 'print "@{[ qx(id) ]}"', "inline perl code"),
    ("ruby", 'puts "#{`id`}"', "inline ruby code"),
    ("ruby", "eval(STDIN.read)", "evaluates code built at run time"),
    ("php", 'array_map("unlink", glob("/var/www/uploads/*"));', "inline php code runs array_map"),
    ("lua", 'load("return 1")()', "loads other code"),
    ("powershell", "Invoke-Expression $script", "runs code built at run time"),
    ("powershell", "[System.IO.File]::Delete('C:\\x')", "inline powershell code runs"),
    ("awk", '@include "lib.awk"', "gawk directive"),
    ("awk", "{ print $1 > $2 }", "overwrites a file named at run time"),
    ("awk", '{ print | "sh" }', "pipes what it prints into a program that runs it"),
    ("mongo", "db.orders.mapReduce(m, r)", "mongo shell code calls mapReduce on orders"),
    ("mongo", "db.runCommand({compact: 'orders'})", "runs command compact"),
    ("mongo", "load('migrate.js')", "mongo shell code calls load"),
    ("mongo", "db.orders.find(", "mongo shell code does not parse"),
    ("mongo", "const p = [{$out: 'x'}]; db.orders.aggregate(p)", "runs a pipeline built at run"),
    ("other", 'display dialog "hi"', "inline code runs display dialog"),
    ("fortran", "print *, 'hi'", "inline code runs"),
]


@pytest.mark.parametrize(("language", "code", "words"), UNREADABLE)
def test_code_that_cannot_be_read_is_opaque(language: str, code: str, words: str) -> None:
    findings = read(language, code)
    assert worst(findings) is Effect.opaque, said(findings)
    assert f"cannot be read: {words}" in said(findings) or words in said(findings)


SHELLED = [
    ("python", 'import os; os.system("rm -rf /")', "rm -rf /"),
    ("python", "import subprocess; subprocess.run('rm -rf /x', shell=True)", "rm -rf /x"),
    ("python", "import subprocess; subprocess.run(['rm', '-rf', '/x y'])", "rm -rf '/x y'"),
    ("python", "from subprocess import check_output as co; co(['rm', '-r', 'b'])", "rm -r b"),
    ("node", "require('child_process').execSync('rm -rf /srv')", "rm -rf /srv"),
    (
        "node",
        "const {spawn} = require('child_process'); spawn('rm', ['-rf', '/srv'])",
        "rm -rf /srv",
    ),
    ("perl", 'system("rm -rf /x")', "rm -rf /x"),
    ("perl", 'system("rm", "-rf", "/x")', "rm -rf /x"),
    ("perl", "`rm -rf /x`", "rm -rf /x"),
    ("ruby", "system('rm -rf /x')", "rm -rf /x"),
    ("ruby", "%x(rm -rf /x)", "rm -rf /x"),
    ("php", 'shell_exec("rm -rf /x");', "rm -rf /x"),
    ("lua", 'os.execute("rm -rf /x")', "rm -rf /x"),
    ("awk", 'BEGIN { system("rm -rf /tmp/x") }', "rm -rf /tmp/x"),
    ("awk", '{ print $1 | "rm -rf /x" }', "rm -rf /x"),
    ("powershell", "rm -rf /x", None),  # rm is Remove-Item's alias: read as the cmdlet
    ("other", 'do shell script "rm -rf ~/x"', "rm -rf ~/x"),
]


@pytest.mark.parametrize(("language", "code", "command"), SHELLED)
def test_a_literal_shell_command_goes_to_the_shell_reader(
    language: str, code: str, command: str | None
) -> None:
    shell = FakeShell()
    findings = read(language, code, shell)
    assert worst(findings) is Effect.destructive, said(findings)
    if command is not None:
        assert shell.commands == [command]
        assert f"deletes files ({command})" in said(findings)


def test_what_the_shell_reader_finds_harmless_stays_harmless() -> None:
    shell = FakeShell()
    assert read("python", "import subprocess; subprocess.run(['git', 'log', '-1'])", shell) == []
    assert read("awk", 'BEGIN { while (("date" | getline d) > 0) print d }', shell) == []
    assert shell.commands == ["git log -1", "date"]


@pytest.mark.parametrize(
    ("language", "code", "speaker"),
    [
        ("python", "import os; os.system(cmd)", "python"),
        ("python", "import subprocess; subprocess.run(['rm', target])", "python"),
        ("node", "require('child_process').exec(`rm -rf ${dir}`)", "node"),
        ("perl", 'system("rm -rf $dir")', "perl"),
        ("ruby", 'system("rm -rf #{dir}")', "ruby"),
        ("php", "exec($cmd);", "php"),
        ("awk", '{ system("rm " $1) }', "awk"),
        ("awk", "{ cmd | getline x }", "awk"),
    ],
)
def test_a_command_built_at_run_time_cannot_be_read(language: str, code: str, speaker: str) -> None:
    shell = FakeShell()
    findings = read(language, code, shell)
    assert f"cannot be read: {speaker} runs a shell command built at run time" in said(findings)
    assert shell.commands == []


def test_destructive_calls_are_found_in_code_that_cannot_be_read_either() -> None:
    findings = read("perl", 'for my $f (@ARGV) { unlink "/srv/data" }')
    assert {f.effect for f in findings} == {Effect.destructive, Effect.opaque}
    assert "deletes files" in said(findings)


def test_names_in_strings_and_comments_of_harmless_code_are_not_calls() -> None:
    assert read("perl", 'print "unlink everything"') == []
    assert read("python", "print('shutil.rmtree(\"/data\")')") == []
    assert read("node", "console.log('fs.rmSync(\"/srv\")')") == []


def test_findings_are_not_placed() -> None:
    findings = read("python", "import shutil; shutil.rmtree('/data'); exec('x')")
    assert findings and all(finding.where == "" for finding in findings)


def test_each_finding_is_said_once() -> None:
    findings = read("python", "import os\nos.remove('a')\nos.remove('a')")
    assert len(findings) == 1


def test_code_too_large_is_not_read() -> None:
    findings = read("python", "print(1)\n" * (MAX_CODE_BYTES // 9 + 1))
    assert said(findings) == "cannot be read: inline code too large to read"


def test_code_nested_too_deeply_is_not_read() -> None:
    findings = read("python", "import os\nx = os" + ".a" * 20_000)
    assert worst(findings) is Effect.opaque


@pytest.mark.parametrize("language", ["python", "node", "mongo", "perl", "powershell", "awk"])
def test_reading_stops_when_the_budget_is_spent(language: str) -> None:
    spent = Budget(-1.0)
    with pytest.raises(OutOfTime):
        read_inline(language, "print(1)\n" * 100, spent, FakeShell())


def test_an_unknown_language_is_read_as_other() -> None:
    shell = FakeShell()
    findings = read_inline("cobol", 'system("rm -rf /x")', unlimited(), shell)
    assert shell.commands == ["rm -rf /x"]
    assert worst(findings) is Effect.destructive
