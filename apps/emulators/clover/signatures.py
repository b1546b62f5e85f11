"""Clover does not sign webhooks (CONNECTORS.md §3.4): each POST carries the app's static
Clover Auth Code in this header."""

HEADER = "X-Clover-Auth"
