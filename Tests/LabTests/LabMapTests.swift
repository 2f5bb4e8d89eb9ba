import Foundation
import Testing
@testable import Engine
@testable import LabKit

/// `lab map` as a learner runs it: the picture of their containers, marked since their current step began.
@Suite("lab map: the learner's picture, marked since the current step began", .enabled(if: isRoot, needsRoot))
struct LabMapTests {
    @Test("after step 1 of pid-namespaces: c1's shell is PID 1 and not new; a sleep started in step 2 is marked new")
    func marksSinceStep() throws {
        let s = try LabSandbox()
        try s.lab("start", "pid-namespaces")
        #expect(try s.lab("solve").status == 0)  // step 1: c1 and c2, before step 2 began
        #expect(try s.box("exec", "c1", "sh", "-c", "sleep 3333 >/dev/null 2>&1 &").status == 0)
        let r = try s.lab("map", "--plain", "--focus", "c1")
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("container c1 ") && $0.hasSuffix(" running") }, "\(r.stdout)")
        #expect(lines.contains { $0.contains(", pid 1, sh (PID 1 of its pid namespace)") }, "\(r.stdout)")
        #expect(lines.contains { $0.contains(", sleep (new)") }, "\(r.stdout)")
        #expect(!r.stdout.contains("container c2"))
        // The moment is the step's, from the journal: before the map started, after c1 was created.
        let footer = try #require(lines.last { $0.hasPrefix("marked: new or changed since ") })
        #expect(footer.hasSuffix(" UTC"))
        #expect(try s.lab("map", "--focus", "c9", "--once").status == 1)
    }
}
