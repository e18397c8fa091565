"""A real OpenLDAP server (Debian's `slapd`) for the directory sign-in tests: a generated
directory loaded with `slapadd`, served on free loopback ports, plain LDAP (StartTLS
offered) and LDAPS, with a throwaway CA made by `openssl`.

The directory (dc=example,dc=org):
  ou=people: alice, bob (in staff), carol (employeeType=disabled), svc (service account)
  ou=groups: staff (alice, bob), all-staff (the group staff: alice and bob are in it
  nested), hr (bob)
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from support.net import free_port

SLAPD = "/usr/sbin/slapd"
BASE = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{BASE}"
ADMIN_PW = "admin-secret-1"
PASSWORDS = {"alice": "alice-ldap-1", "bob": "bob-ldap-12", "carol": "carol-ldap-1"}
SVC_DN, SVC_PW = f"uid=svc,ou=people,{BASE}", "svc-secret-1"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


def available() -> bool:
    return Path(SLAPD).is_file() and shutil.which("slapadd") is not None


def _person(uid: str, password: str, extra: str = "") -> str:
    return f"""dn: uid={uid},ou=people,{BASE}
objectClass: inetOrgPerson
uid: {uid}
cn: {uid.title()}
sn: {uid.title()}
userPassword: {password}
{extra}
"""


def _group(cn: str, members: list[str]) -> str:
    lines = "\n".join(f"member: {m}" for m in members)
    return f"dn: cn={cn},ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}\n"


def people(uid: str) -> str:
    return f"uid={uid},ou=people,{BASE}"


def directory_ldif() -> str:
    entries = [
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n",
        f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n",
        _person("alice", PASSWORDS["alice"]),
        _person("bob", PASSWORDS["bob"]),
        _person("carol", PASSWORDS["carol"], "employeeType: disabled"),
        _person("svc", SVC_PW),
        _group("staff", [people("alice"), people("bob")]),
        _group("all-staff", [f"cn=staff,ou=groups,{BASE}"]),
        _group("hr", [people("bob")]),
    ]
    return "\n".join(e.strip() + "\n" for e in entries)


def _config(root: Path, tls: bool) -> str:
    schemas = "\n".join(f"include /etc/ldap/schema/{s}.schema" for s in SCHEMAS)
    tls_lines = (
        f"TLSCACertificateFile {root}/ca.pem\n"
        f"TLSCertificateFile {root}/server.pem\n"
        f"TLSCertificateKeyFile {root}/server.key\n"
        if tls
        else ""
    )
    return f"""{schemas}
pidfile {root}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
{tls_lines}
database mdb
maxsize 16777216
suffix "{BASE}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PW}
directory {root}/db
access to attrs=userPassword by anonymous auth by self read by * none
access to * by users read by * none
"""


def make_ca(root: Path) -> None:
    """A CA and a server certificate for 127.0.0.1, with openssl."""

    def ossl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=root)

    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Test CA",
         "-keyout", "ca.key", "-out", "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    (root / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-out", "server.pem", "-extfile", "ext.cnf")  # fmt: skip
    (root / "server.key").chmod(0o644)


@dataclass
class Slapd:
    root: Path
    port: int
    tls_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    @property
    def ca_file(self) -> str:
        return str(self.root / "ca.pem")

    def start(self) -> None:
        urls = f"{self.url}/ {self.ldaps_url}/"
        log = (self.root / "slapd.log").open("ab")
        self.process = subprocess.Popen(
            [SLAPD, "-f", str(self.root / "slapd.conf"), "-h", urls, "-d", "0"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while not _listening(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((self.root / "slapd.log").read_text()[-2000:])
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None

    def modify(self, ldif: str) -> None:
        """Change the directory as its admin would (ldapmodify)."""
        subprocess.run(
            ["ldapmodify", "-x", "-H", self.url, "-D", ADMIN_DN, "-w", ADMIN_PW],
            input=ldif.encode(),
            check=True,
            capture_output=True,
        )


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_slapd(root: Path) -> Slapd:
    root.mkdir(parents=True, exist_ok=True)
    (root / "db").mkdir()
    make_ca(root)
    (root / "slapd.conf").write_text(_config(root, tls=True))
    (root / "data.ldif").write_text(directory_ldif())
    subprocess.run(
        ["slapadd", "-f", str(root / "slapd.conf"), "-l", str(root / "data.ldif")],
        check=True,
        capture_output=True,
    )
    server = Slapd(root, free_port(), free_port())
    server.start()
    return server
