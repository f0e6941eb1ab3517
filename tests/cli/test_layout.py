"""The optimised build lays out the code that commands run together, in the
order of src/hot-sections.txt (CMakeLists.txt, bench/hot-sections)."""

import os
import subprocess
import unittest

SOURCE = os.environ.get("ESC_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
# The optimised binary scripts/test builds; the sanitizer build is laid out
# by the default linker.
RELEASE_BIN = os.environ.get("ESC_STRESS_BIN")


def text_symbols(binary):
    """{name: address} of the functions defined in a binary (the first of aliases)."""
    out = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        words = line.split()
        if len(words) == 3 and words[1] in "tTwW":
            found.setdefault(words[2], int(words[0], 16))
    return found


def listed_functions():
    names = []
    with open(os.path.join(SOURCE, "src", "hot-sections.txt")) as f:
        for line in f:
            section = line.strip()
            for prefix in (".text.startup.", ".text."):
                if section.startswith(prefix):
                    names.append(section[len(prefix):])
                    break
    return names


class HotLayout(unittest.TestCase):
    def setUp(self):
        if not RELEASE_BIN:
            self.skipTest("no optimised build (ESC_STRESS_BIN, set by scripts/test)")
        cache = os.path.join(os.path.dirname(RELEASE_BIN), "CMakeCache.txt")
        with open(cache) as f:
            if "ESC_LINKER_ORDERS_SECTIONS:INTERNAL=1" not in f.read():
                self.skipTest("built without GNU gold: the default layout")

    def test_listed_functions_follow_one_another(self):
        symbols = text_symbols(RELEASE_BIN)
        names = [n for n in listed_functions() if n != "main"]  # main stays with the start-up code
        addresses = [symbols[n] for n in names if n in symbols]
        # Most of the list is still in the code; a stale list is one to make again.
        self.assertGreater(len(addresses), 0.8 * len(names), "run bench/hot-sections again")
        ascending = sum(1 for a, b in zip(addresses, addresses[1:]) if b >= a)
        # Laid out in the list's order, nearly every step goes up (aliases and
        # functions of libraries without sections of their own aside); in the
        # default layout about half of them do.
        self.assertGreater(ascending, 0.9 * (len(addresses) - 1))


if __name__ == "__main__":
    unittest.main()
