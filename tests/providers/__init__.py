"""Tests of llmunified's providers layer."""
