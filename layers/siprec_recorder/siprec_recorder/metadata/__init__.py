"""SIPREC metadata: hardened RFC 7865 (and dialect) parsing, correlation, interaction id."""
