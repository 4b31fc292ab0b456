"""JupyterLab for the browser tests: the course folder on a local port, set up as Galata expects.

Read by ``jupyter lab --config``; ``tests/browser.py`` starts the server with the variables
below. What ``jupyterlab.galata.configure_jupyter_server`` does, without its temporary files:
Galata's in-page helpers, no token or XSRF check (the server listens on 127.0.0.1 only,
for the length of one test run), and nothing fetched from the network. With COURSE_UI_TOKEN
set (the security tests), the server is an instructor's ordinary one: a token to log in
with, and XSRF checks on.
"""
import os
from pathlib import Path

import jupyterlab

c = get_config()  # noqa: F821  (provided by Jupyter when it loads this file)

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ["COURSE_UI_PORT"])
c.ServerApp.port_retries = 0
c.ServerApp.open_browser = False
c.ServerApp.allow_root = True                # CI runs as root
c.ServerApp.root_dir = os.environ["COURSE_UI_ROOT"]
c.IdentityProvider.token = os.environ.get("COURSE_UI_TOKEN", "")
c.ServerApp.password = ""
c.ServerApp.disable_check_xsrf = not c.IdentityProvider.token

c.LabServerApp.extra_labextensions_path = str(Path(jupyterlab.__file__).parent / "galata")
c.LabApp.expose_app_in_browser = True
c.LabApp.workspaces_dir = os.environ["COURSE_UI_STATE"]
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.ServerApp.terminado_settings = {"shell_command": ["/bin/bash", "--norc"]}
