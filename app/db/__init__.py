"""Data layer: the table definition, key builders and the only code that talks to boto3."""
