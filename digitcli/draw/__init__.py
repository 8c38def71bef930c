"""`digits draw`: a Textual drawing pad that recognises the digit while you draw.

canvas.py holds the drawing (strokes and their picture, no UI); pad.py, panel.py
and preview.py are the widgets; app.py wires them to the model; draw.tcss styles them.
"""
