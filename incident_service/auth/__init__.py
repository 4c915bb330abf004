"""Users, roles, login with MFA and API tokens."""
