"""The finished call: assembly, encoding, manifest, vCon, verification."""
