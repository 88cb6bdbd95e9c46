"""The outbound webhook against a real HTTP receiver on loopback: signed deliveries, retries
with backoff after 5xx, 429 and a hang past the timeout, failures that are final, staff's
"Retry now", several senders never sending one delivery twice, a dead sender's claim taken
over, and the customer never held up."""

from __future__ import annotations

import socket
import threading

import pytest
from flask.testing import FlaskClient
from receiver import SECRET, Receiver, wait_for

from assistant.config import ConfigError, check_webhook, settings
from assistant.store.webhooks import LOST, WebhookDeliveries
from assistant.webhooks import WebhookSender, backoff_seconds, sign, verify_signature
from conftest import Walker, forms, login

UNRESOLVED = ("quickbooks-online", ["disconnected", "connected", "not-connected"])


@pytest.fixture
def hooked(make_app):
    """Apps whose webhook points at a receiver (small timeouts and backoff); their sender
    threads are stopped after the test."""
    apps = []

    def make(url, **overrides):
        app = make_app(**{"WEBHOOK_URL": url, "WEBHOOK_SECRET": SECRET,
                          "WEBHOOK_BACKOFF_SECONDS": 0.05, "WEBHOOK_TIMEOUT_SECONDS": 0.5,
                          "WEBHOOK_MAX_ATTEMPTS": 5, **overrides})
        apps.append(app)
        return app
    yield make
    for app in apps:
        app.extensions["webhooks"].stop()


def finish(client, flow_id, answers):
    w = Walker(client, flow_id)
    for a in answers:
        w.answer(a)
    return w


def deliveries(app, handoff_id=1):
    return WebhookDeliveries(app.extensions["assistant"].store.engine).for_handoff(handoff_id)


def settled(app, handoff_id=1):
    """The handoff's deliveries once none is waiting or being sent any more."""
    found = deliveries(app, handoff_id)
    return found if found and all(d.state in ("delivered", "failed") for d in found) else None


def test_a_handoff_is_delivered_signed(hooked):
    with Receiver() as receiver:
        app = hooked(receiver.url)
        w = finish(app.test_client(), *UNRESOLVED)
        [delivery] = wait_for(lambda: settled(app))
    [got] = receiver.received
    assert got["signature_ok"] and got["event"] == "handoff.created"
    assert got["delivery"] == str(delivery.id) and got["path"] == "/hooks/assistant"
    assert abs(got["t"] - got["at"]) < 5  # signed when sent
    assert verify_signature(SECRET, got["raw"], sign(SECRET, got["raw"], got["t"]),
                            now=got["t"])
    assert got["body"]["handoff"]["reference"] == "H-00001"
    assert got["body"]["session"]["code"] == app.extensions["assistant"].store.get_session(
        w.sid).code
    assert delivery.state == "delivered" and [t.status for t in delivery.tries] == [200]


def test_each_addition_is_announced_once(hooked):
    with Receiver() as receiver:
        app = hooked(receiver.url)
        client = app.test_client()
        w = finish(client, *UNRESOLVED)
        form = next(f for f in forms(w.html) if f["action"].endswith("/feedback"))
        for _ in range(2):  # a double submit
            client.post(form["action"], data={**form["fields"], "reaction": "no"})
        client.post(form["action"], data={**form["fields"], "reaction": "no",
                                          "comment": "Now with a comment"})
        wait_for(lambda: len(deliveries(app)) == 3 and settled(app))
    assert [r["event"] for r in receiver.received] == [
        "handoff.created", "handoff.updated", "handoff.updated"]
    assert [r["body"]["feedback"] for r in receiver.received] == [
        None, {"reaction": "no", "comment": None},
        {"reaction": "no", "comment": "Now with a comment"}]


def test_a_receiver_that_fails_then_hangs_then_recovers_gets_it_in_the_end(hooked, agent):
    with Receiver([500, "hang"], hang_seconds=5) as receiver:
        app = hooked(receiver.url, WEBHOOK_TIMEOUT_SECONDS=0.4)
        finish(app.test_client(), *UNRESOLVED)
        [delivery] = wait_for(lambda: settled(app))
        console = app.test_client()
        login(console, agent)
        html = console.get("/console/handoffs/1").get_data(as_text=True)
    assert delivery.state == "delivered" and delivery.attempts == 3
    first, second, third = delivery.tries
    assert (first.status, second.status, third.status) == (500, None, 200)
    assert first.error.startswith("HTTP 500") and "timed out" in second.error
    assert third.error is None and second.duration_ms >= 400
    # Each retry waited at least its backoff (0.05 s, then 0.1 s) after the attempt before.
    assert (second.at - first.at).total_seconds() >= 0.05
    assert (third.at - second.at).total_seconds() >= 0.4 + 0.1
    # The receiver got the same delivery three times, each validly signed.
    assert [r["delivery"] for r in receiver.received] == [str(delivery.id)] * 3
    assert all(r["signature_ok"] for r in receiver.received)
    assert len({r["raw"] for r in receiver.received}) == 1
    # Staff see the delivery and every attempt on the handoff's page.
    assert "Delivered" in html and "HTTP 500" in html and "timed out" in html
    assert html.count("<th scope=\"row\" class=\"num\">") >= 3


def test_the_customer_is_not_held_up_while_the_receiver_hangs(hooked):
    with Receiver(["hang"], hang_seconds=10) as receiver:
        app = hooked(receiver.url, WEBHOOK_TIMEOUT_SECONDS=8)
        client = app.test_client()
        finish(client, *UNRESOLVED)
        wait_for(receiver.hanging.is_set)  # the sender is inside the first delivery's POST
        # Meanwhile another customer reaches an unresolved end and sends the contact form.
        w = finish(client, *UNRESOLVED)
        page = client.get(f"/s/{w.sid}/support").get_data(as_text=True)
        form = next(f for f in forms(page) if f["action"].endswith("/support"))
        sent = client.post(form["action"], data={**form["fields"], "contact": "x@example.com"})
        assert sent.status_code == 303
        # All of it was answered while the first POST is still hanging, unanswered.
        assert receiver.hanging.is_set() and deliveries(app, 1)[0].state == "sending"
        assert [d.state for d in deliveries(app, 2)] == ["pending", "pending"]
        receiver.release()
        wait_for(lambda: settled(app, 1) and settled(app, 2))
    assert [d.state for d in deliveries(app, 2)] == ["delivered", "delivered"]


def test_a_refusing_receiver_fails_at_once_and_staff_can_retry(hooked, agent):
    with Receiver([422]) as receiver:
        app = hooked(receiver.url)
        finish(app.test_client(), *UNRESOLVED)
        [failed] = wait_for(lambda: settled(app))
        assert failed.state == "failed" and failed.attempts == 1
        assert failed.tries[0].error.startswith("HTTP 422")
        console = app.test_client()
        login(console, agent)
        html = console.get("/console/handoffs/1").get_data(as_text=True)
        assert "Failed" in html
        retry = next(f for f in forms(html) if f["action"].endswith("/retry"))
        response = console.post(retry["action"], data=retry["fields"])
        assert response.status_code == 303
        [delivery] = wait_for(lambda: [d for d in deliveries(app) if d.state == "delivered"])
        # Retrying one that was delivered meanwhile changes nothing (409).
        again = console.post(retry["action"], data=retry["fields"])
    assert delivery.state == "delivered" and [t.status for t in delivery.tries] == [422, 200]
    assert again.status_code == 409 and "delivered already" in again.get_data(as_text=True)
    assert len(receiver.received) == 2


def test_429_and_408_are_retried_and_a_retry_after_is_honoured(hooked):
    with Receiver([(429, {"Retry-After": "1"}), 408]) as receiver:
        app = hooked(receiver.url)
        finish(app.test_client(), *UNRESOLVED)
        [delivery] = wait_for(lambda: settled(app))
    assert [t.status for t in delivery.tries] == [429, 408, 200]
    first, second, _ = delivery.tries
    assert (second.at - first.at).total_seconds() >= 1  # not the 0.05 s backoff
    assert len(receiver.received) == 3


def test_a_retry_after_that_is_not_a_plain_number_is_ignored(hooked):
    # "²" passes str.isdigit() but not float(): the sender thread once died on it, leaving the
    # delivery "Being sent" until its claim ran out, then dying again, attempts past the limit.
    with Receiver([(503, {"Retry-After": "\u00b2"}), (503, {"Retry-After": "1.5"})]) as receiver:
        app = hooked(receiver.url)
        finish(app.test_client(), *UNRESOLVED)
        [delivery] = wait_for(lambda: settled(app))
    assert [t.status for t in delivery.tries] == [503, 503, 200]
    assert delivery.state == "delivered" and len(receiver.received) == 3


@pytest.mark.parametrize(("public_url", "link"), [
    (None, "/console/handoffs/1"),
    ("https://help.example.com/", "https://help.example.com/console/handoffs/1")])
def test_the_console_link_never_comes_from_the_host_a_customer_named(hooked, public_url,
                                                                     link):
    # Anyone can start a session with "Host: evil.example": the link staff click in their
    # ticket system once pointed there (a phishing page asking them to log in again).
    with Receiver() as receiver:
        app = hooked(receiver.url, PUBLIC_URL=public_url)
        class NamingAHost(FlaskClient):
            def open(self, *args, **kwargs):
                return super().open(*args, base_url="http://evil.example", **kwargs)
        app.test_client_class = NamingAHost
        finish(app.test_client(), *UNRESOLVED)
        wait_for(lambda: settled(app))
    [got] = receiver.received
    assert got["body"]["handoff"]["console_url"] == link
    assert b"evil.example" not in got["raw"]


def test_attempts_run_out_and_the_delivery_fails(hooked):
    with Receiver([503, 502, 500]) as receiver:
        app = hooked(receiver.url, WEBHOOK_MAX_ATTEMPTS=2)
        finish(app.test_client(), *UNRESOLVED)
        [delivery] = wait_for(lambda: settled(app))
    assert delivery.state == "failed" and [t.status for t in delivery.tries] == [503, 502]
    assert "gave up after 2 attempts" in delivery.tries[-1].error
    assert len(receiver.received) == 2


def test_redirects_are_not_followed(hooked):
    with Receiver([(307, {"Location": "http://127.0.0.1:9/elsewhere"})]) as receiver:
        app = hooked(receiver.url)
        finish(app.test_client(), *UNRESOLVED)
        [delivery] = wait_for(lambda: settled(app))
    assert delivery.state == "failed" and "redirects are not followed" in delivery.tries[0].error
    assert len(receiver.received) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_receiver_breaks_nothing(hooked, agent):
    app = hooked(f"http://127.0.0.1:{_closed_port()}/hook", WEBHOOK_MAX_ATTEMPTS=2)
    client = app.test_client()
    w = finish(client, *UNRESOLVED)
    assert w.page.status_code == 200
    [delivery] = wait_for(lambda: settled(app))
    assert delivery.state == "failed" and "ConnectError" in delivery.tries[0].error
    console = app.test_client()
    login(console, agent)
    for url in ("/console/handoffs", "/console/handoffs/1"):
        assert console.get(url).status_code == 200


def test_several_senders_never_send_one_delivery_twice(app):
    store = WebhookDeliveries(app.extensions["assistant"].store.engine)
    with Receiver() as receiver:
        for n in range(30):
            store.enqueue("handoff.created", None, receiver.url, f'{{"n":{n}}}')
        senders = [WebhookSender(store, url=receiver.url, secret=SECRET, max_attempts=3,
                                 backoff=0.05, timeout=2) for _ in range(3)]
        barrier = threading.Barrier(len(senders))

        def run(sender):
            barrier.wait()
            sender.send_due()
        threads = [threading.Thread(target=run, args=(s,)) for s in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    ids = [r["delivery"] for r in receiver.received]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert {store.get(int(i)).state for i in ids} == {"delivered"}


def test_a_dead_senders_claim_is_taken_over(app):
    store = WebhookDeliveries(app.extensions["assistant"].store.engine)
    with Receiver() as receiver:
        delivery_id = store.enqueue("handoff.created", None, receiver.url, "{}")
        assert store.claim("host:1:dead", lease_seconds=0.3) is not None  # then it died
        sender = WebhookSender(store, url=receiver.url, secret=SECRET, max_attempts=3,
                               backoff=0.05, timeout=2)
        assert sender.send_due() == 0  # its claim still holds
        wait_for(lambda: sender.send_due() == 1)  # once it has run out
    delivery = store.get(delivery_id)
    assert delivery.state == "delivered"
    assert [(t.number, t.status, t.error) for t in delivery.tries] == [
        (1, None, LOST), (2, 200, None)]
    assert len(receiver.received) == 1


# --- signatures and settings --------------------------------------------------------------------

def test_verify_signature_accepts_only_the_real_thing():
    body = b'{"event":"handoff.created"}'
    now = 1_800_000_000
    header = sign(SECRET, body, now)
    assert verify_signature(SECRET, body, header, now=now + 10)
    assert not verify_signature(SECRET, body + b" ", header, now=now)  # body changed
    assert not verify_signature("another-secret-0000000", body, header, now=now)
    assert not verify_signature(SECRET, body, header, now=now + 301)  # replayed late
    for broken in (None, "", "t=abc,v1=00", "v1=" + header.split("v1=")[1], "t=1"):
        assert not verify_signature(SECRET, body, broken, now=now)
    rotating = f"t={now},v1={'0' * 64},v1={header.split('v1=')[1]}"
    assert verify_signature(SECRET, body, rotating, now=now)


def test_backoff_doubles_and_stops_at_an_hour():
    assert [backoff_seconds(30, n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_seconds(30, 8) == 3600 and backoff_seconds(30, 500) == 3600


@pytest.mark.parametrize(("env", "named"), [
    ({"WEBHOOK_URL": "ftp://hooks.example.com/x", "WEBHOOK_SECRET": SECRET}, "WEBHOOK_URL"),
    ({"WEBHOOK_URL": "hooks.example.com/x", "WEBHOOK_SECRET": SECRET}, "WEBHOOK_URL"),
    ({"WEBHOOK_URL": "https://hooks.example.com:abc/", "WEBHOOK_SECRET": SECRET},
     "WEBHOOK_URL"),
    ({"WEBHOOK_URL": "https://[::1/hooks", "WEBHOOK_SECRET": SECRET}, "WEBHOOK_URL"),
    ({"PUBLIC_URL": "help.example.com"}, "PUBLIC_URL"),
    ({"PUBLIC_URL": "https://help.example.com/console?x=1"}, "PUBLIC_URL"),
    ({"WEBHOOK_URL": "https://hooks.example.com/x"}, "WEBHOOK_SECRET"),
    ({"WEBHOOK_URL": "https://hooks.example.com/x", "WEBHOOK_SECRET": "short"},
     "WEBHOOK_SECRET"),
    ({"WEBHOOK_BACKOFF_SECONDS": "soon"}, "WEBHOOK_BACKOFF_SECONDS"),
    ({"WEBHOOK_BACKOFF_SECONDS": "nan"}, "WEBHOOK_BACKOFF_SECONDS"),
    ({"WEBHOOK_TIMEOUT_SECONDS": "0"}, "WEBHOOK_TIMEOUT_SECONDS"),
])
def test_bad_webhook_settings_are_refused_by_name(monkeypatch, make_app, tmp_path, env, named):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=named):
        check_webhook(settings(str(tmp_path)))
    with pytest.raises(ConfigError, match=named):
        make_app()


def test_a_good_webhook_url_is_accepted(monkeypatch, tmp_path):
    monkeypatch.setenv("WEBHOOK_URL", "https://hooks.example.com/assistant?token=abc")
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("WEBHOOK_BACKOFF_SECONDS", "0.5")
    config = settings(str(tmp_path))
    assert config["WEBHOOK_BACKOFF_SECONDS"] == 0.5 and config["WEBHOOK_TIMEOUT_SECONDS"] == 10
