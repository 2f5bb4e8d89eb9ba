// swift-tools-version:6.0
// boxlab: a namespace and cgroup teaching lab. `box` is the container engine the labs run on.
import PackageDescription
import Foundation

#if arch(arm64)
let triple = "aarch64-linux-gnu"
#else
let triple = "x86_64-linux-gnu"
#endif

/// libcap and libseccomp come from their archives into a release build where the -dev packages ship them
/// (Debian's and Ubuntu's do): a shared library costs every `box` start its loading and relocation (with
/// nettle's, 0.4 ms of each `box` command, `box version` 2.85 -> 2.42 ms, alternating runs). A debug build, or
/// a system without the archive, links the shared library. The archive is looked for when
/// SwiftPM reads this manifest, which it may keep: after removing a -dev package, `touch Package.swift`.
func linkedFromArchiveInRelease(_ name: String) -> [LinkerSetting] {
    let archive = "lib\(name).a"
    guard ["/usr/lib/" + triple, "/usr/lib64", "/usr/lib"].contains(where: { FileManager.default.fileExists(atPath: "\($0)/\(archive)") }) else {
        return [.linkedLibrary(name)]
    }
    return [.linkedLibrary(name, .when(configuration: .debug)),
            .unsafeFlags(["-Xlinker", "-l:" + archive], .when(platforms: [.linux], configuration: .release))]
}

/// The engine's own code reaches the metadata of its generic types (a Codable type's keyed containers, say)
/// through accessors rather than by mangled name. A mangled name is resolved at run time, and its protocol
/// requirements by a scan of every conformance in the binary (about 4,000 with the static standard library):
/// 0.05-0.15 ms at each first use in a process, about 1 ms of CPU in every `box run` (perf, bench/startup).
/// The cost: a little more code. Release only, like the other start-up settings.
let fastMetadata: [SwiftSetting] = [
    .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"], .when(configuration: .release)),
]

/// Products several targets depend on.
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")

let package = Package(
    name: "boxlab",
    platforms: [.macOS(.v15)],  // Linux only in practice; the macOS line only silences availability checks.
    products: [
        .executable(name: "box", targets: ["box"]),
        .executable(name: "lab", targets: ["lab"]),
        .executable(name: "lab-server", targets: ["lab-server"]),
        .executable(name: "box-registry", targets: ["box-registry"]),
        .executable(name: "boxd", targets: ["boxd"]),
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "LabKit", targets: ["LabKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The classroom server only (issue 18): `lab` and `box` link neither.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        // `lab serve --database postgres://…`: several servers sharing one PostgreSQL.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        // Already Hummingbird's dependencies: named for the server's own imports (Channel, graceful shutdown).
        .package(url: "https://github.com/apple/swift-nio", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        // `box pull/push/login` (issue 20): the distribution API client, in `box-registry` only (box links no HTTP).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // The only C: what must run before the Swift runtime starts threads, or what Swift cannot call
        // (variadic clone/syscall, the nsexec constructor). Everything else is Swift.
        .target(
            name: "CSpawn",
            dependencies: ["CLibcap"],
            cSettings: [.define("_GNU_SOURCE")],
            // libseccomp (libseccomp-dev) builds the seccomp filter from docker's profile (seccomp.c).
            linkerSettings: linkedFromArchiveInRelease("cap") + linkedFromArchiveInRelease("seccomp")
        ),
        // Headers only (libcap-dev): CSpawn links the library (linkedFromArchiveInRelease).
        .systemLibrary(name: "CLibcap"),
        // libarchive (libarchive-dev): image layers are read and written with it; the module map links it.
        .systemLibrary(name: "CLibarchive", providers: [.apt(["libarchive-dev"])]),
        // sha256 from GNU Nettle, a small C library with no dependencies: swift-crypto would pull full
        // Foundation (and ICU) into every `box` start. Headers only (nettle-dev): Engine links the library.
        .systemLibrary(name: "CNettle"),
        .target(
            name: "Engine",
            dependencies: [
                "CSpawn", "CLibarchive", "CNettle",
            ],
            swiftSettings: fastMetadata,
            linkerSettings: [.linkedLibrary("nettle")]  // libarchive loads libnettle.so anyway
        ),
        // docker's output formats, which only the CLIs (and later the engine socket) print: Go's text/template
        // over the inspect views, Go's fmt printing, sizes and durations for people. Engine knows nothing of it.
        .target(name: "DockerFormat", dependencies: ["Engine"], swiftSettings: fastMetadata),
        // `box map` and `lab map` (issue 22): the host, its containers and isolated processes as a model read
        // from a kernel root ("/" or a test's fixture tree) and box's state, drawn for a terminal, as plain text
        // or as SVG, and the verbs' shared flags. Engine (and ArgumentParser) only: box links it without LabKit.
        .target(name: "HostMap", dependencies: [
            "Engine", argumentParser,
        ], swiftSettings: fastMetadata),
        .executableTarget(
            name: "box",
            dependencies: [
                "Engine", "DockerFormat", "CSpawn", "HostMap",
                argumentParser,
            ],
            swiftSettings: fastMetadata,
            // A release box is linked as a fixed-address executable (as Go links docker and runc by default):
            // a position-independent one makes the dynamic loader apply ~41,000 relocations to its data at
            // every start, touching ~600 pages, 0.5 ms of each `box run` here (bench/startup). The cost: the
            // main binary's own code is not address-randomized; libraries, stack and heap still are.
            linkerSettings: [.unsafeFlags(["-Xclang-linker", "-no-pie"], .when(platforms: [.linux], configuration: .release))]
        ),
        // The step runner: lab DSL, probes that read kernel facts, runner, progress journal.
        .target(name: "LabKit", dependencies: ["Engine", "CSpawn"]),
        // Guided labs and unguided exercises, one file per lab, compiled into `lab`.
        // Labs import LabKit only: what they may know of the engine is LabKit's Vocabulary.swift and Context.
        .target(name: "Labs", dependencies: ["LabKit"], path: "Labs"),
        .target(name: "Exercises", dependencies: ["LabKit"], path: "Exercises"),
        .executableTarget(
            name: "lab",
            dependencies: [
                "LabKit", "Labs", "Exercises", "Engine", "DockerFormat", "HostMap",
                argumentParser,
            ]
        ),
        // The classroom server (issue 18): attendees' journals in, the instructor's live dashboard out. Its own
        // executable, `lab-server`, which `lab serve` execs: `lab` itself links no HTTP stack (`lab check`
        // must stay fast). Labs and Exercises give the catalogue: step titles and order for the dashboard.
        .target(
            name: "ClassroomServer",
            dependencies: [
                "LabKit", "Labs", "Exercises", "Engine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                nioCore,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(name: "lab-server", dependencies: ["ClassroomServer", argumentParser]),
        // The OCI distribution API client (issue 20): manifests, blobs, auth, over async-http-client. A library so
        // that boxd (issue 21) can host it beside Engine; the store side (verify, stage, commit) is Engine's.
        .target(
            name: "Registry",
            dependencies: [
                "Engine",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                nioCore,
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // `box pull/push/login/logout` exec it, installed beside box: box itself links no HTTP stack, so its
        // start-up (bench/startup) pays nothing for the registry client.
        .executableTarget(name: "box-registry", dependencies: ["Registry", "Engine", "DockerFormat", argumentParser]),
        // docker's Engine API on a unix socket (issue 21): the docker CLI and SDKs drive the same containers as
        // `box`. Its own executable, so box links no HTTP stack; a thread per connection over the blocking engine
        // (hijacked attach and exec streams are the connection's descriptor itself). It re-executes box for monitors.
        .executableTarget(name: "boxd", dependencies: ["Engine", "DockerFormat", "CSpawn", argumentParser], swiftSettings: fastMetadata),
        // The tests' way to run a program: output captured, and a deadline, so a hang fails one test by name.
        .target(name: "TestSupport", dependencies: ["Engine", "CSpawn"], path: "Tests/TestSupport"),
        .testTarget(name: "EngineTests", dependencies: ["Engine"]),
        .testTarget(name: "DockerFormatTests", dependencies: ["DockerFormat", "Engine"]),
        .testTarget(name: "LabTests", dependencies: ["LabKit", "Labs", "Exercises", "Engine", "lab", "box", "lab-server", "boxd", "TestSupport"]),
        // Runs the real `box` binary against the real kernel, each test in its own BOX_ROOT.
        // RegistryTests among them: box pull/push against Debian's docker-registry, skopeo and a fault-injecting server.
        .testTarget(name: "BoxTests", dependencies: ["Engine", "box", "TestSupport", "LabKit", "HostMap", "Registry", "box-registry", "boxd"]),
        // Boots a qemu guest on a pure cgroup v2 kernel and runs Tests/V2Guest in it with a release box and lab
        // (issue 24): the v2 driver on a real kernel. It builds neither: test.sh builds them (BOX_V2_GUEST_BIN).
        .testTarget(name: "V2GuestTests", dependencies: ["LabKit", "Labs", "Exercises", "TestSupport"]),
        .testTarget(name: "ClassroomTests", dependencies: [
            "ClassroomServer", "LabKit", "Engine", "lab-server", "TestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
    ]
)
