"""The engines behind the engine interface (engine.py), one package each."""
