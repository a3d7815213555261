"""Shared fixtures. Browser tests live in tests/browser and need Debian's Chromium."""
