"""Development tooling, outside the runtime apps: synthetic runs, the persistence benchmark,
the load test and the example generator (management commands `bench_persist`, `loadtest`,
`generate_examples`). Nothing in `contracts`, `orchestration` or `graphstore` imports it (a test
checks); its plotting and progress-bar packages come from requirements/dev.txt.
"""
