"""The use cases that span domains: they change an incident and move its clocks in one transaction.

Each is a typed, keyword-only function that takes ``now``, holds its rule, appends to the timeline and commits
once. Web handlers, API handlers and the demo data call these; the domain packages below never import them.
"""
