"""The only module-level application: ``gunicorn wsgi:app`` and ``flask --app wsgi``."""
from incident_service import create_app

app = create_app()
