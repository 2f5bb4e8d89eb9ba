import Foundation
import Testing
import TestSupport
@testable import Engine

/// The line of the container's own mountinfo for `path` (PID 1's view, read from the host).
func mountLine(_ box: Sandbox, _ container: String, _ path: String) throws -> String? {
    let pid = try box.pid(container)
    let text = try String(contentsOfFile: "/proc/\(pid)/mountinfo", encoding: .utf8)
    return text.split(separator: "\n").map(String.init).last { $0.split(separator: " ").dropFirst(4).first.map(String.init) == path }
}

/// The per-mount options (field 6) of a mountinfo line.
func mountOptions(_ line: String?) -> Set<String> {
    Set((line?.split(separator: " ").dropFirst(5).first ?? "").split(separator: ",").map(String.init))
}

@Suite("Named volumes, --mount, --tmpfs, --volumes-from (issue 23)", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct VolumeTests {
    @Test("volume create, ls, inspect, rm: a directory BOX_ROOT/volumes/NAME/_data, docker's JSON, idempotent create")
    func lifecycle() throws {
        let box = try Sandbox()
        #expect(try box.run("volume", "create", "--label", "a=b", "v1").out == "v1")
        #expect(try box.run("volume", "create", "v1").status == 0, "a second create of the same name is no error (docker's)")
        #expect(Files.isDirectory(box.root + "/volumes/v1/_data", followingLinks: false))
        let anonymous = try box.run("volume", "create").out
        #expect(anonymous.count == 64 && anonymous.allSatisfy(\.isHexDigit), "\(anonymous)")
        let json = try box.run("volume", "inspect", "v1")
        let value = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(Set(value?.first.map { Array($0.keys) } ?? []) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"], "\(json.stdout)")
        #expect(value?.first?["Mountpoint"] as? String == box.root + "/volumes/v1/_data")
        #expect((value?.first?["Labels"] as? [String: String]) == ["a": "b"])
        #expect(try box.run("volume", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Scope}}", "v1").out == "v1 local local")
        #expect(try box.run("volume", "ls", "-q").out.split(separator: "\n").map(String.init).sorted() == [anonymous, "v1"].sorted())
        #expect(try box.run("volume", "ls", "-q", "--filter", "label=a=b").out == "v1")
        #expect(try box.run("volume", "ls", "--format", "{{.Name}}:{{.Labels}}", "-f", "name=v").out == "v1:a=b")
        let missing = try box.run("volume", "inspect", "nope")
        #expect(missing.status == 1 && missing.out == "[]" && missing.stderr.contains("get nope: no such volume"), "\(missing)")
        #expect(try box.run("volume", "rm", "v1", anonymous).status == 0)
        #expect(!Files.exists(box.root + "/volumes/v1"))
        #expect(try box.run("volume", "rm", "v1").status == 1)
        #expect(try box.run("volume", "rm", "-f", "v1").status == 0, "rm -f of a missing volume is no error (docker's)")
    }

    @Test("a volume name with / or .. is refused with docker's message, and nothing is made")
    func badNames() throws {
        let box = try Sandbox()
        for name in ["../../etc", "a/b", "..", "x"] {
            let r = try box.run("volume", "create", name)
            #expect(r.status == 1 && (r.stderr.contains("includes invalid characters for a local volume name") || r.stderr.contains("too short")), "\(name): \(r)")
        }
        for args in [["-v", "../../etc:/x"], ["--mount", "source=../../etc,target=/x"], ["-v", "a/b:/x"]] {
            let r = try box.run(["run", "--rm"] + args + ["busybox", "true"])
            #expect(r.status == 125 && r.stderr.contains("invalid characters"), "\(args): \(r)")
        }
        #expect(try Files.list(box.root + "/volumes").isEmpty)
        #expect(try box.run("ps", "-aq").out.isEmpty, "a refused create left a container")
    }

    @Test("-v NAME:/path makes the volume on first use; the data is in _data on the host and in the next container; nodev")
    func namedVolume() throws {
        let box = try Sandbox()
        try box.detached("--name", "w", "-v", "data:/data", "busybox", "sh", "-c", "echo hello > /data/f; sleep 60")
        #expect(Sandbox.eventually { Files.readIfPresent(box.root + "/volumes/data/_data/f") == "hello\n" })
        let line = try mountLine(box, "w", "/data")
        #expect(line?.contains("/volumes/data/_data") == true, "\(line ?? "no /data in the container's mountinfo")")
        #expect(mountOptions(line).isSuperset(of: ["rw", "nodev"]), "\(line ?? "")")
        let mounts = try box.inspect("w", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Source}} {{.Destination}} {{.RW}} {{.Mode}}{{end}}")
        #expect(mounts == "volume data \(box.root)/volumes/data/_data /data true z")
        let users = try box.run("volume", "rm", "data")
        let id = try box.inspect("w", "{{.Id}}")
        #expect(users.status == 1 && users.stderr.contains("remove data: volume is in use - [\(id)]"), "\(users)")
        #expect(try box.run("rm", "-f", "w").status == 0)
        #expect(try box.run("run", "--rm", "-v", "data:/elsewhere:ro", "busybox", "cat", "/elsewhere/f").out == "hello")
        let ro = try box.run("run", "--rm", "-v", "data:/d:ro", "busybox", "sh", "-c", "echo x > /d/g")
        #expect(ro.status != 0 && !Files.exists(box.root + "/volumes/data/_data/g"))
    }

    @Test("copy-up: a new empty volume gets the image's content at its mount point, an old one keeps its own")
    func copyUp() throws {
        let box = try Sandbox()
        let image = try box.run("run", "--rm", "busybox", "ls", "-a", "/etc").out
        #expect(try box.run("run", "--rm", "-v", "etc:/etc", "busybox", "true").status == 0)
        let copied = try Files.list(box.root + "/volumes/etc/_data").sorted()
        let expected = image.split(separator: "\n").map(String.init).filter { $0 != "." && $0 != ".." }.sorted()
        #expect(!copied.isEmpty && copied == expected, "volume: \(copied), image: \(expected)")
        // The container's own hostname, hosts and resolv.conf are mounted over the volume's copies.
        #expect(try box.run("run", "--rm", "-v", "etc:/etc", "-h", "named", "busybox", "cat", "/etc/hostname").out == "named")
        #expect(try box.run("run", "--rm", "-v", "etc:/etc", "busybox", "sh", "-c", "rm /etc/group; echo mine > /etc/mine").status == 0)
        #expect(try box.run("run", "--rm", "-v", "etc:/etc", "busybox", "ls", "/etc/group").status != 0, "a volume with content was copied into again")
        #expect(try box.run("run", "--rm", "--mount", "source=empty,target=/etc,volume-nocopy", "busybox", "true").status == 0)
        // Only the mount targets of the container's own /etc files are made in it (as runc makes them in docker's).
        let nocopy = try Files.list(box.root + "/volumes/empty/_data")
        #expect(Set(nocopy).isSubset(of: ["hostname", "hosts", "resolv.conf"]) && !nocopy.contains("passwd"), "volume-nocopy copied: \(nocopy)")
    }

    @Test("anonymous volumes: -v /path makes one; rm -v and run --rm remove them, named volumes stay")
    func anonymous() throws {
        let box = try Sandbox()
        #expect(try box.run("create", "--name", "c", "-v", "/anon", "-v", "kept:/kept", "busybox", "true").status == 0)
        let mounts = try box.inspect("c", "{{range .Mounts}}{{.Destination}}={{.Name}} {{end}}")
        let name = mounts.split(separator: " ").first { $0.hasPrefix("/anon=") }.map { String($0.dropFirst(6)) } ?? ""
        #expect(name.count == 64 && Files.isDirectory(box.root + "/volumes/\(name)/_data"), "\(name)")
        #expect(try box.run("rm", "-v", "c").status == 0)
        #expect(!Files.exists(box.root + "/volumes/\(name)"), "rm -v left the anonymous volume")
        #expect(Files.exists(box.root + "/volumes/kept/_data"), "rm -v removed a named volume")
        #expect(try box.run("run", "--rm", "-v", "/anon", "busybox", "sh", "-c", "echo x > /anon/f").status == 0)
        // The monitor removes a --rm container's anonymous volumes after `box run` has its answer.
        #expect(try Sandbox.eventually { try box.run("volume", "ls", "-q").out == "kept" }, "run --rm left its anonymous volume")
    }

    @Test("volume prune removes unused anonymous volumes; -a the unused named ones too; a used one stays")
    func prune() throws {
        let box = try Sandbox()
        let anonymous = try box.run("volume", "create").out  // anonymous by name only: docker 23 keeps it without -a too
        #expect(try box.run("create", "--name", "c", "-v", "/anon", "-v", "used:/used", "busybox", "true").status == 0)
        #expect(try box.run("create", "--name", "d", "-v", "/anon2", "busybox", "true").status == 0)
        let anon2 = try box.inspect("d", "{{range .Mounts}}{{.Name}}{{end}}")
        #expect(try box.run("rm", "d").status == 0)
        #expect(try box.run("volume", "create", "unused").status == 0)
        let first = try box.run("volume", "prune", "-f")
        #expect(first.status == 0 && first.stdout.contains("Deleted Volumes:\n\(anon2)\n") && first.stdout.contains("Total reclaimed space: "), "\(first)")
        #expect(!Files.exists(box.root + "/volumes/\(anon2)") && Files.exists(box.root + "/volumes/unused"))
        let all = try box.run("volume", "prune", "-f", "-a")
        #expect(all.status == 0 && all.stdout.contains("unused") && all.stdout.contains(anonymous), "\(all)")
        let left = try box.run("volume", "ls", "-q").out.split(separator: "\n")
        #expect(left.count == 2 && left.contains("used"), "\(left)")
        #expect(try box.run("volume", "ls", "-q", "--filter", "dangling=true").out.isEmpty)
    }

    @Test("--tmpfs and --mount type=tmpfs: a tmpfs, nosuid, nodev and noexec (docker's), with its size and mode")
    func tmpfs() throws {
        let box = try Sandbox()
        try box.detached("--name", "t", "--tmpfs", "/t1:size=1m,mode=700", "--mount", "type=tmpfs,target=/t2,tmpfs-size=2m", "busybox", "sleep", "60")
        let t1 = try mountLine(box, "t", "/t1"), t2 = try mountLine(box, "t", "/t2")
        #expect(t1?.contains(" - tmpfs ") == true && t1?.contains("size=1024k") == true && t1?.contains("mode=700") == true, "\(t1 ?? "no /t1")")
        #expect(mountOptions(t1).isSuperset(of: ["rw", "nosuid", "nodev", "noexec"]), "\(t1 ?? "")")
        #expect(t2?.contains(" - tmpfs ") == true && t2?.contains("size=2048k") == true, "\(t2 ?? "no /t2")")
        #expect(try box.inspect("t", "{{json .HostConfig.Tmpfs}}") == #"{"/t1":"size=1m,mode=700"}"#)
        #expect(try box.inspect("t", "{{range .Mounts}}{{.Type}} {{.Destination}}{{end}}") == "tmpfs /t2")
    }

    @Test("--volumes-from: the other container's volumes and binds, read-only with :ro")
    func volumesFrom() throws {
        let box = try Sandbox()
        let dir = try box.scratch("bind")
        #expect(try box.run("create", "--name", "src", "-v", "shared:/shared", "-v", dir + ":/host", "busybox", "true").status == 0)
        try box.detached("--name", "ro", "--volumes-from", "src:ro", "busybox", "sleep", "60")
        #expect(mountOptions(try mountLine(box, "ro", "/shared")).contains("ro"))
        #expect(mountOptions(try mountLine(box, "ro", "/host")).contains("ro"))
        #expect(try box.run("exec", "ro", "sh", "-c", "echo x > /shared/f").status != 0)
        #expect(try box.run("run", "--rm", "--volumes-from", "src", "busybox", "sh", "-c", "echo x > /shared/f && echo y > /host/g").status == 0)
        #expect(Files.readIfPresent(box.root + "/volumes/shared/_data/f") == "x\n" && Files.readIfPresent(dir + "/g") == "y\n")
        let missing = try box.run("run", "--rm", "--volumes-from", "nope", "busybox", "true")
        #expect(missing.status == 125 && missing.stderr.contains("No such container: nope"), "\(missing)")
        #expect(try box.run("run", "--rm", "--volumes-from", "src:xx", "busybox", "true").status == 125)
    }

    @Test("--mount: docker's parsing and messages, exit 125, nothing created")
    func mountErrors() throws {
        let box = try Sandbox()
        let cases: [(String, String)] = [
            ("type=foo,target=/x", #"invalid mount config for type "foo": mount type unknown"#),
            ("source=v3", "target is required"),
            ("type=bind,target=/x", "field Source must not be empty"),
            ("type=bind,source=/nonexistent-boxtest,target=/x", "bind source path does not exist: /nonexistent-boxtest"),
            ("type=tmpfs,source=a,target=/x", "field Source must not be specified"),
            ("type=bind,source=/tmp,target=/x,volume-opt=a=b", "cannot mix 'volume-*' options with mount type 'bind'"),
            ("foo=bar,target=/x", "unexpected key 'foo' in 'foo=bar'"),
            ("target", "invalid field 'target' must be a key=value pair"),
            ("type=volume,target=x", "invalid mount path: 'x' mount path must be absolute"),
            ("type=tmpfs,target=/x,tmpfs-size=abc", "invalid value for tmpfs-size: abc"),
            ("type=volume,src=v3,dst=/x,readonly=maybe", "invalid value for readonly: maybe"),
            ("type=bind,source=/tmp,target=/proc/sys", "/proc"),
        ]
        for (spec, message) in cases {
            let r = try box.run("run", "--rm", "--mount", spec, "busybox", "true")
            #expect(r.status == 125 && r.stderr.contains(message), "--mount \(spec): \(r)")
        }
        #expect(try box.run("ps", "-aq").out.isEmpty && (try Files.list(box.root + "/volumes")).isEmpty)
        let bind = try box.scratch("m")
        #expect(try box.run("run", "--rm", "--mount", "type=bind,src=\(bind),dst=/m,ro", "busybox", "sh", "-c", "ls /m && ! touch /m/x").status == 0)
    }

    @Test("the same command lines against docker: exit codes and shapes", .timeLimit(.minutes(5)))
    func againstDocker() throws {
        let box = try Sandbox()
        guard let dockerd = Dockerd(purpose: "volumes") else {
            print("skipped the docker comparison: docker.io is not installed here")
            return
        }
        defer { dockerd.stop() }
        let tar = try box.scratch("tar") + "/busybox.tar"
        #expect(try box.run("save", "-o", tar, "busybox").status == 0)
        try #require(try dockerd.docker(["load", "-i", tar]).status == 0)
        let lines: [[String]] = [
            ["volume", "create", "v1"], ["volume", "create", "v1"], ["volume", "create", "../../etc"], ["volume", "create", "a"],
            ["volume", "create", "-d", "foo", "x"], ["volume", "inspect", "nope"], ["volume", "rm", "nope"],
            ["volume", "ls", "-q", "-f", "name=v1"], ["volume", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Scope}}", "v1"],
            ["create", "--name", "c1", "--network", "none", "-v", "v1:/data", "-v", "/anon", "--tmpfs", "/t", "busybox", "true"],
            ["volume", "rm", "v1"], ["volume", "rm", "-f", "v1"],
            ["inspect", "--format", "{{range .Mounts}}{{.Type}},{{.Destination}},{{.RW}},{{.Mode}},{{.Driver}};{{end}}", "c1"],
            ["inspect", "--format", "{{json .HostConfig.Tmpfs}}", "c1"], ["inspect", "--format", "{{json .HostConfig.Binds}}", "c1"],
            ["create", "--name", "c2", "--network", "none", "--volumes-from", "c1:ro", "busybox", "true"],
            ["inspect", "--format", "{{range .Mounts}}{{.Destination}},{{.RW}};{{end}}", "c2"],
            ["inspect", "--format", "{{json .HostConfig.VolumesFrom}}", "c2"],
            ["run", "--rm", "--volumes-from", "nope", "busybox", "true"], ["run", "--rm", "--volumes-from", "c1:xx", "busybox", "true"],
            ["run", "--rm", "--network", "none", "--mount", "type=foo,target=/x", "busybox", "true"],
            ["run", "--rm", "--network", "none", "--mount", "target", "busybox", "true"],
            ["run", "--rm", "--network", "none", "--mount", "type=tmpfs,source=a,target=/x", "busybox", "true"],
            ["run", "--rm", "--network", "none", "--mount", "type=volume,src=v2,dst=/x", "busybox", "cat", "/proc/self/mountinfo"],
            ["run", "--rm", "--network", "none", "-v", "v1:/data:ro", "busybox", "touch", "/data/x"],
            ["rm", "-v", "c2"], ["rm", "-v", "c1"], ["volume", "ls", "-q", "-f", "dangling=true", "-f", "name=v"],
        ]
        for line in lines {
            let ours = try box.run(line), theirs = try dockerd.docker(line)
            #expect(ours.status == theirs.status, "\(line): box \(ours.status) \(ours.stderr), docker \(theirs.status) \(theirs.stderr)")
            if line.contains("inspect") || line.contains("-q") {
                // Mounts come in map order from docker: compared as a set of entries.
                let normal = { (s: String) in s.split(separator: ";").map(String.init).sorted() }
                #expect(normal(ours.out) == normal(theirs.out), "\(line): box \(ours.out), docker \(theirs.out)")
            }
        }
    }
}

@Suite("Security: volumes (issue 23)", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct VolumeSecurityTests {
    @Test("a symlink a container plants in a volume leads inside the next container, and volume rm does not follow it")
    func plantedSymlink() throws {
        let box = try Sandbox()
        let outside = try box.scratch("outside")
        try "host-secret\n".write(toFile: outside + "/secret", atomically: false, encoding: .utf8)
        #expect(try box.run("run", "--rm", "-v", "data:/data", "busybox", "sh", "-c",
                            "ln -s \(outside) /data/out && ln -s / /data/root && ln -s /etc /data/etc").status == 0)
        // The next container reads through the links in its own root, never the host's.
        let read = try box.run("run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "cat /data/out/secret; ls /data/root/")
        #expect(!read.stdout.contains("host-secret"), "a link in the volume reached the host: \(read.stdout)")
        // A mount target through a planted link lands inside the container's root (openat2 RESOLVE_IN_ROOT).
        let bind = try box.scratch("bind")
        try "bound\n".write(toFile: bind + "/marker", atomically: false, encoding: .utf8)
        let nested = try box.run("run", "--rm", "-v", "data:/data", "-v", bind + ":/data/etc/sub", "busybox", "cat", "/etc/sub/marker")
        #expect(nested.out == "bound", "\(nested)")
        #expect(!Files.exists("/etc/sub"), "the nested bind's target was made on the host")
        #expect(try box.run("volume", "rm", "data").status == 0)
        #expect(Files.readIfPresent(outside + "/secret") == "host-secret\n", "volume rm followed a link out of the volume")
        #expect(!Files.exists(box.root + "/volumes/data"))
    }

    @Test("a --mount bind of a device is nodev: the host's loop device does not open")
    func deviceSource() throws {
        let box = try Sandbox()
        let loop = try TestLoopDevice()
        let r = try box.run("run", "--rm", "--mount", "type=bind,source=\(loop.path),target=/disk", "busybox", "head", "-c", "29", "/disk")
        #expect(!r.stdout.contains(TestLoopDevice.secret), "the container read the host's loop device through --mount")
        #expect(r.status != 0 && r.stderr.contains("Permission denied"), "\(r)")
        let v = try box.run("run", "--rm", "-v", "\(loop.path):/disk", "busybox", "head", "-c", "29", "/disk")
        #expect(!v.stdout.contains(TestLoopDevice.secret) && v.status != 0, "\(v)")
    }

    @Test("a tmpfs is nodev: a device node made in it does not open")
    func tmpfsNodev() throws {
        let box = try Sandbox()
        let loop = try TestLoopDevice()
        let r = try box.run("run", "--rm", "--tmpfs", "/t", "busybox", "sh", "-c", loop.readThrough("/t/blk"))
        #expect(!r.stdout.contains(TestLoopDevice.secret), "the container read the host's loop device through a tmpfs")
        #expect(r.status == 1 && r.stderr.contains("Permission denied"), "\(r)")
    }
}
