"""Benchmarks (run by hand through `make bench-tenancy` / `make bench-onboarding`, never by the tests)."""
