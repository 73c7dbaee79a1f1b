"""Geometry of weight space read from fitted models: landscapes, clustering, liquidity."""
