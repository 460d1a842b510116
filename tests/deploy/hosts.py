"""Separate hosts for the multi-host deployment test: Linux network namespaces on private bridges.

Every host is a network namespace with its own loopback and an address on one or both of two
bridges, ``front`` (client and proxy) and ``back`` (proxy, web, workers, database, broker). Both
bridges live in a namespace of their own (the switch), so the root namespace's interfaces, routes
and addresses are never touched and no host has a route to anything but the test's own hosts.
Deleting the namespaces removes every interface; names carry the pytest process id, so a leftover
of a killed run never collides with the next one, which also removes it (``stale_networks_remove``).

Processes run through ``ip netns exec``, which also bind-mounts ``/etc/netns/<namespace>/hosts``
over ``/etc/hosts`` (that is how the client host resolves the proxy's name), then ``unshare --uts``
so that each host has its own host name (Celery names its nodes after it), and each host gets a
home folder of its own (gunicorn keeps its control socket there).
"""

import datetime
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE_PREFIX = "sa-mh-"
# Addresses exist only inside the test's namespaces, so they cannot clash with the machine's.
SUBNETS = {"front": "10.213.1", "back": "10.213.2"}
PROXY_NAME = "annotator.test"
# The entrypoint arguments each role runs with, here and in docker/compose.yaml (tests/deploy/test_compose.py).
ROLES = {"web": ["web"], "worker": ["worker"], "gpu-worker": ["gpu-worker"], "beat": ["beat"]}
WEB_HEALTHCHECK = ["healthcheck", "healthz", "readyz"]
# Sets the host name inside the host's own UTS namespace, then runs the command.
_AS_HOST = 'hostname "$0" && exec "$@"'


def command_run(argv: list[str], *, timeout: float = 60, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and completed.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {completed.returncode}:\n{completed.stdout[-3000:]}{completed.stderr[-3000:]}"
        )
    return completed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def namespace_kill_all(namespace: str) -> None:
    """Kill whatever still runs in one of this test's namespaces (only the test starts processes there)."""
    pids = command_run(["ip", "netns", "pids", namespace], check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def namespace_remove(namespace: str) -> None:
    namespace_kill_all(namespace)
    command_run(["ip", "netns", "delete", namespace], check=False)
    shutil.rmtree(Path("/etc/netns") / namespace, ignore_errors=True)


def _stale(name: str) -> bool:
    match = re.match(rf"{re.escape(NAMESPACE_PREFIX)}(\d+)-", name)
    return bool(match) and not _pid_alive(int(match.group(1)))


def run_folder_make() -> Path:
    """The run's folder in /tmp (not pytest's 0700 tmp_path: postgres and nginx's workers must reach it)."""
    folder = Path(tempfile.mkdtemp(prefix=f"{NAMESPACE_PREFIX}{os.getpid()}-", dir="/tmp"))
    folder.chmod(0o755)
    return folder


def stale_networks_remove() -> list[str]:
    """Remove the namespaces and folders an earlier run left behind (its pytest process is gone)."""
    stale = []
    for line in command_run(["ip", "netns", "list"]).stdout.split("\n"):
        name = line.split(" ")[0]
        if _stale(name):
            namespace_remove(name)
            stale.append(name)
    for folder in Path("/tmp").glob(f"{NAMESPACE_PREFIX}*"):
        if folder.is_dir() and _stale(folder.name):
            shutil.rmtree(folder, ignore_errors=True)
            stale.append(str(folder))
    return stale


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path
    stop_signal: int = signal.SIGTERM

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 15) -> None:
        if not self.alive():
            return
        try:
            os.killpg(self.popen.pid, self.stop_signal)
            self.popen.wait(grace)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        if self.alive():
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(10)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""


@dataclass
class Host:
    name: str
    namespace: str
    home: Path
    addresses: dict[str, str] = field(default_factory=dict)  # network -> address
    processes: list[Process] = field(default_factory=list)

    @property
    def address(self) -> str:
        return self.addresses.get("back") or self.addresses["front"]

    def _argv(self, argv: list[str], user: str | None) -> list[str]:
        prefix = ["ip", "netns", "exec", self.namespace, "unshare", "--uts", "sh", "-c", _AS_HOST, self.name]
        return prefix + (["runuser", "-u", user, "--"] if user else []) + argv

    def _env(self, env: dict) -> dict:
        return {**env, "HOME": str(self.home)}

    def run(self, argv: list[str], *, env: dict, user: str | None = None, timeout: float = 300, cwd=ROOT):
        """Run a command on this host to its end; fails naming the host and the output when it fails."""
        completed = subprocess.run(
            self._argv(argv, user), env=self._env(env), cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
        if completed.returncode != 0:
            raise RuntimeError(
                f"on host {self.name}: {' '.join(argv)} exited {completed.returncode}\n"
                f"--- stdout ---\n{completed.stdout[-4000:]}\n--- stderr ---\n{completed.stderr[-4000:]}"
            )
        return completed

    def start(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict,
        log: Path,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
        cwd=ROOT,
    ) -> Process:
        """Start a long-running process on this host, in a process group of its own, output to ``log``."""
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                self._argv(argv, user),
                env=self._env(env),
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        process = Process(name=f"{self.name}/{name}", popen=popen, log=log, stop_signal=stop_signal)
        self.processes.append(process)
        return process


class Network:
    """The switch namespace with the two bridges, and the hosts plugged into them."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.tag = f"{NAMESPACE_PREFIX}{os.getpid()}-"
        self.switch = self.tag + "switch"
        self.hosts: dict[str, Host] = {}
        self._next_octet = {network: 10 for network in SUBNETS}
        try:
            self._namespace_add(self.switch)
            for network in SUBNETS:
                self._ip(self.switch, "link", "add", network, "type", "bridge")
                self._ip(self.switch, "link", "set", network, "up")
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _ip(namespace: str, *args: str) -> None:
        command_run(["ip", "-n", namespace, *args])

    def _namespace_add(self, namespace: str) -> None:
        command_run(["ip", "netns", "add", namespace])
        command_run(["ip", "-n", namespace, "link", "set", "lo", "up"])

    def host_add(self, name: str, *, networks: tuple[str, ...] = ("back",), octet: int | None = None) -> Host:
        """A new host with an interface on each of ``networks`` (eth0, eth1, ...)."""
        home = self.folder / "homes" / name
        home.mkdir(parents=True)
        home.chmod(0o755)
        host = Host(name=name, namespace=self.tag + name, home=home)
        self._namespace_add(host.namespace)
        self.hosts[name] = host
        for index, network in enumerate(networks):
            number = octet if octet is not None else self._next_octet[network]
            self._next_octet[network] = max(self._next_octet[network], number) + 1
            address = f"{SUBNETS[network]}.{number}"
            inside, port = f"eth{index}", f"{name[:10]}-{index}"
            command_run(
                [
                    "ip", "link", "add", inside, "netns", host.namespace,
                    "type", "veth", "peer", "name", port, "netns", self.switch,
                ]
            )  # fmt: skip
            self._ip(self.switch, "link", "set", port, "master", network, "up")
            self._ip(host.namespace, "addr", "add", f"{address}/24", "dev", inside)
            self._ip(host.namespace, "link", "set", inside, "up")
            host.addresses[network] = address
        return host

    def hosts_file_write(self, host: Host, entries: dict[str, str]) -> None:
        """Names the host resolves: ``ip netns exec`` mounts /etc/netns/<namespace>/hosts over /etc/hosts."""
        folder = Path("/etc/netns") / host.namespace
        folder.mkdir(parents=True, exist_ok=True)
        lines = ["127.0.0.1 localhost"] + [f"{address} {name}" for name, address in entries.items()]
        (folder / "hosts").write_text("\n".join(lines) + "\n")

    def processes(self) -> list[Process]:
        return [process for host in self.hosts.values() for process in host.processes]

    def close(self) -> None:
        """Stop every process (last started first), then remove every namespace and interface."""
        for process in reversed(self.processes()):
            process.stop()
        for host in self.hosts.values():
            namespace_remove(host.namespace)
        namespace_remove(self.switch)


# --- what runs on the hosts ---------------------------------------------------------------------


def postgres_bindir() -> Path:
    found = shutil.which("pg_config")
    if found:
        bindir = Path(command_run([found, "--bindir"]).stdout.strip())
        if (bindir / "initdb").exists():
            return bindir
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    if not candidates:
        raise RuntimeError("PostgreSQL's server binaries (initdb, postgres) are missing: install Debian's postgresql.")
    return candidates[-1].parent


def postgres_start(host: Host, folder: Path, *, user: str, password: str, database: str) -> Process:
    """A cluster of its own, initialised here, run as the ``postgres`` user, listening on the host's address."""
    bindir = postgres_bindir()
    folder.mkdir(mode=0o700)
    socket_dir = folder / "socket"
    socket_dir.mkdir()
    password_file = folder / "password"
    password_file.write_text(password + "\n")
    shutil.chown(folder, "postgres", "postgres")
    shutil.chown(socket_dir, "postgres", "postgres")
    shutil.chown(password_file, "postgres", "postgres")
    data = folder / "data"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    host.run(
        [
            str(bindir / "initdb"), "-D", str(data), "-U", user, "--pwfile", str(password_file),
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
        ],
        env=env, user="postgres", cwd=folder,
    )  # fmt: skip
    with open(data / "pg_hba.conf", "a") as hba:
        hba.write(f"host all all {SUBNETS['back']}.0/24 scram-sha-256\n")
    process = host.start(
        "postgres",
        [
            str(bindir / "postgres"), "-D", str(data), "-c", f"listen_addresses={host.address}",
            "-c", f"unix_socket_directories={socket_dir}", "-c", "port=5432",
            # A throw-away cluster: durability would only cost the shared CI disk time.
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        ],
        env=env, log=folder.parent / "postgres.log", user="postgres", stop_signal=signal.SIGINT, cwd=folder,
    )  # fmt: skip
    wait_until(
        lambda: host.run(
            [str(bindir / "pg_isready"), "-q", "-h", host.address, "-p", "5432"], env=env, user="postgres", cwd=folder
        ),
        what="PostgreSQL on the db host to accept connections",
        processes=[process],
    )
    host.run(
        [str(bindir / "createdb"), "-h", str(socket_dir), "-U", user, database], env=env, user="postgres", cwd=folder
    )
    return process


def redis_start(host: Host, folder: Path, *, password: str) -> Process:
    folder.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    process = host.start(
        "redis",
        [
            "redis-server", "--bind", host.address, "--port", "6379", "--requirepass", password,
            "--save", "", "--appendonly", "no", "--dir", str(folder),
        ],
        env=env, log=folder.parent / "redis.log",
    )  # fmt: skip
    wait_until(
        lambda: "PONG" in host.run(
            ["redis-cli", "-h", host.address, "--no-auth-warning", "-a", password, "ping"], env=env
        ).stdout,
        what="Redis on the broker host to answer PING",
        processes=[process],
    )
    return process


def tls_files_make(folder: Path, *, name: str) -> tuple[Path, Path, Path]:
    """A certificate authority of the test's own and a server certificate for ``name``: (ca, cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Multi-host test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


NGINX_CONF = """\
worker_processes 1;
user www-data;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    client_max_body_size 100m;
    upstream web {{
{upstreams}
    }}
    server {{
        listen {address}:80;
        server_name {name};
        return 301 https://$host$request_uri;
    }}
    server {{
        listen {address}:443 ssl;
        server_name {name};
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            proxy_pass http://web;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            # Exports stream: hand them on as they come.
            proxy_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
"""


def nginx_start(host: Host, folder: Path, *, web_addresses: list[str], cert: Path, key: Path) -> Process:
    """Debian's nginx terminating TLS on the proxy's front address and balancing the web hosts."""
    folder.mkdir()
    folder.chmod(0o755)
    config = folder / "nginx.conf"
    config.write_text(
        NGINX_CONF.format(
            folder=folder,
            upstreams="\n".join(f"        server {address}:8000;" for address in web_addresses),
            address=host.addresses["front"],
            name=PROXY_NAME,
            cert=cert,
            key=key,
        )
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    argv = [nginx, "-p", str(folder), "-c", str(config), "-e", str(folder / "error.log")]
    host.run(argv + ["-t"], env=env)
    process = host.start("nginx", argv + ["-g", "daemon off;"], env=env, log=folder / "stdout.log", stop_signal=signal.SIGQUIT)
    return process


def wait_until(check, *, what: str, processes: list[Process], timeout: float = 120, interval: float = 0.5):
    """Call ``check`` until it returns something true without raising; fail with the processes' logs."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        for process in processes:
            if not process.alive():
                raise RuntimeError(
                    f"{process.name} exited {process.popen.returncode} while waiting for {what}:\n{process.log_tail()}"
                )
        try:
            result = check()
            if result:
                return result
        except Exception as error:  # noqa: BLE001 - any failure means "not yet"
            last_error = error
        time.sleep(interval)
    logs = "\n".join(f"--- {process.name} ---\n{process.log_tail()}" for process in processes)
    raise RuntimeError(f"Gave up after {timeout} s waiting for {what}; last error: {last_error}\n{logs}")
