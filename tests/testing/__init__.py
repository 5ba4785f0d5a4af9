"""Tests of llmunified's testing layer."""
