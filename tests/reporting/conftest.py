"""Shared fixtures of the reporting tests (a world with two organisations and personas): see below."""
