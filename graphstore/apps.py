from django.apps import AppConfig


class GraphstoreConfig(AppConfig):
    name = "graphstore"
    verbose_name = "Neo4j graph store"
