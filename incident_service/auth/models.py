"""User accounts and their roles (a user may hold several)."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

from incident_service.extensions import db


class Role(str, enum.Enum):
    oncall = "oncall"
    supervisor = "supervisor"
    auditor = "auditor"
    admin = "admin"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(120))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    roles: Mapped[list] = mapped_column(sa.JSON, default=list)  # values of Role
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    def has_role(self, role: Role | str) -> bool:
        return Role(role).value in (self.roles or [])

    @property
    def name_for_record(self) -> str:
        return self.username
