@testable import ClassroomServer
import Foundation
import LabKit
import Testing

@Suite(.timeLimit(.minutes(5))) struct ViewTests {
    /// Views run side by side (the dashboard's stream, GET /api/room, an export), and each waits on the store
    /// while the actor serves others. Lines two views both fetched were folded twice: the attendee's count then
    /// ran ahead of the store's, every later view read from past the end, and their passes never showed.
    @Test(arguments: StoreKind.testable) func concurrentViewsFoldEveryLineOnce(_ store: StoreKind) async throws {
        let t = try await TestRoom(store)
        let classroom = t.classroom
        let (a, _) = try await classroom.join(code: await t.room.code, name: "alice")
        let all = JournalBuilder.started(passing: steps.count).lines
        var from = 0
        while from < all.count {
            let batch = Array(all[from..<min(from + 2, all.count)])
            _ = try await classroom.append(attendee: a.id, from: from, lines: batch)
            from += batch.count
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 { group.addTask { _ = try await classroom.view() } }
                try await group.waitForAll()
            }
        }
        let mine = try #require(try await classroom.view().attendees.first { $0.id == a.id })
        let fresh = Folded(lines: all, catalogue: classroom.catalogue)
        #expect(mine.steps == fresh.steps, "folded: \(mine.steps.count) steps, the journal has \(fresh.steps.count)")
        #expect(mine.current == fresh.current)
    }
}
