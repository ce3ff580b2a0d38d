"""App configurations of the project itself."""

from django.contrib.admin.apps import AdminConfig


class Cap01AdminConfig(AdminConfig):
    """django.contrib.admin with the project's admin site (cap01/admin.py) as `admin.site`."""

    default_site = "cap01.admin.Cap01AdminSite"
