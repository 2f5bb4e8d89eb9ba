import Foundation
import Testing
@testable import Engine

extension Sandbox {
    /// Every path under BOX_ROOT with its type, size and mode (and a symlink's target): equal listings before
    /// and after an operation mean it changed nothing in the store. The lock file and the event journal are
    /// left out (a lock is taken by any verb).
    func storeListing() -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: root) else { return [] }
        while let path = walker.nextObject() as? String {
            if path == ".lock" || path == "events.jsonl" { continue }
            var st = stat()
            guard lstat(root + "/" + path, &st) == 0 else { continue }
            var line = "\(path) \(String(st.st_mode, radix: 8)) \((st.st_mode & S_IFMT) == S_IFDIR ? 0 : st.st_size)"
            if (st.st_mode & S_IFMT) == S_IFLNK, let target = try? fm.destinationOfSymbolicLink(atPath: root + "/" + path) {
                line += " -> \(target)"
            }
            out.append(line)
        }
        return out.sorted()
    }

    /// Runs a host command, expecting it to succeed.
    @discardableResult
    static func sh(_ argv: String...) throws -> Result {
        let r = try exec(argv)
        #expect(r.status == 0, "\(argv) failed: \(r.stderr)")
        return r
    }
}

func sha256(_ path: String) throws -> String { try LayerArchive.sha256(file: path) }

func json(_ path: String) throws -> JSONValue { try JSONValue.parse(String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)) }

@Suite("Images: save and load", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct SaveLoadTests {
    /// An image with two layers and a commit message: busybox plus a note.
    func noteImage(_ box: Sandbox) throws -> String {
        try box.run("run", "--name", "maker", "busybox", "sh", "-c", "echo hello > /root/note && rm /etc/group")
        let commit = try box.run("commit", "-m", "a note", "maker", "notes:v1")
        #expect(commit.status == 0, "\(commit.stderr)")
        return commit.out
    }

    @Test("save writes a docker-archive whose manifest, config and layer.tar files carry the store's digests")
    func saveDockerArchive() throws {
        let box = try Sandbox()
        let id = try noteImage(box)
        let dir = try box.scratch("save")
        let r = try box.run("save", "-o", dir + "/notes.tar", "notes:v1")
        #expect(r.status == 0, "\(r.stderr)")
        try Sandbox.sh("/usr/bin/tar", "-C", dir, "-xf", dir + "/notes.tar")
        let manifest = try json(dir + "/manifest.json")
        guard case .string(let configName) = manifest[0]?["Config"], case .array(let layers) = manifest[0]?["Layers"] else {
            Issue.record("manifest.json is not as expected: \(manifest.compact())")
            return
        }
        #expect(manifest[0]?["RepoTags"] == .array([.string("notes:v1")]))
        #expect(configName == Digest.hex(id) + ".json")
        #expect(try sha256(dir + "/" + configName) == id, "the config is not the store's, byte for byte")
        let diffIDs = try box.inspect("notes:v1", "{{json .RootFS.Layers}}")
        var hashes: [JSONValue] = []
        for case .string(let layer) in layers {
            #expect(layer.hasSuffix("/layer.tar"))
            hashes.append(.string(try sha256(dir + "/" + layer)))
        }
        #expect(layers.count == 2)
        #expect(try JSONValue.parse(diffIDs) == .array(hashes), "layer.tar digests differ from the diff_ids")
        guard case .string(let top) = layers.last else { Issue.record("no layers"); return }
        #expect(try json(dir + "/repositories")["notes"]?["v1"] == .string(String(top.prefix(64))),
                "repositories does not name the top layer")

        // To standard output (not a terminal here): the same bytes.
        let out = try Sandbox.exec(["/bin/sh", "-c", "'\(box.box)' save notes:v1 > '\(dir)/stdout.tar'"], environment: ["BOX_ROOT": box.root])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(try sha256(dir + "/stdout.tar") == (try sha256(dir + "/notes.tar")))
        // An unknown image: an error, and no file.
        let bad = try box.run("save", "-o", dir + "/none.tar", "notes:v1", "nosuch")
        #expect(bad.status == 1 && bad.stderr.contains("No such image: nosuch"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/none.tar"))
    }

    @Test("save refuses to write an archive to a terminal")
    func saveToTerminal() throws {
        let box = try Sandbox()
        let r = try Sandbox.exec(["/usr/bin/script", "-q", "-e", "-c", "'\(box.box)' save busybox", "/dev/null"],
                                 environment: ["BOX_ROOT": box.root])
        #expect(r.status == 1)
        #expect(r.stdout.contains("cowardly refusing to save to a terminal"), "\(r.stdout)")
    }

    @Test("load of a docker-archive keeps the id, the names and the history, and the image runs")
    func loadDockerArchive() throws {
        let source = try Sandbox()
        let id = try noteImage(source)
        try source.run("tag", "notes:v1", "notes:other")
        let dir = try source.scratch("load")
        #expect(try source.run("save", "-o", dir + "/notes.tar", "notes:v1", "notes:other").status == 0)
        // The CREATED column says how long ago ("3 seconds ago"), which moves on between the two reads (and
        // the column's width with it): compare the other columns.
        func history(_ box: Sandbox) throws -> [[Substring]] {
            try box.run("history", "--no-trunc", "notes:v1").stdout.split(separator: "\n").map { line in
                var columns = line.split(separator: /\s{2,}/)
                if columns.count > 1 { columns.remove(at: 1) }
                return columns
            }
        }
        let before = try history(source)
        #expect(before.count == 3 && before[1].contains("a note"), "\(before)")

        let box = try Sandbox()
        let r = try box.run("load", "-i", dir + "/notes.tar")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "Loaded image: notes:v1\nLoaded image: notes:other\n")
        #expect(try box.inspect("notes:v1", "{{.Id}}") == id)
        #expect(try box.inspect("notes:other", "{{.Id}}") == id)
        #expect(try history(box) == before)
        #expect(try box.run("run", "--rm", "notes:v1", "cat", "/root/note").out == "hello")
        #expect(try box.run("run", "--rm", "notes:v1", "test", "-e", "/etc/group").status == 1, "the whiteout was lost")
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.engineRoot.tmp).isEmpty, "staging left behind")

        // From standard input, into a store that has the image: nothing new, the same lines.
        let again = try Sandbox.exec(["/bin/sh", "-c", "'\(box.box)' load < '\(dir)/notes.tar'"], environment: ["BOX_ROOT": box.root])
        #expect(again.status == 0 && again.stdout == r.stdout, "\(again.stderr)")
        let missing = try box.run("load", "-i", dir + "/nosuch.tar")
        #expect(missing.status == 1 && missing.stderr.contains("no such file or directory"), "\(missing.stderr)")
    }

    @Test("save --format oci writes an OCI layout that load reads back, as a tar and as a directory")
    func ociRoundTrip() throws {
        let source = try Sandbox()
        let id = try noteImage(source)
        let dir = try source.scratch("oci")
        #expect(try source.run("save", "--format", "oci", "-o", dir + "/notes.tar", "notes:v1").status == 0)
        try Sandbox.sh("/usr/bin/mkdir", dir + "/layout")
        try Sandbox.sh("/usr/bin/tar", "-C", dir + "/layout", "-xf", dir + "/notes.tar")
        #expect(try json(dir + "/layout/oci-layout")["imageLayoutVersion"] == .string("1.0.0"))
        #expect(FileManager.default.fileExists(atPath: dir + "/layout/blobs/sha256/" + Digest.hex(id)))
        // Every blob is named by its sha256.
        for blob in try FileManager.default.contentsOfDirectory(atPath: dir + "/layout/blobs/sha256") {
            #expect(try sha256(dir + "/layout/blobs/sha256/" + blob) == "sha256:" + blob)
        }

        for input in [dir + "/notes.tar", dir + "/layout"] {
            let box = try Sandbox()
            let r = try box.run("load", "-i", input)
            #expect(r.stdout == "Loaded image: notes:v1\n", "\(input): \(r.stderr)")
            #expect(try box.inspect("notes:v1", "{{.Id}}") == id)
            #expect(try box.run("run", "--rm", "notes:v1", "cat", "/root/note").out == "hello")
        }
    }

    @Test("save -> load -> save gives the same archive")
    func roundTripIsStable() throws {
        let source = try Sandbox()
        _ = try noteImage(source)
        let dir = try source.scratch("again")
        for format in ["docker-archive", "oci"] {
            #expect(try source.run("save", "--format", format, "-o", dir + "/first.tar", "notes:v1").status == 0)
            let box = try Sandbox()
            #expect(try box.run("load", "-i", dir + "/first.tar").status == 0)
            #expect(try box.run("save", "--format", format, "-o", dir + "/second.tar", "notes:v1").status == 0)
            #expect(try sha256(dir + "/first.tar") == (try sha256(dir + "/second.tar")), "\(format) archives differ")
        }
    }
}
