"""The prediction panel: the predicted digit drawn large, its confidence and ten probability bars."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

# A 5x7 bitmap font; each pixel is drawn two columns wide so the digit looks square.
FONT = {
    "0": (" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "),
    "1": ("  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "),
    "2": (" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"),
    "3": ("#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "),
    "4": ("   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "),
    "5": ("#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "),
    "6": ("  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "),
    "7": ("#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "),
    "8": (" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "),
    "9": (" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "),
}
EIGHTHS = " ▏▎▍▌▋▊▉█"
BAR = 9  # bar length in columns
HINT = "Draw a digit\non the pad with\nthe left mouse\nbutton."


def big_digit(digit: int, unicode: bool) -> list[str]:
    """The digit in the bitmap font, 7 rows of 10 columns: full blocks, or '#' in ASCII."""
    ink = "█" if unicode else "#"
    return ["".join((ink if c == "#" else " ") * 2 for c in row) for row in FONT[str(digit)]]


def bar(probability: float, unicode: bool) -> str:
    """A bar BAR columns long at full probability, in eighths of a column (or '#' in ASCII)."""
    if not unicode:
        return ("#" * round(probability * BAR)).ljust(BAR, ".")
    eighths = round(probability * BAR * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(BAR)


class Prediction(Widget):
    """What the model makes of the drawing; a hint while the pad is blank."""

    probabilities: reactive[np.ndarray | None] = reactive(None, always_update=True)

    def __init__(self, unicode: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.unicode = unicode

    def render(self) -> Text:
        p = self.probabilities
        if p is None:
            return Text(HINT, style="italic")
        best = int(p.argmax())
        text = Text()
        for line in big_digit(best, self.unicode):
            text.append(line + "\n", style="bold")
        text.append(f"\n{p[best]:.1%} sure\n\n", style="bold")
        for digit, probability in enumerate(p):
            style = "bold reverse" if digit == best else ""
            text.append(f"{digit}", style=style)
            text.append(f" {bar(float(probability), self.unicode)} {probability:6.1%}\n", style="bold" if digit == best else "")
        text.rstrip()
        return text
