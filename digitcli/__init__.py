"""digits: train, evaluate and run a handwritten-digit recognizer from the terminal."""

__version__ = "0.1.0"
