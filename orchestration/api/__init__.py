"""The JSON API (DRF), mounted at /api/orchestration/:

    urls.py         the routes (names in the orchestration-api namespace)
    auth.py         logging in: POST /api/auth/token (JSON username and password -> token)
    runs.py         submit a request, ingest a RunResult, list runs, one run, its status
    history.py      replay a run, the diff of two runs
    insights.py     analytics and retrieval (similar runs, a run's context)
    params.py       the one strict query-parameter base and every endpoint's parameters
    serializers.py  the wire shapes of the answers (camelCase)
    schema.py       the v1 contract in the OpenAPI document; one enum component per choice set
    errors.py       the one exception handler: every error tree -> one JSON error shape
    middleware.py   the request-body size limit (413 before anything reads the body)
"""
