"""Extension instances, unbound; ``create_app`` binds them."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from incident_service.database import Base


class ServiceApi(Api):
    """flask-smorest's Api, with error handling left to ``incident_service.errors``.

    The stock handler would answer every HTTP error of the whole app, web pages included, as JSON.
    """

    def _register_error_handlers(self):  # noqa: D401 - our handlers are registered in errors.py
        return None


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api = ServiceApi()
login_manager = LoginManager()
csrf = CSRFProtect()
# Rate limits; storage from RATELIMIT_STORAGE_URI (memory:// by default, per process).
limiter = Limiter(key_func=get_remote_address)
babel = Babel()
