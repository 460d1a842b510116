"""The http(s) checkpoint sink: posts each checkpoint with the events since the witness's last one and returns its cosignature.

A sink URL names the witness's submission prefix, optionally pinning its key in the fragment::

    https://witness.example:8470/#witness.example/w1+1a2b3c4d+BF...=

With a pinned key every answer must carry a cosignature by that key over this checkpoint; without
one the lines are returned as the witness sent them (``audit_verify --witness-vkey`` checks them later).
"""

import base64
import http.client
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from urllib.parse import unquote, urlsplit

from governance.checkpoints.cosign import CosignerKey, cosignature_verify, cosigner_key_from_vkey
from governance.checkpoints.note import SIGNATURE_PREFIX, Checkpoint, CheckpointError
from governance.checkpoints.sinks import (
    CheckpointSink,
    CheckpointSinkError,
    checkpoint_sink_register,
)

TIMEOUT_SECONDS = 30
# The witness's size per (sink URL, origin), as last learnt; a fresh process starts at 0 and
# learns the real size from the witness's first 409 answer.
_known_sizes: dict[tuple[str, str], int] = {}
_known_sizes_lock = threading.Lock()


class WitnessSinkError(CheckpointSinkError):
    """The witness did not cosign; the message carries its status and answer."""


class WitnessSink(CheckpointSink):
    """Posts checkpoints to a witness speaking the add-checkpoint protocol of governance.checkpoints.witness."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or port == -1 or parts.query:
            raise CheckpointSinkError(
                "a witness sink is http(s)://host[:port][/prefix][#witness vkey]; "
                f"{parts.scheme}://{parts.hostname or ''}{parts.path} is not."
            )
        netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
        # The name is the URL without credentials or the key: it labels deliveries and pages.
        self.name = f"{parts.scheme}://{netloc}{parts.path or '/'}"
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, port
        self.path = parts.path.rstrip("/") + "/add-checkpoint"
        # user:password in the URL is sent as HTTP basic authentication (a proxy in front of the witness).
        self.authorization = (
            "Basic "
            + base64.b64encode(
                f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            ).decode()
            if parts.username
            else None
        )
        try:
            self.key: CosignerKey | None = (
                cosigner_key_from_vkey(unquote(parts.fragment)) if parts.fragment else None
            )
        except CheckpointError as error:
            raise CheckpointSinkError(
                f"witness sink {self.name}: the #fragment is not a witness vkey: {error}"
            ) from error

    def publish(
        self,
        note: bytes,
        checkpoint: Checkpoint,
        *,
        payloads: Callable[[int, int], Iterator[bytes]],
    ) -> list[str]:
        """The witness's cosignature lines for ``note``; WitnessSinkError when it refuses."""
        cache_key = (self.name, checkpoint.origin)
        with _known_sizes_lock:
            old = _known_sizes.get(cache_key, 0)
        old = min(old, checkpoint.size)
        status, content_type, answer = self._post(old, note, checkpoint, payloads)
        if status == 409 and content_type.startswith("text/x.tlog.size"):
            # The witness holds another size (another process published, or it is new to us):
            # one retry from there, with the events since its size.
            witness_size = self._size(answer)
            if witness_size <= checkpoint.size:
                old = witness_size
                status, content_type, answer = self._post(old, note, checkpoint, payloads)
        if status != 200:
            raise WitnessSinkError(
                f"witness {self.name} answered {status} for size {checkpoint.size} (old {old}): {answer.strip()[:500]}"
            )
        lines = [line for line in answer.splitlines() if line.startswith(SIGNATURE_PREFIX)]
        if not lines:
            raise WitnessSinkError(f"witness {self.name} answered 200 without a cosignature line.")
        if self.key is not None:
            self._check_pinned(checkpoint, lines)
        with _known_sizes_lock:
            _known_sizes[cache_key] = checkpoint.size
        return lines

    def _check_pinned(self, checkpoint: Checkpoint, lines: list[str]) -> None:
        errors = []
        for line in lines:
            try:
                cosignature_verify(checkpoint.body(), line, self.key)
                return
            except CheckpointError as error:
                errors.append(str(error))
        raise WitnessSinkError(
            f"witness {self.name} sent no valid cosignature by {self.key.name}: {'; '.join(errors)}"
        )

    def _headers(self, length: int) -> dict[str, str]:
        headers = {"Content-Type": "text/plain; charset=utf-8", "Content-Length": str(length)}
        if self.authorization:
            headers["Authorization"] = self.authorization
        return headers

    @staticmethod
    def _size(answer: str) -> int:
        text = answer.strip()
        if not text.isdigit():
            raise WitnessSinkError(f"the witness's 409 answer {text[:80]!r} is not a size.")
        return int(text)

    def _post(
        self, old: int, note: bytes, checkpoint: Checkpoint, payloads
    ) -> tuple[int, str, str]:
        # Spooled: the events since the witness's size can be many after an outage.
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as body:
            body.write(f"old {old}\n".encode())
            # From 0 nothing is sent: a witness that holds no head takes the first checkpoint on trust.
            if 0 < old < checkpoint.size:
                for payload in payloads(old, checkpoint.size):
                    body.write(base64.b64encode(payload) + b"\n")
            body.write(b"\n" + note)
            length = body.tell()
            body.seek(0)
            if self.scheme == "https":
                connection = http.client.HTTPSConnection(
                    self.host,
                    self.port,
                    timeout=TIMEOUT_SECONDS,
                    context=ssl.create_default_context(),
                )
            else:
                connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=TIMEOUT_SECONDS
                )
            try:
                connection.request(
                    "POST",
                    self.path,
                    body=body,
                    headers=self._headers(length),
                )
                response = connection.getresponse()
                answer = response.read(1 << 20).decode("utf-8", "replace")
                return response.status, response.getheader("Content-Type", ""), answer
            except OSError as error:
                raise WitnessSinkError(
                    f"witness {self.name} could not be reached: {error}"
                ) from error
            finally:
                connection.close()


checkpoint_sink_register("http", WitnessSink)
checkpoint_sink_register("https", WitnessSink)
