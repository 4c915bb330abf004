"""`flask --app wsgi user ...` and `token ...`: accounts and API tokens from the command line."""
from __future__ import annotations

import getpass

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from incident_service import clock
from incident_service.auth import service, tokens
from incident_service.auth.models import ApiToken, Role
from incident_service.errors import DomainError
from incident_service.extensions import db

user_cli = AppGroup("user", help="User accounts: create, disable, enable, reset MFA, list.")
token_cli = AppGroup("token", help="API tokens: create (printed once), revoke, list.")


def _as_cli_actor() -> None:
    # The audit trail names who acted; on the command line that is the operating-system user.
    current_app.config["AUDIT_ACTOR"] = f"cli:{getpass.getuser()}"


def _run(action):
    _as_cli_actor()
    try:
        return action()
    except DomainError as error:
        raise click.ClickException(str(error)) from error


@user_cli.command("create")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice([r.value for r in Role]),
              help="Repeat for several roles.")
@click.option("--generate-password", is_flag=True, help="Generate a password and print it once, instead of asking.")
@click.option("--display-name", default=None)
@click.option("--email", default=None)
def user_create(name: str, roles: tuple[str, ...], generate_password: bool, display_name, email) -> None:
    """Create user NAME with the given role(s)."""
    if generate_password:
        password = service.generate_password()
    else:
        password = click.prompt("Password (at least 12 characters)", hide_input=True, confirmation_prompt=True)
    user = _run(lambda: service.create_user(session=db.session, username=name, password=password, roles=list(roles),
                                            now=clock.now(), display_name=display_name, email=email))
    click.echo(f"User {user.username} created with role(s) {', '.join(user.roles)}.")
    if generate_password:
        click.echo(f"Password (shown once): {password}")
    click.echo("They enrol their authenticator app (TOTP) at the first login.")


@user_cli.command("disable")
@click.argument("name")
def user_disable(name: str) -> None:
    """Disable user NAME: sessions end and tokens stop working."""
    _run(lambda: service.set_active(session=db.session, username=name, active=False, now=clock.now()))
    click.echo(f"User {name} is disabled.")


@user_cli.command("enable")
@click.argument("name")
def user_enable(name: str) -> None:
    """Enable user NAME again (and lift a lock)."""
    _run(lambda: service.set_active(session=db.session, username=name, active=True, now=clock.now()))
    click.echo(f"User {name} is enabled.")


@user_cli.command("reset-mfa")
@click.argument("name")
def user_reset_mfa(name: str) -> None:
    """Forget NAME's authenticator; they enrol a new one at the next login."""
    _run(lambda: service.reset_mfa(session=db.session, username=name))
    click.echo(f"User {name} enrols a new authenticator at the next login.")


@user_cli.command("list")
def user_list() -> None:
    """List users, roles and state."""
    for user in db.session.scalars(service.users_query()):
        state = "active" if user.is_active else "disabled"
        mfa = "mfa" if user.mfa_enrolled else "no-mfa-yet"
        click.echo(f"{user.username:<24} {','.join(user.roles):<24} {state:<9} {mfa}")


@token_cli.command("create")
@click.argument("username")
@click.option("--name", default="integration", show_default=True, help="What the token is for.")
def token_create(username: str, name: str) -> None:
    """Create an API token acting as USERNAME; it is printed once."""
    def create():
        user = service.get_user(session=db.session, username=username)
        return tokens.create_token(session=db.session, user=user, name=name, created_by=current_app.config["AUDIT_ACTOR"],
                                   now=clock.now())

    token, plain = _run(create)
    click.echo(f"Token #{token.id} for {username} (shown once, store it now):")
    click.echo(plain)


@token_cli.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID."""
    _run(lambda: tokens.revoke_token(session=db.session, token_id=token_id, actor=current_app.config["AUDIT_ACTOR"],
                                     now=clock.now()))
    click.echo(f"Token #{token_id} is revoked.")


@token_cli.command("list")
def token_list() -> None:
    """List tokens (never their value)."""
    for token in db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)):
        state = "revoked" if token.revoked_at else "live"
        used = token.last_used_at.isoformat() if token.last_used_at else "never"
        click.echo(f"#{token.id:<4} {token.prefix}…  {token.user.username:<20} {state:<8} last used {used}  {token.name}")


def register(app: Flask) -> None:
    app.cli.add_command(user_cli)
    app.cli.add_command(token_cli)
