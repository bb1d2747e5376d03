"""Media: the sans-IO Matroska/KVS reader, codecs, and the timeline that makes exact PCM."""
