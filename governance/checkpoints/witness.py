"""The audit witness's command line and HTTP server (POST /add-checkpoint, GET /status); runs with only Python and cryptography, see docs/audit-witness.md."""

import argparse
import json
import os
import socket
import sys
import tempfile
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from governance.checkpoints.cosign import (
    CosignerKey,
    cosigner_key_from_private_pem,
    cosigner_key_generate,
)
from governance.checkpoints.note import CheckpointError, note_key_from_vkey
from governance.checkpoints.witness_checks import (
    Witness,
    WitnessRefusal,
    WitnessState,
    now_iso,
    write_atomic,
)

# A key file may start with this header naming the witness (keygen writes it; PEM allows text before BEGIN).
NAME_HEADER = "witness-name:"


class WitnessHandler(BaseHTTPRequestHandler):
    """The standard library's server, so the witness box needs no web framework; the checks are Witness's."""

    server_version = "audit-witness/1"
    # A client that stops sending mid-request frees its thread after this long.
    timeout = 60
    witness: Witness
    max_body: int

    def do_POST(self):
        if self.path.rstrip("/").rsplit("/", 1)[-1] != "add-checkpoint":
            return self._answer(HTTPStatus.NOT_FOUND, "POST /add-checkpoint only.\n")
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            return self._answer(
                HTTPStatus.LENGTH_REQUIRED, "a Content-Length header is required.\n"
            )
        if int(length) > self.max_body:
            return self._answer(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the body is larger than {self.max_body} bytes.\n",
            )
        # Spooled: a long proof (a witness that was offline a while) goes to disk, not memory.
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
            remaining = int(length)
            while remaining:
                chunk = self.rfile.read(min(remaining, 1 << 16))
                if not chunk:
                    return self._answer(
                        HTTPStatus.BAD_REQUEST, "the body is shorter than its Content-Length.\n"
                    )
                spool.write(chunk)
                remaining -= len(chunk)
            spool.seek(0)
            try:
                line = self.witness.add_checkpoint(spool)
            except WitnessRefusal as refusal:
                message = (
                    refusal.message if refusal.message.endswith("\n") else refusal.message + "\n"
                )
                return self._answer(refusal.status, message, content_type=refusal.content_type)
        return self._answer(HTTPStatus.OK, line + "\n")

    def do_GET(self):
        if self.path.rstrip("/").rsplit("/", 1)[-1] != "status":
            return self._answer(HTTPStatus.NOT_FOUND, "GET /status only.\n")
        self._answer(
            HTTPStatus.OK,
            json.dumps(self.witness.status(), indent=1) + "\n",
            content_type="application/json",
        )

    def _answer(
        self, status: HTTPStatus, text: str, *, content_type: str = "text/plain; charset=utf-8"
    ):
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        print(
            json.dumps(
                {"at": now_iso(), "client": self.client_address[0], "request": format % args}
            ),
            file=sys.stderr,
            flush=True,
        )


def witness_key_load(path: Path, name: str | None) -> CosignerKey:
    """The witness key from a PEM file, named by --name or by the file's ``witness-name:`` header."""
    text = path.read_bytes()
    first, _, rest = text.partition(b"\n")
    if first.startswith(NAME_HEADER.encode()):
        name = name or first[len(NAME_HEADER) :].decode().strip()
        text = rest
    if not name:
        raise SystemExit(f"{path} does not name the witness: pass --name.")
    return cosigner_key_from_private_pem(name, text)


def _serve(args) -> None:
    key = witness_key_load(Path(args.key), args.name)
    try:
        log_keys = [note_key_from_vkey(vkey) for vkey in args.log_vkey]
    except CheckpointError as error:
        raise SystemExit(f"--log-vkey: {error}") from error
    state = WitnessState(Path(args.state))
    # The state folder remembers whose witness it is: serving it with another key would let a fresh
    # identity vouch for history the old one saw.
    identity = state.folder / "witness.vkey"
    if identity.exists() and identity.read_text().strip() != key.vkey():
        raise SystemExit(
            f"{identity} names another witness key ({identity.read_text().strip()}); refusing to start."
        )
    if not identity.exists():
        write_atomic(identity, (key.vkey() + "\n").encode())
    witness = Witness(
        state=state, key=key, log_keys=log_keys, origins=set(args.origin) if args.origin else None
    )
    host, _, port = args.listen.rpartition(":")
    handler = type("Handler", (WitnessHandler,), {"witness": witness, "max_body": args.max_body})
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), handler)
    print(
        json.dumps(
            {"at": now_iso(), "listening": f"{host}:{server.server_port}", "vkey": key.vkey()}
        ),
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _keygen(args) -> None:
    out = Path(args.out)
    key = cosigner_key_generate(args.name)
    # O_EXCL: never overwrite a witness key (its cosignatures would stop verifying).
    handle = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "wb") as file:
        file.write(f"{NAME_HEADER} {key.name}\n".encode() + key.private_pem())
    print(key.vkey())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m governance.checkpoints.witness", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="cosign checkpoints posted to /add-checkpoint")
    serve.add_argument(
        "--state", required=True, help="folder for the accepted checkpoints and alarms.jsonl"
    )
    serve.add_argument("--key", required=True, help="the witness's PEM key file (from keygen)")
    serve.add_argument(
        "--name", help="the witness name, when the key file has no witness-name header"
    )
    serve.add_argument(
        "--log-vkey", action="append", required=True, help="a log key to trust (repeatable)"
    )
    serve.add_argument(
        "--origin",
        action="append",
        help="follow only these origins (repeatable; default: any the log key signs)",
    )
    serve.add_argument(
        "--listen", default="127.0.0.1:8470", help="host:port (default 127.0.0.1:8470)"
    )
    serve.add_argument(
        "--max-body", type=int, default=256 * 1024 * 1024, help="largest request body in bytes"
    )
    keygen = commands.add_parser(
        "keygen", help="write a new witness key file (mode 0600) and print its vkey"
    )
    keygen.add_argument(
        "--name",
        default=f"witness/{socket.gethostname()}",
        help="the witness name (a schema-less URL)",
    )
    keygen.add_argument("--out", required=True, help="the key file to create (never overwritten)")
    args = parser.parse_args(argv)
    {"serve": _serve, "keygen": _keygen}[args.command](args)


if __name__ == "__main__":
    main()
