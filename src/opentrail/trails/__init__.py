"""Trails: the model, the trail operations, destinations, tags and channels."""
