"""Live connection probes: what a probe saw (observations), what it means (diagnosis), how it is
run against a real connection (checks), and the connections it may check.

Modules:

- ``observations``: the observation format of ``../shared/fixtures/README.md`` as typed values
- ``diagnosis``: ``diagnose(system, observations) -> Diagnosis``, a pure function
- ``ruleset``: loads and validates ``rules/*.yaml`` once
- ``rules/``: the data the diagnosis applies (HRESULT table, OAuth error table, …), each entry
  citing the vendor documentation it came from
- ``connections``: the connections config (ids, systems, endpoints, names of secret variables)
- ``tokens``: OAuth tokens kept outside the database (rotated refresh tokens)
- ``checks``: the HTTP calls each probe makes, turned into observations
- ``runner``: runs checks off the request thread, at most once per connection per TTL
"""
