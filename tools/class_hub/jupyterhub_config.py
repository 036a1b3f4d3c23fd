"""JupyterHub configuration of the class test (``make class-test``, ``tools/class_test``).

A real JupyterHub on 127.0.0.1 with what a class server needs, readable as a
starting point for a small single-machine hub (docs/guia_docente.md, section 4,
has the settings for Zero to JupyterHub and The Littlest JupyterHub):

* one local process per student (``SimpleLocalProcessSpawner``: every student
  runs as the hub's own user, with a home folder of their own);
* per-student limits applied before the student's server starts, inherited by
  its kernels and everything they start: a cgroup ``pids.max`` (threads count
  as pids) and ``RLIMIT_NOFILE`` (open files, sockets included);
* the class-size setting ``CORRUTINAS_ESCALA`` in every student's environment;
* a service token for the test driver (it creates students, starts their
  servers and runs kernels over the REST and websocket APIs).

``tools/class_test`` starts ``jupyterhub -f`` this file with the values below
in the environment (``CLASS_*``); nothing here is specific to one machine.
"""

import os
import resource
import sys
from pathlib import Path

from jupyterhub.spawner import SimpleLocalProcessSpawner

env = os.environ
WORK = Path(env["CLASS_WORK"])  # the test's folder: database, homes, cookie secret
PIDS_MAX = int(env["CLASS_PIDS_MAX"])  # threads + processes per student (cgroup pids.max)
NOFILE = int(env["CLASS_NOFILE"])  # open files per process (RLIMIT_NOFILE)
CGROUPS = Path(env["CLASS_CGROUPS"]) if env.get("CLASS_CGROUPS") else None  # where students' cgroups live


class LimitedSpawner(SimpleLocalProcessSpawner):
    """A local process per student, inside its own pids cgroup and under a file limit.

    The cgroup folder ``CLASS_CGROUPS/<prefix><user>`` is made (with its
    ``pids.max``) by the test before the server starts; here the child joins
    it between ``fork`` and ``exec``, so the server and every kernel it starts
    are counted there.
    """

    def make_preexec_fn(self, name):
        make_home = super().make_preexec_fn(name)
        cgroup = CGROUPS / f"{env['CLASS_CGROUP_PREFIX']}{name}" if CGROUPS else None

        def preexec():
            make_home()
            resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
            if cgroup is not None:
                (cgroup / "cgroup.procs").write_text(str(os.getpid()))

        return preexec


c = get_config()  # noqa: F821 (JupyterHub defines it when it loads this file)

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(env["CLASS_PORT"])
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env["CLASS_HUB_PORT"])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env['CLASS_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.command = [env["CLASS_PROXY"]]
c.JupyterHub.db_url = f"sqlite:///{WORK / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(WORK / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(WORK / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True

c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True  # without it nobody may log in (JupyterHub 5+)

c.JupyterHub.spawner_class = LimitedSpawner
c.SimpleLocalProcessSpawner.home_dir_template = str(WORK / "home" / "{username}")
c.Spawner.cmd = [str(Path(sys.executable).with_name("jupyterhub-singleuser"))]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {"CORRUTINAS_ESCALA": env["CLASS_ESCALA"]}
c.Spawner.start_timeout = 180  # 2 cores starting a class of servers at once
c.Spawner.http_timeout = 180
if os.geteuid() == 0:
    c.Spawner.args = ["--ServerApp.allow_root=True"]  # single-user servers refuse root otherwise

c.JupyterHub.services = [{"name": "class-test", "api_token": env["CLASS_TOKEN"]}]
c.JupyterHub.load_roles = [{
    "name": "class-test",
    "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users"],
    "services": ["class-test"],
}]
