"""siprec-recorder: SIPREC call recording from Chime SDK Voice Connector media in Kinesis Video Streams."""

__version__ = "0.1.0"
