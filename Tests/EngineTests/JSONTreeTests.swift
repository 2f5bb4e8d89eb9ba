import FoundationEssentials
import Glibc
import Testing
@testable import Engine

// JSONTree replaced JSONEncoder/JSONDecoder for the engine's own files. These hold it to them: what one
// writes the other reads back the same, and input JSONDecoder refuses, JSONTree refuses too.

/// JSONEncoder's bytes (sorted keys) of a value: two values are the same if these are.
private func canonical<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Reads `text` both ways, writes each both ways, and checks all four agree.
private func agree<T: Codable>(_ type: T.Type, _ text: String) throws {
    let byFoundation = try JSONDecoder().decode(T.self, from: Data(text.utf8))
    let byTree = try JSONTree.decode(T.self, from: Array(text.utf8))
    #expect(try canonical(byTree) == canonical(byFoundation))
    // JSONTree's output, read by JSONDecoder, is the same value again.
    let written = try Files.encode(byFoundation, pretty: true)
    #expect(try canonical(JSONDecoder().decode(T.self, from: Data(written))) == canonical(byFoundation))
    let compact = try Files.encode(byFoundation)
    #expect(try canonical(JSONTree.decode(T.self, from: compact)) == canonical(byFoundation))
}

@Suite("JSONTree: the engine's JSON files without Foundation's coders")
struct JSONTreeTests {
    static let spec = """
    {"Args":["-c","echo hi"],"Capabilities":2818844155,"Config":{"Cmd":["sh","-c","echo hi"],"Entrypoint":null,
     "Env":["PATH=/usr/bin:/bin","X=\\u00e9\\ud83d\\ude00 \\"q\\""],"Hostname":"h1","Image":"busybox","Labels":{"a":"1","b/c":"<&>"},
     "OpenStdin":true,"StdinOnce":false,"Tty":true,"User":"1000:1000","WorkingDir":"/w"},
     "Created":"2026-12-03T10:37:12.995808981Z","HostConfig":{"AutoRemove":true,"Binds":["/srv:/www:ro"],
     "CapAdd":["NET_ADMIN"],"CapDrop":[],"Init":true,"NetworkMode":"bridge","Privileged":false,
     "PortBindings":[{"HostIp":"0.0.0.0","HostPort":8080,"ContainerPort":80}],
     "Resources":{"CpuShares":512,"CpusetCpus":"0","Memory":67108864,"MemorySwap":-1,"NanoCpus":500000000,"PidsLimit":20},
     "RestartPolicy":{"MaximumRetryCount":3,"Name":"on-failure"}},
     "ID":"35c848e279702af45145eed465022aabf0dbdd52df3a62e407894688e4914fbf",
     "Image":"sha256:a3690607bb099c33282b2bb6f657a0c02197841391e449a61158748a06b08dd2",
     "LayerDirs":["/var/lib/box/overlay2/3cb8/diff"],"Name":"keep","Path":"sh"}
    """

    @Test("a container's spec, state and events read and write as with JSONEncoder/JSONDecoder")
    func containerFiles() throws {
        try agree(ContainerSpec.self, JSONTreeTests.spec)
        try agree(ContainerState.self, """
            {"Error":"","ExitCode":137,"FinishedAt":"2026-12-03T10:37:13.000000001Z","MonitorPid":42,
             "MonitorStartTime":18446744073,"OOMKilled":true,"Pid":0,"PidStartTime":7,"RestartCount":2,
             "Signal":9,"StartedAt":"0001-01-01T00:00:00Z","Status":"exited"}
            """)
        try agree(Event.self, #"{"action":"die","attributes":{"exitCode":"0"},"id":"abc","image":"busybox","time":"2026-12-03T10:27:48.362119848Z","type":"container"}"#)
        try agree([String: String].self, #"{"b":"2","a":"1"}"#)
    }

    @Test("an image config reads the same both ways (the hot path of box run)")
    func imageConfig() throws {
        let text = """
            {"architecture":"amd64","os":"linux","created":"2026-01-01T00:00:00Z",
             "config":{"Env":["PATH=/bin"],"Cmd":["sh"],"WorkingDir":"/","Labels":{"k":"v"},"User":"","Entrypoint":null},
             "rootfs":{"type":"layers","diff_ids":["sha256:00"]},
             "history":[{"created":"2026-01-01T00:00:00Z","created_by":"box","empty_layer":true},{}],
             "unknown":{"ignored":[1,2.5e3,null]}}
            """
        try agree(ImageConfig.self, text)
        #expect(try JSONTree.decode(ImageConfig.self, from: Array(text.utf8)) == JSONDecoder().decode(ImageConfig.self, from: Data(text.utf8)))
        // No "config" at all: both give the empty one.
        let bare = #"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
        try agree(ImageConfig.self, bare)
        // Every optional null, and a null config.
        try agree(ImageConfig.self, #"{"architecture":"a","os":"b","created":null,"config":{"Env":null,"Cmd":null,"User":null,"Entrypoint":null,"WorkingDir":null,"Labels":null},"rootfs":{"type":"layers","diff_ids":[]},"history":null}"#)
        try agree(ImageConfig.self, #"{"architecture":"a","os":"b","config":null,"rootfs":{"type":"t","diff_ids":["x"]},"history":[{"comment":"c"}]}"#)
    }

    @Test("what JSONDecoder refuses, JSONTree refuses", arguments: [
        #"{"os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,                                  // a required key missing
        #"{"architecture":5,"os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,                  // a number for a string
        #"{"architecture":null,"os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,               // null for a string
        #"{"architecture":"a","os":"linux","rootfs":{"type":"layers","diff_ids":[1]}}"#,               // a number in [String]
        #"{"architecture":"a","os":"linux","rootfs":{"type":"layers","diff_ids":"x"}}"#,               // a string for an array
        #"{"architecture":"a","os":"linux","config":[],"rootfs":{"type":"layers","diff_ids":[]}}"#,    // an array for an object
        #"{"architecture":"a","os":"linux","rootfs":{"type":"layers","diff_ids":[]}} x"#,              // garbage after the value
        #"[{"architecture":"a"}]"#,                                                                    // an array at the top
        #"{"architecture":"a","os":"linux","rootfs":{"diff_ids":[]}}"#,                                // rootfs without its type
        #"{"architecture":"a","os":"linux","config":{"Labels":{"k":1}},"rootfs":{"type":"layers","diff_ids":[]}}"#,  // a number label
        #"{"architecture":"a","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"history":[{"empty_layer":"yes"}]}"#,
        #"{"architecture":"a","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"history":{}}"#,  // an object for an array
    ])
    func refused(_ text: String) {
        #expect(throws: (any Error).self) { try JSONDecoder().decode(ImageConfig.self, from: Data(text.utf8)) }
        #expect(throws: (any Error).self) { try JSONTree.decode(ImageConfig.self, from: Array(text.utf8)) }
    }

    @Test("strict RFC 8259: a trailing comma, which JSONDecoder lets through, is refused (load and run both read this way)")
    func strict() {
        let text = #"{"architecture":"a","os":"linux","rootfs":{"type":"layers","diff_ids":[]},}"#
        #expect(throws: (any Error).self) { try JSONTree.decode(ImageConfig.self, from: Array(text.utf8)) }
        var template = Array("/tmp/box-jsontree-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { Issue.record("mkdtemp: \(errno)"); return }
        let root = String(cString: made)
        defer { try? Files.removeTree(root) }
        do {
            let staging = try ImageStaging(store: ImageStore(root: EngineRoot(path: root)), purpose: "test")
            #expect(throws: BoxError.self) { try staging.addConfig(Array(text.utf8), name: "the config") }
            let valid = #"{"architecture":"a","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            #expect(try staging.addConfig(Array(valid.utf8), name: "the config").config.architecture == "a")
        } catch {
            Issue.record("staging: \(error)")
        }
    }

    @Test("numbers must fit the field's type")
    func numbers() throws {
        #expect(throws: (any Error).self) { try JSONTree.decode([Int32].self, from: Array("[4294967296]".utf8)) }
        #expect(try JSONTree.decode([Int32].self, from: Array("[-2147483648]".utf8)) == [Int32.min])
        #expect(throws: (any Error).self) { try JSONTree.decode([UInt8].self, from: Array("[-1]".utf8)) }
        #expect(throws: (any Error).self) { try JSONTree.decode([Int].self, from: Array("[1.5]".utf8)) }
        #expect(try JSONTree.decode([Double].self, from: Array("[1, 2.5, -3e2]".utf8)) == [1, 2.5, -300])
        #expect(try JSONTree.decode([UInt64].self, from: Array("[9007199254740993]".utf8)) == [9_007_199_254_740_993])
        #expect(throws: (any Error).self) { try Files.encode([Double.infinity]) }
        #expect(throws: (any Error).self) { try Files.encode([UInt64.max]) }
    }

    @Test("a repeated key in a table of strings: its last value counts, whatever an earlier one held")
    func repeatedKeys() throws {
        let leases = #"{"Bridge":"box0","Created":"2026-12-03T10:37:12.995808981Z","Driver":"bridge","Gateway":"172.17.0.1","Id":"9658ce","Leases":{"172.17.0.2":1,"172.17.0.2":"abc"},"Masquerade":false,"Name":"bridge","Subnet":"172.17.0.0/16"}"#
        #expect(try JSONTree.decode(Network.self, from: Array(leases.utf8)).Leases == ["172.17.0.2": "abc"])
        let labels = #"{"architecture":"a","os":"b","config":{"Labels":{"k":[],"k":"v"}},"rootfs":{"type":"layers","diff_ids":[]}}"#
        #expect(try JSONTree.decode(ImageConfig.self, from: Array(labels.utf8)).config.Labels == ["k": "v"])
        #expect(try JSONTree.decode([String: String].self, from: Array(#"{"a":1,"a":"x"}"#.utf8)) == ["a": "x"])
        #expect(throws: (any Error).self) { try JSONTree.decode([String: String].self, from: Array(#"{"a":"x","a":1}"#.utf8)) }
    }

    @Test("output: sorted keys, optionals left out when nil, \"/\" as it is")
    func output() throws {
        let e = Event(action: "start", id: "abc", name: nil, image: "library/busybox", attributes: ["z": "1", "a": "2"],
                      time: Timestamp(seconds: 0))
        let text = String(decoding: try Files.encode(e), as: UTF8.self)
        #expect(text == #"{"action":"start","attributes":{"a":"2","z":"1"},"id":"abc","image":"library/busybox","time":"1970-01-01T00:00:00.000000000Z","type":"container"}"#)
    }
}

@Suite("The engine's files: repositories.json, Files.read")
struct HandReadTests {
    /// A scratch engine root under /tmp, removed afterwards (AwaitFilesTests uses it too).
    static func withRoot(_ body: (EngineRoot) throws -> Void) throws {
        var template = Array("/tmp/box-scratch-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw BoxError.sys(.store, "mkdtemp") }
        let root = EngineRoot(path: String(cString: made))
        defer { try? Files.removeTree(root.path) }
        try body(root)
    }

    @Test("repositories.json reads as Codable read it, and a wrong shape is refused with the file named")
    func repositories() throws {
        try HandReadTests.withRoot { root in
            let store = ImageStore(root: root)
            #expect(try store.loadRepositories().Repositories.isEmpty)  // no file yet: no images
            let text = #"{"Repositories":{"busybox":{"busybox:latest":"sha256:aa","busybox:1":"sha256:bb"},"x\/y":{"x\/y:latest":"sha256:cc"}}}"#
            try Files.writeAtomically(root.repositories, text)
            let byCodable = try JSONDecoder().decode(ImageStore.Repositories.self, from: Data(text.utf8))
            #expect(try store.loadRepositories().Repositories == byCodable.Repositories)
            for bad in [#"[]"#, #"{"Repositories":[]}"#, #"{"Repositories":{"a":"b"}}"#, #"{"Repositories":{"a":{"a:1":5}}}"#, "{"] {
                try Files.writeAtomically(root.repositories, bad)
                #expect(throws: BoxError.self) { try store.loadRepositories() }
                #expect(throws: (any Error).self) { try JSONDecoder().decode(ImageStore.Repositories.self, from: Data(bad.utf8)) }
            }
        }
    }

    @Test("Files.read returns every byte: empty, exactly sized, large, and /proc files that report no size")
    func read() throws {
        try HandReadTests.withRoot { root in
            for size in [0, 1, 4095, 4096, 4097, 200_000] {
                let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
                try Files.writeAtomically(root.path + "/f", bytes)
                #expect(try Files.read(root.path + "/f") == bytes, "\(size) bytes")
            }
            let maps = try Files.readString("/proc/self/maps")
            #expect(maps.hasSuffix("\n") && maps.split(separator: "\n").count > 5)
        }
    }
}
