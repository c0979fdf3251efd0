from app import app as application  # noqa: F401  (the "wsgi.py next to app.py" layout)
