"""Thin Qt views over the item models and the engine's Library facade."""
