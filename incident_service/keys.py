"""The service's keys: the session key (``SECRET_KEY``), the keys that encrypt stored secrets
(``FIELD_ENCRYPTION_KEY``, several for rotation) and the key that signs audit checkpoints (``AUDIT_ANCHOR_KEY``).

No session is ever signed with a known key: every environment refuses a key under 32 bytes, one with hardly any
different characters, or a published default. Where the configuration asks for it (development), a missing key is
generated once into the instance folder (mode 0600) and reused; production takes every key from the environment.
"""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from cryptography.fernet import Fernet, MultiFernet

MIN_KEY_BYTES = 32
MIN_DISTINCT_CHARACTERS = 8
# Keys that were ever written in this code base, its docs or common examples: never good enough.
KNOWN_DEFAULT_KEYS = frozenset({
    "dev-only-not-secret", "testing-secret", "secret", "changeme", "change-me", "change_me", "development",
    "dev", "test", "testing", "production", "default", "password", "your-secret-key", "secret-key",
    "incident_service", "incident-service",
})
# Files the development configuration generates missing keys into (in the instance folder).
KEY_FILES = {"SECRET_KEY": "secret_key", "AUDIT_ANCHOR_KEY": "audit_anchor_key"}


class KeyProblem(RuntimeError):
    """A key is missing or too weak: the service refuses to start (the message names the variable)."""


def weakness(value: str) -> str | None:
    """Why a key is not good enough, or None."""
    text = value.strip()
    if text.lower() in KNOWN_DEFAULT_KEYS:
        return "it is a published default"
    if len(text.encode("utf-8")) < MIN_KEY_BYTES:
        return f"it is shorter than {MIN_KEY_BYTES} bytes"
    if len(set(text)) < MIN_DISTINCT_CHARACTERS:
        return "it repeats too few characters to be random"
    return None


def split_keys(value: str | None) -> list[str]:
    """``FIELD_ENCRYPTION_KEY`` may hold several keys, newest first, separated by commas."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _generated(instance_path: str, filename: str) -> str:
    """The key kept in ``instance/<filename>``, created (mode 0600) on first use; safe when two processes race."""
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    if not path.exists():
        temporary = folder / f".{filename}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(temporary, path)  # atomic: the first process's key wins, complete
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    return path.read_text(encoding="utf-8").strip()


def load_keys(config: dict[str, Any], instance_path: str) -> None:
    """Fill in generated keys where the configuration allows it, then refuse missing or weak ones."""
    generate = bool(config.get("GENERATE_MISSING_KEYS"))
    for name, filename in KEY_FILES.items():
        if not config.get(name) and generate:
            config[name] = _generated(instance_path, filename)
    missing = [name for name in ("SECRET_KEY", "AUDIT_ANCHOR_KEY") if not config.get(name)]
    if config.get("PRODUCTION") and not config.get("FIELD_ENCRYPTION_KEY"):
        missing.append("FIELD_ENCRYPTION_KEY")
    if missing:
        raise KeyProblem(f"Set {' and '.join(missing)} in the environment (see the README, 'Keys').")
    checks = [("SECRET_KEY", config["SECRET_KEY"]), ("AUDIT_ANCHOR_KEY", config["AUDIT_ANCHOR_KEY"])]
    checks += [("FIELD_ENCRYPTION_KEY", key) for key in split_keys(config.get("FIELD_ENCRYPTION_KEY"))]
    for name, value in checks:
        problem = weakness(str(value))
        if problem:
            raise KeyProblem(f"{name} is refused: {problem}. Generate one with "
                            "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'.")


def field_keys(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The field encryption keys, newest first; without ``FIELD_ENCRYPTION_KEY``, the session key."""
    keys = split_keys(config.get("FIELD_ENCRYPTION_KEY")) or [config["SECRET_KEY"]]
    return tuple(keys)


@lru_cache(maxsize=16)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    # Any string is a key: a Fernet key is derived from it, so the README's `secrets.token_urlsafe` output works.
    return MultiFernet([
        Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"field-encryption:{key}".encode()).digest())) for key in keys
    ])


def field_cipher(config: Mapping[str, Any]) -> MultiFernet:
    """Encrypts with the newest key, decrypts with any of them (``MultiFernet``)."""
    return _cipher(field_keys(config))
