"""What Python calls do: the tables the Python reader looks names up in.

`CALLS` holds full names after imports are followed (`shutil.rmtree`), `METHODS` the methods
of values and of pathlib, `BUILTINS` bare builtin names. Destructive names come before the
patterns that read, and a name no table holds is not guessed at.
"""

from __future__ import annotations

from bot.reading.code.rules import (
    Rule,
    Site,
    Table,
    does,
    open_file,
    read_from,
    reads,
    refuses,
    run_command,
    run_sql,
    write_to,
)
from bot.reading.findings import Effect, Finding

LANGUAGE = "python"
_D, _M, _S = Effect.destructive, Effect.mutating, Effect.sensitive


# Rules that need Python's own arguments.


def _open(site: Site) -> list[Finding]:
    if not site.complete:
        return [site.cannot(f"opens a file with arguments built at run time ({site.shown})")]
    mode = site.arg(1, "mode") if site.given(1, "mode") else "r"
    return open_file(site.arg(0, "file"), mode, site)


def _path_open(site: Site) -> list[Finding]:
    mode = site.arg(0, "mode") if site.given(0, "mode") else "r"
    return open_file(site.subject, mode, site)


def _read_subject(site: Site) -> list[Finding]:
    return read_from(site.subject, site)


def _write_subject(site: Site) -> list[Finding]:
    return write_to(site.subject, "overwrites", site)


def _replace(site: Site) -> list[Finding]:
    # str.replace(old, new) reads; Path.replace(target) moves a file over another.
    return does(_M, "replaces a file")(site) if len(site.args) == 1 else []


def _by_method(site: Site) -> list[Finding]:
    # pathlib.Path.unlink and its kin read as the method they name.
    rule = METHODS.find(site.name.rpartition(".")[2])
    return rule(site) if rule else [site.cannot(f"calls {site.name}")]


def _each(names: str, rule: Rule) -> dict[str, Rule]:
    return dict.fromkeys(names.split(), rule)


_READ_MODULES = (
    "sys json math cmath statistics decimal fractions random platform datetime time calendar "
    "zoneinfo re string textwrap shlex base64 binascii hashlib uuid struct collections "
    "itertools fnmatch glob sysconfig importlib.metadata urllib.parse"
)

# Calls by their full name, after imports are followed.
CALLS = Table(
    {
        **_each(" ".join(f"{module}.*" for module in _READ_MODULES.split()), reads),
        **_each("os.path os.path.* os.getcwd os.listdir os.scandir os.walk os.stat", reads),
        **_each("os.lstat os.access os.getpid os.getppid os.getuid os.geteuid os.getgid", reads),
        **_each("os.getlogin os.uname os.cpu_count os.get_terminal_size os.fspath", reads),
        **_each("os.sep os.linesep os.pathsep os.name os.curdir os.devnull os.chdir", reads),
        **_each("pprint.pprint pprint.pformat getpass.getuser socket.gethostname", reads),
        **_each("pathlib.Path pathlib.PurePath pathlib.PosixPath pathlib.Path.home", reads),
        **_each("pathlib.Path.cwd shutil.which shutil.disk_usage urllib.request.Request", reads),
        **_each("boto3.client boto3.resource boto3.Session boto3.session.Session", reads),
        **_each("sqlite3.connect psycopg.connect psycopg2.connect pymysql.connect", reads),
        **_each("sqlalchemy.create_engine sqlalchemy.text", reads),
        **_each(
            "os.environ os.environ.* os.environb os.environb.* os.getenv os.getenvb",
            (does(_S, "reads environment variables")),
        ),
        **_each("os.remove os.unlink", does(_D, "deletes a file")),
        "os.rmdir": does(_D, "deletes a directory"),
        "os.removedirs": does(_D, "deletes directories"),
        **_each("os.kill os.killpg", does(_D, "stops a process")),
        "os.truncate": does(_D, "empties a file"),
        "shutil.rmtree": does(_D, "deletes a directory tree"),
        **_each("os.rename os.renames", does(_M, "renames a file")),
        "os.replace": does(_M, "replaces a file"),
        **_each("os.makedirs os.mkdir", does(_M, "creates a directory")),
        **_each("os.chmod os.lchmod", does(_M, "changes file permissions")),
        **_each("os.chown os.lchown shutil.chown", does(_M, "changes file ownership")),
        **_each("os.symlink os.link", does(_M, "creates a link")),
        "os.utime": does(_M, "changes file times"),
        "shutil.move": does(_M, "moves files"),
        "shutil.copy*": does(_M, "copies files"),
        **_each("shutil.make_archive shutil.unpack_archive", does(_M, "writes an archive")),
        **_each("os.system os.popen asyncio.create_subprocess_shell", run_command),
        **_each("subprocess.run subprocess.call subprocess.check_call", run_command),
        **_each("subprocess.check_output subprocess.Popen subprocess.getoutput", run_command),
        "subprocess.getstatusoutput": run_command,
        **_each("os.exec* os.spawn* os.posix_spawn* os.fork*", refuses("runs another program")),
        **_each(
            "requests.get requests.head requests.options httpx.get httpx.head",
            (does(_M, "makes a network request")),
        ),
        **_each("urllib.request.urlopen", does(_M, "makes a network request")),
        "urllib.request.urlretrieve": does(_M, "downloads a file"),
        **_each("requests.post httpx.post", does(_M, "sends an HTTP POST")),
        **_each("requests.put httpx.put", does(_M, "sends an HTTP PUT")),
        **_each("requests.patch httpx.patch", does(_M, "sends an HTTP PATCH")),
        **_each("requests.delete httpx.delete", does(_D, "sends an HTTP DELETE")),
        "pathlib.*": _by_method,
    }
)

_VALUE_READS = (
    "join split rsplit strip lstrip rstrip lower upper title capitalize casefold startswith "
    "endswith format format_map find rfind index rindex count splitlines partition rpartition "
    "encode decode zfill center ljust rjust removeprefix removesuffix isdigit isalpha isalnum "
    "isspace isupper islower isnumeric expandtabs swapcase translate keys values items get "
    "append extend pop sort reverse discard union intersection difference issubset "
    "issuperset setdefault read readline readlines write writelines flush close seek tell "
    "isoformat strftime timestamp date time astimezone total_seconds weekday isoweekday "
    "exists is_file is_dir is_symlink is_absolute glob rglob iterdir resolve absolute "
    "expanduser stat lstat with_name with_suffix with_stem joinpath relative_to as_posix "
    "match samefile cursor connect begin fetchall fetchone fetchmany scalar scalars all "
    "first one one_or_none mappings commit rollback json raise_for_status group groups "
    "groupdict span start end sub subn findall finditer fullmatch search hexdigest digest "
    "most_common bit_length to_bytes hex is_integer"
)

# Calls of a method on a value (what the value is, reading cannot always tell), and of
# pathlib's methods; destructive names come before the patterns that read.
METHODS = Table(
    {
        **_each(_VALUE_READS, reads),
        **_each("read_text read_bytes", _read_subject),
        **_each("write_text write_bytes", _write_subject),
        "open": _path_open,
        "replace": _replace,
        "unlink": does(_D, "deletes a file"),
        "rmdir": does(_D, "deletes a directory"),
        "rmtree": does(_D, "deletes a directory tree"),
        **_each("kill terminate", does(_D, "stops a process")),
        **_each("drop drop_all", does(_D, "drops tables")),
        **_each("delete delete_* purge_*", does(_D, "deletes a resource")),
        **_each("terminate_* stop_* reboot_*", does(_D, "stops a resource")),
        **_each("execute executemany executescript exec_driver_sql", run_sql),
        **_each(
            "get_secret_value get_parameter* *secret* *password*", (does(_S, "reads a secret"))
        ),
        **_each("mkdir touch", does(_M, "creates a file or directory")),
        **_each("chmod lchmod", does(_M, "changes file permissions")),
        "rename": does(_M, "renames a file"),
        **_each("symlink_to hardlink_to", does(_M, "creates a link")),
        **_each(
            "put_* create_* update_* modify_* start_* upload_* copy_* insert_*",
            (does(_M, "changes a resource")),
        ),
        **_each("list_* describe_* get_* head_*", reads),
    }
)

_BUILTIN_READS = (
    "print len str int float bool complex list dict set frozenset tuple bytes bytearray "
    "sorted reversed sum min max abs round range enumerate zip map filter any all repr ascii "
    "format hex oct bin chr ord divmod pow isinstance issubclass type iter next hash id dir "
    "callable hasattr input slice object super property staticmethod classmethod exit quit"
)
_REFUSED = "exec eval compile __import__ breakpoint globals locals vars setattr delattr help"

# Calls of a builtin by its bare name.
BUILTINS = Table(
    {
        **_each(_BUILTIN_READS, reads),
        **_each("*Error *Exception *Warning", reads),
        "open": _open,
        **{name: refuses(f"calls {name}") for name in _REFUSED.split()},
    }
)

# Builtins that may not be handed around as values: map(exec, ...) runs code.
UNSAFE_VALUES = {*_REFUSED.split(), "open", "getattr", "__builtins__"}
# Attributes of any module that are data, so `import x; print(x.__version__)` reads.
DATA = {"__version__", "version", "VERSION", "version_info", "__file__", "__name__", "__doc__"}
PATH_TYPES = {"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"}
