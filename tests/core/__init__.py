"""Tests of llmunified's core layer."""
