import os

from core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# Django's application with a request that ignores a charset no text can be decoded with (core.wsgi).
application = get_wsgi_application()
