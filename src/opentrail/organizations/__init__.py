"""Organizations: the model, the AWS Organizations API subset and accounts."""
