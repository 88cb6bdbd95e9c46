"""Demo traps (issue 12): with the shipped demo connections, a scenario switched in the
simulator shows at the next check, and neither resetting the simulator nor deleting a token file
leaves QuickBooks Online stuck "expired" or "reconnect required" once the scenario is healthy.

The real simulator over loopback HTTP (tests/simserver.py), the real probe and token store."""

from __future__ import annotations

import pytest
from simserver import Simulator

from assistant.probes.checks import run_check
from assistant.probes.connections import DEMO_PATH, load_connections
from assistant.probes.diagnosis import diagnose
from assistant.probes.tokens import TokenStore
from assistant.web import DEMO_PROBE_TTL_SECONDS

QBO = "demo-quickbooks-online"
SYSTEM = "quickbooks_online"


@pytest.fixture(scope="module")
def sim():
    with Simulator(delay=0.3, hang_seconds=5) as s:
        yield s


@pytest.fixture
def demo(sim):
    """The shipped demo connections (no secrets set: the demo values) pointing at ``sim``."""
    sim.reset()
    return load_connections(DEMO_PATH, environ={"SIMULATOR_URL": sim.url})


@pytest.fixture
def tokens(tmp_path):
    return TokenStore(tmp_path / "tokens")


def cause(conns, tokens, conn: str = QBO) -> str:
    """One real check of ``conn`` and its diagnosed cause."""
    return diagnose(SYSTEM, run_check(f"{SYSTEM}.api", conns[conn], tokens=tokens)).cause


def delete_token_file(tokens, conn: str = QBO) -> None:
    path = tokens.directory / f"{conn}.json"
    assert path.exists(), "the check stored no token file"
    path.unlink()


def test_deleting_the_token_file_never_leaves_a_healthy_demo_stuck(sim, demo, tokens):
    assert cause(demo, tokens) == "connected"
    assert cause(demo, tokens) == "connected"  # the stored access token, reused
    sim.set(QBO, SYSTEM, "quickbooks_online.reconnect_required")
    # the stored access token still works, so the token endpoint's scenario shows only once a
    # refresh is needed: the README's "delete the token file to see it at once"
    delete_token_file(tokens)
    assert cause(demo, tokens) == "quickbooks_online.reconnect_required"
    assert cause(demo, tokens) == "quickbooks_online.reconnect_required"
    sim.set(QBO, SYSTEM, "healthy")
    assert cause(demo, tokens) == "connected"
    # and once more, after the rotation chain moved on from the seed
    delete_token_file(tokens)
    assert cause(demo, tokens) == "connected"
    assert cause(demo, tokens) == "connected"


def test_access_token_expired_then_healthy_is_connected(sim, demo, tokens):
    assert cause(demo, tokens) == "connected"
    sim.set(QBO, SYSTEM, "quickbooks_online.access_token_expired")
    assert cause(demo, tokens) == "quickbooks_online.access_token_expired"
    sim.set(QBO, SYSTEM, "healthy")
    assert cause(demo, tokens) == "connected"
    sim.set(QBO, SYSTEM, "quickbooks_online.access_token_expired")
    delete_token_file(tokens)
    assert cause(demo, tokens) == "quickbooks_online.access_token_expired"
    sim.set(QBO, SYSTEM, "healthy")
    assert cause(demo, tokens) == "connected"


@pytest.mark.parametrize("scenario", ["quickbooks_online.reconnect_required",
                                      "quickbooks_online.access_token_expired"])
def test_resetting_the_simulator_never_leaves_a_healthy_demo_stuck(sim, demo, tokens, scenario):
    assert cause(demo, tokens) == "connected"  # an access and a rotated refresh token stored
    sim.set(QBO, SYSTEM, scenario)
    delete_token_file(tokens)
    assert cause(demo, tokens) == scenario
    # The reset forgets every token the simulator issued, while the app still holds them.
    sim.reset()
    sim.set(QBO, SYSTEM, "healthy")
    assert cause(demo, tokens) == "connected"
    assert cause(demo, tokens) == "connected"
    # a reset between two healthy checks, with a stored access token the simulator forgot
    sim.reset()
    assert cause(demo, tokens) == "connected"
    # a reset and a deleted token file together
    sim.reset()
    delete_token_file(tokens)
    assert cause(demo, tokens) == "connected"


def test_outside_the_demo_a_reused_rotated_refresh_token_is_refused(sim, tmp_path, tokens):
    # What makes the traps above real: Intuit rotates refresh tokens and refuses a superseded
    # one. A connection not from the demo config (its seed is a real-looking token) whose token
    # file is lost after a rotation needs reconnecting — as at Intuit.
    sim.reset()
    conns = sim.connections(tmp_path)
    assert cause(conns, tokens, "acme-qbo") == "connected"
    delete_token_file(tokens, "acme-qbo")
    assert cause(conns, tokens, "acme-qbo") == "quickbooks_online.reconnect_required"


# --- the probe TTL in demo mode ---------------------------------------------------------------

@pytest.fixture
def app_with(db_url, tmp_path, monkeypatch):
    monkeypatch.delenv("PROBE_TTL_SECONDS", raising=False)

    def make(connections_path, env_ttl: str | None = None, **config):
        from assistant.web import create_app
        if env_ttl is not None:
            monkeypatch.setenv("PROBE_TTL_SECONDS", env_ttl)
        return create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test",
                           "CONNECTIONS_PATH": str(connections_path),
                           "TOKENS_DIR": str(tmp_path / "tokens"), **config})
    return make


def ttl_of(app) -> float:
    """The TTL the app's probe runner keeps checks for, and the one the pages show."""
    runner_ttl = app.extensions["assistant"].probes.ttl
    assert runner_ttl == app.config["PROBE_TTL_SECONDS"]
    return runner_ttl


def test_demo_mode_checks_again_after_a_few_seconds_unless_set(app_with, no_connections):
    assert DEMO_PROBE_TTL_SECONDS <= 5
    assert ttl_of(app_with(DEMO_PATH)) == DEMO_PROBE_TTL_SECONDS
    assert ttl_of(app_with(no_connections)) == 60  # your own connections: the default
    assert ttl_of(app_with(DEMO_PATH, PROBE_TTL_SECONDS=30)) == 30
    assert ttl_of(app_with(DEMO_PATH, env_ttl="45")) == 45


def test_the_demo_secrets_hold_no_words_a_finding_uses(demo):
    # Secrets are redacted wherever 8 of their characters appear: "demo-demo-salesforce-
    # client-id" turned "The Salesforce Trust site" into "The [redacted] Trust site".
    from assistant.probes.recording import secret_forms
    from assistant.probes.redact import Secrets, redact
    for conn in demo.values():
        values = conn.secret_values()
        assert values
        text = (f"The Salesforce Trust site shows status OK for {conn.label} ({conn.id}); "
                "rule entry salesforce.yaml trust_statuses[0], quickbooks_online.yaml, "
                "https://api.status.salesforce.com/v1/docs/, client id, refresh token")
        assert redact(text, Secrets(values, secret_forms(values))) == text
