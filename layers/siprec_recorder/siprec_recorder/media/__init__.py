"""Media: the sans-IO Matroska/KVS reader, codecs and the timeline that turns frames into exact PCM."""
