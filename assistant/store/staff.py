"""Staff accounts: create, find and authenticate the people who use the console.

Passwords are hashed with Argon2id through argon2-cffi (its default parameters follow RFC 9106,
https://www.rfc-editor.org/rfc/rfc9106#section-4); a hash made with older parameters is
re-hashed on the next successful login.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from .models import Staff, StaffApiToken, StaffLogin, utcnow

ROLES = ("agent", "admin")
LOGIN_RECORDS_KEPT = timedelta(days=31)  # longer than the longest STAFF_LOGIN_HOURS
PASSWORD_MIN = 12
PASSWORD_MAX = 1024
PASSWORD_DISTINCT = 5
# local part: no space, quote, bracket or separator (RFC 5322's specials); domain: host labels
EMAIL = re.compile(r"^[^@\s<>()\[\]\\,;:\"]+@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}$")
_hasher = PasswordHasher()
# A hash to verify against when the email is unknown, so an unknown address costs the same time
# as a wrong password and does not reveal which addresses have accounts.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class StaffError(ValueError):
    """A staff account cannot be created or changed as asked; the message says why."""


def check_password(password: str) -> None:
    """Raise :class:`StaffError` unless ``password`` is acceptable: 12 to 1,024 characters,
    at least 5 of them different (twelve spaces or one letter repeated is no password)."""
    if len(password) < PASSWORD_MIN:
        raise StaffError(f"the password must have at least {PASSWORD_MIN} characters")
    if len(set(password)) < PASSWORD_DISTINCT:
        raise StaffError(f"the password must have at least {PASSWORD_DISTINCT} different "
                         "characters")
    if len(password) > PASSWORD_MAX:
        raise StaffError(f"the password must have at most {PASSWORD_MAX:,} characters")


class StaffAccounts:
    """Staff accounts in the database. Every method runs in its own transaction and returns
    detached :class:`~assistant.store.models.Staff` rows."""

    def __init__(self, engine: Engine):
        self.Session = sessionmaker(engine, expire_on_commit=False)

    def add(self, email: str, password: str, role: str) -> Staff:
        """Create an account. ``email`` is stored lower-case.

        Raises:
            StaffError: the email, password or role is not acceptable, or an account with
                that email exists.
        """
        email = (email or "").strip().lower()
        if len(email) > 254 or not EMAIL.match(email):
            raise StaffError(f"{email!r} is not an email address")
        if role not in ROLES:
            raise StaffError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
        check_password(password)
        row = Staff(email=email, password_hash=_hasher.hash(password), role=role, active=True)
        try:
            with self.Session.begin() as s:
                s.add(row)
        except IntegrityError:
            raise StaffError(f"an account for {email} exists already") from None
        return row

    def set_password(self, email: str, password: str) -> Staff:
        """Replace the password of the account for ``email`` (and make it active).

        Raises:
            StaffError: no such account, or the password is not acceptable.
        """
        check_password(password)
        with self.Session.begin() as s:
            row = s.scalars(select(Staff).where(Staff.email == email.strip().lower())).first()
            if row is None:
                raise StaffError(f"there is no account for {email}")
            row.password_hash = _hasher.hash(password)
            row.active = True
            _end_logins(s, row.id)  # whoever knew the old password is out, everywhere
        return row

    def set_active(self, staff_id: int, active: bool) -> None:
        """Allow or stop logins for an account (its records stay); deactivating ends its
        logins everywhere."""
        with self.Session.begin() as s:
            s.execute(update(Staff).where(Staff.id == staff_id).values(active=active))
            if not active:
                _end_logins(s, staff_id)

    def start_login(self, staff_id: int) -> str:
        """Record a new login of the account; returns its token (43 URL-safe characters, 256
        random bits) for the login cookie. Only its SHA-256 is stored. Login records older
        than :data:`LOGIN_RECORDS_KEPT` are deleted on the way."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        with self.Session.begin() as s:
            s.execute(delete(StaffLogin).where(StaffLogin.created_at < now - LOGIN_RECORDS_KEPT))
            s.add(StaffLogin(token_hash=_digest(token), staff_id=staff_id, created_at=now))
        return token

    def by_login(self, token: str, lasts: timedelta) -> Staff | None:
        """The active account whose login has this token, if that login has not ended (by
        logout, a new password, deactivation, or ``lasts`` after it began); else None."""
        if not token or len(token) > 100:
            return None
        query = (select(Staff).join(StaffLogin, StaffLogin.staff_id == Staff.id)
                 .where(StaffLogin.token_hash == _digest(token), StaffLogin.ended_at.is_(None),
                        StaffLogin.created_at > utcnow() - lasts, Staff.active.is_(True)))
        with self.Session() as s:
            return s.scalars(query).first()

    def end_login(self, token: str) -> None:
        """End the login with this token (logout): its cookie, wherever copied, stops
        working."""
        with self.Session.begin() as s:
            s.execute(update(StaffLogin).where(StaffLogin.token_hash == _digest(token),
                                               StaffLogin.ended_at.is_(None))
                      .values(ended_at=utcnow()))

    def create_api_token(self, email: str) -> str:
        """A new API token for the account with this email (43 URL-safe characters, 256
        random bits, shown once); only its SHA-256 is stored.

        Raises:
            StaffError: no such account, or it is inactive.
        """
        token = secrets.token_urlsafe(32)
        with self.Session.begin() as s:
            row = s.scalars(select(Staff).where(Staff.email == email.strip().lower())).first()
            if row is None or not row.active:
                raise StaffError(f"no active account {email!r}")
            s.add(StaffApiToken(token_hash=_digest(token), staff_id=row.id, created_at=utcnow()))
        return token

    def by_api_token(self, token: str) -> Staff | None:
        """The active account an unrevoked API token belongs to, or None."""
        if not token or len(token) > 100:
            return None
        query = (select(Staff).join(StaffApiToken, StaffApiToken.staff_id == Staff.id)
                 .where(StaffApiToken.token_hash == _digest(token),
                        StaffApiToken.revoked_at.is_(None), Staff.active.is_(True)))
        with self.Session() as s:
            return s.scalars(query).first()

    def get(self, staff_id: int) -> Staff | None:
        """The account with this id, or None."""
        with self.Session() as s:
            return s.get(Staff, staff_id)

    def by_email(self, email: str) -> Staff | None:
        """The account for ``email`` (any case), or None."""
        with self.Session() as s:
            return s.scalars(select(Staff).where(Staff.email == email.strip().lower())).first()

    def all(self) -> list[Staff]:
        """Every account, by email."""
        with self.Session() as s:
            return list(s.scalars(select(Staff).order_by(Staff.email)))

    def authenticate(self, email: str, password: str) -> Staff | None:
        """The active account for ``email`` if ``password`` is its password, else None.

        Takes about as long for an unknown email as for a wrong password. A successful login
        records ``last_login_at`` and upgrades an outdated hash.
        """
        row = self.by_email(email or "") if len(email or "") <= 254 else None
        if len(password or "") > PASSWORD_MAX:
            return None
        try:
            _hasher.verify(row.password_hash if row else _DUMMY_HASH, password or "")
        except (VerificationError, InvalidHashError):
            return None
        if row is None or not row.active:
            return None
        values = {"last_login_at": utcnow()}
        if _hasher.check_needs_rehash(row.password_hash):
            values["password_hash"] = _hasher.hash(password)
        with self.Session.begin() as s:
            s.execute(update(Staff).where(Staff.id == row.id).values(**values))
        for name, value in values.items():  # the row returned is as stored now
            setattr(row, name, value)
        return row


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _end_logins(s, staff_id: int) -> None:
    s.execute(update(StaffLogin).where(StaffLogin.staff_id == staff_id,
                                       StaffLogin.ended_at.is_(None)).values(ended_at=utcnow()))
