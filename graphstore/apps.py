from django.apps import AppConfig


class GraphstoreConfig(AppConfig):
    name = "graphstore"
    verbose_name = "Neo4j graph store"

    def ready(self) -> None:
        from .connection import configure_neomodel

        configure_neomodel()  # TLS with a private CA (NEO4J_TRUSTED_CA) for neomodel's driver
