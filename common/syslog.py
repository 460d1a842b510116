"""RFC 5424 syslog messages, octet-counted framing and their delivery over TCP: the one implementation the audit's sinks share."""

import datetime as dt
import socket

# RFC 5424 facility codes by name (section 6.2.1).
FACILITIES = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
    "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "security": 13, "console": 14,
    "solaris-cron": 15, "local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20,
    "local5": 21, "local6": 22, "local7": 23,
}
# Severities used here (section 6.2.1): notice for checkpoints, informational for events.
SEVERITY_NOTICE = 5
SEVERITY_INFO = 6
APP_NAME = "sensitive-annotator"
NIL = "-"


class SyslogDeliveryError(OSError):
    """The receiver could not be reached, or closed or reset the connection before reading it all."""


def header_field(text: str, limit: int) -> str:
    """RFC 5424 header fields are printable US-ASCII without spaces, of bounded length; NILVALUE if empty."""
    cleaned = "".join(char for char in text if 33 <= ord(char) <= 126)[:limit]
    return cleaned or NIL


def sd_param_escape(value: str) -> str:
    """An RFC 5424 PARAM-VALUE: '"', '\\' and ']' escaped with a backslash."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def syslog_message(
    msg: bytes,
    *,
    facility: int,
    severity: int,
    at: dt.datetime,
    hostname: str,
    procid: str = NIL,
    msgid: str = NIL,
    structured_data: str = NIL,
) -> bytes:
    """One RFC 5424 message with ``msg`` as MSG, framed by octet counting (RFC 6587 3.4.1):
    ``<length> <message>``, so a newline inside the message never splits it."""
    timestamp = at.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    header = " ".join(
        [
            f"<{facility * 8 + severity}>1",
            timestamp,
            header_field(hostname, 255),
            APP_NAME,
            header_field(procid, 128),
            header_field(msgid, 32),
            structured_data or NIL,
        ]
    )
    message = header.encode("utf-8") + b" " + msg
    return str(len(message)).encode("ascii") + b" " + message


def syslog_send(host: str, port: int, frames: bytes, *, timeout: float) -> None:
    """Send framed messages on a connection of their own and wait for the receiver to close it.

    Plain TCP syslog has no acknowledgement: bytes the kernel accepted may die in the receiver's
    socket buffer. So the sender half-closes after the last message; a receiver closes its side
    only once it has read everything (rsyslog and syslog-ng do), and that close is the
    acknowledgement. A receiver that dies or resets the connection first raises, and the caller
    sends again.
    """
    where = f"syslog receiver {host}:{port}"
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.sendall(frames)
            connection.shutdown(socket.SHUT_WR)
            while connection.recv(4096):
                pass  # syslog receivers send nothing; wait for their close
    except TimeoutError:
        raise SyslogDeliveryError(
            f"{where} did not accept the messages and close the connection within {timeout:g} s"
        ) from None
    except OSError as error:
        raise SyslogDeliveryError(f"{where}: {error.strerror or error}") from None
