"""siprec-recorder: SIPREC call recording from Chime SDK Voice Connector media in KVS."""

__version__ = "0.1.0"
