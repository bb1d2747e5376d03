"""The recorder step: a finished call's state + its media -> recordings, manifest, terminal state.

The same code runs in the Recorder function, in `siprec-recorder process` and in the local
stack; only the adapters differ (KVS or files for media, S3 or a directory for objects).
"""
