"""The stand-ins for what a client script calls that cannot run on the test machine (see script_runner.py).

AWS service: the AWS CLI's Secrets Manager calls as the client machine makes them (and, outside AWS,
  dnf, curl, systemd, users and Kafka's tools).
Sources: AWS CLI User Guide, "Command line return codes" (254/252/253); curl(1), useradd(8), chown(1),
  systemctl(1) for the other tools' answers, each cited where it is modelled.

This file is a program as well as a module: :mod:`msk_pair.emulator.script_runner` copies it into a
throwaway world directory and puts one small wrapper per tool on the script's ``PATH``, each calling
``python3 script_shims.py <tool> <args>``. It uses the standard library only (it runs under the system's
``python3``, as an unprivileged user when the tests run as root). Every call is recorded (the tool, its
arguments, the standard input it read, its exit status) in the machine's ``calls.jsonl``; what each tool
answers is what the real one would, given the world the test set up:

- ``dnf``/``yum install``: "installs" the packages (``java-17-amazon-corretto-headless`` puts ``java`` on the
  PATH, with a JDK home holding ``lib/security/cacerts``), prints what dnf prints last (``Complete!``).
- ``curl``: serves the world's downloads (an Apache Kafka release and its ``.sha512`` in Apache's format,
  built on demand: a real tarball whose ``bin/`` tools are these shims); anything else is HTTP 404, which
  with ``--fail`` is curl's exit status 22 ("HTTP page not retrieved", curl(1) EXIT CODES).
- ``aws secretsmanager get-secret-value``: the world's secret, as the AWS CLI prints it with
  ``--query SecretString --output text``; a secret the world refuses gives the service's error on stderr
  and exit status 254 ("the service returned an error"), an unknown command 252 ("command syntax was
  invalid"): AWS CLI User Guide, "Command line return codes in the AWS CLI"
  (https://docs.aws.amazon.com/cli/latest/userguide/cli-usage-returncodes.html).
- ``useradd``, ``id``: the machine's ``/etc/passwd`` and ``/etc/group`` (in its root). ``useradd`` of a user
  that exists is exit status 9 (useradd(8) EXIT VALUES: "username already in use").
- ``chown``, ``install -o/-g``: ownership cannot change here (the tests do not run as root, or run as an
  unprivileged user): the owner is recorded per inode, after checking that the user and group exist as
  chown(1) does ("invalid user"), and files no chown touched are root's, as on the machine where SSM runs
  the script as root. The modes are real.
- ``systemctl``, ``journalctl``: units read from ``/etc/systemd/system`` at ``daemon-reload`` (a restart of a
  unit whose file changed since prints systemd's warning), ``enable`` links it into ``<WantedBy>.wants``,
  ``restart`` runs its ``ExecStart`` as its ``User`` (readability of every file it opens judged from the
  recorded owners and the real modes), ``is-active`` prints the state and exits 0 only if active (systemctl(1);
  systemd's non-zero status is 3, LSB's "program is not running").
- ``bash -c 'exec 3<>/dev/tcp/H/P'`` and ``openssl s_client``: a connection succeeds unless the world marks
  the broker unreachable. Any other ``bash`` is the real one.
- Apache Kafka's tools (``kafka-topics.sh``, ``kafka-console-producer.sh``, ``kafka-console-consumer.sh``,
  ``kafka-consumer-groups.sh``, ``connect-mirror-maker.sh``): read their client configuration as Kafka does
  (java.util.Properties, the JAAS syntax of ``sasl.jaas.config``, ``${file:<path>:<key>}`` through
  FileConfigProvider) and sign in to the world's cluster only with ``security.protocol=SASL_SSL``,
  ``sasl.mechanism=SCRAM-SHA-512`` and the username and password of a secret associated with it (MSK
  developer guide, "Sign-in credentials authentication with AWS Secrets Manager"). Defaults when a key is
  missing are Kafka's (``security.protocol`` PLAINTEXT, ``sasl.mechanism`` GSSAPI: Apache Kafka
  documentation, client configs). Errors are Kafka's messages.
- ``sleep``: returns at once (no test sleeps for real).

MirrorMaker 2 does not replicate here (kafka.py models that); ``connect-mirror-maker.sh`` run by systemd
checks that the service user can read its configuration and that every cluster of it signs in, then stays
"running". A JVM would keep retrying a cluster it cannot sign in to; the shim exits instead, so the unit
is not active and the mistake shows at start.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import time

EMU = "msk-pair shim"
MSK_DEFAULT_TOPICS = ("__amazon_msk_canary",)  # what a new MSK cluster lists (MSK's own health canary)
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
SCRAM_FAILURE = (
    "org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed during authentication "
    "due to invalid credentials with SASL mechanism SCRAM-SHA-512"
)
NODE_TIMEOUT = "org.apache.kafka.common.errors.TimeoutException: Timed out waiting for a node assignment."
KAFKA_URL = re.compile(
    r"https://archive\.apache\.org/dist/kafka/(?P<v>\d+\.\d+\.\d+)/kafka_(?P<s>\d+\.\d+)-(?P=v)\.tgz(?P<sha>\.sha512)?"
)
KAFKA_TOOLS = (
    "kafka-topics.sh",
    "kafka-console-producer.sh",
    "kafka-console-consumer.sh",
    "kafka-consumer-groups.sh",
    "connect-mirror-maker.sh",
)
JDK = "/usr/lib/jvm/java-17-amazon-corretto.x86_64"


class Exit(Exception):
    def __init__(self, code: int, stderr: str = "") -> None:
        self.code = code
        self.stderr = stderr


# -- where things are -------------------------------------------------------------------------------------


def env(name: str) -> str:
    return os.environ[name]


def root() -> str:
    """The machine's root directory: the script's absolute paths were rewritten into it."""
    return env("MSKPAIR_SHIM_ROOT")


def world() -> str:
    return env("MSKPAIR_SHIM_WORLD")


def machine_dir() -> str:
    return env("MSKPAIR_SHIM_MACHINE")


def unroot(text: str) -> str:
    """A path or text as the machine sees it: without the throwaway root."""
    base = os.environ.get("MSKPAIR_SHIM_ROOT")
    return text.replace(base, "") if base else text


def inroot(path: str) -> str:
    base = root()
    return path if path.startswith(base + "/") or not path.startswith("/") else base + path


@contextlib.contextmanager
def locked(path: str, default: object):
    """A JSON state file of the world or a machine, read and written under its own exclusive lock
    (flock on ``<path>.lock``: also between threads of one process, each opening the lock file on its own)."""
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data = read_json(path, None)
            if data is None:
                data = json.loads(json.dumps(default))
            yield data
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(data, f, indent=1, sort_keys=True)
            os.replace(tmp, path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_json(path: str, default: object) -> object:
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


# -- java.util.Properties and JAAS, as Kafka reads them --------------------------------------------------


def parse_properties(text: str) -> dict[str, str]:
    """java.util.Properties.load: comments (# !), continuation lines, key ends at the first unescaped
    '=', ':' or whitespace, escapes \\t \\n \\r \\f \\uXXXX and \\<c> = <c>."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.lstrip(" \t\f")
        if not pending and (not line or line[0] in "#!"):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending += line[:-1]
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    found: dict[str, str] = {}
    for line in logical:
        i, key = 0, []
        while i < len(line):
            c = line[i]
            if c == "\\" and i + 1 < len(line):
                key.append(line[i : i + 2])
                i += 2
                continue
            if c in "=: \t\f":
                break
            key.append(c)
            i += 1
        while i < len(line) and line[i] in " \t\f":
            i += 1
        if i < len(line) and line[i] in "=:":
            i += 1
        while i < len(line) and line[i] in " \t\f":
            i += 1
        found[_unescape("".join(key))] = _unescape(line[i:])
    return found


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append({"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def parse_jaas(value: str) -> list[tuple[str, str, dict[str, str]]]:
    """Kafka's JaasConfig: ``<LoginModule> <flag> key=value ...;`` per module; quoted values take Java's
    StreamTokenizer escapes. Raises ValueError as Kafka raises IllegalArgumentException."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(value):
        c = value[i]
        if c.isspace():
            i += 1
        elif c in "=;":
            tokens.append(("sym", c))
            i += 1
        elif c in "\"'":
            j, buf = i + 1, []
            while j < len(value) and value[j] != c:
                if value[j] == "\\" and j + 1 < len(value):
                    buf.append({"t": "\t", "n": "\n", "r": "\r"}.get(value[j + 1], value[j + 1]))
                    j += 2
                    continue
                buf.append(value[j])
                j += 1
            if j >= len(value):
                raise ValueError("JAAS config: unterminated quoted value")
            tokens.append(("str", "".join(buf)))
            i = j + 1
        else:
            j = i
            while j < len(value) and not value[j].isspace() and value[j] not in "=;\"'":
                j += 1
            tokens.append(("word", value[i:j]))
            i = j
    modules = []
    k = 0
    while k < len(tokens):
        if tokens[k][0] != "word" or k + 1 >= len(tokens) or tokens[k + 1][0] != "word":
            raise ValueError("JAAS config entry must be '<LoginModule> <flag> key=value ...;'")
        module, flag = tokens[k][1], tokens[k + 1][1]
        if flag not in ("required", "requisite", "sufficient", "optional"):
            raise ValueError(f"Invalid control flag '{flag}' in JAAS config")
        k += 2
        options: dict[str, str] = {}
        while k < len(tokens) and tokens[k] != ("sym", ";"):
            if k + 2 >= len(tokens) or tokens[k][0] != "word" or tokens[k + 1] != ("sym", "="):
                raise ValueError("Value not specified for key in JAAS config")
            options[tokens[k][1]] = tokens[k + 2][1]
            k += 3
        if k >= len(tokens):
            raise ValueError("JAAS config entry not terminated by semi-colon")
        k += 1
        modules.append((module, flag, options))
    if len(modules) != 1:
        raise ValueError(f"JAAS config property contains {len(modules)} login modules, should be 1 module")
    return modules


# -- users, owners, permissions ------------------------------------------------------------------------


def _db(path: str) -> list[list[str]]:
    try:
        with open(path) as f:
            return [line.rstrip("\n").split(":") for line in f if line.strip()]
    except FileNotFoundError:
        return []


def users(base: str) -> dict[str, dict[str, object]]:
    """name -> {"uid", "gid", "groups"} from the machine's /etc/passwd and /etc/group."""
    groups = _db(os.path.join(base, "etc/group"))
    gid_name = {g[2]: g[0] for g in groups if len(g) >= 3}
    found = {}
    for p in _db(os.path.join(base, "etc/passwd")):
        if len(p) < 7:
            continue
        member_of = {gid_name.get(p[3], p[3])} | {g[0] for g in groups if len(g) >= 4 and p[0] in g[3].split(",")}
        found[p[0]] = {"uid": int(p[2]), "gid": int(p[3]), "group": gid_name.get(p[3], p[3]), "groups": member_of}
    return found


def group_names(base: str) -> set[str]:
    return {g[0] for g in _db(os.path.join(base, "etc/group"))}


def owners_path(mdir: str) -> str:
    return os.path.join(mdir, "owners.json")


def owner_of(mdir: str, path: str) -> tuple[str, str]:
    """(user, group) that owns ``path`` on the machine: what chown/install recorded for its inode, else root."""
    st = os.lstat(path)
    record = read_json(owners_path(mdir), {}).get(f"{st.st_dev}:{st.st_ino}")
    if record and record.get("path_ino") == st.st_ino:
        return record["user"], record["group"]
    return "root", "root"


def can_access(base: str, mdir: str, user: str, path: str, want: int) -> bool:
    """Whether ``user`` may open ``path`` (in the root) with ``want`` (os.R_OK...), directories searched:
    owner, then group, then other bits of each, as the kernel decides (root may do anything)."""
    if user == "root":
        return os.path.exists(path)
    info = users(base).get(user)
    if info is None or not os.path.exists(path):
        return False
    rel = os.path.relpath(path, base)
    parts = [] if rel == "." else rel.split(os.sep)
    checks = [(os.path.join(base, *parts[:n]), os.X_OK) for n in range(1, len(parts))]
    checks.append((path, want))
    for p, bits in checks:
        st = os.stat(p)
        o, g = owner_of(mdir, p)
        mode = st.st_mode
        if o == user:
            have = (mode >> 6) & 7
        elif g in info["groups"]:
            have = (mode >> 3) & 7
        else:
            have = mode & 7
        if have & bits != bits:
            return False
    return True


# -- Kafka: the world's clusters ------------------------------------------------------------------------


def _kafka_path() -> str:
    return os.path.join(world(), "kafka.json")


def _brokers(bootstrap: str) -> list[str]:
    return [b.strip() for b in (bootstrap or "").split(",") if b.strip()]


def _reachable(broker: str) -> bool:
    state = read_json(_kafka_path(), {})
    return broker not in state.get("unreachable", [])


def _find_cluster(state: dict, bootstrap: str) -> tuple[str | None, dict | None]:
    brokers = set(_brokers(bootstrap))
    for cid, cluster in state.get("clusters", {}).items():
        if brokers and brokers <= set(cluster["brokers"]):
            return cid, cluster
    if state.get("any_cluster") and brokers:
        cid = ",".join(sorted(brokers))
        cluster = state.setdefault("clusters", {}).setdefault(cid, new_cluster(sorted(brokers), None))
        return cid, cluster
    return None, None


def new_cluster(brokers: list[str], secrets: list[str] | None) -> dict:
    topics = {t: {"partitions": 1, "rf": 3, "configs": {}, "records": []} for t in MSK_DEFAULT_TOPICS}
    return {"brokers": brokers, "secrets": secrets, "topics": topics, "groups": {}}


def _secret_values(secret_arns: list[str] | None) -> list[tuple[str, str]]:
    secrets = read_json(os.path.join(world(), "secrets.json"), {})
    found = []
    for arn, entry in secrets.items():
        if secret_arns is not None and arn not in secret_arns:
            continue
        try:
            value = json.loads(entry.get("SecretString") or "")
            found.append((value["username"], value["password"]))
        except (ValueError, KeyError, TypeError):
            continue
    return found


def client_problem(config: dict[str, str], cluster: dict, user: str = "root") -> str | None:
    """Why a Kafka client with ``config`` (resolved) cannot sign in to ``cluster`` as ``user``, or None."""
    protocol = config.get("security.protocol", "PLAINTEXT")
    if protocol != "SASL_SSL":
        return f"{NODE_TIMEOUT} ({EMU}: security.protocol is {protocol}; the brokers on 9096 speak SASL_SSL)"
    mechanism = config.get("sasl.mechanism", "GSSAPI")
    if mechanism != "SCRAM-SHA-512":
        return (
            "org.apache.kafka.common.errors.UnsupportedSaslMechanismException: Client SASL mechanism "
            f"'{mechanism}' not enabled in the server, enabled mechanisms are [SCRAM-SHA-512]"
        )
    truststore = config.get("ssl.truststore.location")
    if truststore:
        path = inroot(truststore)
        if not can_access(root(), machine_dir(), user, path, os.R_OK):
            return f"org.apache.kafka.common.KafkaException: Failed to load SSL keystore {truststore} of type JKS"
    jaas = config.get("sasl.jaas.config")
    if not jaas:
        return (
            "java.lang.IllegalArgumentException: Could not find a 'KafkaClient' entry in the JAAS configuration. "
            "System property 'java.security.auth.login.config' is not set"
        )
    try:
        [(module, _flag, options)] = parse_jaas(jaas)
    except ValueError as exc:
        return f"java.lang.IllegalArgumentException: {exc}"
    if module != SCRAM_MODULE:
        return f"javax.security.auth.login.LoginException: {module} cannot sign in with SCRAM-SHA-512"
    if (options.get("username"), options.get("password")) not in _secret_values(cluster.get("secrets")):
        return SCRAM_FAILURE
    return None


def _resolve(config: dict[str, str], user: str) -> dict[str, str]:
    """FileConfigProvider: ``${file:<path>:<key>}`` -> the key of that properties file (read as ``user``)."""
    providers = [p.strip() for p in config.get("config.providers", "").split(",") if p.strip()]
    files = {p for p in providers if config.get(f"config.providers.{p}.class", "").endswith(".FileConfigProvider")}

    def value(m: re.Match[str]) -> str:
        if m["provider"] not in files:
            return m[0]
        path = inroot(m["path"])
        if not can_access(root(), machine_dir(), user, path, os.R_OK):
            raise Exit(
                1, f"org.apache.kafka.common.config.ConfigException: Could not read properties from file {m['path']}\n"
            )
        with open(path) as f:
            got = parse_properties(f.read())
        return got.get(m["key"], m[0])  # an unknown key stays unresolved, as Kafka leaves it

    pattern = re.compile(r"\$\{(?P<provider>[^:}]+):(?P<path>[^:}]*):(?P<key>[^}]+)\}")
    return {k: pattern.sub(value, v) for k, v in config.items()}


def _read_client_config(args: list[str], user: str = "root") -> dict[str, str]:
    for option in ("--command-config", "--consumer.config", "--producer.config"):
        if option in args:
            path = args[args.index(option) + 1]
            real = inroot(path)
            if not os.path.isfile(real) or not can_access(root(), machine_dir(), user, real, os.R_OK):
                raise Exit(1, f'Exception in thread "main" java.nio.file.NoSuchFileException: {unroot(path)}\n')
            with open(real) as f:
                return _resolve(parse_properties(f.read()), user)
    return {}


def _option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else None


def _connect(state: dict, args: list[str], config: dict[str, str]) -> dict:
    bootstrap = _option(args, "--bootstrap-server") or ""
    for broker in _brokers(bootstrap):
        if not _reachable(broker):
            raise Exit(1, f"Error while executing command: {NODE_TIMEOUT}\n")
    _cid, cluster = _find_cluster(state, bootstrap)
    if cluster is None:
        raise Exit(1, f"Error while executing command: {NODE_TIMEOUT}\n")
    problem = client_problem(config, cluster)
    if problem:
        raise Exit(1, f"Error while executing command: {problem}\n")
    return cluster


def _now_ms(state: dict) -> int:
    state["clock_ms"] = int(state.get("clock_ms", 1_700_000_000_000)) + 7
    return state["clock_ms"]


def kafka_topics(args: list[str], stdin: str) -> tuple[str, str, int]:
    config = _read_client_config(args)
    with locked(_kafka_path(), {}) as state:
        cluster = _connect(state, args, config)
        topics = cluster["topics"]
        name = _option(args, "--topic")
        if "--create" in args:
            if name in topics:
                if "--if-not-exists" in args:
                    return "", "", 0
                raise Exit(1, f"Error while executing topic command : Topic '{name}' already exists.\n")
            rf = int(_option(args, "--replication-factor") or 3)
            if rf > len(cluster["brokers"]):
                raise Exit(
                    1,
                    "Error while executing topic command : Replication factor: "
                    f"{rf} larger than available brokers: {len(cluster['brokers'])}.\n",
                )
            configs = dict(args[i + 1].split("=", 1) for i, a in enumerate(args[:-1]) if a == "--config")
            topics[name] = {
                "partitions": int(_option(args, "--partitions") or 1),
                "rf": rf,
                "configs": configs,
                "records": [],
            }
            return f"Created topic {name}.\n", "", 0
        if "--describe" in args:
            if name not in topics:
                raise Exit(1, f"Error while executing topic command : Topic '{name}' does not exist as expected\n")
            t = topics[name]
            configs = ",".join(f"{k}={v}" for k, v in sorted(t["configs"].items()))
            tid = hashlib.sha256(name.encode()).hexdigest()[:22]
            out = [f"Topic: {name}\tTopicId: {tid}\tPartitionCount: {t['partitions']}\t"
                   f"ReplicationFactor: {t['rf']}\tConfigs: {configs}"]  # fmt: skip
            n = len(cluster["brokers"])
            for p in range(t["partitions"]):
                replicas = ",".join(str((p + r) % n + 1) for r in range(t["rf"]))
                out.append(
                    f"\tTopic: {name}\tPartition: {p}\tLeader: {p % n + 1}\tReplicas: {replicas}\tIsr: {replicas}"
                )
            return "\n".join(out) + "\n", "", 0
        if "--list" in args:
            return "".join(f"{t}\n" for t in sorted(topics)), "", 0
    raise Exit(1, f"{EMU}: kafka-topics.sh {' '.join(args)}: not a use the shim knows\n")


def kafka_producer(args: list[str], stdin: str) -> tuple[str, str, int]:
    config = _read_client_config(args)
    with locked(_kafka_path(), {}) as state:
        cluster = _connect(state, args, config)
        name = _option(args, "--topic")
        topic = cluster["topics"].get(name)
        if topic is None:  # MSK: auto.create.topics.enable is false
            raise Exit(1, f"org.apache.kafka.common.errors.TimeoutException: Topic {name} not present in metadata\n")
        for line in stdin.splitlines():
            topic["records"].append({"offset": len(topic["records"]), "value": line, "ts": _now_ms(state)})
    return "", "", 0


def kafka_consumer(args: list[str], stdin: str) -> tuple[str, str, int]:
    config = _read_client_config(args)
    with locked(_kafka_path(), {}) as state:
        cluster = _connect(state, args, config)
        name = _option(args, "--topic")
        topic = cluster["topics"].get(name, {"records": [], "configs": {}})
        group = _option(args, "--group")
        committed = cluster["groups"].get(group, {}).get(name) if group else None
        start = committed if committed is not None else (0 if "--from-beginning" in args else len(topic["records"]))
        limit = int(_option(args, "--max-messages") or 0) or None
        taken = topic["records"][start:][:limit] if limit else topic["records"][start:]
        props = {}
        for i, a in enumerate(args[:-1]):
            if a == "--property":
                key, _, value = args[i + 1].partition("=")
                props[key] = value.lower() == "true"
        kind = topic["configs"].get("message.timestamp.type", "CreateTime")
        lines = []
        for r in taken:
            parts = []
            if props.get("print.timestamp"):
                parts.append(f"{kind}:{r.get('append_ts', r['ts']) if kind == 'LogAppendTime' else r['ts']}")
            if props.get("print.offset"):
                parts.append(f"Offset:{r['offset']}")
            parts.append(r["value"])
            lines.append("\t".join(parts) + "\n")
        if group:  # the group coordinator's topic exists from the first group on (offsets.topic.num.partitions)
            offsets = {"partitions": 50, "rf": 3, "configs": {"cleanup.policy": "compact"}, "records": []}
            cluster["topics"].setdefault("__consumer_offsets", offsets)
        if group and taken:
            cluster["groups"].setdefault(group, {})[name] = taken[-1]["offset"] + 1
    err = ""
    code = 0
    if limit is None or len(taken) < limit:  # waits --timeout-ms for more, then gives up
        err += "ERROR Error processing message, terminating consumer process:  (kafka.tools.ConsoleConsumer$)\n"
        err += "org.apache.kafka.common.errors.TimeoutException\n"
        code = 1
    err += f"Processed a total of {len(taken)} messages\n"
    return "".join(lines), err, code


def kafka_groups(args: list[str], stdin: str) -> tuple[str, str, int]:
    config = _read_client_config(args)
    with locked(_kafka_path(), {}) as state:
        cluster = _connect(state, args, config)
        name = _option(args, "--group")
        if "--describe" not in args:
            raise Exit(1, f"{EMU}: kafka-consumer-groups.sh {' '.join(args)}: not a use the shim knows\n")
        group = cluster["groups"].get(name)
        if not group:
            return f"\nError: Consumer group '{name}' does not exist.\n", "", 0
        header = ("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST",
                  "CLIENT-ID")  # fmt: skip
        rows = [header]
        for topic, offset in sorted(group.items()):
            end = len(cluster["topics"].get(topic, {}).get("records", []))
            rows.append((name, topic, "0", str(offset), str(end), str(end - offset), "-", "-", "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        table = "".join("\n" + " ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
    return f"\nConsumer group '{name}' has no active members.\n{table}\n", "", 0


def connect_mirror_maker(args: list[str], stdin: str) -> tuple[str, str, int]:
    """MirrorMaker 2 started by systemd: read the configuration as the service user, sign in everywhere."""
    user = os.environ.get("MSKPAIR_SHIM_SERVICE_USER", "root")
    if not args:
        raise Exit(1, "USAGE: connect-mirror-maker.sh mm2.properties\n")
    path = inroot(args[0])
    if not os.path.isfile(path):
        raise Exit(1, f"java.nio.file.NoSuchFileException: {unroot(path)}\n")
    if not can_access(root(), machine_dir(), user, path, os.R_OK):
        raise Exit(1, f"java.nio.file.AccessDeniedException: {unroot(path)}\n")
    with open(path) as f:
        props = parse_properties(f.read())
    resolved = _resolve(props, user)
    aliases = [a.strip() for a in resolved.get("clusters", "").split(",") if a.strip()]
    if len(aliases) < 2:
        raise Exit(1, "org.apache.kafka.common.config.ConfigException: clusters: at least two cluster aliases\n")
    lines = []
    with locked(_kafka_path(), {}) as state:
        for alias in aliases:
            prefix = alias + "."
            config = {k[len(prefix) :]: v for k, v in resolved.items() if k.startswith(prefix)}
            bootstrap = config.get("bootstrap.servers", "")
            _cid, cluster = _find_cluster(state, bootstrap)
            if cluster is None or not all(_reachable(b) for b in _brokers(bootstrap)):
                raise Exit(1, f"[{alias}] {NODE_TIMEOUT}\n")
            problem = client_problem(config, cluster, user)
            if problem:
                raise Exit(1, f"[{alias}] {problem}\n")
            lines.append(f"{EMU}: MirrorMaker 2 signed in to {alias} as {user}")
    return "\n".join(lines) + "\n", "", 0


# -- the machine's tools ----------------------------------------------------------------------------------


def dnf(args: list[str], stdin: str) -> tuple[str, str, int]:
    if not args or args[0] != "install":
        raise Exit(1, f"{EMU}: dnf {' '.join(args)}: not a use the shim knows\n")
    packages = [a for a in args[1:] if not a.startswith("-")]
    out = ["Dependencies resolved."]
    for package in packages:
        if package == "java-17-amazon-corretto-headless":
            _install_java()
        out.append(f"Installed: {package}")
    out.append("Complete!")
    return "\n".join(out) + "\n", "", 0


def _install_java() -> None:
    home = inroot(JDK)
    os.makedirs(os.path.join(home, "bin"), exist_ok=True)
    os.makedirs(os.path.join(home, "lib/security"), exist_ok=True)
    cacerts = os.path.join(home, "lib/security/cacerts")
    if not os.path.exists(cacerts):
        with open(cacerts, "wb") as f:
            f.write(b"\xfe\xed\xfe\xed" + b"msk-pair shim: the JDK's CA certificates\n")
    java = os.path.join(home, "bin/java")
    write_wrapper(java, "java")
    link = os.path.join(env("MSKPAIR_SHIM_INSTALLED"), "java")
    if not os.path.lexists(link):
        os.symlink(java, link)


def write_wrapper(path: str, tool: str) -> None:
    with open(path, "w") as f:
        f.write(wrapper(tool))
    os.chmod(path, 0o755)  # noqa: S103 - an executable, as packages install them


def wrapper(tool: str) -> str:
    program = os.path.join(world(), "script_shims.py")
    return f'#!/bin/sh\nexec {env("MSKPAIR_SHIM_PYTHON")} -I -S {program} {tool} "$@"\n'


def java(args: list[str], stdin: str) -> tuple[str, str, int]:
    if args[:1] == ["-version"]:
        return "", 'openjdk version "17.0.13" 2024-10-15 LTS\nOpenJDK Runtime Environment Corretto-17.0.13.11.1\n', 0
    raise Exit(1, f"{EMU}: java {' '.join(args)}: not a use the shim knows\n")


def kafka_archive(version: str, scala: str) -> bytes:
    """An Apache Kafka binary release's layout (bin/, config/, libs/) whose tools are these shims."""
    cache = os.path.join(world(), "downloads", f"kafka_{scala}-{version}.tgz")
    if os.path.exists(cache):
        with open(cache, "rb") as f:
            return f.read()
    top = f"kafka_{scala}-{version}"
    members = {f"{top}/bin/{tool}": (wrapper(tool), 0o755) for tool in KAFKA_TOOLS}
    members[f"{top}/bin/kafka-run-class.sh"] = ("#!/bin/bash\necho 'not used by msk-pair' >&2\nexit 1\n", 0o755)
    members[f"{top}/config/connect-mirror-maker.properties"] = ("# the release's sample\n", 0o644)
    members[f"{top}/config/tools-log4j.properties"] = ("log4j.rootLogger=WARN, stderr\n", 0o644)
    members[f"{top}/libs/kafka-clients-{version}.jar"] = (f"msk-pair shim: kafka-clients {version}\n", 0o644)
    members[f"{top}/LICENSE"] = ("Apache License, Version 2.0\n", 0o644)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for d in ("", "/bin", "/config", "/libs"):
            info = tarfile.TarInfo(top + d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
            tar.addfile(info)
        for name, (text, mode) in sorted(members.items()):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    with open(cache, "wb") as f:
        f.write(data)
    return data


def apache_sha512(name: str, data: bytes) -> bytes:
    """A release's .sha512 file as Apache publishes it (``gpg --print-md SHA512``: name, then the digest in
    upper-case groups of 8 hex digits over several lines)."""
    digest = hashlib.sha512(data).hexdigest().upper()
    groups = [digest[i : i + 8] for i in range(0, len(digest), 8)]
    lines = [" ".join(groups[i : i + 6]) for i in range(0, len(groups), 6)]
    pad = " " * (len(name) + 2)
    return (f"{name}: " + f"\n{pad}".join(lines) + "\n").encode()


def _download(url: str) -> bytes | None:
    served = read_json(os.path.join(world(), "downloads.json"), {})
    if url in served:
        with open(served[url], "rb") as f:
            return f.read()
    m = KAFKA_URL.fullmatch(url)
    versions = read_json(os.path.join(world(), "kafka_versions.json"), None)
    if m and (versions is None or m["v"] in versions):
        archive = kafka_archive(m["v"], m["s"])
        return apache_sha512(f"kafka_{m['s']}-{m['v']}.tgz", archive) if m["sha"] else archive
    return None


def curl(args: list[str], stdin: str) -> tuple[str, str, int]:
    with_value = {"-o", "--output", "--retry", "--retry-delay", "--retry-max-time", "--max-time", "-m",
                  "--connect-timeout", "-H", "--header", "-w", "--write-out", "-u", "--user"}  # fmt: skip
    output, url, i = None, None, 0
    while i < len(args):
        a = args[i]
        if a in with_value:
            if a in ("-o", "--output"):
                output = args[i + 1]
            i += 2
            continue
        if not a.startswith("-"):
            url = a
        i += 1
    if url is None:
        raise Exit(2, "curl: no URL specified\n")
    data = _download(url)
    if data is None:
        if "--fail" in args or "-f" in args:
            shown = "--show-error" in args or "-S" in args or not ("--silent" in args or "-s" in args)
            raise Exit(22, "curl: (22) The requested URL returned error: 404\n" if shown else "")
        data = b"<html><body>404 Not Found</body></html>\n"
    if output:
        with open(output, "wb") as f:
            f.write(data)
        return "", "", 0
    return data.decode(errors="replace"), "", 0


def aws(args: list[str], stdin: str) -> tuple[str, str, int]:
    options: dict[str, str] = {}
    words: list[str] = []
    i = 0
    while i < len(args):
        if args[i].startswith("--"):
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                options[args[i][2:]] = args[i + 1]
                i += 2
            else:
                options[args[i][2:]] = ""
                i += 1
        else:
            words.append(args[i])
            i += 1
    if words != ["secretsmanager", "get-secret-value"] or "secret-id" not in options:
        raise Exit(252, f"{EMU}: aws {' '.join(args)}: not a call the shim knows\n")
    secrets = read_json(os.path.join(world(), "secrets.json"), {})
    wanted = options["secret-id"]
    entry = secrets.get(wanted)
    if entry is None:
        entry = {
            "Error": {
                "Code": "ResourceNotFoundException",
                "Message": "Secrets Manager can't find the specified secret.",
            }
        }
    if "CliError" in entry:  # the CLI itself gave up (no credentials...): its message and exit status
        raise Exit(int(entry["CliError"]["Exit"]), entry["CliError"]["Message"] + "\n")
    if "Error" in entry:
        error = entry["Error"]
        raise Exit(
            254,
            f"\nAn error occurred ({error['Code']}) when calling the GetSecretValue operation: {error['Message']}\n",
        )
    response = {
        "ARN": wanted,
        "Name": wanted.rsplit(":", 1)[-1].rsplit("-", 1)[0],
        "VersionId": "00000000-0000-4000-8000-000000000001",
        "SecretString": entry["SecretString"],
        "VersionStages": ["AWSCURRENT"],
        "CreatedDate": "2023-11-14T22:13:20+00:00",
    }
    query, output = options.get("query"), options.get("output", "json")
    value = response.get(query) if query else response
    if output == "text" and isinstance(value, str):
        return value + "\n", "", 0
    return json.dumps(value, indent=4) + "\n", "", 0


def useradd(args: list[str], stdin: str) -> tuple[str, str, int]:
    name = args[-1] if args else ""
    base = root()
    if name in users(base):
        raise Exit(9, f"useradd: user '{name}' already exists\n")
    system = "--system" in args or "-r" in args
    shell = _option(args, "--shell") or _option(args, "-s") or "/bin/bash"
    home = _option(args, "--home-dir") or _option(args, "-d") or f"/home/{name}"
    taken = {int(u["uid"]) for u in users(base).values()} | {int(g[2]) for g in _db(os.path.join(base, "etc/group"))}
    ids = range(999, 200, -1) if system else range(1000, 60000)
    uid = next(n for n in ids if n not in taken)
    with open(os.path.join(base, "etc/group"), "a") as f:
        f.write(f"{name}:x:{uid}:\n")
    with open(os.path.join(base, "etc/passwd"), "a") as f:
        f.write(f"{name}:x:{uid}:{uid}::{home}:{shell}\n")
    if not system and "--no-create-home" not in args and "-M" not in args:
        os.makedirs(inroot(home), mode=0o700, exist_ok=True)
    return "", "", 0


def id_(args: list[str], stdin: str) -> tuple[str, str, int]:
    names = [a for a in args if not a.startswith("-")]
    name = names[0] if names else "root"
    info = users(root()).get(name)
    if info is None:
        raise Exit(1, f"id: '{name}': no such user\n")
    if "-u" in args:
        return f"{info['uid']}\n", "", 0
    if "-g" in args:
        return f"{info['gid']}\n", "", 0
    return (
        f"uid={info['uid']}({name}) gid={info['gid']}({info['group']}) groups={info['gid']}({info['group']})\n",
        "",
        0,
    )


def _record_owner(path: str, user: str | None, group: str | None) -> None:
    st = os.lstat(path)
    with locked(owners_path(machine_dir()), {}) as owners:
        key = f"{st.st_dev}:{st.st_ino}"
        old = owners.get(key)
        current = (old["user"], old["group"]) if old and old.get("path_ino") == st.st_ino else ("root", "root")
        owners[key] = {
            "user": user or current[0],
            "group": group or current[1],
            "path": unroot(path),
            "path_ino": st.st_ino,
        }


def _owner_spec(spec: str) -> tuple[str | None, str | None]:
    user, sep, group = spec.partition(":")
    if not sep:
        user, sep, group = spec.partition(".")
    return (user or None), (group or (users(root()).get(user, {}).get("group") if sep and user else None))


def chown(args: list[str], stdin: str) -> tuple[str, str, int]:
    plain = [a for a in args if not a.startswith("-")]
    if len(plain) < 2:
        raise Exit(1, "chown: missing operand\n")
    user, group = _owner_spec(plain[0])
    if user and user not in users(root()):
        raise Exit(1, f"chown: invalid user: '{plain[0]}'\n")
    if group and group not in group_names(root()):
        raise Exit(1, f"chown: invalid group: '{plain[0]}'\n")
    for path in plain[1:]:
        if not os.path.lexists(path):
            raise Exit(1, f"chown: cannot access '{unroot(path)}': No such file or directory\n")
        _record_owner(path, user, group)
    return "", "", 0


def install(args: list[str], stdin: str) -> tuple[str, str, int]:
    import subprocess

    user = group = None
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-o", "--owner", "-g", "--group") and i + 1 < len(args):
            if a in ("-o", "--owner"):
                user = args[i + 1]
            else:
                group = args[i + 1]
            i += 2
            continue
        rest.append(a)
        i += 1
    if user and user not in users(root()):
        raise Exit(1, f"install: invalid user '{user}'\n")
    if group and group not in group_names(root()):
        raise Exit(1, f"install: invalid group '{group}'\n")
    done = subprocess.run([_real("install"), *rest], capture_output=True, text=True)
    if done.returncode != 0:
        return done.stdout, unroot(done.stderr), done.returncode
    operands = [a for j, a in enumerate(rest) if not a.startswith("-") and not (j and rest[j - 1] in ("-m", "--mode"))]
    targets = operands if "-d" in rest else operands[-1:]
    if "-d" not in rest and targets and os.path.isdir(targets[0]) and len(operands) > 1:
        targets = [os.path.join(targets[0], os.path.basename(s)) for s in operands[:-1]]
    if user or group:
        for target in targets:
            _record_owner(target, user, group)
    return "", "", 0


def _real(tool: str) -> str:
    """The system's own ``tool`` (not this stand-in)."""
    for directory in ("/usr/bin", "/bin"):
        if os.access(os.path.join(directory, tool), os.X_OK):
            return os.path.join(directory, tool)
    raise Exit(127, f"{tool}: command not found\n")


def bash(args: list[str], stdin: str) -> tuple[str, str, int]:
    if len(args) == 2 and args[0] == "-c" and (m := re.fullmatch(r"exec 3<>/dev/tcp/([^/\s]+)/(\d+)", args[1])):
        broker = f"{m[1]}:{m[2]}"
        if _reachable(broker):
            return "", "", 0
        raise Exit(
            1, f"bash: connect: Connection timed out\nbash: line 1: /dev/tcp/{m[1]}/{m[2]}: Connection timed out\n"
        )
    os.execv("/bin/bash", ["bash", *args])  # noqa: S606 - anything else: the real bash
    raise AssertionError("unreachable")


def openssl(args: list[str], stdin: str) -> tuple[str, str, int]:
    broker = _option(args, "-connect")
    if args[:1] != ["s_client"] or not broker:
        raise Exit(1, f"{EMU}: openssl {' '.join(args)}: not a use the shim knows\n")
    if not _reachable(broker):
        raise Exit(1, f"connect:errno=110\n{EMU}: {broker} unreachable\n")
    host = broker.rsplit(":", 1)[0]
    return (
        "",
        (
            "CONNECTION ESTABLISHED\nProtocol version: TLSv1.2\nCiphersuite: ECDHE-RSA-AES128-GCM-SHA256\n"
            f"Peer certificate: CN = *.{host.split('.', 1)[-1]}\nVerification: OK\nDONE\n"
        ),
        0,
    )


def sleep(args: list[str], stdin: str) -> tuple[str, str, int]:
    return "", "", 0


# -- systemd ---------------------------------------------------------------------------------------------


def _systemd_path() -> str:
    return os.path.join(machine_dir(), "systemd.json")


def _unit_file(name: str) -> str:
    return os.path.join(root(), "etc/systemd/system", f"{name}.service")


def _read_text(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def _unit_value(text: str, key: str) -> list[str]:
    return [m[1].strip() for m in re.finditer(rf"^{re.escape(key)}=(.*)$", text or "", re.MULTILINE)]


def _start(name: str, unit: dict) -> tuple[str, str]:
    """Run the unit's ExecStart as its User: "active" while it runs, else Restart= decides."""
    import subprocess

    text = unit["loaded"]
    user = (_unit_value(text, "User") or ["root"])[0]
    journal = unit.setdefault("journal", [])
    if user not in users(root()):
        journal.append(f"{name}.service: Failed to determine user credentials: No such process")
        journal.append(f"{name}.service: Failed at step USER spawning: No such process")
        return "failed", ""
    [exec_start] = _unit_value(text, "ExecStart")[:1] or [""]
    argv = exec_start.split()
    if not argv or not os.path.isfile(inroot(argv[0])):
        journal.append(
            f"{name}.service: Failed to locate executable {argv[0] if argv else ''}: No such file or directory"
        )
        return "failed", ""
    ran = subprocess.run(
        [inroot(argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        env={**os.environ, "MSKPAIR_SHIM_SERVICE_USER": user},
    )
    journal += [unroot(line) for line in (ran.stdout + ran.stderr).splitlines()]
    if ran.returncode == 0:
        journal.append(f"Started {name}.service.")
        return "active", ""
    journal.append(f"{name}.service: Main process exited, code=exited, status={ran.returncode}/FAILURE")
    restart = (_unit_value(text, "Restart") or ["no"])[0]
    return ("activating" if restart in ("on-failure", "always") else "failed"), ""


def systemctl(args: list[str], stdin: str) -> tuple[str, str, int]:
    verb = args[0] if args else ""
    names = [a.removesuffix(".service") for a in args[1:] if not a.startswith("-")]
    quiet = "--quiet" in args or "-q" in args
    with locked(_systemd_path(), {"units": {}}) as state:
        units = state["units"]
        if verb == "daemon-reload":
            directory = os.path.join(root(), "etc/systemd/system")
            on_disk = {f[: -len(".service")] for f in os.listdir(directory) if f.endswith(".service")}
            for name in on_disk | set(units):
                unit = units.setdefault(name, {"enabled": False, "state": "inactive", "journal": []})
                path = _unit_file(name)
                unit["loaded"] = _read_text(path)
            return "", "", 0
        if not names:
            raise Exit(1, f"{EMU}: systemctl {' '.join(args)}: no unit\n")
        name = names[0]
        unit = units.get(name)
        loaded = unit is not None and unit.get("loaded")
        err = ""
        if loaded and verb in ("start", "restart", "enable", "status"):
            path = _unit_file(name)
            if _read_text(path) != unit["loaded"]:
                err = (
                    f"Warning: The unit file, source configuration file or drop-ins of {name}.service changed on "
                    "disk. Run 'systemctl daemon-reload' to reload units.\n"
                )
        if verb == "enable":
            if not loaded:
                raise Exit(1, f"Failed to enable unit: Unit file {name}.service does not exist.\n")
            for target in _unit_value(unit["loaded"], "WantedBy"):
                wants = os.path.join(root(), "etc/systemd/system", f"{target}.wants")
                os.makedirs(wants, exist_ok=True)
                link = os.path.join(wants, f"{name}.service")
                if not os.path.lexists(link):
                    os.symlink(_unit_file(name), link)
                    err += f"Created symlink {unroot(link)} → /etc/systemd/system/{name}.service.\n"
            unit["enabled"] = True
            return "", err, 0
        if verb in ("start", "restart"):
            if not loaded:
                raise Exit(5, f"Failed to {verb} {name}.service: Unit {name}.service not found.\n")
            if verb == "start" and unit["state"] == "active":
                return "", err, 0
            unit["starts"] = unit.get("starts", 0) + 1
            unit["state"], _ = _start(name, unit)
            if unit["state"] == "failed":
                err += (
                    f"Job for {name}.service failed because the control process exited with error code.\n"
                    f'See "systemctl status {name}.service" and "journalctl -xeu {name}.service" for details.\n'
                )
                return "", err, 1
            return "", err, 0
        if verb in ("stop", "disable"):
            if verb == "disable":
                for link in _wants_links(name):
                    os.unlink(link)
                    err += f'Removed "{unroot(link)}".\n'
                if unit is not None:
                    unit["enabled"] = False
            if unit is not None and (verb == "stop" or "--now" in args):
                if unit["state"] == "active":
                    unit.setdefault("journal", []).append(f"Stopped {name}.service.")
                unit["state"] = "inactive"
            return "", err, 0
        if verb == "is-active":
            current = unit["state"] if unit else "inactive"
            return ("" if quiet else f"{current}\n"), "", 0 if current == "active" else 3
        if verb == "is-enabled":
            enabled = "enabled" if unit and unit.get("enabled") else "disabled"
            return ("" if quiet else f"{enabled}\n"), "", 0 if enabled == "enabled" else 1
        if verb == "status":
            if not loaded:
                raise Exit(4, f"Unit {name}.service could not be found.\n")
            current = unit["state"]
            description = (_unit_value(unit["loaded"], "Description") or [name])[0]
            lines = [
                f"● {name}.service - {description}",
                f"     Loaded: loaded (/etc/systemd/system/{name}.service; "
                f"{'enabled' if unit.get('enabled') else 'disabled'}; preset: disabled)",
                f"     Active: {current}{' (running)' if current == 'active' else ''}",
                "",
                *unit.get("journal", [])[-10:],
            ]
            return "\n".join(lines) + "\n", err, 0 if current == "active" else 3
    raise Exit(1, f"{EMU}: systemctl {' '.join(args)}: not a use the shim knows\n")


def _wants_links(name: str) -> list[str]:
    base = os.path.join(root(), "etc/systemd/system")
    found = []
    for entry in os.listdir(base):
        link = os.path.join(base, entry, f"{name}.service")
        if entry.endswith(".wants") and os.path.lexists(link):
            found.append(link)
    return found


def journalctl(args: list[str], stdin: str) -> tuple[str, str, int]:
    name = (_option(args, "-u") or "").removesuffix(".service")
    count = int(_option(args, "-n") or 10)
    unit = read_json(_systemd_path(), {"units": {}})["units"].get(name)
    lines = (unit or {}).get("journal", [])[-count:]
    return ("\n".join(lines) + "\n") if lines else "-- No entries --\n", "", 0


TOOLS = {
    "dnf": dnf,
    "yum": dnf,
    "curl": curl,
    "aws": aws,
    "useradd": useradd,
    "id": id_,
    "chown": chown,
    "install": install,
    "systemctl": systemctl,
    "journalctl": journalctl,
    "bash": bash,
    "openssl": openssl,
    "sleep": sleep,
    "java": java,
    "kafka-topics.sh": kafka_topics,
    "kafka-console-producer.sh": kafka_producer,
    "kafka-console-consumer.sh": kafka_consumer,
    "kafka-consumer-groups.sh": kafka_groups,
    "connect-mirror-maker.sh": connect_mirror_maker,
}
READS_STDIN = {"kafka-console-producer.sh", "openssl"}
PATH_TOOLS = tuple(t for t in TOOLS if not t.endswith(".sh") and t != "java")
"""The shims put on PATH (java comes with its package, Kafka's tools with the release)."""


def main(argv: list[str]) -> int:
    tool, args = argv[1], argv[2:]
    stdin = sys.stdin.read() if tool in READS_STDIN and not sys.stdin.isatty() else ""
    record = {"tool": tool, "argv": [unroot(a) for a in args], "stdin": unroot(stdin), "at": time.time()}
    log = os.path.join(machine_dir(), "calls.jsonl")

    def write(code: int) -> None:
        record["exit"] = code
        with open(log, "a") as f:
            f.write(json.dumps(record) + "\n")

    try:
        if tool == "bash" and not (len(args) == 2 and args[0] == "-c" and "/dev/tcp/" in args[1]):
            write(0)  # the real bash replaces this process: its own status is not known here
        out, err, code = TOOLS[tool](args, stdin)
    except Exit as exc:
        out, err, code = "", exc.stderr, exc.code
    write(code)
    sys.stdout.write(out)
    sys.stdout.flush()
    sys.stderr.write(err)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
