"""Resilient downloads and polite API calls.

Retries with backoff and jitter on timeouts, 429 (honouring Retry-After) and 5xx come from
urllib3's `Retry`; what it does not do is here: streaming to a `.part` file then an atomic
rename, resuming a broken transfer with a Range request, checking the size announced and the
content's kind (parquet, zip, not an HTML error page), conditional requests with ETag /
Last-Modified, and a client-side rate limiter per API. A failure never touches the last good file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from achats import progress

CHUNK = 64 * 1024
USER_AGENT = "achats (pipeline ESS des acheteurs publics)"


class FetchError(Exception):
    """A source that could not be had; the message is French and names the source."""


class RateLimiter:
    """At most `rate` calls per second, spaced evenly (the APIs count per second or per minute)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = 1.0 / rate
        self.clock, self.sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.clock()
            if now < self._next:
                self.sleep(self._next - now)
                now = self._next
            self._next = now + self.interval


def session(retries: int = 5, backoff: float = 0.5) -> requests.Session:
    retry = Retry(total=retries, connect=retries, read=retries, status=retries, backoff_factor=backoff,
                  backoff_jitter=backoff / 2, status_forcelist=(429, 500, 502, 503, 504),
                  allowed_methods=frozenset({"GET", "HEAD"}), respect_retry_after_header=True,
                  raise_on_status=False)
    s = requests.Session()
    s.mount("http://", HTTPAdapter(max_retries=retry))
    s.mount("https://", HTTPAdapter(max_retries=retry))
    s.headers["User-Agent"] = USER_AGENT
    return s


MAGIC = {
    "parquet": (b"PAR1", "un fichier parquet"),
    "xlsx": (b"PK", "un classeur Excel"),
    "zip": (b"PK", "une archive zip"),
}


def check_kind(path: Path, kind: str) -> None:
    """Refuse an HTML error page or a cut file served in place of the expected format."""
    with path.open("rb") as fh:
        head = fh.read(512)
        if kind == "parquet":
            fh.seek(max(0, path.stat().st_size - 4))
            tail = fh.read(4)
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        raise FetchError("la réponse est une page HTML, pas le fichier attendu")
    if kind in MAGIC:
        magic, label = MAGIC[kind]
        if not head.startswith(magic) or (kind == "parquet" and tail != b"PAR1"):
            raise FetchError(f"le fichier reçu n'est pas {label} (incomplet ou d'un autre format)")
    if kind == "csv" and b"\x00" in head:
        raise FetchError("le fichier reçu n'est pas un CSV")


@dataclass
class FetchResult:
    url: str
    path: Path
    status: str  # téléchargé | inchangé
    size_bytes: int
    sha256: str
    fetched_at: str
    publisher_date: str | None
    etag: str | None


def _meta_path(target: Path) -> Path:
    return target.with_name(target.name + ".meta.json")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, target: Path, kind: str, http: requests.Session | None = None, timeout: float = 60.0,
             attempts: int = 4, expected_sha256: str | None = None, label: str | None = None) -> FetchResult:
    """Fetch `url` into `target` unless unchanged; resume a broken transfer; keep the old file on failure.
    Messages name the source by `label` (its name), not by its address."""
    label = label or target.name
    http = http or session()
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = json.loads(_meta_path(target).read_text(encoding="utf-8")) if _meta_path(target).exists() else {}
    part = target.with_name(target.name + ".part")
    last_error: Exception | None = None
    for _ in range(attempts):
        headers = {}
        if target.exists() and meta.get("url") == url:
            if meta.get("etag"):
                headers["If-None-Match"] = meta["etag"]
            if meta.get("last_modified"):
                headers["If-Modified-Since"] = meta["last_modified"]
        offset = part.stat().st_size if part.exists() else 0
        if offset and meta.get("part_etag"):
            headers["Range"] = f"bytes={offset}-"
            headers["If-Range"] = meta["part_etag"]
        try:
            with http.get(url, headers=headers, stream=True, timeout=timeout) as resp:
                if resp.status_code == 304:
                    return _result(url, target, "inchangé", meta)
                if resp.status_code >= 400:
                    raise FetchError(f"réponse HTTP {resp.status_code}")
                resumed = resp.status_code == 206
                if not resumed:
                    offset = 0
                expected = resp.headers.get("Content-Length")
                meta["part_etag"] = resp.headers.get("ETag")
                _meta_path(target).write_text(json.dumps(meta), encoding="utf-8")
                total = offset + int(expected) if expected is not None and expected.isdigit() else None
                with part.open("ab" if resumed else "wb") as fh, \
                        progress.task(f"Téléchargement : {label}", total, progress.BYTES) as shown:
                    shown.update(completed=offset)
                    for block in resp.iter_content(CHUNK):
                        fh.write(block)
                        shown.advance(len(block))
                received = part.stat().st_size - offset
                if expected is not None and received != int(expected):
                    raise FetchError(f"transfert incomplet ({received} octets reçus sur {expected})")
                etag, last_modified = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
        except (requests.RequestException, FetchError) as exc:
            last_error = exc
            if isinstance(exc, FetchError) and "HTTP" in str(exc):
                break
            continue
        try:
            check_kind(part, kind)
            digest = _sha256(part)
            if expected_sha256 and digest != expected_sha256:
                raise FetchError("somme de contrôle différente de celle publiée")
        except FetchError as exc:
            part.unlink(missing_ok=True)
            raise FetchError(f"{label} : {exc} ; le fichier précédent est conservé") from exc
        part.replace(target)
        meta = {"url": url, "etag": etag, "last_modified": last_modified, "sha256": digest,
                "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        _meta_path(target).write_text(json.dumps(meta), encoding="utf-8")
        return _result(url, target, "téléchargé", meta)
    raise FetchError(f"{label} : source indisponible après {attempts} tentatives ({_describe(last_error)}) ; "
                     "le fichier précédent est conservé")


def _describe(exc: Exception | None) -> str:
    if isinstance(exc, requests.Timeout):
        return "délai dépassé"
    if isinstance(exc, requests.ConnectionError):
        return "connexion interrompue"
    return str(exc) if exc else "erreur inconnue"


def _result(url: str, target: Path, status: str, meta: dict) -> FetchResult:
    return FetchResult(url=url, path=target, status=status, size_bytes=target.stat().st_size,
                       sha256=meta.get("sha256") or _sha256(target), fetched_at=meta.get("fetched_at") or "",
                       publisher_date=meta.get("last_modified"), etag=meta.get("etag"))


class ApiClient:
    """JSON GETs through the retrying session, spaced by the API's rate limit."""

    def __init__(self, base: str, rate: float, headers: dict[str, str] | None = None,
                 http: requests.Session | None = None, timeout: float = 30.0,
                 limiter: RateLimiter | None = None, label: str | None = None):
        self.base = base.rstrip("/")
        self.label = label or self.base
        self.http = http or session()
        self.headers = headers or {}
        self.timeout = timeout
        self.limiter = limiter or RateLimiter(rate)

    def get(self, path: str, params: dict | None = None) -> dict:
        self.limiter.wait()
        try:
            resp = self.http.get(f"{self.base}/{path.lstrip('/')}", params=params, headers=self.headers,
                                 timeout=self.timeout)
        except requests.RequestException as exc:
            raise FetchError(f"{self.label} : {_describe(exc)}") from exc
        if resp.status_code == 404:
            return {}
        if resp.status_code >= 400:
            raise FetchError(f"{self.label} : réponse HTTP {resp.status_code}")
        try:
            return resp.json()
        except ValueError as exc:
            raise FetchError(f"{self.label} : réponse qui n'est pas du JSON") from exc
