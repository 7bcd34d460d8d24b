"""Local stand-ins for the places IRP sends notifications to: a webhook endpoint and an SMTP server.

Tests and benchmarks point the real senders at these, so every request crosses a real socket and
speaks real HTTP or SMTP, but only ever to 127.0.0.1. Both record what arrives (with timestamps,
for latency measurements) and can be told to answer badly, so retry and failure handling can be
exercised without any outside service.
"""

from __future__ import annotations

import email.policy
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from irp_site.testing.processes import free_port

HOST = "127.0.0.1"
SIGNATURE_HEADER = "X-IRP-Signature"


@dataclass(frozen=True)
class Answer:
    """How the HTTP receiver answers one request; `delay` holds the request in flight first."""

    status: int = 200
    body: bytes = b"ok"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    """One POST as it arrived. `at`/`monotonic_at` are taken when its request line was read."""

    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    at: float
    monotonic_at: float


def verify_signature(received: Received, secret: str) -> bool:
    """Whether the request carries `X-IRP-Signature: sha256=<hex>` over its raw body, keyed by `secret`."""
    given = received.headers.get(SIGNATURE_HEADER.lower(), "")
    expected = "sha256=" + hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogateescape"))


def _wait(
    condition: threading.Condition, ready: Callable[[], bool], timeout: float, failure: Callable[[], str]
) -> None:
    with condition:
        if not condition.wait_for(ready, timeout):
            raise TimeoutError(failure())


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, receiver: HttpReceiver) -> None:
        self.receiver = receiver
        super().__init__((HOST, 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A sender killed mid-request is an expected event in these tests, not an error to print.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm on a kept-alive connection the
    # body would wait for the client's delayed ACK (40 ms). Real providers' servers don't do that.
    disable_nagle_algorithm = True
    server: _Server
    _at = 0.0
    _monotonic_at = 0.0

    def parse_request(self) -> bool:
        # Called right after the request line is read, before the headers and body.
        self._at, self._monotonic_at = time.time(), time.monotonic()
        return super().parse_request()

    def do_POST(self) -> None:
        body = self._read_body()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        received = Received(
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            json=parsed,
            at=self._at,
            monotonic_at=self._monotonic_at,
        )
        answer = self.server.receiver._record(received)
        if answer.delay:
            time.sleep(answer.delay)
        self.send_response(answer.status)
        headers = {name.lower(): (name, value) for name, value in answer.headers.items()}
        headers.setdefault("content-type", ("Content-Type", "text/plain; charset=utf-8"))
        headers["content-length"] = ("Content-Length", str(len(answer.body)))
        for name, value in headers.values():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Running:
    """`with receiver:` starts it and stops it again."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class HttpReceiver(_Running):
    """A webhook endpoint on 127.0.0.1 that records every POST and answers as it is told to."""

    SLACK_OK: ClassVar[Answer] = Answer(200, b"ok")
    SLACK_INVALID_PAYLOAD: ClassVar[Answer] = Answer(400, b"invalid_payload")
    SLACK_NO_SERVICE: ClassVar[Answer] = Answer(404, b"no_service")
    SLACK_CHANNEL_ARCHIVED: ClassVar[Answer] = Answer(410, b"channel_is_archived")
    SLACK_RATE_LIMITED: ClassVar[Answer] = Answer(429, b"rate_limited", {"Retry-After": "1"})
    SERVER_ERROR: ClassVar[Answer] = Answer(500, b"internal_error")

    verify_signature = staticmethod(verify_signature)

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._received: list[Received] = []
        self._answers: dict[str, deque[Answer]] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("HttpReceiver is already running")
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="HttpReceiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; requests still held by a `delay` are abandoned, not waited for."""
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("HttpReceiver is not running")
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://{HOST}:{self.port}{path}"

    def respond(self, path: str, *answers: Answer) -> None:
        """Answer POSTs to `path` with `answers` in order; the last one then repeats forever."""
        if not answers:
            raise ValueError("respond() needs at least one Answer")
        with self._condition:
            self._answers[path] = deque(answers)

    def received(self, path: str | None = None) -> list[Received]:
        with self._condition:
            return self._matching(path)

    def wait_for(self, count: int, path: str | None = None, timeout: float = 10.0) -> list[Received]:
        """Block until at least `count` POSTs (to `path`, if given) have arrived; return them all."""
        where = f" to {path}" if path is not None else ""
        _wait(
            self._condition,
            lambda: len(self._matching(path)) >= count,
            timeout,
            lambda: f"expected {count} POST(s){where} within {timeout}s, but {len(self._matching(path))} arrived",
        )
        return self.received(path)

    def _matching(self, path: str | None) -> list[Received]:
        return [r for r in self._received if path is None or r.path == path]

    def _record(self, received: Received) -> Answer:
        # Recorded before any delay, so a test can see the request while it is still in flight.
        with self._condition:
            self._received.append(received)
            self._condition.notify_all()
            answers = self._answers.get(received.path)
            if not answers:
                return Answer()
            return answers[0] if len(answers) == 1 else answers.popleft()


@dataclass(frozen=True)
class ReceivedMail:
    """One message accepted by the SMTP receiver, with its envelope and the time DATA completed."""

    message: EmailMessage
    mail_from: str
    rcpt_tos: tuple[str, ...]
    at: float
    monotonic_at: float


class _SmtpHandler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        code = self.receiver._refusal(address)
        if code is not None:
            return f"{code} {code // 100}.1.1 No such user"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd hook
        code = self.receiver._take_failure()
        if code is not None:
            return f"{code} 4.3.0 Temporary failure, try again later"
        message = BytesParser(_class=EmailMessage, policy=email.policy.default).parsebytes(
            envelope.original_content or b""
        )
        self.receiver._record(
            ReceivedMail(
                message=message,
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                at=time.time(),
                monotonic_at=time.monotonic(),
            )
        )
        return "250 Message accepted for delivery"


class SmtpReceiver(_Running):
    """An SMTP server on 127.0.0.1 that keeps every message and can refuse or defer on request."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._mails: list[ReceivedMail] = []
        self._refused: dict[str, int] = {}
        self._failures_left = 0
        self._failure_code = 451
        self._controller: Controller | None = None

    def start(self) -> Self:
        if self._controller is not None:
            raise RuntimeError("SmtpReceiver is already running")
        # Controller needs a concrete port up front; another process may take it in between.
        for attempt in range(3):
            controller = Controller(_SmtpHandler(self), hostname=HOST, port=free_port(), ready_timeout=5.0)
            try:
                controller.start()
            except OSError:
                if attempt == 2:
                    raise
            else:
                self._controller = controller
                break
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    @property
    def port(self) -> int:
        if self._controller is None:
            raise RuntimeError("SmtpReceiver is not running")
        return int(self._controller.port)

    @property
    def email_url(self) -> str:
        """The receiver as django-environ's EMAIL_URL, for settings or a subprocess's environment."""
        return f"smtp://{HOST}:{self.port}"

    def refuse_recipients(self, *addresses: str, code: int = 550) -> None:
        """Answer RCPT for these addresses with `<code> x.1.1 No such user` (550: permanent, 4xx: transient)."""
        if not 400 <= code < 600:
            raise ValueError(f"a refusal needs a 4xx or 5xx code, not {code}")
        with self._condition:
            self._refused.update({address.lower(): code for address in addresses})

    def fail_next(self, n: int, code: int = 451) -> None:
        """Answer the next `n` DATA commands with a transient `code` instead of accepting the message."""
        if not 400 <= code < 500:
            raise ValueError(f"a transient failure needs a 4xx code, not {code}")
        with self._condition:
            self._failures_left, self._failure_code = n, code

    def received(self) -> list[ReceivedMail]:
        with self._condition:
            return list(self._mails)

    def messages(self) -> list[EmailMessage]:
        return [mail.message for mail in self.received()]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """Block until at least `count` messages have been accepted; return them all."""
        _wait(
            self._condition,
            lambda: len(self._mails) >= count,
            timeout,
            lambda: f"expected {count} message(s) within {timeout}s, but {len(self._mails)} arrived",
        )
        return self.received()

    def _refusal(self, address: str) -> int | None:
        with self._condition:
            return self._refused.get(address.lower())

    def _take_failure(self) -> int | None:
        with self._condition:
            if self._failures_left <= 0:
                return None
            self._failures_left -= 1
            return self._failure_code

    def _record(self, mail: ReceivedMail) -> None:
        with self._condition:
            self._mails.append(mail)
            self._condition.notify_all()
