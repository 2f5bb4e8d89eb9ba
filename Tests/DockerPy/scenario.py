#!/usr/bin/env python3
"""docker-py (Debian's python3-docker, 5.0.3) driving boxd, as the BoxdImageTests suite runs it:

    DOCKER_HOST=unix:///PATH/docker.sock python3 scenario.py [--images-only]

Pulls busybox, runs a detached container, reads its logs, execs in it, inspects, stops and removes it; lists,
tags and removes images; creates and removes a network. Prints one JSON object of what it saw (the test
checks it against box's own state) and exits 1, saying which step, on the first surprise.
"""
import json
import sys
import time

import docker


def main():
    images_only = "--images-only" in sys.argv[1:]
    client = docker.from_env(version="1.41", timeout=60)
    seen = {"api": client.version()["ApiVersion"]}

    step = "images.pull"
    try:
        # --images-only: a boxd without the other half's endpoints (pull, containers) has busybox already.
        image = client.images.get("busybox") if images_only else client.images.pull("busybox", tag="latest")
        seen["busybox"] = image.id

        if not images_only:
            step = "containers.run(detach=True)"
            c = client.containers.run("busybox", ["sh", "-c", "echo started; sleep 300"], detach=True, name="pyc")
            seen["container"] = c.id
            step = "container.logs"
            for _ in range(50):
                logs = c.logs().decode()
                if "started" in logs:
                    break
                time.sleep(0.1)
            seen["logs"] = logs.strip()
            step = "container.exec_run"
            code, out = c.exec_run(["sh", "-c", "echo from exec; exit 3"])
            seen["exec"] = [code, out.decode().strip()]
            step = "container.reload (inspect)"
            c.reload()
            seen["status"] = c.status
            seen["pid"] = c.attrs["State"]["Pid"]
            step = "container.stop"
            c.stop(timeout=1)
            c.reload()
            seen["stopped"] = c.status
            step = "container.remove"
            c.remove()
            seen["left"] = [x.name for x in client.containers.list(all=True)]

        step = "image.tag"
        image.tag("pytag", "v1")
        seen["tags"] = sorted(client.images.get("pytag:v1").tags)
        seen["listed"] = sorted(t for i in client.images.list() for t in i.tags)
        step = "api.remove_image"
        seen["removed"] = client.api.remove_image("pytag:v1")  # images.remove() returns nothing
        seen["after"] = sorted(t for i in client.images.list() for t in i.tags)

        step = "networks.create"
        net = client.networks.create("pynet", driver="bridge")
        seen["network"] = net.id
        seen["networks"] = sorted(n.name for n in client.networks.list())
        step = "network.remove"
        net.remove()
        seen["networks_after"] = sorted(n.name for n in client.networks.list())

        step = "a missing image"
        try:
            client.images.get("nosuch:1")
            seen["missing"] = "found"
        except docker.errors.ImageNotFound as e:
            seen["missing"] = "ImageNotFound"
    except Exception as e:  # the step that failed, and docker-py's words for it
        print(json.dumps({"failed": step, "error": str(e), "seen": seen}))
        return 1
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
