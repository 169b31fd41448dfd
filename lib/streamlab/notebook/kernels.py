"""How the suite starts notebook kernels: over local IPC sockets in a private folder, not TCP.

A kernel on TCP listens on 127.0.0.1 ports that any local user can reach, and ipykernel warns
about it ("Kernel is running over TCP without encryption") into every run's output. Unix
sockets in a 0700 folder reach only this user, and the kernel has nothing to warn about.
"""
from __future__ import annotations

import os
import shutil
import tempfile

from jupyter_client import AsyncKernelManager
from traitlets import default


class IpcKernelManager(AsyncKernelManager):
    """An nbclient/papermill kernel manager whose kernel talks over IPC sockets."""

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        # The socket files are <ip>-<port>; mkdtemp makes the folder 0700.
        self._socket_dir = tempfile.mkdtemp(prefix="streamlab-kernel-")
        return os.path.join(self._socket_dir, "kernel")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        folder = getattr(self, "_socket_dir", None)
        if folder and not restart:
            shutil.rmtree(folder, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources
