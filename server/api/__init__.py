"""The REST API: JSON in and out, ``Authorization: Bearer`` on every route,
errors as RFC 9457 problem documents, and an OpenAPI document built from the
same declarations that validate requests."""
