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
@click.option("--service-account", is_flag=True,
              help="An integration's account (API tokens only; no supervisor role, admin only alone).")
def user_create(name: str, roles: tuple[str, ...], generate_password: bool, display_name, email,
                service_account: bool) -> None:
    """Create user NAME with the given role(s)."""
    if generate_password or service_account:
        password = service.generate_password()
    else:
        password = click.prompt("Password (at least 12 characters)", hide_input=True, confirmation_prompt=True)
    user = _run(lambda: service.create_user(session=db.session, username=name, password=password, roles=list(roles),
                                            now=clock.now(), display_name=display_name, email=email,
                                            service_account=service_account))
    kind = "Service account" if service_account else "User"
    click.echo(f"{kind} {user.username} created with role(s) {', '.join(user.roles)}.")
    if service_account:
        click.echo(f"Make its API token with: flask --app wsgi token create {user.username} --name WHAT")
        return
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
    """Forget NAME's authenticator (even one no key can read); they enrol a new one at the next login with the
    one-time code printed here, and their sessions end."""
    done = _run(lambda: service.reset_mfa(session=db.session, username=name, now=clock.now(),
                                          code_hours=current_app.config["MFA_RESET_CODE_HOURS"]))
    click.echo(f"User {name} enrols a new authenticator at the next login; their sessions ended.")
    click.echo(f"One-time enrolment code (shown once, valid until {done.expires_at.isoformat(timespec='minutes')}): "
               f"{done.code}")


@user_cli.command("list")
def user_list() -> None:
    """List users, roles and state."""
    for user in db.session.scalars(service.users_query()):
        state = "active" if user.is_active else "disabled"
        mfa = "mfa" if user.mfa_enrolled else "no-mfa-yet"
        kind = "service" if user.is_service_account else "person"
        click.echo(f"{user.username:<24} {','.join(user.roles):<24} {state:<9} {mfa:<10} {kind}")


@token_cli.command("create")
@click.argument("username")
@click.option("--name", default="integration", show_default=True, help="What the token is for.")
@click.option("--days", type=int, default=None, help="Days until it expires (default API_TOKEN_DAYS).")
def token_create(username: str, name: str, days: int | None) -> None:
    """Create an API token acting as USERNAME; it is printed once."""
    def create():
        user = service.get_user(session=db.session, username=username)
        return tokens.create_token(session=db.session, user=user, name=name, created_by=current_app.config["AUDIT_ACTOR"],
                                   now=clock.now(), days=days or current_app.config["API_TOKEN_DAYS"])

    token, plain = _run(create)
    click.echo(f"Token #{token.id} for {username}, expires {token.expires_at.isoformat(timespec='minutes')} "
               "(shown once, store it now):")
    click.echo(plain)


@token_cli.command("renew")
@click.argument("token_id", type=int)
@click.option("--days", type=int, default=None, help="Days from now (default API_TOKEN_DAYS).")
def token_renew(token_id: int, days: int | None) -> None:
    """Let token TOKEN_ID live another API_TOKEN_DAYS (or --days) from now."""
    token = _run(lambda: tokens.renew_token(session=db.session, token_id=token_id, now=clock.now(),
                                            days=days or current_app.config["API_TOKEN_DAYS"]))
    click.echo(f"Token #{token_id} now expires {token.expires_at.isoformat(timespec='minutes')}.")


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
    now = clock.now()
    for token in db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)):
        used = token.last_used_at.isoformat() if token.last_used_at else "never"
        click.echo(f"#{token.id:<4} {token.prefix}…  {token.user.username:<20} {token.state(now):<8} "
                   f"expires {token.expires_at.isoformat(timespec='minutes')}  last used {used}  {token.name}")


def register(app: Flask) -> None:
    app.cli.add_command(user_cli)
    app.cli.add_command(token_cli)
