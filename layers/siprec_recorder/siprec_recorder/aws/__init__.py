"""AWS adapters: the only modules of the pipeline that import boto3.

The one exception is `local/stack.py`, the local stand-in for AWS (moto's server and our KVS
server for tests, `make demo` and the benchmarks): it builds plain boto3 clients for that stack.
"""
