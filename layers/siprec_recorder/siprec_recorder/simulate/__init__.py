"""The SIPREC call simulator: Chime-like KVS streams and events for the local stack and tests."""

from siprec_recorder.simulate.call import SimulatedCall, SimulatedLeg, ingest, simulate_call

__all__ = ["SimulatedCall", "SimulatedLeg", "ingest", "simulate_call"]
