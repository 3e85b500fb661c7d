"""The ACH rail: NACHA files built and parsed (pure), and their SFTP transport to the bank."""
