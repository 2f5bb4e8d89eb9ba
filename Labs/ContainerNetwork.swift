#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 004 (inside a container: `cat /etc/hosts` shows "172.17.0.2 505cba62efa1", `ip a` shows eth0 with
/// 172.17.0.2/16 and link/ether 02:42:ac:11:00:02; "172.17.0.2 is like a VM") and seed 001 ("Network Namespace":
/// ifconfig in and out): where a container's address comes from, the veth pair and the bridge behind it, names on
/// a network of your own, a published port, and a container with no network at all.
public let containerNetwork = Lab("container-network", "A container's address, its veth and its bridge") {
    Summary("""
    Read a container's /etc/hosts and ip a as the seed does, find the other end of its eth0 on the host's \
    bridge, let two containers on a network of your own reach each other by name, publish a port on the host's \
    loopback, and see what --network none leaves.
    """)
    Seeds("004", "001")
    Minutes(25)
    Prerequisites("uts-ipc-net")
    Value("net") { "net-" + $0.pick("net", from: ["amber", "birch", "coral", "dune", "fern", "granite", "hazel", "indigo"]) }
    Value("web") { "web-" + $0.pick("web", from: ["otter", "heron", "lynx", "marten", "osprey", "badger", "kestrel", "ibex"]) }
    Value("port") { String(8100 + $0.number("port", below: 800)) }

    // The network of step 4, with its bridge: containers are removed by reset before this runs.
    Teardown { ctx in
        let name = ctx.value("net")
        guard ctx.networks().contains(where: { $0.Name == name }) else { return }
        try ctx.box("network", "rm", name)
        ctx.reportRemoved("network \(name) and its bridge")
    }

    Step("hosts", "The container's own line in /etc/hosts") {
        Instructions("""
        Start a container with a shell, as the seed does, and read its `/etc/hosts`:
        ```
        sudo box run -it --name n1 busybox sh
        cat /etc/hosts
        hostname
        ```
        Besides `localhost`, one line names the container itself: its **address** and its **hostname** (the \
        first 12 characters of its id, as in the seed's `172.17.0.2  505cba62efa1`), then its name. box wrote \
        that file when it gave the container its network. "172.17.0.2 is like a VM", says the seed: an address \
        of its own, in a network namespace of its own. Keep this shell open for the next steps.
        """)
        Ask("Which address and which hostname does n1's own line of /etc/hosts give?", answer: "ADDRESS HOSTNAME")
        Check { ctx in
            let (c, pid1) = try ctx.newShell("n1", start: "sudo box run -it --name n1 busybox sh")
            let address = try require(ownAddress(pid1), expected: "n1 with an address on eth0", observed: "n1 has no IPv4 address but 127.0.0.1",
                                      tryThis: "start it on the default network: sudo box rm -f n1; sudo box run -it --name n1 busybox sh")
            let hostname = Namespaces.hostname(of: pid1.pid) ?? "?"
            let hosts = Files.readIfPresent("/proc/\(pid1.pid)/root/etc/hosts") ?? ""
            let line = hosts.split(separator: "\n").first { $0.split(whereSeparator: \.isWhitespace).first.map(String.init) == address }
            try require(line != nil, expected: "n1's /etc/hosts to name its own address", observed: "no line of it starts with \(address)",
                        tryThis: "look at it again: cat /etc/hosts in n1")
            // The third column, n1's name, may come along.
            let answer = try ctx.answerWords(2...3, tryThis: "cat /etc/hosts in n1, then: lab answer ADDRESS HOSTNAME")
            try require(answer.count == 2 || answer[2] == c.name, expected: "two words: lab answer ADDRESS HOSTNAME",
                        observed: "lab answer \(answer.joined(separator: " "))", tryThis: "the first two columns of n1's own line")
            try ctx.requireAnswered(answer[0], answer[0] == address, expected: "n1's address",
                                    tryThis: "the first column of the line that is not localhost")
            try ctx.requireAnswered(answer[1], answer[1] == hostname, expected: "n1's hostname",
                                    tryThis: "the second column (the same as what hostname prints in n1)")
            return .pass("n1's network namespace (net:[\(pid1.namespace(.net) ?? 0)]) has \(address); its UTS namespace calls it \(hostname)")
        }
        Hint("The line you want is the last one of /etc/hosts: `ADDRESS  HOSTNAME  n1`.")
        Hint("Answer with the address first: `lab answer 172.17.0.2 0123456789ab` (with your values).")
        Solution("box run -dit --name n1 busybox sh",
                 "lab answer $(box exec n1 sh -c 'grep -w \"$(hostname)\" /etc/hosts' | awk '{print $1, $2}')")
    }

    Step("ip-a", "eth0: an address and a MAC of its own") {
        Instructions("""
        Still in n1:
        ```
        ip a
        ```
        As in the seed: `lo`, and `eth0` with the address you found, a `/16`, and `link/ether 02:42:…`. The \
        address is leased from the default network `bridge`; on the host, `sudo box network inspect bridge` \
        shows its subnet and gateway (172.17.0.0/16 unless the host already routes that; then box takes the \
        next free one). The MAC is not random: box (as docker does) makes it `02:42` followed by the four \
        bytes of the address, in hex.

        eth0 shows as `eth0@ifN`: it is one end of a **veth pair**, and N is the interface index of its other \
        end, which is not in this namespace (`cat /sys/class/net/eth0/iflink` prints N too).
        """)
        Ask("What is eth0's MAC address, and which number N follows eth0@if?", answer: "MAC N")
        Check { ctx in
            let (_, pid1) = try ctx.running("n1", tryThis: "start n1 again (step 1): sudo box run -it --name n1 busybox sh")
            let eth0 = try require(eth0Facts(pid1), expected: "n1 with an eth0", observed: "n1 has no eth0 (--network none?)",
                                   tryThis: "sudo box rm -f n1; sudo box run -it --name n1 busybox sh")
            let answer = try ctx.answerWords(2, tryThis: "run ip a in n1: the link/ether line of eth0, and the number after eth0@if")
            try ctx.requireAnswered(answer[0], answer[0].lowercased() == eth0.mac, expected: "eth0's MAC address",
                                    tryThis: "the address after link/ether in eth0's paragraph of ip a, in n1")
            try ctx.requireAnswered(answer[1], answer[1] == eth0.iflink, expected: "the index of eth0's peer (eth0@ifN)",
                                    tryThis: "ip a in n1 shows eth0@ifN: answer N (or cat /sys/class/net/eth0/iflink)")
            return .pass("n1's eth0 is \(eth0.mac); its peer is interface \(eth0.iflink), outside n1's network namespace")
        }
        Hint("Answer without the `@if`: the MAC first, then only the number, e.g. `lab answer 02:42:ac:11:00:09 31`.")
        Solution("lab answer $(box exec n1 cat /sys/class/net/eth0/address) $(box exec n1 cat /sys/class/net/eth0/iflink)")
    }

    Step("host-veth", "The other end: a veth on the host's bridge") {
        Instructions("""
        Now on the host (terminal 2). The other end of the pair is a host interface whose **index** is the N \
        you found:
        ```
        ip -o link | grep "^N:"
        sudo box network inspect bridge      # "com.docker.network.bridge.name": the bridge
        ip link show master BRIDGE
        ```
        Its name is `veth` and the start of n1's id (with `@if2` on this side: eth0 is interface 2 in n1's \
        namespace), and its `master` is the **bridge**, a virtual switch on the host: every container of the \
        network has its veth plugged into it, and the bridge itself holds the gateway address. \
        (`bridge link` lists its ports too.)
        """)
        Ask("What is the host end of n1's eth0 called, and which bridge is it on?", answer: "VETH BRIDGE")
        Check { ctx in
            let (_, pid1) = try ctx.running("n1", tryThis: "start n1 again (step 1): sudo box run -it --name n1 busybox sh")
            let eth0 = try require(eth0Facts(pid1), expected: "n1 with an eth0", observed: "n1 has no eth0",
                                   tryThis: "sudo box rm -f n1; sudo box run -it --name n1 busybox sh")
            let veth = try require(hostInterface(index: eth0.iflink), expected: "a host interface with index \(eth0.iflink)",
                                   observed: "the host has none", tryThis: "lab doctor")
            let bridge = Files.readLink("/sys/class/net/\(veth)/master").map { String($0.split(separator: "/").last ?? "") } ?? "?"
            // The veth's name as ip -o link prints it (veth1234@if2) is its name too.
            let given = try ctx.answerWords(2, tryThis: "on the host: ip -o link | grep \"^\(eth0.iflink):\"; the veth's name, then the bridge's")
                .map { $0.split(separator: "@").first.map(String.init) ?? $0 }
            try ctx.requireAnswered(given[0], given[0] == veth, expected: "the host interface with index \(eth0.iflink)",
                                    tryThis: "ip -o link on the host: the line that starts with \(eth0.iflink):")
            try ctx.requireAnswered(given[1], given[1] == bridge, expected: "the bridge \(veth) is a port of",
                                    tryThis: "ip link show \(veth): the word after master")
            return .pass("interface \(eth0.iflink) on the host, \(veth), is n1's eth0's peer and a port of \(bridge)")
        }
        Hint("The number after `eth0@if` in n1 is an interface index on the host: `ip -o link` starts each line with it.")
        Hint("`ip link show VETH` prints `master BRIDGE` for a bridge's port.")
        Solution("""
        i=$(box exec n1 cat /sys/class/net/eth0/iflink)
        v=$(ip -o link | awk -F': ' -v i="$i" '$1 == i {print $2}' | cut -d@ -f1)
        lab answer "$v" "$(basename "$(readlink /sys/class/net/$v/master)")"
        """)
    }

    Step("user-network", "A network of your own: containers reach each other by name") {
        Instructions("""
        On the default network a container knows only its own name. Make a network of your own, run a web \
        server on it, and a second container beside it:
        ```
        sudo box network create {{net}}
        sudo box network inspect {{net}}     # its subnet, and its bridge br-…
        sudo box run -d --name {{web}} --network {{net}} busybox sh -c 'mkdir /www; hostname > /www/index.html; exec httpd -f -vv -h /www'
        sudo box run -it --name n2 --network {{net}} busybox sh
        ```
        In n2:
        ```
        cat /etc/hosts
        ping -c1 {{web}}
        wget -qO- http://{{web}}/
        ```
        On a network you create, box writes the names of the other containers into each one's /etc/hosts \
        (docker answers them with a DNS server of its own), so `{{web}}` resolves; the page is {{web}}'s \
        hostname. Both veths are ports of the new bridge: `ip link show master br-…` on the host. \
        `sudo box logs {{web}}` shows the request httpd got, from n2's address.
        """)
        Check { ctx in
            let name = ctx.value("net"), web = ctx.value("web")
            let network = try require(ctx.networks().first { $0.Name == name },
                                      expected: "a network called \(name)", observed: "box network ls has no \(name)",
                                      tryThis: "sudo box network create \(name)")
            try require(!(network.Created < ctx.clock.wall), expected: "\(name) created during this step",
                        observed: "it was created at \(network.Created)", tryThis: "sudo box network rm \(name), then create it again")
            try require(Files.exists("/sys/class/net/\(network.Bridge)"), expected: "\(name)'s bridge \(network.Bridge) on the host",
                        observed: "the host has no such interface", tryThis: "sudo box network rm \(name) and create it again")
            var members: [String: (Container, Proc, String)] = [:]
            for (who, run) in [(web, "sudo box run -d --name \(web) --network \(name) busybox sh -c '…httpd -f -vv -h /www'"),
                               ("n2", "sudo box run -it --name n2 --network \(name) busybox sh")] {
                let (c, pid1) = try (who == "n2" ? ctx.newShell(who, start: run) : ctx.newContainer(who, tryThis: run))
                let address = ownAddress(pid1) ?? "none"
                try require(c.spec.HostConfig.NetworkMode == name && IPv4(address).map(network.Subnet.contains) == true,
                            expected: "\(who) on \(name) (\(network.Subnet))", observed: "\(who) is on \(c.spec.HostConfig.NetworkMode), with address \(address)",
                            tryThis: "sudo box rm -f \(who); start it again with --network \(name)")
                members[who] = (c, pid1, address)
            }
            let (webC, _, webIP) = members[web]!, (_, n2, n2IP) = members["n2"]!
            let hosts = Files.readIfPresent("/proc/\(n2.pid)/root/etc/hosts") ?? ""
            try require(hosts.split(separator: "\n").contains { $0.split(whereSeparator: \.isWhitespace).map(String.init) == [webIP, web] },
                        expected: "n2's /etc/hosts to name \(web) (\(webIP))", observed: "it does not", tryThis: "cat /etc/hosts in n2")
            let requests = httpRequests(ctx, webC).filter { $0 == n2IP }
            try require(!requests.isEmpty, expected: "a request from n2 (\(n2IP)) in \(web)'s httpd log, during this step",
                        observed: "\(web)'s log has none", tryThis: "in n2: wget -qO- http://\(web)/   (and start \(web)'s httpd with -vv, as shown)")
            return .pass("n2 (\(n2IP)) reached \(web) (\(webIP)) by name, across the bridge \(network.Bridge) of \(name) (\(network.Subnet))")
        }
        Hint("The server's name is the container's name (`--name {{web}}`), not its hostname.")
        Hint("No request in the log? httpd logs only with `-v`; start {{web}} again with the command shown (`sudo box rm -f {{web}}` first).")
        Solution("""
        box network create {{net}}
        box run -d --name {{web}} --network {{net}} busybox sh -c 'mkdir /www; hostname > /www/index.html; exec httpd -f -vv -h /www'
        box run -dit --name n2 --network {{net}} busybox sh
        for i in 1 2 3 4 5 6 7 8 9 10; do box exec n2 wget -qO- http://{{web}}/ && break; sleep 0.2; done
        """)
    }

    Step("publish", "A published port: the host reaches a container on loopback") {
        Instructions("""
        A container's address is reachable from the host (through the bridge), but not from anywhere else. \
        `-p` publishes a port: box listens on the host and passes each connection on to the container (as \
        docker-proxy does). Publish one on the host's loopback only:
        ```
        sudo box run -d --name n3 -p 127.0.0.1:{{port}}:80 busybox sh -c 'mkdir /www; hostname > /www/index.html; exec httpd -f -vv -h /www'
        ss -tln | grep {{port}}
        curl http://127.0.0.1:{{port}}/          # or: busybox wget -qO- http://127.0.0.1:{{port}}/
        sudo box logs n3
        ```
        `ss` shows the host listening on 127.0.0.1:{{port}}; httpd in n3 sees the request come from the \
        bridge's gateway address: the host's own address on that network.
        """)
        Check { ctx in
            let port = ctx.value("port")
            let (c, pid1) = try ctx.newContainer("n3", tryThis: "sudo box run -d --name n3 -p 127.0.0.1:\(port):80 busybox sh -c '…httpd -f -vv -h /www'")
            let bindings = c.spec.HostConfig.PortBindings ?? []
            try require(bindings.contains { $0.HostIp == "127.0.0.1" && String($0.HostPort) == port && $0.ContainerPort == 80 },
                        expected: "n3 publishing 127.0.0.1:\(port) to its port 80",
                        observed: bindings.isEmpty ? "n3 publishes no port" : "n3 publishes \(bindings.map(\.description).joined(separator: ", "))",
                        tryThis: "sudo box rm -f n3; sudo box run -d --name n3 -p 127.0.0.1:\(port):80 …")
            try require(Namespaces.listensOnLoopback(Int(port)!, in: ctx.host.pid), expected: "the host listening on 127.0.0.1:\(port)",
                        observed: "no socket listens there (/proc/net/tcp)", tryThis: "sudo box ps: is n3 running?")
            let gateway = ctx.attachment(of: c)?.Gateway.description ?? "?"
            let requests = httpRequests(ctx, c)
            try require(requests.contains(gateway), expected: "a request from the host (through the bridge's gateway \(gateway)) in n3's httpd log",
                        observed: requests.isEmpty ? "n3's log has no request during this step" : "requests only from \(Set(requests).sorted().joined(separator: ", "))",
                        tryThis: "on the host: curl http://127.0.0.1:\(port)/")
            return .pass("127.0.0.1:\(port) on the host leads to n3 (\(ownAddress(pid1) ?? "?")):80; httpd saw the host come from \(gateway)")
        }
        Hint("Nothing in `sudo box logs n3`? Use the httpd command as shown: `-vv` makes it log each request.")
        Solution("""
        box run -d --name n3 -p 127.0.0.1:{{port}}:80 busybox sh -c 'mkdir /www; hostname > /www/index.html; exec httpd -f -vv -h /www'
        for i in 1 2 3 4 5 6 7 8 9 10; do busybox wget -qO- http://127.0.0.1:{{port}}/ && break; sleep 0.2; done
        """)
    }

    Step("none", "--network none: only lo") {
        Instructions("""
        Seed 001 ends with `unshare -n`: a new network namespace has only `lo`. `--network none` gives a \
        container exactly that:
        ```
        sudo box run -it --name n4 --network none busybox sh
        ip a
        cat /etc/hosts
        ```
        No eth0, no veth on the host, no address but 127.0.0.1: nothing reaches it and it reaches nothing.
        """)
        Check { ctx in
            let (c, pid1) = try ctx.newShell("n4", start: "sudo box run -it --name n4 --network none busybox sh")
            try require(c.spec.HostConfig.NetworkMode == "none", expected: "n4 started with --network none",
                        observed: "n4's network is \(c.spec.HostConfig.NetworkMode)",
                        tryThis: "sudo box rm -f n4; sudo box run -it --name n4 --network none busybox sh")
            let interfaces = Namespaces.interfaces(of: pid1.pid)
            try require(interfaces == ["lo"], expected: "only lo in n4's network namespace", observed: interfaces.joined(separator: ", "),
                        tryThis: "sudo box rm -f n4; sudo box run -it --name n4 --network none busybox sh")
            return .pass("n4's network namespace (net:[\(pid1.namespace(.net) ?? 0)]) has only lo")
        }
        Solution("box run -dit --name n4 --network none busybox sh")
    }
}

/// The container's IPv4 address (not loopback), as its own network namespace has it.
private func ownAddress(_ pid1: Proc) -> String? {
    Namespaces.addresses(of: pid1.pid).first { !$0.hasPrefix("127.") }
}

/// eth0's MAC and its peer's index, as the container's own sysfs shows them (box mounts a sysfs in the
/// container's network namespace).
private func eth0Facts(_ pid1: Proc) -> (mac: String, iflink: String)? {
    let dir = "/proc/\(pid1.pid)/root/sys/class/net/eth0"
    guard let mac = Files.readIfPresent(dir + "/address"), let iflink = Files.readIfPresent(dir + "/iflink") else { return nil }
    return (mac.filter { !$0.isWhitespace }.lowercased(), iflink.filter { !$0.isWhitespace })
}

/// The host interface with this index (the host's own sysfs).
private func hostInterface(index: String) -> String? {
    ((try? Files.list("/sys/class/net")) ?? []).first {
        Files.readIfPresent("/sys/class/net/\($0)/ifindex")?.filter { !$0.isWhitespace } == index
    }
}

/// The client addresses of the requests busybox httpd -v logged in container `c` during the step.
private func httpRequests(_ ctx: Context, _ c: Container) -> [String] {
    // "[::ffff:172.20.0.3]:57974: url:/"
    ctx.output(of: c).compactMap { entry in
        guard entry.contains("]:") && entry.contains(" url:"), let close = entry.firstIndex(of: "]") else { return nil }
        return entry[entry.index(after: entry.startIndex)..<close].split(separator: ":").last.map(String.init)
    }
}
