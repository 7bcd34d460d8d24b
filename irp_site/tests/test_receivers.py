import hashlib
import hmac
import json
import smtplib
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
import requests
from django.core.mail import EmailMultiAlternatives, get_connection

from irp_site.testing.receivers import Answer, HttpReceiver, SmtpReceiver, verify_signature


@pytest.fixture
def rx() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


def signed(body: bytes, secret: str) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-IRP-Signature": f"sha256={digest}"}


def message(to: str = "rui@example.test") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "irp@localhost"
    msg["To"] = to
    msg["Subject"] = "SEV1 declared"
    msg.set_content("Checkout is down.")
    return msg


def test_a_post_is_recorded_with_path_headers_body_json_and_time(rx: HttpReceiver) -> None:
    before = time.time()
    response = requests.post(rx.url("/services/T/B/X"), json={"text": "SEV1 declared"}, timeout=5)

    assert (response.status_code, response.text) == (200, "ok")
    [got] = rx.received()
    assert got.path == "/services/T/B/X"
    assert got.headers["content-type"] == "application/json"
    assert json.loads(got.body) == got.json == {"text": "SEV1 declared"}
    assert before <= got.at <= time.time()
    assert rx.received("/elsewhere") == []


def test_a_body_that_is_not_json_is_kept_raw(rx: HttpReceiver) -> None:
    requests.post(rx.url(), data=b"not json", timeout=5)

    [got] = rx.received("/hook")
    assert (got.body, got.json) == (b"not json", None)


def test_answers_are_used_in_order_and_the_last_repeats(rx: HttpReceiver) -> None:
    rx.respond("/hook", HttpReceiver.SERVER_ERROR, HttpReceiver.SERVER_ERROR, HttpReceiver.SLACK_OK)

    statuses = [requests.post(rx.url(), json={}, timeout=5).status_code for _ in range(5)]

    assert statuses == [500, 500, 200, 200, 200]
    assert requests.post(rx.url("/other"), json={}, timeout=5).status_code == 200


def test_slack_rate_limit_answer_carries_retry_after(rx: HttpReceiver) -> None:
    rx.respond("/hook", HttpReceiver.SLACK_RATE_LIMITED)

    response = requests.post(rx.url(), json={}, timeout=5)

    assert (response.status_code, response.text, response.headers["Retry-After"]) == (429, "rate_limited", "1")


def test_a_delayed_answer_is_recorded_while_still_in_flight(rx: HttpReceiver) -> None:
    rx.respond("/slow", Answer(delay=0.5))
    statuses: list[int] = []
    sender = threading.Thread(target=lambda: statuses.append(requests.post(rx.url("/slow"), timeout=5).status_code))

    started = time.monotonic()
    sender.start()
    rx.wait_for(1, path="/slow", timeout=5)
    seen_after = time.monotonic() - started
    sender.join()

    assert seen_after < 0.5
    assert time.monotonic() - started >= 0.5
    assert statuses == [200]


def test_wait_for_times_out_naming_how_many_arrived(rx: HttpReceiver) -> None:
    requests.post(rx.url(), json={}, timeout=5)

    with pytest.raises(TimeoutError, match=r"expected 2 POST\(s\) to /hook within 0.1s, but 1 arrived"):
        rx.wait_for(2, path="/hook", timeout=0.1)


def test_signature_verification(rx: HttpReceiver) -> None:
    body = b'{"incident": 7}'
    requests.post(rx.url(), data=body, headers=signed(body, "s3cret"), timeout=5)
    requests.post(rx.url(), data=body, timeout=5)

    good, unsigned = rx.received()
    assert verify_signature(good, "s3cret")
    assert rx.verify_signature(good, "s3cret")
    assert not verify_signature(good, "other")
    assert not verify_signature(unsigned, "s3cret")


def test_smtplib_message_arrives_with_its_envelope(smtp: SmtpReceiver) -> None:
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=5) as client:
        client.send_message(message(), to_addrs=["rui@example.test", "ines@example.test"])

    [mail] = smtp.wait_for(1)
    assert mail.message["Subject"] == "SEV1 declared"
    assert mail.mail_from == "irp@localhost"
    assert mail.rcpt_tos == ("rui@example.test", "ines@example.test")
    assert smtp.email_url == f"smtp://127.0.0.1:{smtp.port}"


def test_django_multipart_mail_arrives_with_text_and_html(smtp: SmtpReceiver) -> None:
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host="127.0.0.1",
        port=smtp.port,
        username="",
        password="",
        use_tls=False,
        use_ssl=False,
        timeout=5,
    )
    mail = EmailMultiAlternatives(
        "SEV1 declared", "Checkout is down.", "irp@localhost", ["rui@example.test"], connection=connection
    )
    mail.attach_alternative("<p>Checkout is <b>down</b>.</p>", "text/html")
    assert mail.send() == 1

    [got] = smtp.messages()
    assert got["Subject"] == "SEV1 declared"
    text, html = got.get_body(("plain",)), got.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().strip() == "Checkout is down."
    assert html.get_content().strip() == "<p>Checkout is <b>down</b>.</p>"


def test_a_refused_recipient_is_an_error_to_the_sender(smtp: SmtpReceiver) -> None:
    smtp.refuse_recipients("Gone@Example.test")

    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.send_message(message("gone@example.test"))
        client.send_message(message())

    assert refused.value.recipients == {"gone@example.test": (550, b"5.1.1 No such user")}
    assert [mail.rcpt_tos for mail in smtp.received()] == [("rui@example.test",)]


def test_fail_next_defers_data_then_accepts(smtp: SmtpReceiver) -> None:
    smtp.fail_next(2)

    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=5) as client:
        for _ in range(2):
            with pytest.raises(smtplib.SMTPDataError) as deferred:
                client.send_message(message())
            assert deferred.value.smtp_code == 451
        client.send_message(message())

    assert len(smtp.wait_for(1)) == 1
