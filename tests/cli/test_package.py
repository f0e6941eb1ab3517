"""The Debian package: it installs with dpkg, esc runs from /usr/bin, its man
pages and shell completions are where Debian looks for them, and it removes
cleanly. scripts/test passes the package its Release build made (ESC_DEB);
run alone, this builds one from the build under test."""

import glob
import os
import shutil
import subprocess
import unittest

BUILD = os.path.dirname(os.path.abspath(os.environ["ESC_BIN"])) if os.environ.get("ESC_BIN") else None


def sh(*args, check=True, **kw):
    return subprocess.run(args, capture_output=True, text=True, check=check, **kw)


class Package(unittest.TestCase):
    def deb(self):
        given = os.environ.get("ESC_DEB")
        if given:
            self.assertTrue(os.path.exists(given), f"ESC_DEB={given} does not exist")
            return given
        self.assertIsNotNone(BUILD, "ESC_BIN names no build to package")
        sh("cpack", "-G", "DEB", cwd=BUILD)
        debs = glob.glob(os.path.join(BUILD, "esc_*.deb"))
        self.assertEqual(len(debs), 1, debs)
        return debs[0]

    def test_installs_runs_and_removes_cleanly(self):
        self.assertEqual(os.geteuid(), 0, "installing a package takes root (CI runs as root)")
        installed = sh("dpkg-query", "-W", "-f=${Status}", "esc", check=False).stdout
        self.assertNotIn("install ok installed", installed,
                         "esc is installed on this machine already: the test would replace it")
        deb = self.deb()
        info = sh("dpkg-deb", "-f", deb, "Depends").stdout
        for lib in ("libsqlite3-0", "libstdc++6", "libc6", "libcurl4"):
            self.assertIn(lib, info)  # found by dpkg-shlibdeps, and libcurl named for its dlopen
        try:
            sh("dpkg", "-i", deb)
            self.assertRegex(sh("/usr/bin/esc", "--version").stdout, r"^esc \d+\.\d+\.\d+\n$")
            self.assertEqual(sh("man", "-w", "esc").stdout.strip(), "/usr/share/man/man1/esc.1")
            self.assertTrue(sh("man", "-w", "5", "esc.toml").stdout.strip().endswith("esc.toml.5"))
            self.assertTrue(os.path.exists("/usr/share/bash-completion/completions/esc"))
            self.assertTrue(os.path.exists("/usr/share/zsh/site-functions/_esc"))
            self.assertTrue(os.path.exists("/usr/share/fish/vendor_completions.d/esc.fish"))
            listed = sh("dpkg", "-L", "esc").stdout.split()
        finally:
            sh("dpkg", "-r", "esc", check=False)
        for path in listed:
            if os.path.isfile(path):
                self.fail(f"{path} is left behind after dpkg -r")
        self.assertIsNone(shutil.which("esc", path="/usr/bin"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
