import Foundation
import Testing
import TestSupport
import Engine

/// The same command lines against box and a real dockerd (its own data root and socket, see Dockerd), in one
/// order, comparing exit codes and output once both are normalized: ids, durations, dates. Where docker.io is
/// not installed the suite is skipped, saying so; a dockerd that is installed and does not start is a failure.
///
/// To add a case, add a line to `script`: the arguments after `box`/`docker`, and what to compare.
@Suite("Parity: box and docker answer the same command lines alike", .serialized,
       .enabled(if: isRoot, Comment(rawValue: needsRoot)),
       .enabled(if: Dockerd.installed, "docker.io is not installed: no dockerd to compare box with (apt-get install docker.io)"))
struct ParityTests {
    /// What of the two answers must agree (the exit code always does).
    struct Compare: OptionSet, Sendable {
        let rawValue: Int
        /// Standard output, normalized.
        static let stdout = Compare(rawValue: 1)
        /// The first line of standard error, without box's `box: ` and docker's `Error: `, `docker: ` and
        /// `Error response from daemon: `.
        static let stderr = Compare(rawValue: 2)
        /// Output compared as typed: column widths included (no id, time or size in it).
        static let exact = Compare(rawValue: 4)
        /// Lines in any order (docker lists some things in its map's order).
        static let anyOrder = Compare(rawValue: 8)
        /// The exit code alone.
        static let exitCode = Compare(rawValue: 16)
    }

    /// One command line of the script. `{id}` stands for busybox's short image id (the same in both engines:
    /// `box save | docker load` keeps it).
    struct Step: Sendable, CustomStringConvertible {
        let args: [String]
        let compare: Compare
        init(_ line: String, _ compare: Compare = .stdout) {
            args = Step.split(line)
            self.compare = compare
        }
        var description: String { args.joined(separator: " ") }

        /// Words separated by spaces; '…' quotes a word with spaces (no escapes).
        static func split(_ line: String) -> [String] {
            var words: [String] = [], word = "", quoted = false, started = false
            for ch in line {
                if ch == "'" { quoted.toggle(); started = true } else if ch == " " && !quoted {
                    if started { words.append(word) }
                    word = ""; started = false
                } else { word.append(ch); started = true }
            }
            if started { words.append(word) }
            return words
        }
    }

    /// The script, in order: later steps see what earlier ones made (containers, names, images).
    static let script: [Step] = [
        // Images: the busybox box built, loaded into docker.
        Step("images"),
        Step("images busybox"),
        Step("images busybox:latest"),
        Step("images nothere"),
        Step("images -q"),
        Step("images --no-trunc -q"),
        Step("images --digests"),
        Step("images -a"),
        Step("images --format '{{.Repository}}:{{.Tag}} {{.Size}} {{.VirtualSize}}'"),
        Step("images --format 'table {{.Repository}}\\t{{.Tag}}\\t{{.Digest}}'", .exact),
        Step("images -f dangling=true"),
        Step("images -f dangling=false -q"),
        Step("images -f reference=busy*"),
        Step("images -f bogus=1", .stderr),
        Step("images -f dangling=maybe", .stderr),
        Step("tag {id} helloworld:0.1"),
        // docker 20.10's CLI lists an image's names in its map's order.
        Step("images", .anyOrder),
        Step("images helloworld"),
        Step("image ls -f before=helloworld:0.1"),
        Step("image list --format '{{.Repository}}'", .anyOrder),
        Step("image inspect --format {{.Id}} busybox"),
        // history
        Step("history busybox"),
        Step("history -q busybox"),
        Step("history --no-trunc busybox"),
        Step("history --format '{{.ID}} {{.Size}} {{.CreatedBy}}' busybox"),
        Step("history -H=false busybox"),
        Step("image history --human=false --format '{{.CreatedAt}} {{.Size}}' busybox", .exact),
        Step("history nothere", .stderr),
        // Containers: one running, one created, one exited with 3.
        Step("run -d --name web --network none -l app=x busybox sleep 300"),
        Step("create --name c2 --network none busybox true"),
        Step("run --name c3 --network none busybox sh -c 'exit 3'"),
        Step("run --name c2 --network none busybox true", .stderr),
        Step("ps"),
        Step("ps -a"),
        Step("ps -a -q"),
        Step("ps -a --no-trunc --format '{{.Names}} {{.Command}}'"),
        Step("ps -a --format 'table {{.Names}}\\t{{.Image}}\\t{{.Networks}}'", .exact),
        Step("ps -a -s --format '{{.Names}} {{.State}} {{.Labels}}'"),
        Step("ps -a --filter name=web --format {{.Names}}"),
        Step("ps -a --filter name=^/c --format {{.Names}}"),
        Step("ps -a -f status=exited --format {{.Names}}"),
        Step("ps -f status=created --format {{.Names}}"),
        Step("ps -a -f exited=3 --format {{.Names}}"),
        Step("ps -f exited=3 --format {{.Names}}"),
        Step("ps -a -f ancestor=busybox --format {{.Names}}"),
        Step("ps -a -f label=app=x --format {{.Names}}"),
        Step("ps -a -f label=app -f label=nope --format {{.Names}}"),
        Step("ps -a -f before=c2 --format {{.Names}}"),
        Step("ps -a -f since=c2 --format {{.Names}}"),
        Step("ps -a -f network=none --format {{.Names}}"),
        Step("ps -a -f health=none -f status=running --format {{.Names}}"),
        Step("ps -a -f status=bogus", .stderr),
        Step("ps -a -f bogus=1", .stderr),
        Step("ps -a -f before=nothere", .stderr),
        Step("ps -a -f exited=x", .stderr),
        Step("ps -a --format '{{'", .stderr),
        Step("ps -n 1 --format {{.Names}}"),
        Step("ps -l -q"),
        Step("container ls -a --format {{.Names}}"),
        Step("container list --format {{.Names}}"),
        Step("container ps -a -q"),
        Step("container inspect --format {{.Name}} web"),
        Step("top web -o comm"),
        Step("container top web -o comm,args"),
        Step("top c2", .stderr),
        Step("top nothere", .stderr),
        Step("system df"),
        Step("system df -v"),
        // An image of a container's (unchanged) file system, and its listing.
        Step("commit c3 img2:v1"),
        // docker names the busybox step by its parent image, which box does not record: <missing> there.
        Step("history -q img2:v1", .exitCode),
        Step("images -f since=busybox --format {{.Repository}}:{{.Tag}}"),
        Step("images -f before=img2:v1 --format {{.Repository}}:{{.Tag}}", .anyOrder),
        Step("images -f reference=img2 -f reference=busybox --format {{.Repository}}"),
        // box's commit stores an unchanged file system as a layer (docker records an empty_layer step): rmi
        // deletes one more layer. Left to commit; the exit code must agree.
        Step("rmi img2:v1", .exitCode),
        // rename
        Step("rename web web2"),
        Step("rename web2 c2", .stderr),
        Step("rename nothere x", .stderr),
        Step("rename web2 web2", .stderr),
        Step("rename web2 'bad name'", .stderr),
        Step("container rename c3 c4"),
        Step("ps -a --format {{.Names}}"),
        // rmi: docker's conflicts, then its untag and delete lines.
        Step("rmi {id}", .stderr),
        Step("rmi nothere", .stderr),
        Step("rmi -f nothere", .stderr),
        Step("rmi helloworld:0.1"),
        Step("rmi busybox", .stderr),
        Step("rm -f web2"),
        Step("rmi {id}", .stderr),
        Step("image rm --no-prune nothere", .stderr),
        Step("container prune -f", .anyOrder),
        Step("ps -a -q"),
        Step("tag busybox:latest other:1"),
        Step("rmi {id}", .stderr),
        Step("rmi -f {id}", .anyOrder),
    ]

    /// Durations, dates and ids differ between two engines and two runs; everything else must not.
    static func normalize(_ text: String, exact: Bool) -> String {
        var s = text
        let rules: [(String, String)] = [
            ("[0-9a-f]{64}", "<ID>"),
            ("\\b[0-9a-f]{12}\\b", "<ID>"),
            ("\\d{4}-\\d\\d-\\d\\d[ T]\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?( \\+0000 UTC|Z)", "<DATE>"),
            ("(Less than a second|About a minute|About an hour|\\d+ (second|minute|hour|day|week|month|year)s?)", "<TIME>"),
        ]
        for (pattern, replacement) in rules {
            s = s.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        if !exact {
            s = s.replacingOccurrences(of: " {2,}", with: "  ", options: .regularExpression)
        }
        return s.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }
            .joined(separator: "\n").trimmingCharacters(in: .newlines)
    }

    static func firstErrorLine(_ text: String) -> String {
        var line = text.split(separator: "\n").first.map(String.init) ?? ""
        for prefix in ["box: ", "docker: ", "Error response from daemon: "] where line.hasPrefix(prefix) {
            line = String(line.dropFirst(prefix.count))
        }
        for prefix in ["Error: ", "Error response from daemon: "] where line.hasPrefix(prefix) { line = String(line.dropFirst(prefix.count)) }
        return normalize(line, exact: false)
    }

    /// A dockerd and a box sandbox, both holding box's busybox (loaded into docker from `box save`); docker's
    /// containers are removed before its dockerd stops (their shims would outlive it).
    static func withBoth(_ purpose: String, _ body: (Dockerd, Sandbox, String) throws -> Void) throws {
        guard let dockerd = Dockerd(purpose: purpose) else { return }
        defer {
            if let ids = try? dockerd.docker(["ps", "-aq"]).out, !ids.isEmpty {
                _ = try? dockerd.docker(["rm", "-f"] + ids.split(separator: "\n").map(String.init))
            }
            dockerd.stop()
        }
        let box = try Sandbox()
        let dir = try box.scratch(purpose)
        #expect(try box.run("save", "-o", dir + "/busybox.tar", "busybox").status == 0)
        let load = try dockerd.docker(["load", "-i", dir + "/busybox.tar"])
        #expect(load.status == 0, "docker load: \(load.stderr)")
        try body(dockerd, box, dir)
    }

    @Test("the script's command lines: same exit codes, same normalized output")
    func script() throws { try Self.withBoth("parity") { dockerd, box, _ in
        let id = String(try box.inspect("busybox", "{{.Id}}").dropFirst(7).prefix(12))

        var failures = 0
        for step in Self.script {
            let args = step.args.map { $0.replacingOccurrences(of: "{id}", with: id) }
            let b = try box.run(args)
            let d = try dockerd.docker(args)
            #expect(b.status == d.status, "\(step): box exited \(b.status), docker \(d.status)\nbox: \(b.stdout)\(b.stderr)\ndocker: \(d.stdout)\(d.stderr)")
            var (bo, dout) = (Self.normalize(b.stdout, exact: step.compare.contains(.exact)),
                              Self.normalize(d.stdout, exact: step.compare.contains(.exact)))
            if step.compare.contains(.anyOrder) {
                bo = bo.split(separator: "\n").sorted().joined(separator: "\n")
                dout = dout.split(separator: "\n").sorted().joined(separator: "\n")
            }
            if step.compare.contains(.exitCode) { (bo, dout) = ("", "") }
            #expect(bo == dout, "\(step): standard output differs\n--- box\n\(bo)\n--- docker\n\(dout)")
            if step.compare.contains(.stderr) {
                #expect(Self.firstErrorLine(b.stderr) == Self.firstErrorLine(d.stderr),
                        "\(step): error differs\nbox: \(b.stderr)\ndocker: \(d.stderr)")
            }
            if b.status != d.status || bo != dout { failures += 1 }
        }
        #expect(Self.script.count >= 40)
        #expect(failures == 0, "\(failures) of \(Self.script.count) command lines differ")
    } }

    @Test("images cross both ways: box commit, save, docker load and run; docker commit, save, box load and run")
    func roundTrips() throws { try Self.withBoth("paritytrip") { dockerd, box, dir in

        // box → docker
        #expect(try box.run("run", "--name", "maker", "--network", "none", "busybox", "sh", "-c", "echo from box > /note").status == 0)
        let boxID = try box.run("commit", "maker", "frombox:1").out
        #expect(try box.run("image", "save", "-o", dir + "/frombox.tar", "frombox:1").status == 0)
        let loaded = try dockerd.docker(["image", "load", "-i", dir + "/frombox.tar"])
        #expect(loaded.out == "Loaded image: frombox:1", "\(loaded.stdout) \(loaded.stderr)")
        #expect(try dockerd.docker(["image", "inspect", "--format", "{{.Id}}", "frombox:1"]).out == boxID)
        #expect(try dockerd.docker(["run", "--rm", "--network", "none", "frombox:1", "cat", "/note"]).out == "from box")
        // The image's own id tops both histories.
        let topOfHistory = { (r: Sandbox.Result) in r.stdout.split(separator: "\n").first.map(String.init) }
        #expect(topOfHistory(try box.run("history", "-q", "frombox:1")) == topOfHistory(try dockerd.docker(["history", "-q", "frombox:1"])))

        // docker → box
        #expect(try dockerd.docker(["run", "--name", "maker", "--network", "none", "busybox", "sh", "-c", "echo from docker > /note"]).status == 0)
        let dockerID = try dockerd.docker(["commit", "maker", "fromdocker:1"]).out
        #expect(try dockerd.docker(["image", "save", "-o", dir + "/fromdocker.tar", "fromdocker:1"]).status == 0)
        let r = try box.run("image", "load", "-i", dir + "/fromdocker.tar")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try box.inspect("fromdocker:1", "{{.Id}}") == dockerID)
        #expect(try box.run("run", "--rm", "--network", "none", "fromdocker:1", "cat", "/note").out == "from docker")
        let sizes = ["images", "--format", "{{.Repository}} {{.Size}}", "fromdocker"]
        #expect(try box.run(sizes).out == (try dockerd.docker(sizes)).out)
    } }
}

/// What docker's 20.10 CLI cannot be compared on, checked on box alone: `--format json`, which docker's CLI gained
/// later (20.10 prints the word "json"), one JSON object per row with the keys of docker's current CLI; and the
/// event of a rename.
@Suite("Parity, box alone: --format json, rename's event", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct ParityBoxAloneTests {
    func keys(_ line: Substring) throws -> [String] {
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        return (object ?? [:]).keys.sorted()
    }

    @Test("ps, images and history print one JSON object a row, with docker's keys")
    func json() throws {
        let box = try Sandbox()
        #expect(try box.run("create", "--name", "c1", "--network", "none", "-l", "a=b", "busybox", "true").status == 0)
        let ps = try box.run("ps", "-a", "--format", "json").stdout.split(separator: "\n")
        #expect(ps.count == 1)
        #expect(try keys(ps[0]) == ["Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names",
                                    "Networks", "Platform", "Ports", "RunningFor", "Size", "State", "Status"])
        #expect(ps[0].contains("\"Labels\":\"a=b\"") && ps[0].contains("\"State\":\"created\""), "\(ps[0])")
        let images = try box.run("images", "--format", "json").stdout.split(separator: "\n")
        #expect(images.count == 1)
        #expect(try keys(images[0]) == ["Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository",
                                        "SharedSize", "Size", "Tag", "UniqueSize", "VirtualSize"])
        #expect(images[0].contains("\"Digest\":\"\\u003cnone\\u003e\""), "docker's json.Marshal escapes <>: \(images[0])")
        let history = try box.run("history", "--format", "json", "busybox").stdout.split(separator: "\n")
        #expect(try history.map(keys) == [["Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size"]])
    }

    @Test("rename frees the old name, keeps the id, and records docker's rename event (oldName with its slash)")
    func renameEvent() throws {
        let box = try Sandbox()
        #expect(try box.run("create", "--name", "before", "--network", "none", "busybox", "true").status == 0)
        let id = try box.inspect("before", "{{.Id}}")
        #expect(try box.run("rename", "before", "after").status == 0)
        #expect(try box.inspect("after", "{{.Id}}") == id)
        #expect(try box.run("create", "--name", "before", "--network", "none", "busybox", "true").status == 0)
        let rename = box.events.filter { $0.action == "rename" }
        #expect(rename.count == 1 && rename.first?.id == id && rename.first?.name == "after"
                && rename.first?.attributes["oldName"] == "/before", "\(rename)")
    }
}
