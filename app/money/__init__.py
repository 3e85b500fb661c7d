"""Pure rules every domain shares, importing no domain: the banking calendar."""
