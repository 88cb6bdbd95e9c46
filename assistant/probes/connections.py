"""The connections config: which QuickBooks Desktop, QuickBooks Online and Salesforce connections
the probes may check, where their endpoints are and the NAMES of the environment variables that
hold their secrets.

The file is YAML; its path comes from ``CONNECTIONS_PATH``. Without it the shipped demo config
(``demo-connections.yaml`` beside this module) is used, whose endpoints point at the simulator
(``SIMULATOR_URL``, default ``http://127.0.0.1:5001``). Only the ``${NAME}`` form is expanded from
the environment. Secret values are read from the environment when a check needs them
(:meth:`Connection.secret`) and are never kept in, nor shown by, any object here.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEMO_PATH = Path(__file__).resolve().with_name("demo-connections.yaml")
SYSTEMS = ("quickbooks_desktop", "quickbooks_online", "salesforce")
DEFAULTS = {"SIMULATOR_URL": "http://127.0.0.1:5001"}
DEMO_SECRET_PREFIX = "demo-seed-"
"""How a demo connection's made-up secret starts (the simulator takes such a refresh token as
a new authorization)."""

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
URL_PATTERN = r"^https?://[^\s/]+(/\S*)?$"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConnectionsError(ValueError):
    """The connections config cannot be used. The message names the file, line and key."""


class MissingSecret(ConnectionsError):
    """A secret's environment variable is not set (the message names the variable, never a
    value)."""


# --- schema ---------------------------------------------------------------------------------

Url = Annotated[str, Field(pattern=URL_PATTERN)]
EnvName = Annotated[str, Field(pattern=ENV_NAME_PATTERN)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Timeouts(_Strict):
    connect: float = Field(3.0, gt=0, le=60)
    read: float = Field(5.0, gt=0, le=120)


class _OAuthSecrets(_Strict):
    client_id: EnvName
    client_secret: EnvName
    refresh_token: EnvName


class _AgentSecrets(_Strict):
    api_key: EnvName


class _SalesforceEndpoints(_Strict):
    login: Url
    trust: Url | None = None
    # My Trust Center API: the instance status URL, "{instance}" standing for the instance key
    # (its exact path is UNVERIFIED: see checks.trust_status)
    trust_center: Annotated[str, Field(pattern=r"^https?://[^\s/]+/\S*\{instance\}\S*$")] \
        | None = None


class _QboEndpoints(_Strict):
    token: Url
    api: Url
    status: Url | None = None


class _QbdEndpoints(_Strict):
    agent_status: Url


class _Base(_Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]
    label: Annotated[str, Field(min_length=1, max_length=200)]
    timeouts: Timeouts = Timeouts()


class _Salesforce(_Base):
    system: Literal["salesforce"]
    endpoints: _SalesforceEndpoints
    api_version: Annotated[str, Field(pattern=r"^\d{2,3}\.\d$")] = "62.0"
    instance_key: Annotated[str, Field(pattern=r"^[A-Za-z]{2,4}\d{1,4}[A-Za-z]?$")] | None = None
    secrets: _OAuthSecrets


class _QuickBooksOnline(_Base):
    system: Literal["quickbooks_online"]
    endpoints: _QboEndpoints
    realm_id: Annotated[str, Field(pattern=r"^\d{1,32}$")]
    environment: Literal["production", "sandbox"] = "production"
    secrets: _OAuthSecrets


class _QuickBooksDesktop(_Base):
    system: Literal["quickbooks_desktop"]
    endpoints: _QbdEndpoints
    agent_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    secrets: _AgentSecrets


_Entry = Annotated[_Salesforce | _QuickBooksOnline | _QuickBooksDesktop,
                   Field(discriminator="system")]


class _File(_Strict):
    demo: bool = False
    # Empty is allowed: no live checks, every probe step takes its flow's manual path.
    connections: list[_Entry] = Field(default_factory=list)


# --- values ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Connection:
    """One configured connection. ``secret_names`` maps a secret (``client_id``, ``api_key`` …)
    to the NAME of its environment variable; the value is read by :meth:`secret` at call time."""

    id: str
    label: str
    system: str
    endpoints: Mapping[str, str]
    secret_names: Mapping[str, str]
    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    api_version: str | None = None
    instance_key: str | None = None
    realm_id: str | None = None
    environment: str | None = None
    agent_id: str | None = None
    demo: bool = False
    _environ: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False,
                                        compare=False)

    def secret(self, name: str) -> str:
        """The value of the secret ``name``, read from the environment now. In the demo config a
        missing variable gets a harmless demo value; elsewhere it raises :class:`MissingSecret`."""
        var = self.secret_names.get(name)
        if var is None:
            raise MissingSecret(f"connection '{self.id}' has no secret '{name}'")
        value = self._environ.get(var)
        if value:
            return value
        if self.demo:
            # No words in it: secrets are redacted wherever 8 of their characters appear, so
            # "demo-demo-salesforce-client-id" redacted "salesforce" from every finding.
            digest = hashlib.sha256(f"{self.id}:{name}".encode()).hexdigest()[:24]
            return f"{DEMO_SECRET_PREFIX}{digest}"
        raise MissingSecret(f"connection '{self.id}': environment variable {var} "
                            f"(secret '{name}') is not set")

    def has_secret(self, name: str) -> bool:
        """True if the config names an environment variable for the secret ``name``."""
        return name in self.secret_names

    def secret_values(self) -> list[str]:
        """The values of this connection's secrets that are set (demo values included), for
        scrubbing them out of anything stored or shown. Never raises."""
        values = []
        for name in self.secret_names:
            try:
                values.append(self.secret(name))
            except MissingSecret:
                pass
        return values


class Connections(Mapping[str, Connection]):
    """Connections by id, in file order. ``demo`` is true for the shipped demo config."""

    def __init__(self, items: list[Connection], *, demo: bool, path: Path,
                 simulator_url: str | None = None):
        self._items = {c.id: c for c in items}
        self.demo = demo
        self.path = path
        self.simulator_url = simulator_url

    def __getitem__(self, key: str) -> Connection:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def for_system(self, system: str) -> list[Connection]:
        return [c for c in self._items.values() if c.system == system]

    def __repr__(self) -> str:
        return f"Connections({list(self._items)!r}, demo={self.demo}, path='{self.path}')"


# --- loading --------------------------------------------------------------------------------

def _positions(node: yaml.Node, path: tuple, out: dict[tuple, int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            out[path + (key_node.value,)] = key_node.start_mark.line + 1
            _positions(value_node, path + (key_node.value,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = item.start_mark.line + 1
            _positions(item, path + (i,), out)


def _where(loc: tuple, positions: dict[tuple, int]) -> tuple[int, str]:
    """The line and dotted key of a pydantic error location (the union tag it adds removed)."""
    path: list = []
    for part in loc:
        if isinstance(part, str) and part in SYSTEMS and (*path, part) not in positions:
            continue
        path.append(part)
    known = list(path)
    while known and tuple(known) not in positions:
        known.pop()
    key = ""
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return positions.get(tuple(known), 1), key


def _expand(value, environ: Mapping[str, str], problems: list[str], key: str):
    if isinstance(value, dict):
        return {k: _expand(v, environ, problems, f"{key}.{k}" if key else str(k))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, environ, problems, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str) and ".endpoints." in f".{key}":
        # Only endpoints are expanded: a ${VAR} in a label would show the variable's value
        # (maybe a secret) to customers.
        def sub(m: re.Match) -> str:
            name = m.group(1)
            found = environ.get(name) or DEFAULTS.get(name)
            if not found:
                problems.append(f"{key}: environment variable {name} is not set")
                return m.group(0)
            return found.rstrip("/")
        return _VAR.sub(sub, value)
    return value


def load_connections(path: str | os.PathLike | None = None,
                     environ: Mapping[str, str] = os.environ) -> Connections:
    """Read and check a connections file (default: ``CONNECTIONS_PATH``, else the demo config).

    Raises :class:`ConnectionsError` naming the file, the line and the key of the first
    problem."""
    file = Path(path or environ.get("CONNECTIONS_PATH") or DEMO_PATH)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConnectionsError(f"{file}: cannot read the connections file: {e}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise ConnectionsError(f"{file}:{line}: invalid YAML: "
                               f"{getattr(e, 'problem', None) or e}") from None
    positions: dict[tuple, int] = {}
    if node is not None:
        _positions(node, (), positions)
    if not isinstance(raw, dict):
        raise ConnectionsError(f"{file}:1: expected a mapping with a 'connections' list")
    problems: list[str] = []
    raw = _expand(raw, environ, problems, "")
    if problems:
        first = problems[0]
        key = first.split(":", 1)[0]
        line, _ = _where(tuple(int(p) if p.isdigit() else p
                               for p in re.split(r"[.\[\]]+", key) if p), positions)
        raise ConnectionsError(f"{file}:{line}: {first}")
    try:
        data = _File.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(err["loc"])
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc += ("system",)
        line, key = _where(loc, positions)
        message = err["msg"]
        if err["type"] == "union_tag_invalid":
            message = (f"unknown system {err['ctx']['tag']!r} "
                       f"(one of: {', '.join(SYSTEMS)})")
        elif err["type"] == "union_tag_not_found":
            message = "missing (one of: " + ", ".join(SYSTEMS) + ")"
        elif err["type"] == "extra_forbidden":
            message = "unknown key (not allowed here)"
        elif err["type"] == "string_pattern_mismatch":
            message = f"invalid value {err.get('input')!r}"
            if loc[-1] == "trust_center":
                message += " (an http(s) URL with {instance} where the instance key goes)"
        raise ConnectionsError(f"{file}:{line}: {key}: {message}") from None
    seen: dict[str, int] = {}
    items = []
    for i, c in enumerate(data.connections):
        if c.id in seen:
            raise ConnectionsError(f"{file}:{positions.get(('connections', i, 'id'), 1)}: "
                                   f"connections[{i}].id: duplicate id '{c.id}'")
        seen[c.id] = i
        items.append(Connection(
            id=c.id, label=c.label, system=c.system,
            endpoints=MappingProxyType(c.endpoints.model_dump(exclude_none=True)),
            secret_names=MappingProxyType(c.secrets.model_dump()),
            connect_timeout=c.timeouts.connect, read_timeout=c.timeouts.read,
            api_version=getattr(c, "api_version", None),
            instance_key=getattr(c, "instance_key", None),
            realm_id=getattr(c, "realm_id", None),
            environment=getattr(c, "environment", None),
            agent_id=getattr(c, "agent_id", None),
            demo=data.demo, _environ=environ))
    return Connections(items, demo=data.demo, path=file,
                       simulator_url=(environ.get("SIMULATOR_URL")
                                      or DEFAULTS["SIMULATOR_URL"]) if data.demo else None)
