"""URLs of the web pages (request form, run page), mounted at /."""

urlpatterns: list = []
