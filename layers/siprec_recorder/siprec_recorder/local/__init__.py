"""The embedded local stack: moto server, our KVS media server, a Lambda-like invoker."""
