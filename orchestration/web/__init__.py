"""The web pages, mounted at /: urls.py, views.py (thin), forms.py (the request form),
presenters.py (PURE: ledger rows and runs -> template context)."""
