"""A Django site whose only app is django-wm (the `mentions` package, from PyPI): the
independent webmention receiver that plays the blog in tests/test_interactions_e2e.py.

Without Celery (WEBMENTIONS_USE_CELERY = False) django-wm stores each webmention it
accepts as pending; `manage.py mentions_pending` then verifies it the way it always does
(fetches the source, finds the link to the target, parses the source's microformats with
its own code) and records a Webmention with its post type and author h-card.
"""

import os

BASE_DIR = os.environ["WMRECEIVER_DIR"]
SECRET_KEY = "tests-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]  # django-wm accepts targets on these hosts (any port)
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "mentions"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "tests.wmreceiver.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(BASE_DIR, "wm.sqlite3")}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True, "OPTIONS": {}}]
DOMAIN_NAME = "127.0.0.1"
WEBMENTIONS_URL_SCHEME = "http"
WEBMENTIONS_USE_CELERY = False
WEBMENTIONS_AUTO_APPROVE = True
WEBMENTIONS_TIMEOUT = 10
LOGGING = {"version": 1, "handlers": {"err": {"class": "logging.StreamHandler"}},
           "root": {"handlers": ["err"], "level": "INFO"}}
