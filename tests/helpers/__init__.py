"""Code the tests share (importable as `helpers.<module>`: tests/ is on sys.path under pytest)."""
