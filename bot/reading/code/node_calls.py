"""What node's calls do: the tables the node reader looks names up in.

`CALLS` holds full names after `require` and `import` are followed (`fs.rmSync`), `METHODS`
the methods of values, `BUILTINS` bare global names.
"""

from __future__ import annotations

from bot.reading.code.rules import (
    Rule,
    Site,
    Table,
    does,
    read_from,
    reads,
    refuses,
    run_command,
    run_program,
    write_to,
)
from bot.reading.findings import Effect, Finding

_D, _M, _S = Effect.destructive, Effect.mutating, Effect.sensitive


def _each(names: str, rule: Rule) -> dict[str, Rule]:
    return dict.fromkeys(names.split(), rule)


def _reads_file(site: Site) -> list[Finding]:
    return read_from(site.arg(0), site)


def _writes_file(how: str) -> Rule:
    def rule(site: Site) -> list[Finding]:
        return write_to(site.arg(0), how, site)

    return rule


MODULES = (
    "fs path os child_process util url crypto http https net dns zlib stream readline vm "
    "worker_threads cluster v8 assert events buffer querystring string_decoder timers tty"
)
GLOBALS = f"{MODULES} process console JSON Math Object Array Date Number String Buffer Promise"

# Calls and values by their full name, after `require` and `import` are followed.
CALLS = Table(
    {
        **_each("console.* JSON.* Math.* path.* url.* util.* crypto.* Number.* String.*", reads),
        **_each("Date Date.* Promise.* Buffer.* Array.from Array.isArray Array.of", reads),
        **_each("console JSON Math Object Array Number String Buffer Promise process", reads),
        **_each("Object.keys Object.values Object.entries Object.fromEntries", reads),
        **_each("process.version process.versions process.versions.* process.platform", reads),
        **_each("process.arch process.cwd process.uptime process.memoryUsage process.pid", reads),
        **_each("process.hrtime process.hrtime.* process.ppid process.argv process.argv.*", reads),
        **_each("process.execPath process.exit process.exitCode process.stdout.*", reads),
        **_each("process.stderr.* process.stdin.* process.nextTick process.title", reads),
        **_each("process.env process.env.*", does(_S, "reads environment variables")),
        "process.kill": does(_D, "stops a process"),
        "os.setPriority": does(_M, "changes a process's priority"),
        "os.*": reads,
        **_each("fs.existsSync fs.exists fs.readdir* fs.stat* fs.lstat* fs.access*", reads),
        **_each("fs.realpath* fs.readlink* fs.opendir* fs.watch* fs.constants.*", reads),
        **_each("fs.readFile* fs.createReadStream", _reads_file),
        **_each("fs.rm* fs.unlink*", does(_D, "deletes files")),
        **_each("fs.truncate* fs.ftruncate*", does(_D, "empties a file")),
        **_each("fs.writeFile* fs.createWriteStream", _writes_file("overwrites")),
        "fs.appendFile*": _writes_file("appends to"),
        **_each("fs.mkdir* fs.mkdtemp*", does(_M, "creates a directory")),
        "fs.rename*": does(_M, "renames a file"),
        **_each("fs.copyFile* fs.cp*", does(_M, "copies files")),
        **_each("fs.chmod* fs.lchmod* fs.chown* fs.lchown*", does(_M, "changes permissions")),
        **_each("fs.utimes* fs.lutimes*", does(_M, "changes file times")),
        **_each("fs.symlink* fs.link*", does(_M, "creates a link")),
        **_each("child_process.exec child_process.execSync", run_command),
        **_each("child_process.spawn* child_process.execFile*", run_program),
        "child_process.fork": refuses("runs another node program"),
        "vm.*": refuses("runs code built at run time"),
        **_each(
            "http.get https.get http.request https.request", (does(_M, "makes a network request"))
        ),
    }
)

_BUILTIN_READS = (
    "parseInt parseFloat isNaN isFinite String Number Boolean Array Object Symbol BigInt Date "
    "Map Set WeakMap WeakSet Error TypeError RangeError RegExp URL URLSearchParams Promise "
    "encodeURIComponent decodeURIComponent encodeURI decodeURI structuredClone setTimeout "
    "setInterval setImmediate clearTimeout clearInterval queueMicrotask TextEncoder TextDecoder"
)

# Calls of a global function by its bare name.
BUILTINS = Table(
    {
        **_each(_BUILTIN_READS, reads),
        "fetch": does(_M, "makes a network request"),
        "eval": refuses("calls eval"),
        "Function": refuses("builds a function from a string"),
    }
)

_VALUE_READS = (
    "map filter forEach reduce reduceRight some every find findIndex findLast findLastIndex "
    "includes indexOf lastIndexOf join split slice concat push pop shift unshift sort reverse "
    "flat flatMap keys values entries has get set add toString toFixed toPrecision "
    "toUpperCase toLowerCase trim trimStart trimEnd padStart padEnd startsWith endsWith "
    "replace replaceAll match matchAll search charAt charCodeAt codePointAt at localeCompare "
    "normalize repeat substring substr then catch finally toISOString toJSON getTime "
    "getFullYear getMonth getDate getDay getHours getMinutes getSeconds valueOf test on once "
    "write end pipe toArray"
)

# Calls of a method on a value; a value's methods named like fs's and child_process's
# functions are read as those.
METHODS = Table(
    {
        **_each(_VALUE_READS, reads),
        **_each("rm* unlink*", does(_D, "deletes files")),
        "truncate*": does(_D, "empties a file"),
        "kill": does(_D, "stops a process"),
        **_each("delete* drop* remove*", does(_D, "deletes data")),
        **_each("exec execSync", run_command),
        **_each("spawn* execFile*", run_program),
        "writeFile*": _writes_file("overwrites"),
        "appendFile*": _writes_file("appends to"),
        **_each("insert* update* create* mkdir* rename* copyFile*", does(_M, "changes data")),
    }
)

# Globals that may not be handed around as values: [s].map(eval) runs code.
UNSAFE_VALUES = {"eval", "Function", "require"}
DATA = {"version", "versions", "VERSION", "length", "name"}
TRUSTED = {*GLOBALS.split(), *BUILTINS.names(), *UNSAFE_VALUES, "globalThis", "global"}
